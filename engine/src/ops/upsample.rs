//! Nearest-neighbour upsampling by an integer factor (the DCAE decoders).

use super::expect_rank;
use crate::autograd::record;
use crate::device::gpu_err;
use crate::{Device, Error, Result, Shape, Storage, Tensor};
use kernels::cpu::upsample::{upsample_nearest_backward, upsample_nearest_forward};
use kernels::gpu as gk;

impl Tensor {
    /// Repeats every pixel of `n × c × h × w` into a `k × k` block.
    pub fn upsample_nearest(&self, k: usize) -> Result<Tensor> {
        expect_rank("upsample_nearest", self, 4)?;
        if k == 0 {
            return Err(Error::invalid("upsample_nearest", "factor must be at least 1"));
        }
        let d = self.dims().to_vec();
        let (n, c, h, w) = (d[0], d[1], d[2], d[3]);
        let sx = self.storage();
        let y = match sx.device() {
            Device::Cpu => {
                let mut y = crate::pool::take_for_overwrite(n * c * h * k * w * k);
                upsample_nearest_forward(n, c, h, w, k, sx.cpu(), &mut y);
                Storage::Cpu(y)
            }
            Device::Gpu => {
                let y = Storage::gpu_uninit("upsample_nearest", n * c * h * k * w * k)?;
                gk::upsample::upsample_nearest_forward(n, c, h, w, k, sx.gpu(), &y)
                    .map_err(gpu_err("upsample_nearest"))?;
                Storage::Gpu(y)
            }
        };
        let in_shape = self.shape().clone();
        record("upsample_nearest", y, Shape::new(&[n, c, h * k, w * k]), &[self], move |dy| {
            let sd = dy.storage();
            let dx = match sd.device() {
                Device::Cpu => {
                    let mut dx = crate::pool::take_for_overwrite(n * c * h * w);
                    upsample_nearest_backward(n, c, h, w, k, sd.cpu(), &mut dx);
                    Storage::Cpu(dx)
                }
                Device::Gpu => {
                    let dx = Storage::gpu_uninit("upsample_nearest", n * c * h * w)?;
                    gk::upsample::upsample_nearest_backward(n, c, h, w, k, sd.gpu(), &dx)
                        .map_err(gpu_err("upsample_nearest"))?;
                    Storage::Gpu(dx)
                }
            };
            Ok(vec![Some(Tensor::constant(dx, in_shape.clone()))])
        })
    }
}
