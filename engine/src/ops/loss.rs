//! Fused losses, each the mean over all elements, returned as a scalar tensor.

use super::same_device;
use crate::autograd::record;
use crate::{Device, Error, Result, Shape, Storage, Tensor};
use kernels::cpu::loss::{bce_with_logits_backward, bce_with_logits_forward, mse_backward, mse_forward};

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
        };
        let (x, t) = (self.clone(), targets.clone());
        record("bce_with_logits", y, Shape::new(&[]), &[self], move |g| {
            let gs = g.to_scalar()?;
            let (sx, st) = (x.storage(), t.storage());
            let dx = match sx.device() {
                Device::Cpu => {
                    let mut dx = vec![0.0; x.numel()];
                    bce_with_logits_backward(sx.cpu(), st.cpu(), gs, &mut dx);
                    Storage::Cpu(dx)
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
        };
        let (a, b) = (self.clone(), target.clone());
        record("mse", y, Shape::new(&[]), &[self, target], move |g| {
            let gs = g.to_scalar()?;
            let (sa, sb) = (a.storage(), b.storage());
            let da = match sa.device() {
                Device::Cpu => {
                    let mut da = vec![0.0; a.numel()];
                    mse_backward(sa.cpu(), sb.cpu(), gs, &mut da);
                    Storage::Cpu(da)
                }
            };
            let da = Tensor::constant(da, a.shape().clone());
            let db = b.requires_grad().then(|| da.neg()).transpose()?;
            Ok(vec![Some(da), db])
        })
    }
}
