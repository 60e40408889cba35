//! Elementwise binary arithmetic with NumPy broadcasting.
//!
//! The broadcast is described by strides: a dimension of size 1 that is stretched gets stride 0,
//! so one loop serves every case. The innermost dimension is a tight loop; the outer ones are
//! walked by an odometer.

use super::parallel::{for_chunks_mut, PAR_MIN};
use rayon::prelude::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Binary {
    Add,
    Sub,
    Mul,
    Div,
    /// `max(a, b)`; the gradient goes to the larger operand (to `a` on ties).
    Max,
}

impl Binary {
    #[inline]
    pub fn apply(self, a: f32, b: f32) -> f32 {
        match self {
            Binary::Add => a + b,
            Binary::Sub => a - b,
            Binary::Mul => a * b,
            Binary::Div => a / b,
            Binary::Max => a.max(b),
        }
    }
}

/// Row-major strides of `shape`.
pub fn contiguous_strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// Strides that read an input of shape `inp` (right-aligned, NumPy rules) as if it had shape `out`.
/// The caller has checked that the shapes broadcast.
pub fn broadcast_strides(inp: &[usize], out: &[usize]) -> Vec<usize> {
    let cs = contiguous_strides(inp);
    let off = out.len() - inp.len();
    (0..out.len()).map(|d| if d < off || inp[d - off] == 1 { 0 } else { cs[d - off] }).collect()
}

/// Merges adjacent dimensions that every operand walks as one (both contiguous across the
/// boundary, or both broadcast) and drops those of size 1, so e.g. a per-channel `[1, c, 1, 1]`
/// against `[n, c, h, w]` becomes `[n, c, h·w]`: the inner loop then runs over `h·w` with one
/// operand fixed, instead of over `w` (7 floats in the DCGAN) with an odometer step per row.
/// Returns the collapsed shape and each operand's strides for it (at least one dimension).
fn collapse(shape: &[usize], strides: &[Vec<usize>]) -> (Vec<usize>, Vec<Vec<usize>>) {
    let mut out_shape: Vec<usize> = Vec::new();
    let mut out_strides: Vec<Vec<usize>> = vec![Vec::new(); strides.len()];
    for d in 0..shape.len() {
        if shape[d] == 1 {
            continue;
        }
        let mergeable = !out_shape.is_empty()
            && strides.iter().zip(&out_strides).all(|(s, o)| *o.last().unwrap() == s[d] * shape[d]);
        if mergeable {
            *out_shape.last_mut().unwrap() *= shape[d];
            for (s, o) in strides.iter().zip(&mut out_strides) {
                *o.last_mut().unwrap() = s[d];
            }
        } else {
            out_shape.push(shape[d]);
            for (s, o) in strides.iter().zip(&mut out_strides) {
                o.push(s[d]);
            }
        }
    }
    if out_shape.is_empty() {
        out_shape.push(1);
        out_strides.iter_mut().for_each(|o| o.push(0));
    }
    (out_shape, out_strides)
}

/// `y = a ∘ b` where `a`, `b` broadcast to `out_shape`.
pub fn binary_forward(
    op: Binary,
    a: &[f32],
    a_shape: &[usize],
    b: &[f32],
    b_shape: &[usize],
    out_shape: &[usize],
    y: &mut [f32],
) {
    // One monomorphised copy per op, so the inner loops vectorise.
    match op {
        Binary::Add => broadcast_map(|u, v| u + v, a, a_shape, b, b_shape, out_shape, y),
        Binary::Sub => broadcast_map(|u, v| u - v, a, a_shape, b, b_shape, out_shape, y),
        Binary::Mul => broadcast_map(|u, v| u * v, a, a_shape, b, b_shape, out_shape, y),
        Binary::Div => broadcast_map(|u, v| u / v, a, a_shape, b, b_shape, out_shape, y),
        Binary::Max => broadcast_map(f32::max, a, a_shape, b, b_shape, out_shape, y),
    }
}

