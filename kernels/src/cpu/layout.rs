//! Data movement: permute, concatenation and slicing along one axis. Reshape needs no kernel.

use super::binary::contiguous_strides;

/// `y = x.permute(perm)`: `y`'s dimension `d` is `x`'s dimension `perm[d]`.
pub fn permute(x: &[f32], shape: &[usize], perm: &[usize], y: &mut [f32]) {
    let xs = contiguous_strides(shape);
    let out_shape: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
    let src_strides: Vec<usize> = perm.iter().map(|&p| xs[p]).collect();
    let nd = out_shape.len();
    let mut idx = vec![0usize; nd];
    for o in y.iter_mut() {
        let mut p = 0;
        for d in 0..nd {
            p += idx[d] * src_strides[d];
        }
        *o = x[p];
        for d in (0..nd).rev() {
            idx[d] += 1;
            if idx[d] < out_shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
}

/// Splits a shape around `axis` into (outer, axis length, inner) sizes.
pub fn around_axis(shape: &[usize], axis: usize) -> (usize, usize, usize) {
    let outer = shape[..axis].iter().product();
    let inner = shape[axis + 1..].iter().product();
    (outer, shape[axis], inner)
}

/// Copies `x` (`outer × len × inner`) into the slab `[start, start+len)` of `y`'s axis
/// (`outer × total × inner`). Concatenation is one call per input.
pub fn copy_into_axis(x: &[f32], outer: usize, len: usize, inner: usize, y: &mut [f32], total: usize, start: usize) {
    for o in 0..outer {
        let src = &x[o * len * inner..(o + 1) * len * inner];
        let dst = &mut y[(o * total + start) * inner..(o * total + start + len) * inner];
        dst.copy_from_slice(src);
    }
}

/// Copies the slab `[start, start+len)` of `x`'s axis (`outer × total × inner`) into `y`.
pub fn copy_from_axis(x: &[f32], outer: usize, total: usize, inner: usize, start: usize, len: usize, y: &mut [f32]) {
    for o in 0..outer {
        let src = &x[(o * total + start) * inner..(o * total + start + len) * inner];
        y[o * len * inner..(o + 1) * len * inner].copy_from_slice(src);
    }
}

/// Gathers rows: `y[i] = x[rows[i]]` for a `n × d` matrix.
pub fn gather_rows(x: &[f32], d: usize, rows: &[usize], y: &mut [f32]) {
    for (i, &r) in rows.iter().enumerate() {
        y[i * d..(i + 1) * d].copy_from_slice(&x[r * d..(r + 1) * d]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permute_transposes() {
        let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let mut y = [0.0; 6];
        permute(&x, &[2, 3], &[1, 0], &mut y);
        assert_eq!(y, [1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
    }

    #[test]
    fn slab_copies_round_trip() {
        let x: Vec<f32> = (0..24).map(|v| v as f32).collect();
        let mut part = vec![0.0; 2 * 2 * 4];
        copy_from_axis(&x, 2, 3, 4, 1, 2, &mut part);
        let mut back = vec![-1.0; 24];
        copy_into_axis(&part, 2, 2, 4, &mut back, 3, 1);
        for o in 0..2 {
            for a in 1..3 {
                for i in 0..4 {
                    assert_eq!(back[(o * 3 + a) * 4 + i], x[(o * 3 + a) * 4 + i]);
                }
            }
        }
    }
}
