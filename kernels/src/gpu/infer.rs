//! Inference kernels in f32 or f16 storage (`shaders/infer.wgsl`): an eval-mode convolution (or
//! dense layer) with its batch norm and leaky ReLU fused into the epilogue, max pooling, and the
//! f32 ↔ f16 conversions.
//!
//! One WGSL source serves both precisions: the host prepends the storage type's alias, so the
//! f16 kernels are the f32 ones with narrower loads and stores. Arithmetic and accumulation stay
//! in f32 either way; f16 needs the adapter's `SHADER_F16` ([`Context::supports_f16`]).
//! On the host, f16 values are [`half::f16`].

use super::context::{Context, Shader};
use super::gemm::tile_grid;
use super::{check_lens, grid_elems, u32_of, GpuBuffer, GpuError, Result};
pub use crate::cpu::conv::Conv2dGeom;
pub use crate::cpu::pool::Pool2dGeom;
use half::f16;
use std::sync::OnceLock;

const SOURCE: &str = include_str!("../../shaders/infer.wgsl");

/// How an activation or weight tensor is stored on the device.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Precision {
    F32,
    /// IEEE half precision, two values per 4-byte word.
    F16,
}

impl Precision {
    /// `f32` or `f16` (the flag values of `score --precision`).
    pub fn parse(name: &str) -> Option<Precision> {
        match name {
            "f32" => Some(Precision::F32),
            "f16" => Some(Precision::F16),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::F16 => "f16",
        }
    }

    /// 4-byte words that hold `len` values.
    fn words(self, len: usize) -> usize {
        match self {
            Precision::F32 => len,
            Precision::F16 => len.div_ceil(2),
        }
    }
}

/// The compiled variant of `infer.wgsl` for a storage type.
fn shader(precision: Precision) -> Shader {
    static F32: OnceLock<String> = OnceLock::new();
    static F16: OnceLock<String> = OnceLock::new();
    match precision {
        Precision::F32 => Shader { name: "infer_f32", source: F32.get_or_init(|| format!("alias S = f32;\n{SOURCE}")) },
        Precision::F16 => {
            Shader { name: "infer_f16", source: F16.get_or_init(|| format!("enable f16;\nalias S = f16;\n{SOURCE}")) }
        }
    }
}

/// `len` values on the device in `precision`.
pub struct TypedBuffer {
    buf: GpuBuffer,
    len: usize,
    precision: Precision,
}

impl TypedBuffer {
    /// A buffer with unspecified contents (a kernel's output).
    pub fn uninit(ctx: &Context, len: usize, precision: Precision) -> Result<TypedBuffer> {
        check_precision(ctx, precision)?;
        Ok(TypedBuffer { buf: GpuBuffer::uninit(ctx, precision.words(len))?, len, precision })
    }

    /// `data` rounded to `precision` on the host (f16: round to nearest even), then uploaded.
    pub fn from_f32(ctx: &Context, data: &[f32], precision: Precision) -> Result<TypedBuffer> {
        check_precision(ctx, precision)?;
        let buf = match precision {
            Precision::F32 => GpuBuffer::from_slice(ctx, data)?,
            Precision::F16 => {
                let mut halves: Vec<f16> = data.iter().map(|&v| f16::from_f32(v)).collect();
                if halves.len() % 2 == 1 {
                    halves.push(f16::ZERO);
                }
                let words: &[u32] = bytemuck::cast_slice(&halves);
                GpuBuffer::from_slice_u32(ctx, words)?
            }
        };
        Ok(TypedBuffer { buf, len: data.len(), precision })
    }

    /// An f32 device buffer converted to `precision` on the device (f32: a copy).
    pub fn convert_from(x: &GpuBuffer, precision: Precision) -> Result<TypedBuffer> {
        let y = TypedBuffer::uninit(x.context(), x.len(), precision)?;
        match precision {
            Precision::F32 => y.buf.copy_from(x)?,
            Precision::F16 => convert("to_half", x.len(), x, &y.buf)?,
        }
        Ok(y)
    }

    /// The values as an f32 device buffer (f32: a copy).
    pub fn to_f32_buffer(&self) -> Result<GpuBuffer> {
        let y = GpuBuffer::uninit(self.buf.context(), self.len)?;
        match self.precision {
            Precision::F32 => y.copy_from(&self.buf)?,
            Precision::F16 => convert("to_float", self.len, &self.buf, &y)?,
        }
        Ok(y)
    }