#[allow(clippy::too_many_arguments)]
fn broadcast_map(
    f: impl Fn(f32, f32) -> f32 + Sync + Send + Copy,
    a: &[f32],
    a_shape: &[usize],
    b: &[f32],
    b_shape: &[usize],
    out_shape: &[usize],
    y: &mut [f32],
) {
    if a_shape == b_shape && a_shape == out_shape {
        for_chunks_mut(y, |off, out| {
            let (a, b) = (&a[off..off + out.len()], &b[off..off + out.len()]);
            for ((o, &u), &v) in out.iter_mut().zip(a).zip(b) {
                *o = f(u, v);
            }
        });
        return;
    }
    if b.len() == 1 && a_shape == out_shape {
        let v = b[0];
        for_chunks_mut(y, |off, out| {
            let src = &a[off..off + out.len()];
            for (o, &u) in out.iter_mut().zip(src) {
                *o = f(u, v);
            }
        });
        return;
    }
    let (out_shape, st) =
        collapse(out_shape, &[broadcast_strides(a_shape, out_shape), broadcast_strides(b_shape, out_shape)]);
    let (out_shape, sa, sb) = (&out_shape[..], &st[0], &st[1]);
    let inner = *out_shape.last().unwrap_or(&1);
    let (ia, ib) = (*sa.last().unwrap_or(&0), *sb.last().unwrap_or(&0));
    let rows = |row0: usize, out: &mut [f32]| {
        // out holds whole rows starting at row index row0 of the outer odometer.
        let ndim = out_shape.len();
        let mut idx = vec![0usize; ndim.saturating_sub(1)];
        let mut r = row0;
        for d in (0..idx.len()).rev() {
            idx[d] = r % out_shape[d];
            r /= out_shape[d];
        }
        for row in out.chunks_mut(inner.max(1)) {
            let (mut pa, mut pb) = (0, 0);
            for d in 0..idx.len() {
                pa += idx[d] * sa[d];
                pb += idx[d] * sb[d];
            }
            // The common inner patterns get loops the compiler vectorises.
            let len = row.len();
            match (ia, ib) {
                (1, 0) => {
                    let v = b[pb];
                    for (o, &u) in row.iter_mut().zip(&a[pa..pa + len]) {
                        *o = f(u, v);
                    }
                }
                (0, 1) => {
                    let u = a[pa];
                    for (o, &v) in row.iter_mut().zip(&b[pb..pb + len]) {
                        *o = f(u, v);
                    }
                }
                (1, 1) => {
                    for ((o, &u), &v) in row.iter_mut().zip(&a[pa..pa + len]).zip(&b[pb..pb + len]) {
                        *o = f(u, v);
                    }
                }
                _ => {
                    for (j, o) in row.iter_mut().enumerate() {
                        *o = f(a[pa + j * ia], b[pb + j * ib]);
                    }
                }
            }
            for d in (0..idx.len()).rev() {
                idx[d] += 1;
                if idx[d] < out_shape[d] {
                    break;
                }
                idx[d] = 0;
            }
        }
    };
    if y.len() < PAR_MIN || inner == 0 {
        rows(0, y);
    } else {
        let rows_per_chunk = (8192 / inner).max(1);
        y.par_chunks_mut(rows_per_chunk * inner).enumerate().for_each(|(i, chunk)| rows(i * rows_per_chunk, chunk));
    }
}

