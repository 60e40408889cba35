//! Batch normalisation. Training mode normalises with batch statistics (a fused kernel with
//! its own backward) and updates the running estimates; evaluation mode uses the running
//! estimates. The optional affine part and, on the CPU, evaluation mode are a per-channel
//! affine map ([`Tensor::channel_affine`]); on the GPU both are composed from broadcast ops.

use super::same_device;
use crate::autograd::record;
use crate::device::gpu_err;
use crate::{Device, Error, Result, Shape, Storage, Tensor};
use kernels::cpu::activation::Unary;
use kernels::cpu::norm::{
    batch_norm_act_train_backward, batch_norm_act_train_forward, batch_norm_train_backward, batch_norm_train_forward,
    channel_affine_backward, channel_affine_forward,
};
use kernels::cpu::norm_pool::{batch_norm_act_pool_train_backward, batch_norm_act_pool_train_forward};
use kernels::gpu::{self as gk, GpuBuffer};
use std::sync::Arc;

/// `sa·a + sb·b` elementwise on the device (running-statistics update).
fn gpu_mix(a: &GpuBuffer, sa: f32, b: &GpuBuffer, sb: f32) -> Result<Storage> {
    let e = gpu_err("batch_norm");
    let n = a.len();
    let (ta, tb, out) = (
        Storage::gpu_uninit("batch_norm", n)?,
        Storage::gpu_uninit("batch_norm", n)?,
        Storage::gpu_uninit("batch_norm", n)?,
    );
    gk::activation::affine(a, sa, 0.0, &ta).map_err(&e)?;
    gk::activation::affine(b, sb, 0.0, &tb).map_err(&e)?;
    gk::binary::binary_forward(gk::binary::Binary::Add, &ta, &[n], &tb, &[n], &[n], &out).map_err(&e)?;
    Ok(Storage::Gpu(out))
}

/// Running statistics and settings of one batch-norm layer (PyTorch's semantics: the running
/// variance is the unbiased batch variance, mixed in with weight `momentum`).
#[derive(Clone, Debug)]
pub struct BatchNormState {
    pub running_mean: Tensor,
    pub running_var: Tensor,
    pub momentum: f32,
    pub eps: f32,
}

impl BatchNormState {
    pub fn new(channels: usize, momentum: f32, eps: f32, device: Device) -> Self {
        BatchNormState {
            running_mean: Tensor::zeros(&[channels], device),
            running_var: Tensor::ones(&[channels], device),
            momentum,
            eps,
        }
    }
}

impl BatchNormState {
    /// One momentum step of the running estimates towards a batch's mean and (biased, over
    /// `count` values) variance, on the host.
    fn update_running(&self, count: usize, mean: &[f32], var: &[f32]) -> Result<()> {
        let m = self.momentum;
        let count = count as f32;
        let rm: Vec<f32> = self.running_mean.to_vec().iter().zip(mean).map(|(r, b)| (1.0 - m) * r + m * b).collect();
        let rv: Vec<f32> = self
            .running_var
            .to_vec()
            .iter()
            .zip(var)
            .map(|(r, b)| (1.0 - m) * r + m * b * count / (count - 1.0))
            .collect();
        self.running_mean.set_data(rm)?;
        self.running_var.set_data(rv)
    }
}

/// Batch statistics need more than one value per channel.
fn trainable(x: &Tensor, n: usize, spatial: usize) -> Result<()> {
    if n * spatial < 2 {
        return Err(Error::invalid(
            "batch_norm",
            format!("training needs more than one value per channel, got shape {:?}", x.dims()),
        ));
    }
    Ok(())
}

/// `(n, c, spatial)` of a rank-2 (`n × c`) or rank-4 (`n × c × h × w`) input.
fn layout(x: &Tensor) -> Result<(usize, usize, usize)> {
    match x.dims() {
        [n, c] => Ok((*n, *c, 1)),
        [n, c, h, w] => Ok((*n, *c, h * w)),
        d => Err(Error::invalid("batch_norm", format!("expected n×c or n×c×h×w, got {d:?}"))),
    }
}

/// The negative slope of the activation a fused batch-norm kernel applies: ReLU (0) or leaky
/// ReLU with a slope ≥ 0; anything else is refused.
fn fused_slope(op: &'static str, act: Unary) -> Result<f32> {
    match act {
        Unary::Relu => Ok(0.0),
        Unary::LeakyRelu(s) if s >= 0.0 => Ok(s),
        _ => Err(Error::invalid(op, format!("the activation must be relu or leaky relu with slope ≥ 0, got {act:?}"))),
    }
}

