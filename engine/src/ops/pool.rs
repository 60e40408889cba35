//! Pooling: max (the backward routes each gradient to its window's argmax) and average (the
//! backward spreads each gradient evenly over its window).

use super::expect_rank;
use crate::autograd::record;
use crate::device::gpu_err;
use crate::{Device, Error, Result, Shape, Storage, Tensor};
use kernels::cpu::avg_pool::{avg_pool2d_backward, avg_pool2d_forward, fits};
use kernels::cpu::pool::{max_pool2d_backward, max_pool2d_forward, Pool2dGeom};
use kernels::gpu::{self as gk, GpuBuffer};
use std::sync::Arc;

/// Each output's winning input index, on the device of the data.
enum Argmax {
    Cpu(Vec<u32>),
    Gpu(GpuBuffer),
}

impl Tensor {
    /// Max pooling of `n × c × h × w` over `k × k` windows (padding cells never win).
    pub fn max_pool2d(&self, k: usize, stride: usize, pad: usize) -> Result<Tensor> {
        expect_rank("max_pool2d", self, 4)?;
        let d = self.dims();
        if k == 0 || stride == 0 || d[2] + 2 * pad < k || d[3] + 2 * pad < k || 2 * pad > k {
            return Err(Error::invalid(
                "max_pool2d",
                format!("window {k}, stride {stride}, padding {pad} on shape {d:?}"),
            ));
        }
        let g = Pool2dGeom { n: d[0], c: d[1], h: d[2], w: d[3], k, stride, pad };
        let out_len = g.n * g.c * g.oh() * g.ow();
        let sx = self.storage();
        let (y, argmax) = match sx.device() {
            Device::Cpu => {
                let mut y = crate::pool::take_for_overwrite(out_len);
                let mut am = vec![0u32; out_len];
                max_pool2d_forward(&g, sx.cpu(), &mut y, &mut am);
                (Storage::Cpu(y), Arc::new(Argmax::Cpu(am)))
            }
            Device::Gpu => {
                let y = Storage::gpu_uninit("max_pool2d", out_len)?;
                let am = Storage::gpu_uninit("max_pool2d", out_len)?;
                gk::pool::max_pool2d_forward(&g, sx.gpu(), &y, &am).map_err(gpu_err("max_pool2d"))?;
                (Storage::Gpu(y), Arc::new(Argmax::Gpu(am)))
            }
        };
        let in_shape = self.shape().clone();
        record("max_pool2d", y, Shape::new(&[g.n, g.c, g.oh(), g.ow()]), &[self], move |dy| {
            let sd = dy.storage();
            let dx = match (sd.device(), &*argmax) {
                (Device::Cpu, Argmax::Cpu(am)) => {
                    let mut dx = crate::pool::take_for_overwrite(in_shape.numel());
                    max_pool2d_backward(&g, sd.cpu(), am, &mut dx);
                    Storage::Cpu(dx)
                }
                (Device::Gpu, Argmax::Gpu(am)) => {
                    let dx = Storage::gpu_uninit("max_pool2d", in_shape.numel())?;
                    gk::pool::max_pool2d_backward(&g, sd.gpu(), am, &dx).map_err(gpu_err("max_pool2d"))?;
                    Storage::Gpu(dx)
                }
                (d, _) => {
                    return Err(Error::DeviceMismatch {
                        op: "max_pool2d",
                        lhs: d.to_string(),
                        rhs: "its forward's device".into(),
                    })
                }
            };
            Ok(vec![Some(Tensor::constant(dx, in_shape.clone()))])
        })
    }

    /// Average pooling of `n × c × h × w` over unpadded `k × k` windows (Keras'
    /// `AveragePooling2D`: at stride 2 a plane of odd size drops its last row or column).
    pub fn avg_pool2d(&self, k: usize, stride: usize) -> Result<Tensor> {
        expect_rank("avg_pool2d", self, 4)?;
        let d = self.dims();
        let g = Pool2dGeom { n: d[0], c: d[1], h: d[2], w: d[3], k, stride, pad: 0 };
        if !fits(&g) {
            return Err(Error::invalid("avg_pool2d", format!("window {k}, stride {stride} on shape {d:?}")));
        }
        let sx = self.storage();
        let y = match sx.device() {
            Device::Cpu => {
                let mut y = crate::pool::take_for_overwrite(g.y_len());
                avg_pool2d_forward(&g, sx.cpu(), &mut y);
                Storage::Cpu(y)
            }
            Device::Gpu => {
                let y = Storage::gpu_uninit("avg_pool2d", g.y_len())?;
                gk::avg_pool::avg_pool2d_forward(&g, sx.gpu(), &y).map_err(gpu_err("avg_pool2d"))?;
                Storage::Gpu(y)
            }
        };
        let in_shape = self.shape().clone();
        record("avg_pool2d", y, Shape::new(&[g.n, g.c, g.oh(), g.ow()]), &[self], move |dy| {
            let sd = dy.storage();
            let dx = match sd.device() {
                Device::Cpu => {
                    let mut dx = crate::pool::take_for_overwrite(g.x_len());
                    avg_pool2d_backward(&g, sd.cpu(), &mut dx);
                    Storage::Cpu(dx)
                }
                Device::Gpu => {
                    let dx = Storage::gpu_uninit("avg_pool2d", g.x_len())?;
                    gk::avg_pool::avg_pool2d_backward(&g, sd.gpu(), &dx).map_err(gpu_err("avg_pool2d"))?;
                    Storage::Gpu(dx)
                }
            };
            Ok(vec![Some(Tensor::constant(dx, in_shape.clone()))])
        })
    }
}