    /// The values read back and widened to f32.
    pub fn to_vec(&self) -> Result<Vec<f32>> {
        match self.precision {
            Precision::F32 => self.buf.to_vec(),
            Precision::F16 => {
                let words = self.buf.to_vec_u32()?;
                let halves: &[f16] = bytemuck::cast_slice(&words);
                Ok(halves[..self.len].iter().map(|h| h.to_f32()).collect())
            }
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn precision(&self) -> Precision {
        self.precision
    }

    pub fn context(&self) -> &Context {
        self.buf.context()
    }

    /// Device bytes in use (what f16 halves).
    pub fn bytes(&self) -> usize {
        self.precision.words(self.len) * 4
    }
}

fn check_precision(ctx: &Context, precision: Precision) -> Result<()> {
    if precision == Precision::F16 && !ctx.supports_f16() {
        return Err(GpuError::Validation(format!(
            "f16 storage needs SHADER_F16, which {} does not offer",
            ctx.adapter().name
        )));
    }
    Ok(())
}

fn same_precision(kernel: &str, bufs: &[(&str, &TypedBuffer)]) -> Result<Precision> {
    let p = bufs[0].1.precision;
    for (name, b) in bufs {
        if b.precision != p {
            return Err(GpuError::Shape(format!(
                "{kernel}: `{name}` is {}, `{}` is {}",
                b.precision.name(),
                bufs[0].0,
                p.name()
            )));
        }
    }
    Ok(p)
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct ConvertParams {
    n: u32,
    _pad: [u32; 3],
}

fn convert(entry: &'static str, n: usize, src: &GpuBuffer, dst: &GpuBuffer) -> Result<()> {
    let p = ConvertParams { n: u32_of(n, "elements")?, _pad: [0; 3] };
    // Either variant holds the conversions; they touch only u32 words.
    dst.context().launch(&shader(Precision::F32), entry, &[], &p, &[src, dst], grid_elems(n.div_ceil(2))?)
}

/// What follows the convolution's sums in [`conv_block`].
#[derive(Clone, Copy, Debug)]
pub struct Epilogue<'a> {
    /// `2 · c_out` f32 values: the per-channel scale, then the shift (an eval-mode batch norm
    /// folded: scale = γ / √(var + ε), shift = β − mean · scale).
    pub scale_shift: Option<&'a GpuBuffer>,
    /// Leaky ReLU slope, applied after the affine step.
    pub leaky_slope: Option<f32>,
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct ConvParams {
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
    ncols: u32,
    kdim: u32,
    affine: u32,
    leaky: u32,
    slope: f32,
}

/// `y = act(scale ⊙ conv2d(x, w) + shift)`, NCHW; `y` is `n × c_out × oh × ow`, overwritten.
/// A dense layer `n × in → n × out` (weight `out × in`) is the geometry
/// `{n, c_in: in, h: 1, w: 1, c_out: out, kh: 1, kw: 1, stride: 1, pad: 0}`.
pub fn conv_block(g: &Conv2dGeom, x: &TypedBuffer, w: &TypedBuffer, epi: Epilogue, y: &TypedBuffer) -> Result<()> {
    super::conv::check_geom("conv_block", g)?;
    let precision = same_precision("conv_block", &[("x", x), ("w", w), ("y", y)])?;
    check_lens("conv_block", &[("x", x.len, g.x_len()), ("w", w.len, g.w_len()), ("y", y.len, g.y_len())])?;
    let ctx = y.context();
    // The shader reads `ss` even when unused (bindings are static): bind a stand-in then.
    let dummy;
    let ss = match epi.scale_shift {
        Some(ss) => {
            check_lens("conv_block", &[("scale_shift", ss.len(), 2 * g.c_out)])?;
            ss
        }
        None => {
            dummy = GpuBuffer::zeros(ctx, 1)?;
            &dummy
        }
    };
    let ncols = g.n * g.oh() * g.ow();
    if g.c_out == 0 || ncols == 0 {
        return Ok(());
    }
    let p = ConvParams {
        n: u32_of(g.n, "batch")?,
        c_in: g.c_in as u32,
        h: g.h as u32,
        w: g.w as u32,
        c_out: u32_of(g.c_out, "c_out")?,
        kh: g.kh as u32,
        kw: g.kw as u32,
        stride: g.stride as u32,
        pad: g.pad as u32,
        oh: g.oh() as u32,
        ow: g.ow() as u32,
        ncols: u32_of(ncols, "columns")?,
        kdim: u32_of(g.c_in * g.kh * g.kw, "reduction length")?,
        affine: epi.scale_shift.is_some() as u32,
        leaky: epi.leaky_slope.is_some() as u32,
        slope: epi.leaky_slope.unwrap_or(0.0),
    };
    ctx.launch(&shader(precision), "conv_block", &[], &p, &[&x.buf, &w.buf, ss, &y.buf], tile_grid(g.c_out, ncols)?)
}

/// `y[n,c,i,j] = max` over the `k × k` window (no argmax).
pub fn max_pool(g: &Pool2dGeom, x: &TypedBuffer, y: &TypedBuffer) -> Result<()> {
    let p = super::pool::params("max_pool", g)?;
    let precision = same_precision("max_pool", &[("x", x), ("y", y)])?;
    check_lens("max_pool", &[("x", x.len, g.x_len()), ("y", y.len, g.y_len())])?;
    y.context().launch(&shader(precision), "max_pool", &[], &p, &[&x.buf, &y.buf], grid_elems(g.y_len())?)
}