/// Sums `x` (of shape `x_shape`) down to `to_shape`, the inverse of broadcasting: the gradient
/// of a broadcast input. Sequential in row-major order, with a fixed summation order, so the
/// result never depends on the thread count.
pub fn sum_to_shape(x: &[f32], x_shape: &[usize], to_shape: &[usize], out: &mut [f32]) {
    out.iter_mut().for_each(|v| *v = 0.0);
    if x.is_empty() {
        return;
    }
    let (shape, st) = collapse(x_shape, &[broadcast_strides(to_shape, x_shape)]);
    let st = &st[0];
    let inner = *shape.last().unwrap();
    let si = *st.last().unwrap();
    let outer = shape.len() - 1;
    let mut idx = vec![0usize; outer];
    for row in x.chunks(inner) {
        let mut p = 0;
        for d in 0..outer {
            p += idx[d] * st[d];
        }
        if si == 0 {
            out[p] += sum_lanes(row);
        } else {
            for (o, &v) in out[p..].iter_mut().step_by(si).zip(row) {
                *o += v;
            }
        }
        for d in (0..outer).rev() {
            idx[d] += 1;
            if idx[d] < shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
}

/// `Σ row` in a fixed order that vectorises: 16 running lanes, combined pairwise, then the tail.
/// (A plain left-to-right sum is bound by the add latency, 4 cycles per element.)
fn sum_lanes(row: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 16];
    let chunks = row.chunks_exact(16);
    let tail = chunks.remainder();
    for c in chunks {
        for (l, v) in lanes.iter_mut().zip(c) {
            *l += v;
        }
    }
    let mut width = 16;
    while width > 1 {
        width /= 2;
        for i in 0..width {
            lanes[i] += lanes[i + width];
        }
    }
    tail.iter().fold(lanes[0], |acc, v| acc + v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_add_matches_hand_case() {
        // [2,3] + [3]
        let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let b = [10.0, 20.0, 30.0];
        let mut y = [f32::NAN; 6];
        binary_forward(Binary::Add, &a, &[2, 3], &b, &[3], &[2, 3], &mut y);
        assert_eq!(y, [11.0, 22.0, 33.0, 14.0, 25.0, 36.0]);
        // [2,1] * [1,3]
        let mut y = [f32::NAN; 6];
        binary_forward(Binary::Mul, &[2.0, 3.0], &[2, 1], &b, &[1, 3], &[2, 3], &mut y);
        assert_eq!(y, [20.0, 40.0, 60.0, 30.0, 60.0, 90.0]);
    }

    /// Element `i` of a row-major `shape`, read through broadcast `strides`.
    fn at(src: &[f32], shape: &[usize], strides: &[usize], mut i: usize) -> f32 {
        let mut p = 0;
        for d in (0..shape.len()).rev() {
            p += (i % shape[d]) * strides[d];
            i /= shape[d];
        }
        src[p]
    }

    /// The collapsed fast paths against per-element index arithmetic, on the engine's patterns
    /// (per-channel `[1, c, 1, 1]`, per-feature, scalars, both sides broadcast) and odd sizes.
    #[test]
    fn broadcasts_and_reductions_match_index_arithmetic() {
        let cases: &[(&[usize], &[usize])] = &[
            (&[3, 5, 7, 7], &[1, 5, 1, 1]),
            (&[1, 5, 1, 1], &[3, 5, 7, 7]),
            (&[2, 3, 4, 5], &[3, 1, 5]),
            (&[4, 1, 6], &[1, 5, 1]),
            (&[9, 33], &[33]),
            (&[9, 33], &[9, 1]),
            (&[2, 3], &[1]),
            (&[70, 300], &[1, 300]),
            (&[300, 70], &[300, 1]),
            (&[2, 1, 3, 1], &[2, 4, 3, 5]),
        ];
        for (a_shape, b_shape) in cases {
            let out_shape: Vec<usize> = {
                let n = a_shape.len().max(b_shape.len());
                let get = |s: &[usize], d: usize| if d + s.len() < n { 1 } else { s[d + s.len() - n] };
                (0..n).map(|d| get(a_shape, d).max(get(b_shape, d))).collect()
            };
            let len: usize = out_shape.iter().product();
            let a: Vec<f32> = (0..a_shape.iter().product::<usize>()).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..b_shape.iter().product::<usize>()).map(|i| (i as f32 * 0.71).cos() + 2.0).collect();
            let (sa, sb) = (broadcast_strides(a_shape, &out_shape), broadcast_strides(b_shape, &out_shape));
            for op in [Binary::Add, Binary::Sub, Binary::Mul, Binary::Div, Binary::Max] {
                let mut y = vec![f32::NAN; len];
                binary_forward(op, &a, a_shape, &b, b_shape, &out_shape, &mut y);
                for (i, &v) in y.iter().enumerate() {
                    let want = op.apply(at(&a, &out_shape, &sa, i), at(&b, &out_shape, &sb, i));
                    assert_eq!(v, want, "{op:?} {a_shape:?} {b_shape:?} at {i}");
                }
            }
            // The gradient of the broadcast operand: sum the output back onto each shape.
            let g: Vec<f32> = (0..len).map(|i| ((i * 7919) % 101) as f32 / 50.0 - 1.0).collect();
            for to in [a_shape, b_shape] {
                let st = broadcast_strides(to, &out_shape);
                let mut want = vec![0.0f64; to.iter().product()];
                let mut abs = vec![0.0f64; want.len()];
                for (i, &v) in g.iter().enumerate() {
                    let mut p = 0;
                    let mut r = i;
                    for d in (0..out_shape.len()).rev() {
                        p += (r % out_shape[d]) * st[d];
                        r /= out_shape[d];
                    }
                    want[p] += v as f64;
                    abs[p] += v.abs() as f64;
                }
                let mut got = vec![f32::NAN; want.len()];
                sum_to_shape(&g, &out_shape, to, &mut got);
                for ((g, w), s) in got.iter().zip(&want).zip(&abs) {
                    assert!((*g as f64 - w).abs() <= 1e-5 * s + 1e-6, "sum_to {out_shape:?} → {to:?}: {g} vs {w}");
                }
            }
        }
    }

    #[test]
    fn sum_to_shape_reduces_broadcast_axes() {
        let x: Vec<f32> = (0..24).map(|v| v as f32).collect();
        let mut out = [f32::NAN; 3];
        sum_to_shape(&x, &[2, 3, 4], &[3, 1], &mut out);
        // out[c] = sum over n, w of x[n,c,w]
        let want: Vec<f32> =
            (0..3).map(|c| (0..2).flat_map(|n| (0..4).map(move |w| (n * 12 + c * 4 + w) as f32)).sum()).collect();
        assert_eq!(out.to_vec(), want);
    }
}
