//! MinLGAN's discriminator D and its approximate posterior q(z|x) (Wang et al., "Minimum
//! likelihood GAN"). Both share one body: for images two (28×28) or three (32×32) strided 4×4
//! convolutions with biases and leaky ReLU 0.2 (DCGAN's discriminator without batch norm), for
//! tabular data two dense layers, each followed by a dense layer to the feature vector f(x).
//! D ends in one logit, q in the mean and log-variance of a diagonal Gaussian over z.
//!
//! No batch norm in D: D is the detector and is evaluated one test sample at a time, while in
//! training it would see pure real and pure fake batches, whose statistics differ; the running
//! averages would then describe neither, and −D(x) at test time would not be the D that was
//! trained.

use crate::nets::InputKind;
use crate::nn::{BiasedConv, Conv2d, Dense, Scope};
use engine::{Result, Rng, Tensor};

/// GAN discriminators' leaky ReLU slope (DCGAN, improved-GAN).
const SLOPE: f32 = 0.2;

/// A 4 × 4, stride-2 convolution with a bias (the shared `Conv2d` is bias-free: Deep SVDD's
/// rule), both from PyTorch's default initialisation.
fn biased_conv(s: &Scope, rng: &mut Rng, ci: usize, co: usize) -> Result<BiasedConv> {
    let conv = Conv2d::new(s, rng, ci, co, 4, 2, 1)?;
    let bound = 1.0 / ((ci * 16) as f32).sqrt();
    Ok(BiasedConv::new(s, conv, Tensor::rand_uniform(&[co, 1, 1], -bound, bound, rng, s.device)?))
}

/// x → f(x): the shared trunk of D and q.
pub struct Body {
    convs: Vec<BiasedConv>,
    dense: Vec<Dense>,
}

impl Body {
    /// Width of f(x), the layer feature matching compares.
    pub fn feature_dim(kind: InputKind) -> usize {
        match kind {
            InputKind::Tabular(_) => 64,
            _ => 128,
        }
    }

    pub fn new(s: &Scope, rng: &mut Rng, kind: InputKind) -> Result<Self> {
        let f = Self::feature_dim(kind);
        // (conv channels, flattened size after them, dense widths)
        let (chans, flat, hidden): (&[(usize, usize)], usize, Vec<usize>) = match kind {
            // 28 → 14 → 7
            InputKind::Mnist => (&[(1, 32), (32, 64)], 64 * 7 * 7, vec![f]),
            // 32 → 16 → 8 → 4
            InputKind::Cifar => (&[(3, 64), (64, 128), (128, 256)], 256 * 4 * 4, vec![f]),
            InputKind::Tabular(d) => (&[], d, vec![128, f]),
        };
        let mut convs = Vec::new();
        for (i, &(ci, co)) in chans.iter().enumerate() {
            convs.push(biased_conv(&s.sub(&format!("conv{}", i + 1)), rng, ci, co)?);
        }
        let mut dense = Vec::new();
        let mut width = flat;
        for (i, &w) in hidden.iter().enumerate() {
            dense.push(Dense::new(&s.sub(&format!("fc{}", i + 1)), rng, width, w)?);
            width = w;
        }
        Ok(Body { convs, dense })
    }

    /// f(x), `n × feature_dim`, after its leaky ReLU.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut h = x.clone();
        for c in &self.convs {
            h = c.forward(&h)?.leaky_relu(SLOPE)?;
        }
        if !self.convs.is_empty() {
            h = h.flatten()?;
        }
        for d in &self.dense {
            h = d.forward(&h)?.leaky_relu(SLOPE)?;
        }
        Ok(h)
    }
}

/// D: x → logit. Anomaly score −D(x).
pub struct Discriminator {
    body: Body,
    out: Dense,
}

impl Discriminator {
    pub fn new(s: &Scope, rng: &mut Rng, kind: InputKind) -> Result<Self> {
        let body = Body::new(s, rng, kind)?;
        let out = Dense::new(&s.sub("out"), rng, Body::feature_dim(kind), 1)?;
        Ok(Discriminator { body, out })
    }

    /// (f(x), D(x)): the intermediate features feature matching uses, and the logits (`n`).
    pub fn forward(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        let f = self.body.forward(x)?;
        let n = x.dims()[0];
        let logit = self.out.forward(&f)?.reshape(&[n])?;
        Ok((f, logit))
    }

    pub fn logits(&self, x: &Tensor) -> Result<Tensor> {
        Ok(self.forward(x)?.1)
    }
}

/// q(z|x) = N(μ(x), diag σ²(x)), sampled by reparameterisation.
pub struct Posterior {
    body: Body,
    mu: Dense,
    log_var: Dense,
}

impl Posterior {
    pub fn new(s: &Scope, rng: &mut Rng, kind: InputKind, z_dim: usize) -> Result<Self> {
        let body = Body::new(s, rng, kind)?;
        let f = Body::feature_dim(kind);
        Ok(Posterior {
            body,
            mu: Dense::new(&s.sub("mu"), rng, f, z_dim)?,
            log_var: Dense::new(&s.sub("log_var"), rng, f, z_dim)?,
        })
    }

    /// (μ, log σ²), each `n × z_dim`.
    pub fn forward(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        let h = self.body.forward(x)?;
        Ok((self.mu.forward(&h)?, self.log_var.forward(&h)?))
    }

    /// z = μ + σ·ε, ε ~ N(0, I): differentiable in μ and σ (the reparameterisation trick).
    pub fn sample(&self, mu: &Tensor, log_var: &Tensor, rng: &mut Rng) -> Result<Tensor> {
        let eps = Tensor::randn(mu.dims(), 0.0, 1.0, rng, mu.device())?;
        mu.add(&log_var.mul_scalar(0.5)?.exp()?.mul(&eps)?)
    }

    /// KL(q(z|x) ‖ N(0, I)) per sample, summed over z: ½ Σ (μ² + σ² − log σ² − 1).
    pub fn kl(mu: &Tensor, log_var: &Tensor) -> Result<Tensor> {
        mu.sqr()?.add(&log_var.exp()?)?.sub(log_var)?.add_scalar(-1.0)?.sum(&[1], false)?.mul_scalar(0.5)
    }
}
