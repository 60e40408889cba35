//! An encoder's eval-mode forward compiled for the GPU's fused inference kernels
//! (`kernels::gpu::infer`): each convolution or dense layer runs as one launch with its batch
//! norm folded into a per-channel scale and shift and its leaky ReLU applied in the epilogue;
//! weights and activations are stored in f32 or f16, sums accumulate in f32 either way.
//!
//! The networks describe themselves as a list of [`LayerSpec`]s that mirrors their `forward`
//! (`tests/gpu_parity/infer.rs` holds the two to the same output), so a plan needs no autograd
//! tape, no per-op buffers for batch norm and activation, and half the bytes in f16.

use crate::nn::{BatchNorm, Conv2d, Linear};
use engine::{Error, Result};
use kernels::gpu::infer::{conv_block, max_pool, Conv2dGeom, Epilogue, Pool2dGeom, Precision, TypedBuffer};
use kernels::gpu::{Context, GpuBuffer, GpuError};

/// One step of an eval-mode forward, with its weights copied to the host.
#[derive(Clone, Debug)]
pub enum LayerSpec {
    /// `act(bn(conv2d(x, weight)))`, square kernel `k`, weight `c_out × c_in × k × k`.
    Conv {
        weight: Vec<f32>,
        c_out: usize,
        k: usize,
        stride: usize,
        pad: usize,
        norm: Option<Vec<f32>>,
        leaky: Option<f32>,
    },
    /// `act(bn(x · weightᵀ))` on the flattened input, weight `outputs × inputs`.
    Dense {
        weight: Vec<f32>,
        outputs: usize,
        norm: Option<Vec<f32>>,
        leaky: Option<f32>,
    },
    MaxPool {
        k: usize,
        stride: usize,
        pad: usize,
    },
}

impl LayerSpec {
    pub fn conv(conv: &Conv2d, bn: Option<&BatchNorm>, leaky: Option<f32>) -> LayerSpec {
        let d = conv.weight.dims();
        LayerSpec::Conv {
            weight: conv.weight.to_vec(),
            c_out: d[0],
            k: d[2],
            stride: conv.stride,
            pad: conv.pad,
            norm: bn.map(folded),
            leaky,
        }
    }

    pub fn dense(fc: &Linear, bn: Option<&BatchNorm>, leaky: Option<f32>) -> LayerSpec {
        LayerSpec::Dense { weight: fc.weight.to_vec(), outputs: fc.weight.dims()[0], norm: bn.map(folded), leaky }
    }
}

/// An eval-mode batch norm as `scale ‖ shift` per channel: `y = scale · x + shift` with
/// `scale = γ / √(var + ε)`, `shift = β − mean · scale` (γ = 1, β = 0 without affine).
fn folded(bn: &BatchNorm) -> Vec<f32> {
    let mean = bn.state.running_mean.to_vec();
    let var = bn.state.running_var.to_vec();
    let (gamma, beta) = match &bn.affine {
        Some((g, b)) => (g.to_vec(), b.to_vec()),
        None => (vec![1.0; mean.len()], vec![0.0; mean.len()]),
    };
    let scale: Vec<f32> = var.iter().zip(&gamma).map(|(v, g)| g / (v + bn.state.eps).sqrt()).collect();
    let shift: Vec<f32> = mean.iter().zip(&scale).zip(&beta).map(|((m, s), b)| b - m * s).collect();
    [scale, shift].concat()
}

fn invalid(msg: String) -> Error {
    Error::Invalid { op: "inference plan", msg }
}

fn gpu(e: GpuError) -> Error {
    invalid(format!("GPU: {e}"))
}

enum Step {
    /// A convolution; a dense layer is a 1×1 convolution of a 1×1 image.
    Conv {
        weight: TypedBuffer,
        norm: Option<GpuBuffer>,
        leaky: Option<f32>,
        geom: Conv2dGeom,
    },
    Pool {
        geom: Pool2dGeom,
    },
}

impl Step {
    /// Uploads a convolution's (or dense layer's) weights in `precision`, its folded norm in f32.
    fn conv(
        ctx: &Context,
        geom: Conv2dGeom,
        weight: &[f32],
        norm: &Option<Vec<f32>>,
        leaky: Option<f32>,
        precision: Precision,
    ) -> Result<Step> {
        Ok(Step::Conv {
            weight: TypedBuffer::from_f32(ctx, weight, precision).map_err(gpu)?,
            norm: norm.as_ref().map(|v| GpuBuffer::from_slice(ctx, v)).transpose().map_err(gpu)?,
            leaky,
            geom,
        })
    }
}

/// A compiled forward: weights on the device in one precision, per-sample shape checked once.
pub struct InferencePlan {
    ctx: Context,
    precision: Precision,
    input: [usize; 3],
    steps: Vec<Step>,
    output_len: usize,
}

