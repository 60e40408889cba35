//! Fused, numerically stable losses on the GPU (`shaders/loss.wgsl`), mean over all elements.
//! The forward writes the loss into a one-element buffer: it stays on the device until read.

use super::context::Shader;
use super::reduce::{partial_groups, Params};
use super::{check_lens, grid_elems, u32_of, GpuBuffer, Result};

pub(crate) const SHADER: Shader = Shader { name: "loss", source: include_str!("../../shaders/loss.wgsl") };

fn mean_of(partial: &'static str, u: &GpuBuffer, v: &GpuBuffer, loss: &GpuBuffer) -> Result<()> {
    check_lens(partial, &[("target", v.len(), u.len()), ("loss", loss.len(), 1)])?;
    let ctx = loss.context();
    let n = u32_of(u.len(), "elements")?;
    let groups = partial_groups(u.len());
    let partials = GpuBuffer::uninit(ctx, groups as usize)?;
    ctx.launch(&SHADER, partial, &[], &Params { n, groups, scale: 1.0, _pad: 0 }, &[u, v, &partials], [groups, 1, 1])?;
    // The mean of nothing is NaN, as on the CPU (0/0).
    let scale = 1.0 / u.len() as f32;
    ctx.launch(&SHADER, "finish", &[], &Params { n: groups, groups: 1, scale, _pad: 0 }, &[&partials, loss], [1, 1, 1])
}

fn elementwise(entry: &'static str, u: &GpuBuffer, v: &GpuBuffer, scale: f32, out: &GpuBuffer) -> Result<()> {
    check_lens(entry, &[("target", v.len(), u.len()), ("gradient", out.len(), u.len())])?;
    let p = Params { n: u32_of(u.len(), "elements")?, groups: 0, scale, _pad: 0 };
    out.context().launch(&SHADER, entry, &[], &p, &[u, v, out], grid_elems(u.len())?)
}

/// `loss[0] = mean(max(x,0) − x·t + log(1 + e^{−|x|}))`, BCE on logits.
pub fn bce_with_logits_forward(x: &GpuBuffer, t: &GpuBuffer, loss: &GpuBuffer) -> Result<()> {
    mean_of("bce_partial", x, t, loss)
}

/// `dx = g · (σ(x) − t) / n`, with `g` the upstream gradient of the mean.
pub fn bce_with_logits_backward(x: &GpuBuffer, t: &GpuBuffer, g: f32, dx: &GpuBuffer) -> Result<()> {
    elementwise("bce_backward", x, t, g / x.len() as f32, dx)
}

/// `loss[0] = mean((a − b)²)`.
pub fn mse_forward(a: &GpuBuffer, b: &GpuBuffer, loss: &GpuBuffer) -> Result<()> {
    mean_of("mse_partial", a, b, loss)
}

/// `da = 2g(a − b)/n`; the gradient for `b` is its negation.
pub fn mse_backward(a: &GpuBuffer, b: &GpuBuffer, g: f32, da: &GpuBuffer) -> Result<()> {
    elementwise("mse_backward", a, b, 2.0 * g / a.len() as f32, da)
}
