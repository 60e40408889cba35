//! Batch normalisation layer: running statistics as buffers, optional affine parameters.

use super::{Mode, Scope};
use engine::ops::norm::BatchNormState;
use engine::{Result, Tensor};
use kernels::cpu::activation::Unary;

#[derive(Clone)]
pub struct BatchNorm {
    pub state: BatchNormState,
    pub affine: Option<(Tensor, Tensor)>,
}

impl BatchNorm {
    /// `eps` 1e-4 and no affine part in the Deep SVDD networks; DCGAN uses eps 1e-5 and affine.
    pub fn new(s: &Scope, channels: usize, eps: f32, affine: bool) -> Result<Self> {
        let st = BatchNormState::new(channels, 0.1, eps, s.device);
        let state = BatchNormState {
            running_mean: s.buffer("running_mean", st.running_mean),
            running_var: s.buffer("running_var", st.running_var),
            ..st
        };
        let affine = if affine {
            let gamma = Tensor::param(vec![1.0; channels], &[channels], s.device)?;
            let beta = Tensor::param(vec![0.0; channels], &[channels], s.device)?;
            Some((s.param("weight", gamma), s.param("bias", beta)))
        } else {
            None
        };
        Ok(BatchNorm { state, affine })
    }

    pub fn forward(&self, x: &Tensor, mode: Mode) -> Result<Tensor> {
        let affine = self.affine.as_ref().map(|(g, b)| (g, b));
        x.batch_norm(&self.state, mode == Mode::Train, affine)
    }

    /// [`BatchNorm::forward`] then `act` (ReLU or leaky ReLU), fused in training on the CPU.
    pub fn forward_act(&self, x: &Tensor, mode: Mode, act: Unary) -> Result<Tensor> {
        let affine = self.affine.as_ref().map(|(g, b)| (g, b));
        x.batch_norm_act(&self.state, mode == Mode::Train, affine, act)
    }

    /// [`BatchNorm::forward_act`] then 2 × 2 max pooling (stride 2), fused in training on the CPU
    /// for a layer without affine parameters.
    pub fn forward_act_pool(&self, x: &Tensor, mode: Mode, act: Unary) -> Result<Tensor> {
        match self.affine {
            None => x.batch_norm_act_pool(&self.state, mode == Mode::Train, act),
            Some(_) => self.forward_act(x, mode, act)?.max_pool2d(2, 2, 0),
        }
    }
}