impl InferencePlan {
    /// Uploads the weights of `specs` for samples of `sample_shape` (`[c, h, w]` or `[d]`).
    pub fn new(ctx: &Context, specs: &[LayerSpec], sample_shape: &[usize], precision: Precision) -> Result<Self> {
        let mut shape = match *sample_shape {
            [c, h, w] => [c, h, w],
            [d] => [d, 1, 1],
            _ => return Err(invalid(format!("sample shape {sample_shape:?}"))),
        };
        if specs.is_empty() {
            return Err(invalid("no layers".into()));
        }
        let input = shape;
        let mut steps = Vec::new();
        for spec in specs {
            let [c, h, w] = shape;
            match spec {
                LayerSpec::Conv { weight, c_out, k, stride, pad, norm, leaky } => {
                    let geom =
                        Conv2dGeom { n: 1, c_in: c, h, w, c_out: *c_out, kh: *k, kw: *k, stride: *stride, pad: *pad };
                    if weight.len() != geom.w_len() || h + 2 * pad < *k {
                        return Err(invalid(format!("conv {c_out}@{k}×{k} on {shape:?}")));
                    }
                    shape = [*c_out, geom.oh(), geom.ow()];
                    steps.push(Step::conv(ctx, geom, weight, norm, *leaky, precision)?);
                }
                LayerSpec::Dense { weight, outputs, norm, leaky } => {
                    // The NCHW input read as `n × (c·h·w)`: a 1×1 convolution of a 1×1 image.
                    let inputs = c * h * w;
                    if weight.len() != inputs * outputs {
                        return Err(invalid(format!("dense {outputs} on {shape:?}")));
                    }
                    let geom =
                        Conv2dGeom { n: 1, c_in: inputs, h: 1, w: 1, c_out: *outputs, kh: 1, kw: 1, stride: 1, pad: 0 };
                    shape = [*outputs, 1, 1];
                    steps.push(Step::conv(ctx, geom, weight, norm, *leaky, precision)?);
                }
                LayerSpec::MaxPool { k, stride, pad } => {
                    let geom = Pool2dGeom { n: 1, c, h, w, k: *k, stride: *stride, pad: *pad };
                    if h + 2 * pad < *k || w + 2 * pad < *k || pad >= k {
                        return Err(invalid(format!("pool {k}×{k} on {shape:?}")));
                    }
                    shape = [c, geom.oh(), geom.ow()];
                    steps.push(Step::Pool { geom });
                }
            }
        }
        Ok(InferencePlan { ctx: ctx.clone(), precision, input, steps, output_len: shape.iter().product() })
    }

    /// Values per sample in the output.
    pub fn output_len(&self) -> usize {
        self.output_len
    }

    /// The forward of `n` samples already on the device in the plan's precision; returns the
    /// output in that precision, without waiting for the GPU.
    pub fn forward_device(&self, x: &TypedBuffer, n: usize) -> Result<TypedBuffer> {
        let sample: usize = self.input.iter().product();
        if x.len() != n * sample || x.precision() != self.precision {
            return Err(invalid(format!(
                "input of {} {} values for {n} samples of {:?}",
                x.len(),
                x.precision().name(),
                self.input
            )));
        }
        let mut cur: Option<TypedBuffer> = None;
        for step in &self.steps {
            let src = cur.as_ref().unwrap_or(x);
            let next = match step {
                Step::Conv { weight, norm, leaky, geom } => {
                    let g = Conv2dGeom { n, ..*geom };
                    let y = TypedBuffer::uninit(&self.ctx, g.y_len(), self.precision).map_err(gpu)?;
                    let epi = Epilogue { scale_shift: norm.as_ref(), leaky_slope: *leaky };
                    conv_block(&g, src, weight, epi, &y).map_err(gpu)?;
                    y
                }
                Step::Pool { geom } => {
                    let g = Pool2dGeom { n, ..*geom };
                    let y = TypedBuffer::uninit(&self.ctx, g.y_len(), self.precision).map_err(gpu)?;
                    max_pool(&g, src, &y).map_err(gpu)?;
                    y
                }
            };
            cur = Some(next);
        }
        Ok(cur.expect("a plan has at least one layer (checked in new)"))
    }

    /// The forward of `n` samples from the host (`n × sample` f32 values, rounded to the plan's
    /// precision on upload); returns `n × output_len` f32 values.
    pub fn forward(&self, x: &[f32], n: usize) -> Result<Vec<f32>> {
        let xb = TypedBuffer::from_f32(&self.ctx, x, self.precision).map_err(gpu)?;
        self.forward_device(&xb, n)?.to_vec().map_err(gpu)
    }
}
