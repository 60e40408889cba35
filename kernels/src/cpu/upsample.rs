//! Nearest-neighbour upsampling by an integer factor (the DCAE decoders' unpooling).

use rayon::prelude::*;

#[allow(clippy::too_many_arguments)]
fn check(what: &str, n: usize, c: usize, h: usize, w: usize, k: usize, x: usize, y: usize) {
    assert!(
        k >= 1 && x == n * c * h * w && y == x * k * k,
        "{what}: slice lengths (x {x}, y {y}) do not match n {n}, c {c}, h {h}, w {w}, k {k}"
    );
}

/// `x` is `n × c × h × w`, `y` is `n × c × (h·k) × (w·k)`, overwritten.
pub fn upsample_nearest_forward(n: usize, c: usize, h: usize, w: usize, k: usize, x: &[f32], y: &mut [f32]) {
    check("upsample_nearest_forward", n, c, h, w, k, x.len(), y.len());
    if x.is_empty() {
        return;
    }
    let wk = w * k;
    // One input row becomes one widened output row, then that row is copied k − 1 more times.
    y.par_chunks_mut(wk * k).zip(x.par_chunks(w)).with_min_len(64).for_each(|(out, row)| {
        let (first, rest) = out.split_at_mut(wk);
        for (o, &v) in first.chunks_exact_mut(k).zip(row) {
            o.fill(v);
        }
        for copy in rest.chunks_exact_mut(wk) {
            copy.copy_from_slice(first);
        }
    });
}

/// Sums each `k × k` block of `dy` into `dx` (overwritten).
pub fn upsample_nearest_backward(n: usize, c: usize, h: usize, w: usize, k: usize, dy: &[f32], dx: &mut [f32]) {
    check("upsample_nearest_backward", n, c, h, w, k, dx.len(), dy.len());
    if dx.is_empty() {
        return;
    }
    let wk = w * k;
    // Block (i, j) is added row by row (a), then along the row (b): the reference's order.
    dx.par_chunks_mut(w).zip(dy.par_chunks(wk * k)).with_min_len(64).for_each(|(row, rows)| {
        row.fill(0.0);
        for dy_row in rows.chunks_exact(wk) {
            for (d, block) in row.iter_mut().zip(dy_row.chunks_exact(k)) {
                *d += block.iter().sum::<f32>();
            }
        }
    });
}

/// Plain-loop forward: `y[.., i, j] = x[.., i / k, j / k]`.
pub fn upsample_nearest_forward_reference(n: usize, c: usize, h: usize, w: usize, k: usize, x: &[f32], y: &mut [f32]) {
    check("upsample_nearest_forward_reference", n, c, h, w, k, x.len(), y.len());
    let (hk, wk) = (h * k, w * k);
    for p in 0..n * c {
        for i in 0..hk {
            for j in 0..wk {
                y[(p * hk + i) * wk + j] = x[(p * h + i / k) * w + j / k];
            }
        }
    }
}

/// Plain-loop backward: `dx[.., i, j] = Σ_{a,b < k} dy[.., i·k + a, j·k + b]`.
pub fn upsample_nearest_backward_reference(
    n: usize,
    c: usize,
    h: usize,
    w: usize,
    k: usize,
    dy: &[f32],
    dx: &mut [f32],
) {
    check("upsample_nearest_backward_reference", n, c, h, w, k, dx.len(), dy.len());
    let (hk, wk) = (h * k, w * k);
    for p in 0..n * c {
        for i in 0..h {
            for j in 0..w {
                let mut acc = 0.0f32;
                for a in 0..k {
                    let mut row = 0.0f32;
                    for b in 0..k {
                        row += dy[(p * hk + i * k + a) * wk + j * k + b];
                    }
                    acc += row;
                }
                dx[(p * h + i) * w + j] = acc;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// xorshift values in ±[0.1, 1): random, never zero.
    fn values(mut s: u64, len: usize) -> Vec<f32> {
        (0..len)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                let mag = 0.1 + 0.9 * ((s >> 40) as f32 / (1u64 << 24) as f32);
                if s & 1 == 0 {
                    mag
                } else {
                    -mag
                }
            })
            .collect()
    }

    #[test]
    fn fast_matches_reference() {
        let mut seed = 0x1234_5678_9abc_def1u64;
        for n in [1, 2] {
            for c in [1, 3] {
                for (h, w) in [(1, 1), (1, 5), (4, 3), (7, 2)] {
                    for k in 1..=4 {
                        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
                        let len = n * c * h * w;
                        let x = values(seed, len);
                        let dy = values(seed ^ 0xff, len * k * k);
                        let (mut y, mut y_ref) = (vec![f32::NAN; len * k * k], vec![f32::NAN; len * k * k]);
                        upsample_nearest_forward(n, c, h, w, k, &x, &mut y);
                        upsample_nearest_forward_reference(n, c, h, w, k, &x, &mut y_ref);
                        assert_eq!(y, y_ref, "forward n{n} c{c} {h}×{w} k{k}");
                        // Same terms, same order: the sums agree exactly; the tolerance
                        // (1e-6 of the block's Σ|dy| ≤ k²) only guards a reordering.
                        let (mut dx, mut dx_ref) = (vec![f32::NAN; len], vec![f32::NAN; len]);
                        upsample_nearest_backward(n, c, h, w, k, &dy, &mut dx);
                        upsample_nearest_backward_reference(n, c, h, w, k, &dy, &mut dx_ref);
                        for (a, b) in dx.iter().zip(&dx_ref) {
                            assert!(
                                (a - b).abs() <= 1e-6 * (k * k) as f32,
                                "backward n{n} c{c} {h}×{w} k{k}: {a} vs {b}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn adjoint() {
        // ⟨up(x), dy⟩ = ⟨x, up*(dy)⟩.
        let (n, c, h, w, k) = (2, 3, 5, 4, 3);
        let x = values(3, n * c * h * w);
        let dy = values(4, x.len() * k * k);
        let mut y = vec![0.0; dy.len()];
        let mut dx = vec![0.0; x.len()];
        upsample_nearest_forward(n, c, h, w, k, &x, &mut y);
        upsample_nearest_backward(n, c, h, w, k, &dy, &mut dx);
        let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(a, b)| *a as f64 * *b as f64).sum::<f64>();
        assert!((dot(&y, &dy) - dot(&x, &dx)).abs() < 1e-4);
    }
}