/// The shape that broadcasts a per-channel vector against `x`.
fn channel_shape(x: &Tensor, c: usize) -> Vec<usize> {
    if x.shape().rank() == 4 {
        vec![1, c, 1, 1]
    } else {
        vec![1, c]
    }
}

impl Tensor {
    /// Normalises with this batch's statistics; returns the output and the per-channel mean and
    /// biased variance.
    pub fn batch_norm_train(&self, eps: f32) -> Result<(Tensor, Vec<f32>, Vec<f32>)> {
        let (y, mean, var) = self.batch_norm_train_dev(eps)?;
        let to_host = |s: Arc<Storage>| match Arc::try_unwrap(s) {
            Ok(Storage::Cpu(v)) => Ok(v),
            Ok(s) => s.try_to_vec(),
            Err(s) => s.try_to_vec(),
        };
        Ok((y, to_host(mean)?, to_host(var)?))
    }

    /// [`Tensor::batch_norm_train`] with the statistics left on the tensor's device.
    fn batch_norm_train_dev(&self, eps: f32) -> Result<(Tensor, Arc<Storage>, Arc<Storage>)> {
        let (n, c, sp) = layout(self)?;
        trainable(self, n, sp)?;
        let sx = self.storage();
        let (y, mean, var) = match sx.device() {
            Device::Cpu => {
                let (mut y, mut mean, mut var) =
                    (crate::pool::take_for_overwrite(self.numel()), vec![0.0; c], vec![0.0; c]);
                batch_norm_train_forward(n, c, sp, sx.cpu(), eps, &mut y, &mut mean, &mut var);
                (Arc::new(Storage::Cpu(y)), Arc::new(Storage::Cpu(mean)), Arc::new(Storage::Cpu(var)))
            }
            Device::Gpu => {
                let y = Storage::gpu_uninit("batch_norm", self.numel())?;
                let (mean, var) = (Storage::gpu_uninit("batch_norm", c)?, Storage::gpu_uninit("batch_norm", c)?);
                gk::norm::batch_norm_train_forward(n, c, sp, sx.gpu(), eps, &y, &mean, &var)
                    .map_err(gpu_err("batch_norm"))?;
                (Arc::new(Storage::Gpu(y)), Arc::new(Storage::Gpu(mean)), Arc::new(Storage::Gpu(var)))
            }
        };
        let (saved_y, saved_var) = (y.clone(), var.clone());
        let shape = self.shape().clone();
        let out = record("batch_norm", y, shape.clone(), &[self], move |dy| {
            let sd = dy.storage();
            let dx = match sd.device() {
                Device::Cpu => {
                    let mut dx = crate::pool::take_for_overwrite(shape.numel());
                    batch_norm_train_backward(n, c, sp, saved_y.cpu(), saved_var.cpu(), eps, sd.cpu(), &mut dx);
                    Storage::Cpu(dx)
                }
                Device::Gpu => {
                    let dx = Storage::gpu_uninit("batch_norm", shape.numel())?;
                    gk::norm::batch_norm_train_backward(n, c, sp, saved_y.gpu(), saved_var.gpu(), eps, sd.gpu(), &dx)
                        .map_err(gpu_err("batch_norm"))?;
                    Storage::Gpu(dx)
                }
            };
            Ok(vec![Some(Tensor::constant(dx, shape.clone()))])
        });
        Ok((out?, mean, var))
    }

    /// Batch norm as a layer applies it: batch statistics and a running-estimate update when
    /// `training`, the running estimates otherwise; then `γ·x̂ + β` when `affine` is given.
    pub fn batch_norm(
        &self,
        state: &BatchNormState,
        training: bool,
        affine: Option<(&Tensor, &Tensor)>,
    ) -> Result<Tensor> {
        let (n, c, sp) = layout(self)?;
        let cs = channel_shape(self, c);
        let xhat = if training && self.device() == Device::Gpu {
            // The running-statistics update stays on the device.
            let (y, mean, var) = self.batch_norm_train_dev(state.eps)?;
            let m = state.momentum;
            let count = (n * sp) as f32;
            let (rm, rv) = (state.running_mean.storage(), state.running_var.storage());
            state.running_mean.set_storage(gpu_mix(rm.gpu(), 1.0 - m, mean.gpu(), m)?);
            state.running_var.set_storage(gpu_mix(rv.gpu(), 1.0 - m, var.gpu(), m * count / (count - 1.0))?);
            y
        } else if training {
            let (y, mean, var) = self.batch_norm_train(state.eps)?;
            state.update_running(n * sp, &mean, &var)?;
            y
        } else if self.device() == Device::Gpu {
            // On the device: (x − mean) / √(var + eps), the statistics as broadcast constants.
            let mean = state.running_mean.reshape(&cs)?;
            let std = state.running_var.reshape(&cs)?.add_scalar(state.eps)?.sqrt()?;
            self.sub(&mean)?.div(&std)?
        } else {
            // One pass: (x − mean)·invstd as x·invstd + (−mean·invstd).
            let invstd: Vec<f32> = state.running_var.to_vec().iter().map(|v| 1.0 / (v + state.eps).sqrt()).collect();
            let shift: Vec<f32> = state.running_mean.to_vec().iter().zip(&invstd).map(|(m, s)| -m * s).collect();
            let dev = self.device();
            self.channel_affine(&Tensor::from_vec(invstd, &[c], dev)?, &Tensor::from_vec(shift, &[c], dev)?)?
        };
        match affine {
            None => Ok(xhat),
            Some((gamma, beta)) => xhat.channel_affine(gamma, beta),
        }
    }
}

