//! Nearest-neighbour upsampling by an integer factor (the DCAE decoders' unpooling).

/// `x` is `n × c × h × w`, `y` is `n × c × (h·k) × (w·k)`, overwritten.
pub fn upsample_nearest_forward(n: usize, c: usize, h: usize, w: usize, k: usize, x: &[f32], y: &mut [f32]) {
    let _ = (n, c, h, w, k, x, y);
    todo!("upsample helper")
}

/// Sums each `k × k` block of `dy` into `dx` (overwritten).
pub fn upsample_nearest_backward(n: usize, c: usize, h: usize, w: usize, k: usize, dy: &[f32], dx: &mut [f32]) {
    let _ = (n, c, h, w, k, dy, dx);
    todo!("upsample helper")
}
