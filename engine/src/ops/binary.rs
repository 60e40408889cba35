//! Broadcasting elementwise arithmetic: add, sub, mul, div, max; scalar affine maps.

use super::same_device;
use crate::autograd::record;
use crate::device::gpu_err;
use crate::{Device, Result, Shape, Storage, Tensor};
use kernels::cpu::activation::affine;
use kernels::cpu::binary::{binary_forward, sum_to_shape, Binary};
use kernels::gpu as gk;

fn binary(op: Binary, name: &'static str, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let dev = same_device(name, &[a, b])?;
    let out = a.shape().broadcast(b.shape(), name)?;
    let (sa, sb) = (a.storage(), b.storage());
    let y = match dev {
        Device::Cpu => {
            let mut y = crate::pool::take_for_overwrite(out.numel());
            binary_forward(op, sa.cpu(), a.dims(), sb.cpu(), b.dims(), out.dims(), &mut y);
            Storage::Cpu(y)
        }
        Device::Gpu => {
            let y = Storage::gpu_uninit(name, out.numel())?;
            gk::binary::binary_forward(op, sa.gpu(), a.dims(), sb.gpu(), b.dims(), out.dims(), &y)
                .map_err(gpu_err(name))?;
            Storage::Gpu(y)
        }
    };
    let (ac, bc) = (a.clone(), b.clone());
    record(name, y, out, &[a, b], move |g| {
        let (a, b) = (&ac, &bc);
        let (ga, gb) = match op {
            Binary::Add => (g.clone(), g.clone()),
            Binary::Sub => (g.clone(), g.neg()?),
            Binary::Mul => (g.mul(b)?, g.mul(a)?),
            Binary::Div => {
                let ga = g.div(b)?;
                (ga.clone(), ga.mul(a)?.div(b)?.neg()?)
            }
            Binary::Max => {
                let mask = a.ge_mask(b)?;
                (g.mul(&mask)?, g.mul(&mask.affine(-1.0, 1.0)?)?)
            }
        };
        Ok(vec![Some(ga.sum_to(a.shape())?), Some(gb.sum_to(b.shape())?)])
    })
}

impl Tensor {
    pub fn add(&self, rhs: &Tensor) -> Result<Tensor> {
        binary(Binary::Add, "add", self, rhs)
    }
    pub fn sub(&self, rhs: &Tensor) -> Result<Tensor> {
        binary(Binary::Sub, "sub", self, rhs)
    }
    pub fn mul(&self, rhs: &Tensor) -> Result<Tensor> {
        binary(Binary::Mul, "mul", self, rhs)
    }
    pub fn div(&self, rhs: &Tensor) -> Result<Tensor> {
        binary(Binary::Div, "div", self, rhs)
    }
    pub fn maximum(&self, rhs: &Tensor) -> Result<Tensor> {
        binary(Binary::Max, "maximum", self, rhs)
    }

    /// `a·x + b` elementwise with scalars `a`, `b`.
    pub fn affine(&self, a: f32, b: f32) -> Result<Tensor> {
        let sx = self.storage();
        let y = match sx.device() {
            Device::Cpu => {
                let mut y = crate::pool::take_for_overwrite(self.numel());
                affine(sx.cpu(), a, b, &mut y);
                Storage::Cpu(y)
            }
            Device::Gpu => {
                let y = Storage::gpu_uninit("affine", self.numel())?;
                gk::activation::affine(sx.gpu(), a, b, &y).map_err(gpu_err("affine"))?;
                Storage::Gpu(y)
            }
        };
        record("affine", y, self.shape().clone(), &[self], move |g| Ok(vec![Some(g.affine(a, 0.0)?)]))
    }
    pub fn mul_scalar(&self, a: f32) -> Result<Tensor> {
        self.affine(a, 0.0)
    }
    pub fn add_scalar(&self, b: f32) -> Result<Tensor> {
        self.affine(1.0, b)
    }

