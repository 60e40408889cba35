//! Average pooling on the GPU (`shaders/avg_pool.wgsl`), with max pooling's uniform block.

use super::context::Shader;
use super::pool::params;
use super::{check_lens, grid_elems, GpuBuffer, GpuError, Result};
pub use crate::cpu::avg_pool::{fits, Pool2dGeom};

const SHADER: Shader = Shader { name: "avg_pool", source: include_str!("../../shaders/avg_pool.wgsl") };

fn unpadded(what: &str, g: &Pool2dGeom) -> Result<()> {
    if fits(g) {
        Ok(())
    } else {
        Err(GpuError::Shape(format!("{what}: invalid pooling geometry {g:?} (need pad 0, k, stride ≥ 1 and k ≤ h, w)")))
    }
}

/// `y[n,c,i,j]` = the mean of its window.
pub fn avg_pool2d_forward(g: &Pool2dGeom, x: &GpuBuffer, y: &GpuBuffer) -> Result<()> {
    unpadded("avg_pool2d_forward", g)?;
    let p = params("avg_pool2d_forward", g)?;
    check_lens("avg_pool2d_forward", &[("x", x.len(), g.x_len()), ("y", y.len(), g.y_len())])?;
    y.context().launch(&SHADER, "avg_pool_forward", &[], &p, &[x, y], grid_elems(g.y_len())?)
}

/// `dx` (overwritten) = Σ dy / k² over the windows holding each cell.
pub fn avg_pool2d_backward(g: &Pool2dGeom, dy: &GpuBuffer, dx: &GpuBuffer) -> Result<()> {
    unpadded("avg_pool2d_backward", g)?;
    let p = params("avg_pool2d_backward", g)?;
    check_lens("avg_pool2d_backward", &[("dy", dy.len(), g.y_len()), ("dx", dx.len(), g.x_len())])?;
    dx.context().launch(&SHADER, "avg_pool_backward", &[], &p, &[dy, dx], grid_elems(g.x_len())?)
}
