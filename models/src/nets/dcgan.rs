//! DCGAN generator for 28×28 images (GANOCC, MinLGAN): z → 128@7×7 → 64@14×14 → 1@28×28,
//! transposed convolutions with batch norm and ReLU, tanh output (so data is scaled to [-1, 1]).

use crate::nn::{BatchNorm, ConvTranspose2d, Mode, Scope};
use engine::{Result, Rng, Tensor};

pub struct DcganGenerator28 {
    pub z_dim: usize,
    layers: Vec<(ConvTranspose2d, Option<BatchNorm>)>,
}

impl DcganGenerator28 {
    pub fn new(s: &Scope, rng: &mut Rng, z_dim: usize) -> Result<Self> {
        // (in, out, kernel, stride, padding); N(0, 0.02²) weights as in DCGAN.
        let spec = [(z_dim, 128, 7, 1, 0), (128, 64, 4, 2, 1), (64, 1, 4, 2, 1)];
        let mut layers = Vec::new();
        for (i, (ci, co, k, st, p)) in spec.into_iter().enumerate() {
            let conv = ConvTranspose2d::new_normal(&s.sub(&format!("deconv{}", i + 1)), rng, ci, co, k, st, p, 0.02)?;
            let bn = if i + 1 < spec.len() {
                Some(BatchNorm::new(&s.sub(&format!("bn{}", i + 1)), co, 1e-5, true)?)
            } else {
                None
            };
            layers.push((conv, bn));
        }
        Ok(DcganGenerator28 { z_dim, layers })
    }

    pub fn forward(&self, z: &Tensor, mode: Mode) -> Result<Tensor> {
        let n = z.dims()[0];
        let mut x = z.reshape(&[n, self.z_dim, 1, 1])?;
        for (conv, bn) in &self.layers {
            x = conv.forward(&x)?;
            x = match bn {
                Some(bn) => bn.forward(&x, mode)?.relu()?,
                None => x.tanh()?,
            };
        }
        Ok(x)
    }
}
