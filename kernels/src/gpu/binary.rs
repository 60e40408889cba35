//! Broadcasting binary arithmetic and `sum_to_shape` on the GPU (`shaders/binary.wgsl`).

use super::context::Shader;
use super::{check_lens, grid_2d, grid_elems, u32_of, GpuBuffer, GpuError, Result};
pub use crate::cpu::binary::Binary;
use crate::cpu::binary::{broadcast_strides, contiguous_strides};

pub(crate) const SHADER: Shader = Shader { name: "binary", source: include_str!("../../shaders/binary.wgsl") };

/// Most dimensions the shaders index (two vec4s of the uniform block).
pub const MAX_DIMS: usize = 8;

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n: u32,
    ndim: u32,
    op: u32,
    rlen: u32,
    s0: [u32; 8],
    s1: [u32; 8],
    s2: [u32; 8],
}

fn pack(what: &str, v: &[usize]) -> Result<[u32; 8]> {
    if v.len() > MAX_DIMS {
        return Err(GpuError::Shape(format!(
            "{what}: {} dimensions (the GPU kernels take at most {MAX_DIMS})",
            v.len()
        )));
    }
    let mut out = [1u32; 8];
    for (o, &x) in out.iter_mut().zip(v) {
        *o = u32_of(x, what)?;
    }
    Ok(out)
}

/// `in_shape` broadcasts to `out` under NumPy's rules.
fn broadcasts(inp: &[usize], out: &[usize]) -> bool {
    inp.len() <= out.len() && inp.iter().rev().zip(out.iter().rev()).all(|(&i, &o)| i == o || i == 1)
}

/// `y = a ∘ b` where `a`, `b` broadcast to `out_shape`.
pub fn binary_forward(
    op: Binary,
    a: &GpuBuffer,
    a_shape: &[usize],
    b: &GpuBuffer,
    b_shape: &[usize],
    out_shape: &[usize],
    y: &GpuBuffer,
) -> Result<()> {
    let numel = |s: &[usize]| s.iter().product::<usize>();
    check_lens(
        "binary_forward",
        &[("a", a.len(), numel(a_shape)), ("b", b.len(), numel(b_shape)), ("y", y.len(), numel(out_shape))],
    )?;
    if !broadcasts(a_shape, out_shape) || !broadcasts(b_shape, out_shape) {
        return Err(GpuError::Shape(format!(
            "binary_forward: {a_shape:?} and {b_shape:?} do not broadcast to {out_shape:?}"
        )));
    }
    if y.is_empty() {
        return Ok(());
    }
    let p = Params {
        n: u32_of(y.len(), "elements")?,
        ndim: out_shape.len() as u32,
        op: op as u32,
        rlen: 0,
        s0: pack("out_shape", out_shape)?,
        s1: pack("a strides", &broadcast_strides(a_shape, out_shape))?,
        s2: pack("b strides", &broadcast_strides(b_shape, out_shape))?,
    };
    y.context().launch(&SHADER, "binary_forward", &[], &p, &[a, b, y], grid_elems(y.len())?)
}

/// Below this many summands per output, one thread per output beats a workgroup per output.
const GROUP_MIN: usize = 256;

/// Sums `x` (of shape `x_shape`) down to `to_shape` (which broadcasts to `x_shape`): the
/// gradient of a broadcast input. Overwrites `out`.
pub fn sum_to_shape(x: &GpuBuffer, x_shape: &[usize], to_shape: &[usize], out: &GpuBuffer) -> Result<()> {
    let numel = |s: &[usize]| s.iter().product::<usize>();
    check_lens("sum_to_shape", &[("x", x.len(), numel(x_shape)), ("out", out.len(), numel(to_shape))])?;
    if !broadcasts(to_shape, x_shape) {
        return Err(GpuError::Shape(format!("sum_to_shape: {to_shape:?} does not broadcast to {x_shape:?}")));
    }
    if out.is_empty() {
        return Ok(());
    }
    // Right-align `to_shape` against `x_shape`: kept axes keep their size, reduced ones are 1.
    let off = x_shape.len() - to_shape.len();
    let kept: Vec<usize> = (0..x_shape.len()).map(|d| if d < off { 1 } else { to_shape[d - off] }).collect();
    let reduced: Vec<usize> = x_shape.iter().zip(&kept).map(|(&xs, &k)| if k == xs { 1 } else { xs }).collect();
    let rlen = numel(&reduced);
    let p = Params {
        n: u32_of(out.len(), "elements")?,
        ndim: x_shape.len() as u32,
        op: 0,
        rlen: u32_of(rlen, "summands")?,
        s0: pack("to_shape", &kept)?,
        s1: pack("reduced shape", &reduced)?,
        s2: pack("x strides", &contiguous_strides(x_shape))?,
    };
    let ctx = out.context();
    if rlen >= GROUP_MIN {
        ctx.launch(&SHADER, "sum_to_shape_group", &[], &p, &[x, out], grid_2d(out.len() as u64)?)
    } else {
        ctx.launch(&SHADER, "sum_to_shape_thread", &[], &p, &[x, out], grid_elems(out.len())?)
    }
}
