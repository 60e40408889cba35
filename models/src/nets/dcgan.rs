//! The GAN methods' generators (GANOCC, MinLGAN): DCGAN stacks of transposed convolutions with
//! batch norm and ReLU and a tanh output, so image data is scaled to [-1, 1] —
//! 28×28×1: z → 128@7×7 → 64@14×14 → 1@28×28; 32×32×3: z → 256@4×4 → 128@8×8 → 64@16×16 →
//! 3@32×32 — and an MLP generator for tabular data (linear output: standardised features are
//! unbounded).

use crate::nets::InputKind;
use crate::nn::{BatchNorm, ConvTranspose2d, Dense, Mode, Scope};
use engine::{Device, Result, Rng, Tensor};
use kernels::cpu::activation::Unary;

/// DCGAN initialisation: weights from N(0, 0.02²).
const DCGAN_STD: f32 = 0.02;

pub struct DcganGenerator {
    pub z_dim: usize,
    layers: Vec<(ConvTranspose2d, Option<BatchNorm>)>,
}

impl DcganGenerator {
    /// `spec`: (out channels, kernel, stride, padding) per layer, from a 1×1 noise "image".
    fn with_spec(s: &Scope, rng: &mut Rng, z_dim: usize, spec: &[(usize, usize, usize, usize)]) -> Result<Self> {
        let mut layers = Vec::new();
        let mut ci = z_dim;
        for (i, &(co, k, st, p)) in spec.iter().enumerate() {
            let conv =
                ConvTranspose2d::new_normal(&s.sub(&format!("deconv{}", i + 1)), rng, ci, co, k, st, p, DCGAN_STD)?;
            let bn = if i + 1 < spec.len() {
                Some(BatchNorm::new(&s.sub(&format!("bn{}", i + 1)), co, 1e-5, true)?)
            } else {
                None
            };
            layers.push((conv, bn));
            ci = co;
        }
        Ok(DcganGenerator { z_dim, layers })
    }

    /// 28×28×1 (MNIST, Fashion-MNIST).
    pub fn new28(s: &Scope, rng: &mut Rng, z_dim: usize) -> Result<Self> {
        Self::with_spec(s, rng, z_dim, &[(128, 7, 1, 0), (64, 4, 2, 1), (1, 4, 2, 1)])
    }

    /// 32×32×3 (CIFAR-10).
    pub fn new32(s: &Scope, rng: &mut Rng, z_dim: usize) -> Result<Self> {
        Self::with_spec(s, rng, z_dim, &[(256, 4, 1, 0), (128, 4, 2, 1), (64, 4, 2, 1), (3, 4, 2, 1)])
    }

    pub fn forward(&self, z: &Tensor, mode: Mode) -> Result<Tensor> {
        let n = z.dims()[0];
        let mut x = z.reshape(&[n, self.z_dim, 1, 1])?;
        for (conv, bn) in &self.layers {
            x = conv.forward(&x)?;
            x = match bn {
                Some(bn) => bn.forward_act(&x, mode, Unary::Relu)?,
                None => x.tanh()?,
            };
        }
        Ok(x)
    }
}

/// z → 64 → 128 → d with batch norm and ReLU.
pub struct MlpGenerator {
    layers: Vec<(Dense, Option<BatchNorm>)>,
}

impl MlpGenerator {
    pub fn new(s: &Scope, rng: &mut Rng, z_dim: usize, d: usize) -> Result<Self> {
        let widths = [z_dim, 64, 128, d];
        let mut layers = Vec::new();
        for i in 0..3 {
            let fc = Dense::new(&s.sub(&format!("fc{}", i + 1)), rng, widths[i], widths[i + 1])?;
            let bn = if i < 2 {
                Some(BatchNorm::new(&s.sub(&format!("bn{}", i + 1)), widths[i + 1], 1e-5, true)?)
            } else {
                None
            };
            layers.push((fc, bn));
        }
        Ok(MlpGenerator { layers })
    }

    pub fn forward(&self, z: &Tensor, mode: Mode) -> Result<Tensor> {
        let mut h = z.clone();
        for (fc, bn) in &self.layers {
            h = fc.forward(&h)?;
            if let Some(bn) = bn {
                h = bn.forward_act(&h, mode, Unary::Relu)?;
            }
        }
        Ok(h)
    }
}

/// G: noise → a sample shaped like the data.
pub enum Generator {
    Dcgan(DcganGenerator),
    Mlp(MlpGenerator),
}

impl Generator {
    pub fn new(s: &Scope, rng: &mut Rng, kind: InputKind, z_dim: usize) -> Result<Self> {
        Ok(match kind {
            InputKind::Mnist => Generator::Dcgan(DcganGenerator::new28(s, rng, z_dim)?),
            InputKind::Cifar => Generator::Dcgan(DcganGenerator::new32(s, rng, z_dim)?),
            InputKind::Tabular(d) => Generator::Mlp(MlpGenerator::new(s, rng, z_dim, d)?),
        })
    }

    pub fn z_dim(&self) -> usize {
        match self {
            Generator::Dcgan(g) => g.z_dim,
            Generator::Mlp(g) => g.layers[0].0.weight.dims()[1],
        }
    }

    /// Samples in the data's layout (`n × C × H × W` images, `n × d` rows).
    pub fn forward(&self, z: &Tensor, mode: Mode) -> Result<Tensor> {
        match self {
            Generator::Dcgan(g) => g.forward(z, mode),
            Generator::Mlp(g) => g.forward(z, mode),
        }
    }

    /// Standard normal noise `n × z_dim`.
    pub fn noise(&self, n: usize, rng: &mut Rng, device: Device) -> Result<Tensor> {
        Tensor::randn(&[n, self.z_dim()], 0.0, 1.0, rng, device)
    }
}
