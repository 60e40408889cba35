//! Sums on the GPU (`shaders/reduce.wgsl`). Means are sums scaled by the engine.

use super::context::Shader;
use super::{check_lens, u32_of, GpuBuffer, Result};

pub(crate) const SHADER: Shader = Shader { name: "reduce", source: include_str!("../../shaders/reduce.wgsl") };

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct Params {
    pub n: u32,
    pub groups: u32,
    pub scale: f32,
    pub _pad: u32,
}

/// Workgroups of the first pass for `n` elements: enough to fill a large GPU, few enough that
/// the second pass is one workgroup's work. A function of `n` alone.
pub(crate) fn partial_groups(n: usize) -> u32 {
    (n.div_ceil(256 * 8)).clamp(1, 1024) as u32
}

/// Sums `x` over the axes where `reduce[d]` is true; the result has those axes set to 1.
pub fn sum_axes(x: &GpuBuffer, shape: &[usize], reduce: &[bool], out: &GpuBuffer) -> Result<()> {
    let to: Vec<usize> = shape.iter().zip(reduce).map(|(&s, &r)| if r { 1 } else { s }).collect();
    super::binary::sum_to_shape(x, shape, &to, out)
}

/// `out[0] = scale · Σ x` (`out` holds one element); `scale = 1/n` gives the mean.
pub fn sum_all(x: &GpuBuffer, scale: f32, out: &GpuBuffer) -> Result<()> {
    check_lens("sum_all", &[("out", out.len(), 1)])?;
    let ctx = out.context();
    let n = u32_of(x.len(), "elements")?;
    let groups = partial_groups(x.len());
    let partials = GpuBuffer::uninit(ctx, groups as usize)?;
    let p = Params { n, groups, scale, _pad: 0 };
    ctx.launch(&SHADER, "partial", &[], &p, &[x, &partials], [groups, 1, 1])?;
    let p = Params { n: groups, groups: 1, scale, _pad: 0 };
    ctx.launch(&SHADER, "finish", &[], &p, &[&partials, out], [1, 1, 1])
}
