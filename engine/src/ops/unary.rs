//! Elementwise functions: activations, exp/log, the stable softplus and log-sigmoid.

use crate::autograd::record;
use crate::device::gpu_err;
use crate::{Device, Result, Storage, Tensor};
use kernels::cpu::activation::{unary_backward, unary_forward, Unary};
use kernels::gpu as gk;

impl Tensor {
    /// Applies `op` elementwise; the backward uses the saved input and output.
    pub fn unary(&self, op: Unary) -> Result<Tensor> {
        let sx = self.storage();
        let y = match sx.device() {
            Device::Cpu => {
                let mut y = crate::pool::take_for_overwrite(self.numel());
                unary_forward(op, sx.cpu(), &mut y);
                Storage::Cpu(y)
            }
            Device::Gpu => {
                let y = Storage::gpu_uninit(op_name(op), self.numel())?;
                gk::activation::unary_forward(op, sx.gpu(), &y).map_err(gpu_err(op_name(op)))?;
                Storage::Gpu(y)
            }
        };
        let x = self.clone();
        let y = std::sync::Arc::new(y);
        let out = y.clone();
        record(op_name(op), y, self.shape().clone(), &[self], move |g| {
            let (sx, sg) = (x.storage(), g.storage());
            let dx = match sx.device() {
                Device::Cpu => {
                    let mut dx = crate::pool::take_for_overwrite(x.numel());
                    unary_backward(op, sx.cpu(), out.cpu(), sg.cpu(), &mut dx);
                    Storage::Cpu(dx)
                }
                Device::Gpu => {
                    let dx = Storage::gpu_uninit(op_name(op), x.numel())?;
                    gk::activation::unary_backward(op, sx.gpu(), out.gpu(), sg.gpu(), &dx)
                        .map_err(gpu_err(op_name(op)))?;
                    Storage::Gpu(dx)
                }
            };
            Ok(vec![Some(Tensor::constant(dx, x.shape().clone()))])
        })
    }

    pub fn relu(&self) -> Result<Tensor> {
        self.unary(Unary::Relu)
    }
    pub fn leaky_relu(&self, slope: f32) -> Result<Tensor> {
        self.unary(Unary::LeakyRelu(slope))
    }
    pub fn sigmoid(&self) -> Result<Tensor> {
        self.unary(Unary::Sigmoid)
    }
    pub fn tanh(&self) -> Result<Tensor> {
        self.unary(Unary::Tanh)
    }
    pub fn exp(&self) -> Result<Tensor> {
        self.unary(Unary::Exp)
    }
    pub fn log(&self) -> Result<Tensor> {
        self.unary(Unary::Log)
    }
    pub fn softplus(&self) -> Result<Tensor> {
        self.unary(Unary::Softplus)
    }
    pub fn log_sigmoid(&self) -> Result<Tensor> {
        self.unary(Unary::LogSigmoid)
    }
    pub fn neg(&self) -> Result<Tensor> {
        self.unary(Unary::Neg)
    }
    pub fn sqr(&self) -> Result<Tensor> {
        self.unary(Unary::Sqr)
    }
    pub fn sqrt(&self) -> Result<Tensor> {
        self.unary(Unary::Sqrt)
    }
    pub fn abs(&self) -> Result<Tensor> {
        self.unary(Unary::Abs)
    }
}

fn op_name(op: Unary) -> &'static str {
    match op {
        Unary::Relu => "relu",
        Unary::LeakyRelu(_) => "leaky_relu",
        Unary::Sigmoid => "sigmoid",
        Unary::Tanh => "tanh",
        Unary::Exp => "exp",
        Unary::Log => "log",
        Unary::Softplus => "softplus",
        Unary::LogSigmoid => "log_sigmoid",
        Unary::Neg => "neg",
        Unary::Sqr => "sqr",
        Unary::Sqrt => "sqrt",
        Unary::Abs => "abs",
    }
}
