//! Optimisers over parameter tensors (leaves with `requires_grad`), and learning-rate milestones.

use crate::device::gpu_err;
use crate::{Device, Result, Storage, Tensor};
use kernels::cpu::optim::{adam_step, sgd_step};
use kernels::gpu as gk;

pub trait Optimizer {
    /// Applies one update from the gradients the parameters hold; parameters without a
    /// gradient are left alone.
    fn step(&mut self) -> Result<()>;
    fn lr(&self) -> f32;
    fn set_lr(&mut self, lr: f32);
    fn params(&self) -> &[Tensor];
    fn zero_grad(&self) {
        for p in self.params() {
            p.zero_grad();
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub struct AdamConfig {
    pub lr: f32,
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    /// L2 penalty added to the gradient (PyTorch `Adam(weight_decay=…)`; Deep SVDD's λ).
    pub weight_decay: f32,
    /// Divide the moments by 1 − βᵗ (Adam); off, with β₁ = 0, the update is RMSprop's
    /// ([`AdamConfig::rmsprop`]).
    pub bias_correction: bool,
}

impl AdamConfig {
    /// RMSprop as Keras and PyTorch write it, `v ← ρv + (1−ρ)g²; w ← w − lr·g/(√v + ε)`: Adam
    /// with β₁ = 0 (the first moment is the gradient), β₂ = ρ and no bias correction.
    pub fn rmsprop(lr: f32, rho: f32, eps: f32) -> AdamConfig {
        AdamConfig { lr, beta1: 0.0, beta2: rho, eps, weight_decay: 0.0, bias_correction: false }
    }
}

impl Default for AdamConfig {
    fn default() -> Self {
        AdamConfig { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0, bias_correction: true }
    }
}

pub struct Adam {
    params: Vec<Tensor>,
    m: Vec<Storage>,
    v: Vec<Storage>,
    t: u64,
    pub config: AdamConfig,
}

/// Zeros beside `p`, on its device (panics if the GPU cannot allocate them).
fn zeros_like(p: &Tensor) -> Storage {
    match p.device() {
        Device::Cpu => Storage::Cpu(vec![0.0; p.numel()]),
        Device::Gpu => Storage::zeros(p.numel(), Device::Gpu).unwrap_or_else(|e| panic!("optimiser state: {e}")),
    }
}

fn device_mismatch(op: &'static str, p: &Tensor, g: &Storage) -> crate::Error {
    crate::Error::DeviceMismatch { op, lhs: p.device().to_string(), rhs: g.device().to_string() }
}

impl Adam {
    pub fn new(params: Vec<Tensor>, config: AdamConfig) -> Self {
        let m = params.iter().map(zeros_like).collect();
        let v = params.iter().map(zeros_like).collect();
        Adam { params, m, v, t: 0, config }
    }

    /// Moment estimates and step count, for checkpoints.
    pub fn state(&self) -> (u64, Vec<Vec<f32>>, Vec<Vec<f32>>) {
        (self.t, self.m.iter().map(|s| s.to_vec()).collect(), self.v.iter().map(|s| s.to_vec()).collect())
    }

    /// Restores what [`Adam::state`] returned.
    pub fn set_state(&mut self, t: u64, m: Vec<Vec<f32>>, v: Vec<Vec<f32>>) -> Result<()> {
        if m.len() != self.params.len() || v.len() != self.params.len() {
            return Err(crate::Error::invalid("adam", "state does not match the parameters"));
        }
        for (i, p) in self.params.iter().enumerate() {
            if m[i].len() != p.numel() || v[i].len() != p.numel() {
                return Err(crate::Error::invalid("adam", format!("state of parameter {i} has the wrong size")));
            }
        }
        self.t = t;
        let devs: Vec<Device> = self.params.iter().map(|p| p.device()).collect();
        self.m = m.into_iter().zip(&devs).map(|(m, &d)| Storage::from_vec(m, d)).collect::<Result<_>>()?;
        self.v = v.into_iter().zip(&devs).map(|(v, &d)| Storage::from_vec(v, d)).collect::<Result<_>>()?;
        Ok(())
    }
}

impl Optimizer for Adam {
    fn step(&mut self) -> Result<()> {
        crate::pool::end_step();
        self.t += 1;
        let c = self.config;
        let t = c.bias_correction.then_some(self.t);
        for (i, p) in self.params.iter().enumerate() {
            let Some(g) = p.grad() else { continue };
            let gs = g.storage();
            let (m, v) = (&mut self.m[i], &mut self.v[i]);
            if gs.device() != p.device() || m.device() != p.device() {
                return Err(device_mismatch("adam", p, &gs));
            }
            p.update(|w| match w {
                Storage::Cpu(w) => {
                    adam_step(w, gs.cpu(), m.cpu_mut(), v.cpu_mut(), c.lr, c.beta1, c.beta2, c.eps, c.weight_decay, t);
                    Ok(())
                }
                Storage::Gpu(w) => gk::optim::adam_step(
                    w,
                    gs.gpu(),
                    m.gpu(),
                    v.gpu(),
                    c.lr,
                    c.beta1,
                    c.beta2,
                    c.eps,
                    c.weight_decay,
                    t,
                )
                .map_err(gpu_err("adam")),
            })?;
        }
        Ok(())
    }
    fn lr(&self) -> f32 {
        self.config.lr
    }
    fn set_lr(&mut self, lr: f32) {
        self.config.lr = lr;
    }
    fn params(&self) -> &[Tensor] {
        &self.params
    }
}

pub struct Sgd {
    params: Vec<Tensor>,
    buf: Vec<Storage>,
    pub lr: f32,
    pub momentum: f32,
    pub weight_decay: f32,
}

impl Sgd {
    pub fn new(params: Vec<Tensor>, lr: f32, momentum: f32, weight_decay: f32) -> Self {
        let buf = params.iter().map(zeros_like).collect();
        Sgd { params, buf, lr, momentum, weight_decay }
    }
}

impl Optimizer for Sgd {
    fn step(&mut self) -> Result<()> {
        crate::pool::end_step();
        for (i, p) in self.params.iter().enumerate() {
            let Some(g) = p.grad() else { continue };
            let gs = g.storage();
            let b = &mut self.buf[i];
            if gs.device() != p.device() || b.device() != p.device() {
                return Err(device_mismatch("sgd", p, &gs));
            }
            p.update(|w| match w {
                Storage::Cpu(w) => {
                    sgd_step(w, gs.cpu(), b.cpu_mut(), self.lr, self.momentum, self.weight_decay);
                    Ok(())
                }
                Storage::Gpu(w) => gk::optim::sgd_step(w, gs.gpu(), b.gpu(), self.lr, self.momentum, self.weight_decay)
                    .map_err(gpu_err("sgd")),
            })?;
        }
        Ok(())
    }
    fn lr(&self) -> f32 {
        self.lr
    }
    fn set_lr(&mut self, lr: f32) {
        self.lr = lr;
    }
    fn params(&self) -> &[Tensor] {
        &self.params
    }
}

/// Learning rate multiplied by `gamma` at each milestone epoch (PyTorch's `MultiStepLR`);
/// Deep SVDD's two phases are `milestones = [150], gamma = 0.1`.
#[derive(Clone, Debug)]
pub struct MultiStepLr {
    pub base: f32,
    pub milestones: Vec<usize>,
    pub gamma: f32,
}

impl MultiStepLr {
    pub fn lr_at(&self, epoch: usize) -> f32 {
        let passed = self.milestones.iter().filter(|&&m| epoch >= m).count();
        self.base * self.gamma.powi(passed as i32)
    }
}
