//! Dense matrix multiply on the GPU (`shaders/gemm.wgsl`), same contract as [`crate::cpu::gemm::gemm`].

use super::context::Shader;
use super::{check_lens, u32_of, GpuBuffer, GpuError, Result, MAX_GROUPS};

pub(crate) const SHADER: Shader = Shader { name: "gemm", source: include_str!("../../shaders/gemm.wgsl") };

/// Rows and columns of C one workgroup computes (the shader's `TM`, `TN`).
pub(crate) const TILE: u64 = 64;

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    m: u32,
    n: u32,
    k: u32,
    beta_zero: u32,
    alpha: f32,
    beta: f32,
    _pad: [u32; 2],
}

/// The grid for an `m × n` output in 64 × 64 tiles: x (and z past 65535) along n, y along m.
pub(crate) fn tile_grid(m: usize, n: usize) -> Result<[u32; 3]> {
    let (mt, nt) = ((m as u64).div_ceil(TILE), (n as u64).div_ceil(TILE));
    if mt > MAX_GROUPS as u64 {
        return Err(GpuError::TooLarge(format!("{m} rows of output ({mt} row tiles > 65535)")));
    }
    let x = nt.clamp(1, MAX_GROUPS as u64);
    let z = nt.div_ceil(x);
    if z > MAX_GROUPS as u64 {
        return Err(GpuError::TooLarge(format!("{n} columns of output")));
    }
    Ok([x as u32, mt as u32, z as u32])
}

/// `C = alpha · op(A) · op(B) + beta · C`, all row-major and contiguous.
///
/// `op(A)` is `m × k`: `A` is stored `m × k` when `ta` is false, `k × m` when true.
/// `op(B)` is `k × n`: `B` is stored `k × n` when `tb` is false, `n × k` when true.
/// With `beta == 0` the old contents of `C` are ignored (they may be NaN).
#[allow(clippy::too_many_arguments)]
pub fn gemm(
    ta: bool,
    tb: bool,
    m: usize,
    n: usize,
    k: usize,
    alpha: f32,
    a: &GpuBuffer,
    b: &GpuBuffer,
    beta: f32,
    c: &GpuBuffer,
) -> Result<()> {
    check_lens("gemm", &[("a", a.len(), m * k), ("b", b.len(), k * n), ("c", c.len(), m * n)])?;
    if m == 0 || n == 0 {
        return Ok(());
    }
    let params = Params {
        m: u32_of(m, "m")?,
        n: u32_of(n, "n")?,
        k: u32_of(k, "k")?,
        beta_zero: (beta == 0.0) as u32,
        alpha,
        beta,
        _pad: [0; 2],
    };
    u32_of(m * n, "m·n")?;
    let constants = [("TA", ta as u32 as f64), ("TB", tb as u32 as f64)];
    c.context().launch(&SHADER, "gemm", &constants, &params, &[a, b, c], tile_grid(m, n)?)
}
