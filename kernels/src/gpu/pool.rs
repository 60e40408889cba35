//! Max pooling on the GPU (`shaders/pool.wgsl`); argmax is a buffer of `u32` plane indices.

use super::context::Shader;
use super::{check_lens, grid_elems, u32_of, GpuBuffer, GpuError, Result};
pub use crate::cpu::pool::Pool2dGeom;

pub(crate) const SHADER: Shader = Shader { name: "pool", source: include_str!("../../shaders/pool.wgsl") };

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
/// The uniform block of `pool.wgsl`, shared by `infer.wgsl`'s `max_pool`.
pub(crate) struct Params {
    planes: u32,
    h: u32,
    w: u32,
    k: u32,
    stride: u32,
    pad: u32,
    oh: u32,
    ow: u32,
}

pub(crate) fn params(what: &str, g: &Pool2dGeom) -> Result<Params> {
    if g.stride < 1 || g.pad >= g.k || g.h + 2 * g.pad < g.k || g.w + 2 * g.pad < g.k {
        return Err(GpuError::Shape(format!(
            "{what}: invalid pooling geometry {g:?} (need stride ≥ 1, pad < k, k ≤ padded size)"
        )));
    }
    u32_of(g.x_len(), "x elements")?;
    Ok(Params {
        planes: (g.n * g.c) as u32,
        h: g.h as u32,
        w: g.w as u32,
        k: g.k as u32,
        stride: g.stride as u32,
        pad: g.pad as u32,
        oh: g.oh() as u32,
        ow: g.ow() as u32,
    })
}

/// `y[n,c,i,j] = max` over the window; `argmax` gets the winner's index within its `h × w` plane.
pub fn max_pool2d_forward(g: &Pool2dGeom, x: &GpuBuffer, y: &GpuBuffer, argmax: &GpuBuffer) -> Result<()> {
    let p = params("max_pool2d_forward", g)?;
    check_lens(
        "max_pool2d_forward",
        &[("x", x.len(), g.x_len()), ("y", y.len(), g.y_len()), ("argmax", argmax.len(), g.y_len())],
    )?;
    y.context().launch(&SHADER, "max_pool_forward", &[], &p, &[x, y, argmax], grid_elems(g.y_len())?)
}

/// Routes each `dy` to its window's winner; `dx` is overwritten (zeros elsewhere).
pub fn max_pool2d_backward(g: &Pool2dGeom, dy: &GpuBuffer, argmax: &GpuBuffer, dx: &GpuBuffer) -> Result<()> {
    let p = params("max_pool2d_backward", g)?;
    check_lens(
        "max_pool2d_backward",
        &[("dy", dy.len(), g.y_len()), ("argmax", argmax.len(), g.y_len()), ("dx", dx.len(), g.x_len())],
    )?;
    dx.context().launch(&SHADER, "max_pool_backward", &[], &p, &[dy, argmax, dx], grid_elems(g.x_len())?)
}
