//! 2-D convolution on the GPU as implicit GEMM (`shaders/conv.wgsl`); same geometry and
//! contracts as [`crate::cpu::conv`]. Transposed convolution reuses these three kernels with
//! input and output swapped, exactly as spelled out in the CPU module's docs.

use super::context::Shader;
use super::gemm::tile_grid;
use super::{check_lens, grid_elems, u32_of, GpuBuffer, GpuError, Result};
pub use crate::cpu::conv::Conv2dGeom;

pub(crate) const SHADER: Shader = Shader { name: "conv", source: include_str!("../../shaders/conv.wgsl") };

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n: u32,
    c_in: u32,
    h: u32,
    w: u32,
    c_out: u32,
    kh: u32,
    kw: u32,
    stride: u32,
    pad: u32,
    oh: u32,
    ow: u32,
    m: u32,
    ncols: u32,
    kdim: u32,
    k_chunk: u32,
    _pad: u32,
}

/// Workgroups a launch should offer the device before split-K pays for its extra pass.
const TARGET_GROUPS: usize = 512;
/// The shortest reduction slice worth a workgroup of its own.
const MIN_K_CHUNK: usize = 256;
/// Most bytes of partial sums split-K may allocate.
const MAX_SPLIT_BYTES: usize = 64 << 20;

/// Slices of the reduction for the weight gradient, whose `k = batch · oh · ow` is long and whose
/// output (the weights) is small: without a split, a handful of workgroups would walk all of `k`
/// while the rest of the GPU idles. Returns `(slices, k_chunk)`; `(1, 0)` means no split.
fn split_k(m: usize, ncols: usize, kdim: usize) -> (usize, usize) {
    let tiles = m.div_ceil(64) * ncols.div_ceil(64);
    let by_k = kdim / MIN_K_CHUNK;
    let by_mem = MAX_SPLIT_BYTES / (4 * m * ncols).max(1);
    let want = (TARGET_GROUPS / tiles.max(1)).min(by_k).min(by_mem);
    if want < 2 || ncols.div_ceil(64) > super::MAX_GROUPS as usize {
        return (1, 0);
    }
    let chunk = kdim.div_ceil(want).div_ceil(16) * 16;
    (kdim.div_ceil(chunk), chunk)
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct SumParams {
    len: u32,
    parts: u32,
    _pad: [u32; 2],
}

pub(crate) fn check_geom(what: &str, g: &Conv2dGeom) -> Result<()> {
    if g.stride < 1 || g.h + 2 * g.pad < g.kh || g.w + 2 * g.pad < g.kw {
        return Err(GpuError::Shape(format!("{what}: invalid geometry {g:?} (stride ≥ 1, kernel ≤ padded input)")));
    }
    for (name, len) in [("x", g.x_len()), ("w", g.w_len()), ("y", g.y_len())] {
        u32_of(len, name)?;
    }
    Ok(())
}

/// One implicit-GEMM launch: `m × ncols` outputs over `kdim`.
fn run(mode: u32, g: &Conv2dGeom, m: usize, ncols: usize, kdim: usize, bufs: [&GpuBuffer; 3]) -> Result<()> {
    if m == 0 || ncols == 0 {
        return Ok(());
    }
    let params = Params {
        n: g.n as u32,
        c_in: g.c_in as u32,
        h: g.h as u32,
        w: g.w as u32,
        c_out: g.c_out as u32,
        kh: g.kh as u32,
        kw: g.kw as u32,
        stride: g.stride as u32,
        pad: g.pad as u32,
        oh: g.oh() as u32,
        ow: g.ow() as u32,
        m: u32_of(m, "m")?,
        ncols: u32_of(ncols, "columns")?,
        kdim: u32_of(kdim, "reduction length")?,
        k_chunk: 0,
        _pad: 0,
    };
    let ctx = bufs[2].context();
    let constants = [("MODE", mode as f64)];
    let (parts, k_chunk) = if mode == 2 { split_k(m, ncols, kdim) } else { (1, 0) };
    if parts == 1 {
        return ctx.launch(&SHADER, "conv", &constants, &params, &bufs, tile_grid(m, ncols)?);
    }
    let slices = GpuBuffer::uninit(ctx, parts * m * ncols)?;
    let params = Params { k_chunk: k_chunk as u32, ..params };
    let grid = [ncols.div_ceil(64) as u32, m.div_ceil(64) as u32, parts as u32];
    ctx.launch(&SHADER, "conv", &constants, &params, &[bufs[0], bufs[1], &slices], grid)?;
    let sum = SumParams { len: u32_of(m * ncols, "outputs")?, parts: parts as u32, _pad: [0; 2] };
    ctx.launch(&SHADER, "sum_parts", &[], &sum, &[&slices, bufs[2]], grid_elems(m * ncols)?)
}

/// `y = conv2d(x, w)`; `y` is `n × c_out × oh × ow`, overwritten.
pub fn conv2d_forward(g: &Conv2dGeom, x: &GpuBuffer, w: &GpuBuffer, y: &GpuBuffer) -> Result<()> {
    check_geom("conv2d_forward", g)?;
    check_lens("conv2d_forward", &[("x", x.len(), g.x_len()), ("w", w.len(), g.w_len()), ("y", y.len(), g.y_len())])?;
    run(0, g, g.c_out, g.n * g.oh() * g.ow(), g.c_in * g.kh * g.kw, [x, w, y])
}

/// `dx = ∂L/∂x` from `dy`; overwritten (cells no window covers get zero).
pub fn conv2d_backward_input(g: &Conv2dGeom, dy: &GpuBuffer, w: &GpuBuffer, dx: &GpuBuffer) -> Result<()> {
    check_geom("conv2d_backward_input", g)?;
    check_lens(
        "conv2d_backward_input",
        &[("dy", dy.len(), g.y_len()), ("w", w.len(), g.w_len()), ("dx", dx.len(), g.x_len())],
    )?;
    run(1, g, g.c_in, g.n * g.h * g.w, g.c_out * g.kh * g.kw, [dy, w, dx])
}

/// `dw = ∂L/∂w` from `x` and `dy`, summed over the batch; overwritten.
pub fn conv2d_backward_weight(g: &Conv2dGeom, x: &GpuBuffer, dy: &GpuBuffer, dw: &GpuBuffer) -> Result<()> {
    check_geom("conv2d_backward_weight", g)?;
    check_lens(
        "conv2d_backward_weight",
        &[("x", x.len(), g.x_len()), ("dy", dy.len(), g.y_len()), ("dw", dw.len(), g.w_len())],
    )?;
    run(2, g, g.c_out, g.c_in * g.kh * g.kw, g.n * g.oh() * g.ow(), [x, dy, dw])
}
