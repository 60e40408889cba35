//! Bias-free dense layer (every network here is bias-free: Deep SVDD's Proposition 2).

use super::Scope;
use engine::{init, Result, Rng, Tensor};

#[derive(Clone)]
pub struct Linear {
    pub weight: Tensor,
}

impl Linear {
    /// Weight `out × in`, drawn by the scope's [`WeightInit`](super::WeightInit).
    pub fn new(s: &Scope, rng: &mut Rng, inputs: usize, outputs: usize) -> Result<Self> {
        let w = s.init.dense(&[outputs, inputs], rng, s.device)?;
        Ok(Linear { weight: s.param("weight", w) })
    }

    /// Weight drawn from N(0, std²), as DCGAN-style networks initialise.
    pub fn new_normal(s: &Scope, rng: &mut Rng, inputs: usize, outputs: usize, std: f32) -> Result<Self> {
        let w = init::normal(&[outputs, inputs], 0.0, std, rng, s.device)?;
        Ok(Linear { weight: s.param("weight", w) })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.linear(&self.weight)
    }
}

/// Dense layer with a bias, for the GAN methods' small discriminators and generators (the
/// bias-free rule is Deep SVDD's; a one-hidden-layer discriminator without biases can only
/// draw boundaries through the origin).
#[derive(Clone)]
pub struct Dense {
    pub weight: Tensor,
    pub bias: Tensor,
}

impl Dense {
    /// PyTorch's default initialisation: Kaiming uniform (a = √5) weights, bias U(±1/√in).
    pub fn new(s: &Scope, rng: &mut Rng, inputs: usize, outputs: usize) -> Result<Self> {
        let w = init::kaiming_uniform(&[outputs, inputs], 5f32.sqrt(), rng, s.device)?;
        let bound = 1.0 / (inputs.max(1) as f32).sqrt();
        let b = Tensor::rand_uniform(&[outputs], -bound, bound, rng, s.device)?;
        Ok(Dense { weight: s.param("weight", w), bias: s.param("bias", b) })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.linear(&self.weight)?.add(&self.bias)
    }
}
