//! Bias-free convolution and transposed convolution layers, and a convolution with a bias.

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

/// A convolution with a per-channel bias (`out × 1 × 1`, broadcast over the map): the GAN
/// discriminators' and ICS's layers (Deep SVDD's networks are bias-free).
#[derive(Clone)]
pub struct BiasedConv {
    pub conv: Conv2d,
    pub bias: Tensor,
}

impl BiasedConv {
    /// `conv` with `bias` (`out × 1 × 1`) registered as `bias` in `s`.
    pub fn new(s: &Scope, conv: Conv2d, bias: Tensor) -> Self {
        BiasedConv { conv, bias: s.param("bias", bias) }
    }

    /// [`BiasedConv::new`] with a bias of zeros.
    pub fn zero_bias(s: &Scope, conv: Conv2d) -> Result<Self> {
        let out = conv.weight.dims()[0];
        Ok(Self::new(s, conv, Tensor::param(vec![0.0; out], &[out, 1, 1], s.device)?))
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.conv.forward(x)?.add(&self.bias)
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