impl Tensor {
    /// [`Tensor::batch_norm`] followed by `act` (ReLU or leaky ReLU with a slope ≥ 0), as a layer
    /// applies them. Training on the CPU runs one fused kernel each way (statistics, `γ·x̂ + β`
    /// and the activation; its backward needs two passes over the activations where the three
    /// ops took five or six); otherwise it is exactly the composition.
    pub fn batch_norm_act(
        &self,
        state: &BatchNormState,
        training: bool,
        affine: Option<(&Tensor, &Tensor)>,
        act: Unary,
    ) -> Result<Tensor> {
        let slope = fused_slope("batch_norm_act", act)?;
        if !training || self.device() == Device::Gpu {
            return self.batch_norm(state, training, affine)?.unary(act);
        }
        let (n, c, sp) = layout(self)?;
        trainable(self, n, sp)?;
        let mut inputs = vec![self];
        if let Some((gamma, beta)) = affine {
            same_device("batch_norm_act", &[self, gamma, beta])?;
            if gamma.dims() != [c] || beta.dims() != [c] {
                return Err(Error::ShapeMismatch {
                    op: "batch_norm_act",
                    lhs: self.dims().to_vec(),
                    rhs: gamma.dims().to_vec(),
                });
            }
            inputs.extend([gamma, beta]);
        }
        let eps = state.eps;
        let params = affine.map(|(g, b)| (g.clone(), b.clone()));
        let host = |p: &Option<(Tensor, Tensor)>| p.as_ref().map(|(g, b)| (g.storage(), b.storage()));
        let (mut xhat, mut y) =
            (crate::pool::take_for_overwrite(self.numel()), crate::pool::take_for_overwrite(self.numel()));
        let (mut mean, mut var) = (vec![0.0; c], vec![0.0; c]);
        {
            let gb = host(&params);
            let affine = gb.as_ref().map(|(g, b)| (g.cpu(), b.cpu()));
            let x = self.storage();
            batch_norm_act_train_forward(n, c, sp, x.cpu(), eps, affine, slope, &mut xhat, &mut y, &mut mean, &mut var);
        }
        state.update_running(n * sp, &mean, &var)?;
        let shape = self.shape().clone();
        // Held as a tensor so that its buffer goes back to the pool with the graph.
        let xhat = Tensor::constant(Storage::Cpu(xhat), shape.clone());
        record("batch_norm_act", Storage::Cpu(y), shape.clone(), &inputs, move |dy| {
            let grads = params.as_ref().map(|(g, b)| (g.requires_grad(), b.requires_grad()));
            let mut dgamma = grads.and_then(|(g, _)| g.then(|| vec![0.0; c]));
            let mut dbeta = grads.and_then(|(_, b)| b.then(|| vec![0.0; c]));
            let mut dx = crate::pool::take_for_overwrite(shape.numel());
            let gb = host(&params);
            let affine = gb.as_ref().map(|(g, b)| (g.cpu(), b.cpu()));
            let (sd, sh) = (dy.storage(), xhat.storage());
            batch_norm_act_train_backward(
                n,
                c,
                sp,
                sh.cpu(),
                &var,
                eps,
                affine,
                slope,
                sd.cpu(),
                &mut dx,
                dgamma.as_deref_mut(),
                dbeta.as_deref_mut(),
            );
            let per_channel = |v: Vec<f32>| Tensor::constant(Storage::Cpu(v), Shape::new(&[c]));
            let mut out = vec![Some(Tensor::constant(Storage::Cpu(dx), shape.clone()))];
            if params.is_some() {
                out.extend([dgamma.map(per_channel), dbeta.map(per_channel)]);
            }
            Ok(out)
        })
    }

