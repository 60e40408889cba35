//! Batch normalisation without affine parameters (the engine composes the optional affine
//! part and the running-statistics update from elementwise ops).
//! Layout: `n × c × spatial` (spatial = h·w for images, 1 for dense features).

/// Training mode: normalises with the batch statistics of each channel.
/// Writes `y`, the per-channel `mean` and the biased variance `var` (what PyTorch normalises
/// with; the running estimate wants the unbiased one, which the engine derives).
pub fn batch_norm_train_forward(
    n: usize,
    c: usize,
    spatial: usize,
    x: &[f32],
    eps: f32,
    y: &mut [f32],
    mean: &mut [f32],
    var: &mut [f32],
) {
    let _ = (n, c, spatial, x, eps, y, mean, var);
    todo!("norm helper")
}

/// Gradient of the training-mode normalisation: with `x̂ = y` (the forward output) and
/// `invstd = 1/√(var+eps)`, `dx = invstd · (dy − mean(dy) − x̂ · mean(dy · x̂))` per channel.
pub fn batch_norm_train_backward(
    n: usize,
    c: usize,
    spatial: usize,
    y: &[f32],
    var: &[f32],
    eps: f32,
    dy: &[f32],
    dx: &mut [f32],
) {
    let _ = (n, c, spatial, y, var, eps, dy, dx);
    todo!("norm helper")
}
