//! Sums and means over axes.

use crate::autograd::record;
use crate::device::gpu_err;
use crate::{Device, Error, Result, Shape, Storage, Tensor};
use kernels::cpu::reduce::{sum_all, sum_axes};
use kernels::gpu as gk;

impl Tensor {
    /// Sums over `axes`; with `keepdim` the reduced axes stay as size 1.
    pub fn sum(&self, axes: &[usize], keepdim: bool) -> Result<Tensor> {
        let rank = self.shape().rank();
        let mut reduce = vec![false; rank];
        for &a in axes {
            if a >= rank {
                return Err(Error::invalid("sum", format!("axis {a} out of range for shape {:?}", self.dims())));
            }
            if reduce[a] {
                return Err(Error::invalid("sum", format!("axis {a} named twice")));
            }
            reduce[a] = true;
        }
        let kept: Vec<usize> = self.dims().iter().zip(&reduce).map(|(&d, &r)| if r { 1 } else { d }).collect();
        let sx = self.storage();
        let y = match sx.device() {
            Device::Cpu => {
                let mut y = vec![0.0; kept.iter().product()];
                sum_axes(sx.cpu(), self.dims(), &reduce, &mut y);
                Storage::Cpu(y)
            }
            Device::Gpu => {
                let y = Storage::gpu_uninit("sum", kept.iter().product())?;
                gk::reduce::sum_axes(sx.gpu(), self.dims(), &reduce, &y).map_err(gpu_err("sum"))?;
                Storage::Gpu(y)
            }
        };
        let out: Vec<usize> = if keepdim {
            kept.clone()
        } else {
            self.dims().iter().zip(&reduce).filter(|(_, &r)| !r).map(|(&d, _)| d).collect()
        };
        let (from, kept) = (self.shape().clone(), Shape::new(&kept));
        record("sum", y, Shape::new(&out), &[self], move |g| {
            Ok(vec![Some(g.reshape(kept.dims())?.broadcast_to(&from)?)])
        })
    }

    /// Mean over `axes`.
    pub fn mean(&self, axes: &[usize], keepdim: bool) -> Result<Tensor> {
        let count: usize = axes.iter().map(|&a| self.dims().get(a).copied().unwrap_or(1)).product();
        self.sum(axes, keepdim)?.mul_scalar(1.0 / count.max(1) as f32)
    }

    /// Sum of every element, as a scalar tensor.
    pub fn sum_all(&self) -> Result<Tensor> {
        let sx = self.storage();
        let y = match sx.device() {
            Device::Cpu => Storage::Cpu(vec![sum_all(sx.cpu())]),
            Device::Gpu => {
                let y = Storage::gpu_uninit("sum_all", 1)?;
                gk::reduce::sum_all(sx.gpu(), 1.0, &y).map_err(gpu_err("sum_all"))?;
                Storage::Gpu(y)
            }
        };
        let from = self.shape().clone();
        record("sum_all", y, Shape::new(&[]), &[self], move |g| Ok(vec![Some(g.broadcast_to(&from)?)]))
    }

    /// Mean of every element, as a scalar tensor.
    pub fn mean_all(&self) -> Result<Tensor> {
        self.sum_all()?.mul_scalar(1.0 / self.numel().max(1) as f32)
    }
}
