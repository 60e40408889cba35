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
    let sa = broadcast_strides(a_shape, out_shape);
    let sb = broadcast_strides(b_shape, out_shape);
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
            for (j, o) in row.iter_mut().enumerate() {
                *o = f(a[pa + j * ia], b[pb + j * ib]);
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
/// of a broadcast input. Sequential in row-major order, so the summation order is fixed.
pub fn sum_to_shape(x: &[f32], x_shape: &[usize], to_shape: &[usize], out: &mut [f32]) {
    let st = broadcast_strides(to_shape, x_shape);
    out.iter_mut().for_each(|v| *v = 0.0);
    let inner = *x_shape.last().unwrap_or(&1);
    let si = *st.last().unwrap_or(&0);
    let outer = x_shape.len().saturating_sub(1);
    let mut idx = vec![0usize; outer];
    if inner == 0 {
        return;
    }
    for row in x.chunks(inner) {
        let mut p = 0;
        for d in 0..outer {
            p += idx[d] * st[d];
        }
        if si == 0 {
            out[p] += row.iter().sum::<f32>();
        } else {
            for (j, &v) in row.iter().enumerate() {
                out[p + j * si] += v;
            }
        }
        for d in (0..outer).rev() {
            idx[d] += 1;
            if idx[d] < x_shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
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