    /// 1 where `self ≥ rhs`, else 0 (broadcast; a constant, no gradient).
    pub fn ge_mask(&self, rhs: &Tensor) -> Result<Tensor> {
        let dev = same_device("ge_mask", &[self, rhs])?;
        let out = self.shape().broadcast(rhs.shape(), "ge_mask")?;
        // max(a, b) == a exactly where a ≥ b.
        let m = crate::no_grad(|| self.maximum_const(rhs, &out, dev))?;
        Ok(m)
    }

    fn maximum_const(&self, rhs: &Tensor, out: &Shape, dev: Device) -> Result<Tensor> {
        let (sa, sb) = (self.storage(), rhs.storage());
        match dev {
            Device::Cpu => {
                let mut mx = vec![0.0; out.numel()];
                binary_forward(Binary::Max, sa.cpu(), self.dims(), sb.cpu(), rhs.dims(), out.dims(), &mut mx);
                let mut a = vec![0.0; out.numel()];
                binary_forward(Binary::Add, sa.cpu(), self.dims(), &[0.0], &[1], out.dims(), &mut a);
                let m = mx.iter().zip(&a).map(|(x, y)| if x == y { 1.0 } else { 0.0 }).collect();
                Tensor::from_vec(m, out.dims(), dev)
            }
            // host round trip: no GPU kernel yet (a comparison mask; only `maximum`'s backward uses it)
            Device::Gpu => {
                let (a, b) = (self.to_device(Device::Cpu)?, rhs.to_device(Device::Cpu)?);
                a.maximum_const(&b, out, Device::Cpu)?.to_device(Device::Gpu)
            }
        }
    }

    /// Sums over broadcast axes so the result has `shape` (the inverse of broadcasting).
    pub fn sum_to(&self, shape: &Shape) -> Result<Tensor> {
        if self.shape() == shape {
            return Ok(self.clone());
        }
        let back = shape.broadcast(self.shape(), "sum_to")?;
        if &back != self.shape() {
            return Err(crate::Error::ShapeMismatch {
                op: "sum_to",
                lhs: self.dims().to_vec(),
                rhs: shape.dims().to_vec(),
            });
        }
        let sx = self.storage();
        let y = match sx.device() {
            Device::Cpu => {
                let mut y = crate::pool::take_for_overwrite(shape.numel());
                sum_to_shape(sx.cpu(), self.dims(), shape.dims(), &mut y);
                Storage::Cpu(y)
            }
            Device::Gpu => {
                let y = Storage::gpu_uninit("sum_to", shape.numel())?;
                gk::binary::sum_to_shape(sx.gpu(), self.dims(), shape.dims(), &y).map_err(gpu_err("sum_to"))?;
                Storage::Gpu(y)
            }
        };
        let from = self.shape().clone();
        record("sum_to", y, shape.clone(), &[self], move |g| Ok(vec![Some(g.broadcast_to(&from)?)]))
    }

    /// Repeats along broadcast axes to reach `shape`.
    pub fn broadcast_to(&self, shape: &Shape) -> Result<Tensor> {
        if self.shape() == shape {
            return Ok(self.clone());
        }
        let out = self.shape().broadcast(shape, "broadcast_to")?;
        if &out != shape {
            return Err(crate::Error::ShapeMismatch {
                op: "broadcast_to",
                lhs: self.dims().to_vec(),
                rhs: shape.dims().to_vec(),
            });
        }
        let sx = self.storage();
        let y = match sx.device() {
            Device::Cpu => {
                let mut y = crate::pool::take_for_overwrite(shape.numel());
                binary_forward(Binary::Add, sx.cpu(), self.dims(), &[0.0], &[1], shape.dims(), &mut y);
                Storage::Cpu(y)
            }
            Device::Gpu => {
                let zero = Storage::zeros(1, Device::Gpu)?;
                let y = Storage::gpu_uninit("broadcast_to", shape.numel())?;
                gk::binary::binary_forward(Binary::Add, sx.gpu(), self.dims(), zero.gpu(), &[1], shape.dims(), &y)
                    .map_err(gpu_err("broadcast_to"))?;
                Storage::Gpu(y)
            }
        };
        let from = self.shape().clone();
        record("broadcast_to", y, shape.clone(), &[self], move |g| Ok(vec![Some(g.sum_to(&from)?)]))
    }
}
