//! Max pooling; the backward routes each gradient to its window's argmax.

use super::expect_rank;
use crate::autograd::record;
use crate::{Device, Error, Result, Shape, Storage, Tensor};
use kernels::cpu::pool::{max_pool2d_backward, max_pool2d_forward, Pool2dGeom};
use std::sync::Arc;

impl Tensor {
    /// Max pooling of `n × c × h × w` over `k × k` windows (padding cells never win).
    pub fn max_pool2d(&self, k: usize, stride: usize, pad: usize) -> Result<Tensor> {
        expect_rank("max_pool2d", self, 4)?;
        let d = self.dims();
        if k == 0 || stride == 0 || d[2] + 2 * pad < k || d[3] + 2 * pad < k || 2 * pad > k {
            return Err(Error::invalid("max_pool2d", format!("window {k}, stride {stride}, padding {pad} on shape {d:?}")));
        }
        let g = Pool2dGeom { n: d[0], c: d[1], h: d[2], w: d[3], k, stride, pad };
        let out_len = g.n * g.c * g.oh() * g.ow();
        let sx = self.storage();
        let (y, argmax) = match sx.device() {
            Device::Cpu => {
                let mut y = vec![0.0; out_len];
                let mut am = vec![0u32; out_len];
                max_pool2d_forward(&g, sx.cpu(), &mut y, &mut am);
                (Storage::Cpu(y), Arc::new(am))
            }
        };
        let in_shape = self.shape().clone();
        record("max_pool2d", y, Shape::new(&[g.n, g.c, g.oh(), g.ow()]), &[self], move |dy| {
            let sd = dy.storage();
            let dx = match sd.device() {
                Device::Cpu => {
                    let mut dx = vec![0.0; in_shape.numel()];
                    max_pool2d_backward(&g, sd.cpu(), &argmax, &mut dx);
                    Storage::Cpu(dx)
                }
            };
            Ok(vec![Some(Tensor::constant(dx, in_shape.clone()))])
        })
    }
}
