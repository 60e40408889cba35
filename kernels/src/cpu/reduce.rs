//! Sums over axes. Means are sums scaled by the engine.

use super::binary::sum_to_shape;

/// Sums `x` over the axes where `keep[d]` is false; the result has those axes set to 1.
pub fn sum_axes(x: &[f32], shape: &[usize], reduce: &[bool], out: &mut [f32]) {
    let to: Vec<usize> = shape.iter().zip(reduce).map(|(&s, &r)| if r { 1 } else { s }).collect();
    sum_to_shape(x, shape, &to, out);
}

/// Sum of all elements in a fixed order: fixed-size blocks summed in f64, blocks added in order.
pub fn sum_all(x: &[f32]) -> f32 {
    x.chunks(4096).map(|c| c.iter().map(|&v| v as f64).sum::<f64>()).sum::<f64>() as f32
}
