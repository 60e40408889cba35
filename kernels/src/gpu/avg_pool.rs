//! Average pooling on the GPU (`shaders/avg_pool.wgsl`).

use super::context::Shader;
use super::{check_lens, grid_elems, u32_of, GpuBuffer, GpuError, Result};
pub use crate::cpu::avg_pool::AvgPool2dGeom;

const SHADER: Shader = Shader { name: "avg_pool", source: include_str!("../../shaders/avg_pool.wgsl") };

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    planes: u32,
    h: u32,
    w: u32,
    k: u32,
    stride: u32,
    oh: u32,
    ow: u32,
    _pad: u32,
}

fn params(what: &str, g: &AvgPool2dGeom) -> Result<Params> {
    if !g.is_valid() {
        return Err(GpuError::Shape(format!(
            "{what}: invalid pooling geometry {g:?} (need k, stride ≥ 1 and k ≤ h, w)"
        )));
    }
    u32_of(g.x_len(), "x elements")?;
    Ok(Params {
        planes: (g.n * g.c) as u32,
        h: g.h as u32,
        w: g.w as u32,
        k: g.k as u32,
        stride: g.stride as u32,
        oh: g.oh() as u32,
        ow: g.ow() as u32,
        _pad: 0,
    })
}

/// `y[n,c,i,j]` = the mean of its window.
pub fn avg_pool2d_forward(g: &AvgPool2dGeom, x: &GpuBuffer, y: &GpuBuffer) -> Result<()> {
    let p = params("avg_pool2d_forward", g)?;
    check_lens("avg_pool2d_forward", &[("x", x.len(), g.x_len()), ("y", y.len(), g.y_len())])?;
    y.context().launch(&SHADER, "avg_pool_forward", &[], &p, &[x, y], grid_elems(g.y_len())?)
}

/// `dx` (overwritten) = Σ dy / k² over the windows holding each cell.
pub fn avg_pool2d_backward(g: &AvgPool2dGeom, dy: &GpuBuffer, dx: &GpuBuffer) -> Result<()> {
    let p = params("avg_pool2d_backward", g)?;
    check_lens("avg_pool2d_backward", &[("dy", dy.len(), g.y_len()), ("dx", dx.len(), g.x_len())])?;
    dx.context().launch(&SHADER, "avg_pool_backward", &[], &p, &[dy, dx], grid_elems(g.x_len())?)
}
