//! Nearest-neighbour upsampling on the GPU (`shaders/upsample.wgsl`).

use super::context::Shader;
use super::{check_lens, grid_elems, u32_of, GpuBuffer, GpuError, Result};

pub(crate) const SHADER: Shader = Shader { name: "upsample", source: include_str!("../../shaders/upsample.wgsl") };

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    planes: u32,
    h: u32,
    w: u32,
    k: u32,
}

#[allow(clippy::too_many_arguments)]
fn params(what: &str, n: usize, c: usize, h: usize, w: usize, k: usize, x: usize, y: usize) -> Result<Params> {
    if k < 1 {
        return Err(GpuError::Shape(format!("{what}: factor k = 0")));
    }
    let xl = n * c * h * w;
    check_lens(what, &[("x", x, xl), ("y", y, xl * k * k)])?;
    u32_of(xl * k * k, "y elements")?;
    Ok(Params { planes: (n * c) as u32, h: h as u32, w: w as u32, k: k as u32 })
}

/// `x` is `n × c × h × w`, `y` is `n × c × (h·k) × (w·k)`, overwritten.
pub fn upsample_nearest_forward(
    n: usize,
    c: usize,
    h: usize,
    w: usize,
    k: usize,
    x: &GpuBuffer,
    y: &GpuBuffer,
) -> Result<()> {
    let p = params("upsample_nearest_forward", n, c, h, w, k, x.len(), y.len())?;
    y.context().launch(&SHADER, "upsample_forward", &[], &p, &[x, y], grid_elems(y.len())?)
}

/// Sums each `k × k` block of `dy` into `dx` (overwritten).
pub fn upsample_nearest_backward(
    n: usize,
    c: usize,
    h: usize,
    w: usize,
    k: usize,
    dy: &GpuBuffer,
    dx: &GpuBuffer,
) -> Result<()> {
    let p = params("upsample_nearest_backward", n, c, h, w, k, dx.len(), dy.len())?;
    dx.context().launch(&SHADER, "upsample_backward", &[], &p, &[dy, dx], grid_elems(dx.len())?)
}
