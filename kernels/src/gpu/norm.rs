//! Batch normalisation (training mode, no affine part) on the GPU (`shaders/norm.wgsl`).

use super::context::Shader;
use super::{check_lens, grid_2d, grid_elems, u32_of, GpuBuffer, Result};

pub(crate) const SHADER: Shader = Shader { name: "norm", source: include_str!("../../shaders/norm.wgsl") };

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n: u32,
    c: u32,
    spatial: u32,
    eps: f32,
}

fn params(n: usize, c: usize, spatial: usize, eps: f32) -> Result<Params> {
    u32_of(n * c * spatial, "elements")?;
    Ok(Params { n: n as u32, c: c as u32, spatial: spatial as u32, eps })
}

/// Training mode: normalises with the batch statistics of each channel. Writes `y`, the
/// per-channel `mean` and the biased variance `var`.
#[allow(clippy::too_many_arguments)]
pub fn batch_norm_train_forward(
    n: usize,
    c: usize,
    spatial: usize,
    x: &GpuBuffer,
    eps: f32,
    y: &GpuBuffer,
    mean: &GpuBuffer,
    var: &GpuBuffer,
) -> Result<()> {
    let full = n * c * spatial;
    check_lens(
        "batch_norm_train_forward",
        &[("x", x.len(), full), ("y", y.len(), full), ("mean", mean.len(), c), ("var", var.len(), c)],
    )?;
    let p = params(n, c, spatial, eps)?;
    let ctx = y.context();
    if c == 0 {
        return Ok(());
    }
    // With no cells, the statistics are 0 (as on the CPU), not 0/0.
    if full == 0 {
        mean.copy_from(&GpuBuffer::zeros(ctx, c)?)?;
        return var.copy_from(&GpuBuffer::zeros(ctx, c)?);
    }
    ctx.launch(&SHADER, "stats", &[], &p, &[x, mean, var], grid_2d(c as u64)?)?;
    ctx.launch(&SHADER, "normalize", &[], &p, &[x, mean, var, y], grid_elems(full)?)
}

/// Gradient of the training-mode normalisation: with `x̂ = y` and `invstd = 1/√(var+eps)`,
/// `dx = invstd · (dy − mean(dy) − x̂ · mean(dy · x̂))` per channel.
#[allow(clippy::too_many_arguments)]
pub fn batch_norm_train_backward(
    n: usize,
    c: usize,
    spatial: usize,
    y: &GpuBuffer,
    var: &GpuBuffer,
    eps: f32,
    dy: &GpuBuffer,
    dx: &GpuBuffer,
) -> Result<()> {
    let full = n * c * spatial;
    check_lens(
        "batch_norm_train_backward",
        &[("y", y.len(), full), ("dy", dy.len(), full), ("dx", dx.len(), full), ("var", var.len(), c)],
    )?;
    if full == 0 {
        return Ok(());
    }
    let p = params(n, c, spatial, eps)?;
    let ctx = dx.context();
    let coef = GpuBuffer::uninit(ctx, 2 * c)?;
    ctx.launch(&SHADER, "backward_stats", &[], &p, &[y, dy, &coef], grid_2d(c as u64)?)?;
    ctx.launch(&SHADER, "backward_apply", &[], &p, &[y, var, dy, &coef, dx], grid_elems(full)?)
}
