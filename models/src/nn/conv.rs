//! Bias-free convolution and transposed convolution layers.

use super::Scope;
use engine::{init, Result, Rng, Tensor};

#[derive(Clone)]
pub struct Conv2d {
    pub weight: Tensor,
    pub stride: usize,
    pub pad: usize,
}

impl Conv2d {
    /// Weight `out × in × k × k`, drawn by the scope's [`WeightInit`](super::WeightInit).
    pub fn new(
        s: &Scope,
        rng: &mut Rng,
        inputs: usize,
        outputs: usize,
        k: usize,
        stride: usize,
        pad: usize,
    ) -> Result<Self> {
        let w = s.init.conv(&[outputs, inputs, k, k], rng, s.device)?;
        Ok(Conv2d { weight: s.param("weight", w), stride, pad })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.conv2d(&self.weight, self.stride, self.pad)
    }
}

#[derive(Clone)]
pub struct ConvTranspose2d {
    pub weight: Tensor,
    pub stride: usize,
    pub pad: usize,
    pub output_padding: usize,
}

impl ConvTranspose2d {
    /// Weight `in × out × k × k` (PyTorch's layout), drawn by the scope's [`WeightInit`](super::WeightInit).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        s: &Scope,
        rng: &mut Rng,
        inputs: usize,
        outputs: usize,
        k: usize,
        stride: usize,
        pad: usize,
        output_padding: usize,
    ) -> Result<Self> {
        let w = s.init.conv(&[inputs, outputs, k, k], rng, s.device)?;
        Ok(ConvTranspose2d { weight: s.param("weight", w), stride, pad, output_padding })
    }

    /// Weight from N(0, std²) (DCGAN).
    #[allow(clippy::too_many_arguments)]
    pub fn new_normal(
        s: &Scope,
        rng: &mut Rng,
        inputs: usize,
        outputs: usize,
        k: usize,
        stride: usize,
        pad: usize,
        std: f32,
    ) -> Result<Self> {
        let w = init::normal(&[inputs, outputs, k, k], 0.0, std, rng, s.device)?;
        Ok(ConvTranspose2d { weight: s.param("weight", w), stride, pad, output_padding: 0 })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.conv_transpose2d(&self.weight, self.stride, self.pad, self.output_padding)
    }
}