    /// [`Tensor::batch_norm_act`] without affine parameters, then 2 × 2 max pooling with stride 2
    /// (`n × c × h × w` → `n × c × ⌊h/2⌋ × ⌊w/2⌋`): a LeNet block's tail. Training on the CPU runs
    /// one fused kernel each way, which never writes the full-size activation or its gradient
    /// (`kernels::cpu::norm_pool`); otherwise it is the composition. Both give the same bits.
    pub fn batch_norm_act_pool(&self, state: &BatchNormState, training: bool, act: Unary) -> Result<Tensor> {
        let slope = fused_slope("batch_norm_act_pool", act)?;
        let &[n, c, h, w] = self.dims() else {
            return Err(Error::invalid("batch_norm_act_pool", format!("expected n×c×h×w, got {:?}", self.dims())));
        };
        if !training || self.device() == Device::Gpu || h < 2 || w < 2 {
            return self.batch_norm_act(state, training, None, act)?.max_pool2d(2, 2, 0);
        }
        trainable(self, n, h * w)?;
        let (oh, ow) = (h / 2, w / 2);
        let pooled = n * c * oh * ow;
        let (mut xhat, mut y) =
            (crate::pool::take_for_overwrite(self.numel()), crate::pool::take_for_overwrite(pooled));
        let (mut argmax, mut mean, mut var) = (vec![0u32; pooled], vec![0.0; c], vec![0.0; c]);
        let eps = state.eps;
        batch_norm_act_pool_train_forward(
            n,
            c,
            h,
            w,
            self.storage().cpu(),
            eps,
            slope,
            &mut xhat,
            &mut y,
            &mut argmax,
            &mut mean,
            &mut var,
        );
        state.update_running(n * h * w, &mean, &var)?;
        let shape = self.shape().clone();
        // Held as a tensor so that its buffer goes back to the pool with the graph.
        let xhat = Tensor::constant(Storage::Cpu(xhat), shape.clone());
        record("batch_norm_act_pool", Storage::Cpu(y), Shape::new(&[n, c, oh, ow]), &[self], move |dy| {
            let mut dx = crate::pool::take_for_overwrite(shape.numel());
            let (sd, sh) = (dy.storage(), xhat.storage());
            batch_norm_act_pool_train_backward(n, c, h, w, sh.cpu(), &var, eps, slope, sd.cpu(), &argmax, &mut dx);
            Ok(vec![Some(Tensor::constant(Storage::Cpu(dx), shape.clone()))])
        })
    }

    /// `scale_c·x + shift_c` per channel `c` of an `n × c` or `n × c × h × w` tensor, with `scale`
    /// and `shift` of shape `[c]`: batch norm's `γ·x̂ + β`. On the CPU one fused pass each way,
    /// where the broadcast multiply and add took two forward passes and four backward ones
    /// (the DCGAN generator's step spent ≈ 10 % there); on the GPU composed from those ops.
    pub fn channel_affine(&self, scale: &Tensor, shift: &Tensor) -> Result<Tensor> {
        let dev = same_device("channel_affine", &[self, scale, shift])?;
        let (n, c, sp) = layout(self)?;
        if scale.dims() != [c] || shift.dims() != [c] {
            return Err(Error::ShapeMismatch {
                op: "channel_affine",
                lhs: self.dims().to_vec(),
                rhs: scale.dims().to_vec(),
            });
        }
        if dev == Device::Gpu {
            let cs = channel_shape(self, c);
            return self.mul(&scale.reshape(&cs)?)?.add(&shift.reshape(&cs)?);
        }
        let mut y = crate::pool::take_for_overwrite(self.numel());
        channel_affine_forward(n, c, sp, self.storage().cpu(), scale.storage().cpu(), shift.storage().cpu(), &mut y);
        let (x, s, shift_grad) = (self.clone(), scale.clone(), shift.requires_grad());
        record("channel_affine", Storage::Cpu(y), self.shape().clone(), &[self, scale, shift], move |dy| {
            let mut dx = x.requires_grad().then(|| crate::pool::take_for_overwrite(x.numel()));
            let mut dscale = s.requires_grad().then(|| vec![0.0; c]);
            let mut dshift = shift_grad.then(|| vec![0.0; c]);
            let (sx, ss, sd) = (x.storage(), s.storage(), dy.storage());
            channel_affine_backward(
                n,
                c,
                sp,
                sx.cpu(),
                ss.cpu(),
                sd.cpu(),
                dx.as_deref_mut(),
                dscale.as_deref_mut(),
                dshift.as_deref_mut(),
            );
            let per_channel = |v: Vec<f32>| Tensor::constant(Storage::Cpu(v), Shape::new(&[c]));
            Ok(vec![
                dx.map(|v| Tensor::constant(Storage::Cpu(v), x.shape().clone())),
                dscale.map(per_channel),
                dshift.map(per_channel),
            ])
        })
    }
}
