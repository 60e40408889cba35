//! Fused losses, each the mean over all elements, returned as a scalar tensor.

use super::same_device;
use crate::autograd::record;
use crate::device::gpu_err;
use crate::{Device, Error, Result, Shape, Storage, Tensor};
use kernels::cpu::loss::{bce_with_logits_backward, bce_with_logits_forward, mse_backward, mse_forward};
use kernels::gpu as gk;

fn same_shape(op: &'static str, a: &Tensor, b: &Tensor) -> Result<()> {
    if a.dims() != b.dims() {
        return Err(Error::ShapeMismatch { op, lhs: a.dims().to_vec(), rhs: b.dims().to_vec() });
    }
    Ok(())
}

impl Tensor {
    /// Mean binary cross-entropy between `sigmoid(self)` and `targets` ∈ [0, 1], computed from
    /// the logits so it is finite for any input. Targets get no gradient.
    pub fn bce_with_logits(&self, targets: &Tensor) -> Result<Tensor> {
        same_shape("bce_with_logits", self, targets)?;
        let dev = same_device("bce_with_logits", &[self, targets])?;
        let (sx, st) = (self.storage(), targets.storage());
        let y = match dev {
            Device::Cpu => Storage::Cpu(vec![bce_with_logits_forward(sx.cpu(), st.cpu())]),
            Device::Gpu => {
                let y = Storage::gpu_uninit("bce_with_logits", 1)?;
                gk::loss::bce_with_logits_forward(sx.gpu(), st.gpu(), &y).map_err(gpu_err("bce_with_logits"))?;
                Storage::Gpu(y)
            }
        };
        let (x, t) = (self.clone(), targets.clone());
        record("bce_with_logits", y, Shape::new(&[]), &[self], move |g| {
            let (sx, st) = (x.storage(), t.storage());
            let dx = match sx.device() {
                Device::Cpu => {
                    let gs = g.to_scalar()?;
                    let mut dx = vec![0.0; x.numel()];
                    bce_with_logits_backward(sx.cpu(), st.cpu(), gs, &mut dx);
                    Storage::Cpu(dx)
                }
                // The upstream scalar stays on the device: unit gradient, then a broadcast product.
                Device::Gpu => {
                    let dx = Storage::gpu_uninit("bce_with_logits", x.numel())?;
                    gk::loss::bce_with_logits_backward(sx.gpu(), st.gpu(), 1.0, &dx)
                        .map_err(gpu_err("bce_with_logits"))?;
                    return Ok(vec![Some(Tensor::constant(Storage::Gpu(dx), x.shape().clone()).mul(g)?)]);
                }
            };
            Ok(vec![Some(Tensor::constant(dx, x.shape().clone()))])
        })
    }

    /// Mean squared error `mean((self − target)²)`; both sides get gradients.
    pub fn mse(&self, target: &Tensor) -> Result<Tensor> {
        same_shape("mse", self, target)?;
        let dev = same_device("mse", &[self, target])?;
        let (sa, sb) = (self.storage(), target.storage());
        let y = match dev {
            Device::Cpu => Storage::Cpu(vec![mse_forward(sa.cpu(), sb.cpu())]),
            Device::Gpu => {
                let y = Storage::gpu_uninit("mse", 1)?;
                gk::loss::mse_forward(sa.gpu(), sb.gpu(), &y).map_err(gpu_err("mse"))?;
                Storage::Gpu(y)
            }
        };
        let (a, b) = (self.clone(), target.clone());
        record("mse", y, Shape::new(&[]), &[self, target], move |g| {
            let (sa, sb) = (a.storage(), b.storage());
            let da = match sa.device() {
                Device::Cpu => {
                    let gs = g.to_scalar()?;
                    let mut da = vec![0.0; a.numel()];
                    mse_backward(sa.cpu(), sb.cpu(), gs, &mut da);
                    Tensor::constant(Storage::Cpu(da), a.shape().clone())
                }
                // The upstream scalar stays on the device: unit gradient, then a broadcast product.
                Device::Gpu => {
                    let da = Storage::gpu_uninit("mse", a.numel())?;
                    gk::loss::mse_backward(sa.gpu(), sb.gpu(), 1.0, &da).map_err(gpu_err("mse"))?;
                    Tensor::constant(Storage::Gpu(da), a.shape().clone()).mul(g)?
                }
            };
            let db = b.requires_grad().then(|| da.neg()).transpose()?;
            Ok(vec![Some(da), db])
        })
    }
}
