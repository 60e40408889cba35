//! Bias-free MLPs for tabular data: d → 64 → 32 (leaky ReLU, batch norm without affine), and
//! the mirrored decoder back to d (linear output: standardised features are unbounded).

use super::plan::LayerSpec;
use crate::nn::{BatchNorm, Linear, Mode, Scope};
use engine::{Result, Rng, Tensor};
use kernels::cpu::activation::Unary;

const HIDDEN: [usize; 2] = [64, 32];
const BN_EPS: f32 = 1e-4;

pub struct Mlp {
    layers: Vec<Linear>,
    norms: Vec<BatchNorm>,
    slope: f32,
}

impl Mlp {
    pub fn new(s: &Scope, rng: &mut Rng, d: usize, slope: f32) -> Result<Self> {
        let widths = [d, HIDDEN[0], HIDDEN[1]];
        let mut layers = Vec::new();
        let mut norms = Vec::new();
        for i in 0..2 {
            layers.push(Linear::new(&s.sub(&format!("fc{}", i + 1)), rng, widths[i], widths[i + 1])?);
            if i == 0 {
                norms.push(BatchNorm::new(&s.sub("bn1"), widths[1], BN_EPS, false)?);
            }
        }
        Ok(Mlp { layers, norms, slope })
    }

    pub fn rep_dim(&self) -> usize {
        HIDDEN[1]
    }

    pub fn forward(&self, x: &Tensor, mode: Mode) -> Result<Tensor> {
        let h = self.norms[0].forward_act(&self.layers[0].forward(x)?, mode, Unary::LeakyRelu(self.slope))?;
        self.layers[1].forward(&h)
    }

    /// [`Self::forward`] in eval mode, as an inference plan's layers.
    pub fn layer_specs(&self) -> Vec<LayerSpec> {
        vec![
            LayerSpec::dense(&self.layers[0], Some(&self.norms[0]), Some(self.slope)),
            LayerSpec::dense(&self.layers[1], None, None),
        ]
    }
}

pub struct MlpDecoder {
    fc1: Linear,
    bn1: BatchNorm,
    fc2: Linear,
    slope: f32,
}

impl MlpDecoder {
    pub fn new(s: &Scope, rng: &mut Rng, d: usize, slope: f32) -> Result<Self> {
        Ok(MlpDecoder {
            fc1: Linear::new(&s.sub("fc1"), rng, HIDDEN[1], HIDDEN[0])?,
            bn1: BatchNorm::new(&s.sub("bn1"), HIDDEN[0], BN_EPS, false)?,
            fc2: Linear::new(&s.sub("fc2"), rng, HIDDEN[0], d)?,
            slope,
        })
    }

    pub fn forward(&self, z: &Tensor, mode: Mode) -> Result<Tensor> {
        let h =
            self.bn1.forward_act(&self.fc1.forward(&z.leaky_relu(self.slope)?)?, mode, Unary::LeakyRelu(self.slope))?;
        self.fc2.forward(&h)
    }
}
