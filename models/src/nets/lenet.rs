//! Deep SVDD's LeNet-type networks and their autoencoder decoders (Ruff et al. 2018, §4.1 and
//! the reference implementation): bias-free, leaky ReLU (slope from the configuration), batch
//! norm without affine parameters (eps 1e-4), 2×2 max pooling; decoders upsample ×2 and use
//! transposed convolutions.

use super::plan::LayerSpec;
use crate::nn::{BatchNorm, Conv2d, ConvTranspose2d, Linear, Mode, Scope};
use engine::{Result, Rng, Tensor};
use kernels::cpu::activation::Unary;

const BN_EPS: f32 = 1e-4;

fn block(conv: &Conv2d, bn: &BatchNorm, x: &Tensor, mode: Mode, slope: f32) -> Result<Tensor> {
    bn.forward_act_pool(&conv.forward(x)?, mode, Unary::LeakyRelu(slope))
}

fn block_specs(conv: &Conv2d, bn: &BatchNorm, slope: f32) -> Vec<LayerSpec> {
    vec![LayerSpec::conv(conv, Some(bn), Some(slope)), LayerSpec::MaxPool { k: 2, stride: 2, pad: 0 }]
}

/// MNIST: conv 8@5×5 → pool → conv 4@5×5 → pool → dense 4·7·7 → 32.
pub struct MnistLeNet {
    conv1: Conv2d,
    bn1: BatchNorm,
    conv2: Conv2d,
    bn2: BatchNorm,
    fc1: Linear,
    slope: f32,
}

impl MnistLeNet {
    pub const REP_DIM: usize = 32;

    pub fn new(s: &Scope, rng: &mut Rng, slope: f32) -> Result<Self> {
        Ok(MnistLeNet {
            conv1: Conv2d::new(&s.sub("conv1"), rng, 1, 8, 5, 1, 2)?,
            bn1: BatchNorm::new(&s.sub("bn1"), 8, BN_EPS, false)?,
            conv2: Conv2d::new(&s.sub("conv2"), rng, 8, 4, 5, 1, 2)?,
            bn2: BatchNorm::new(&s.sub("bn2"), 4, BN_EPS, false)?,
            fc1: Linear::new(&s.sub("fc1"), rng, 4 * 7 * 7, Self::REP_DIM)?,
            slope,
        })
    }

    pub fn forward(&self, x: &Tensor, mode: Mode) -> Result<Tensor> {
        let x = block(&self.conv1, &self.bn1, x, mode, self.slope)?;
        let x = block(&self.conv2, &self.bn2, &x, mode, self.slope)?;
        self.fc1.forward(&x.flatten()?)
    }

    /// [`Self::forward`] in eval mode, as an inference plan's layers.
    pub fn layer_specs(&self) -> Vec<LayerSpec> {
        let mut specs = block_specs(&self.conv1, &self.bn1, self.slope);
        specs.extend(block_specs(&self.conv2, &self.bn2, self.slope));
        specs.push(LayerSpec::dense(&self.fc1, None, None));
        specs
    }
}

/// 32 → 2×4×4 → ×2 → deconv 4@5×5 → ×2 → deconv 8@5×5 (pad 3: 16 → 14) → ×2 → deconv 1@5×5 → sigmoid.
pub struct MnistLeNetDecoder {
    deconv1: ConvTranspose2d,
    bn3: BatchNorm,
    deconv2: ConvTranspose2d,
    bn4: BatchNorm,
    deconv3: ConvTranspose2d,
    slope: f32,
}

impl MnistLeNetDecoder {
    pub fn new(s: &Scope, rng: &mut Rng, slope: f32) -> Result<Self> {
        Ok(MnistLeNetDecoder {
            deconv1: ConvTranspose2d::new(&s.sub("deconv1"), rng, 2, 4, 5, 1, 2, 0)?,
            bn3: BatchNorm::new(&s.sub("bn3"), 4, BN_EPS, false)?,
            deconv2: ConvTranspose2d::new(&s.sub("deconv2"), rng, 4, 8, 5, 1, 3, 0)?,
            bn4: BatchNorm::new(&s.sub("bn4"), 8, BN_EPS, false)?,
            deconv3: ConvTranspose2d::new(&s.sub("deconv3"), rng, 8, 1, 5, 1, 2, 0)?,
            slope,
        })
    }

    pub fn forward(&self, z: &Tensor, mode: Mode) -> Result<Tensor> {
        let n = z.dims()[0];
        let slope = self.slope;
        let x = z.reshape(&[n, MnistLeNet::REP_DIM / 16, 4, 4])?.leaky_relu(slope)?.upsample_nearest(2)?;
        let x = self.bn3.forward_act(&self.deconv1.forward(&x)?, mode, Unary::LeakyRelu(slope))?.upsample_nearest(2)?;
        let x = self.bn4.forward_act(&self.deconv2.forward(&x)?, mode, Unary::LeakyRelu(slope))?.upsample_nearest(2)?;
        self.deconv3.forward(&x)?.sigmoid()
    }
}

/// CIFAR-10: conv 32, 64, 128 @5×5, each → BN → leaky ReLU → pool; dense 128·4·4 → 128.
pub struct CifarLeNet {
    convs: Vec<(Conv2d, BatchNorm)>,
    fc1: Linear,
    slope: f32,
}

impl CifarLeNet {
    pub const REP_DIM: usize = 128;

    pub fn new(s: &Scope, rng: &mut Rng, slope: f32) -> Result<Self> {
        let chans = [(3, 32), (32, 64), (64, 128)];
        let mut convs = Vec::new();
        for (i, (ci, co)) in chans.into_iter().enumerate() {
            let conv = Conv2d::new(&s.sub(&format!("conv{}", i + 1)), rng, ci, co, 5, 1, 2)?;
            let bn = BatchNorm::new(&s.sub(&format!("bn{}", i + 1)), co, BN_EPS, false)?;
            convs.push((conv, bn));
        }
        Ok(CifarLeNet { convs, fc1: Linear::new(&s.sub("fc1"), rng, 128 * 4 * 4, Self::REP_DIM)?, slope })
    }

    pub fn forward(&self, x: &Tensor, mode: Mode) -> Result<Tensor> {
        let mut x = x.clone();
        for (conv, bn) in &self.convs {
            x = block(conv, bn, &x, mode, self.slope)?;
        }
        self.fc1.forward(&x.flatten()?)
    }

    /// [`Self::forward`] in eval mode, as an inference plan's layers.
    pub fn layer_specs(&self) -> Vec<LayerSpec> {
        let mut specs: Vec<LayerSpec> = self.convs.iter().flat_map(|(c, bn)| block_specs(c, bn, self.slope)).collect();
        specs.push(LayerSpec::dense(&self.fc1, None, None));
        specs
    }
}

/// 128 → BN → 8×4×4 → deconv 128, 64, 32 (each ×2 upsampled) → deconv 3 → sigmoid.
pub struct CifarLeNetDecoder {
    bn_code: BatchNorm,
    deconvs: Vec<(ConvTranspose2d, BatchNorm)>,
    out: ConvTranspose2d,
    slope: f32,
}

impl CifarLeNetDecoder {
    pub fn new(s: &Scope, rng: &mut Rng, slope: f32) -> Result<Self> {
        let chans = [(8, 128), (128, 64), (64, 32)];
        let mut deconvs = Vec::new();
        for (i, (ci, co)) in chans.into_iter().enumerate() {
            let d = ConvTranspose2d::new(&s.sub(&format!("deconv{}", i + 1)), rng, ci, co, 5, 1, 2, 0)?;
            let bn = BatchNorm::new(&s.sub(&format!("bn{}", i + 4)), co, BN_EPS, false)?;
            deconvs.push((d, bn));
        }
        Ok(CifarLeNetDecoder {
            bn_code: BatchNorm::new(&s.sub("bn_code"), CifarLeNet::REP_DIM, BN_EPS, false)?,
            deconvs,
            out: ConvTranspose2d::new(&s.sub("deconv4"), rng, 32, 3, 5, 1, 2, 0)?,
            slope,
        })
    }

    pub fn forward(&self, z: &Tensor, mode: Mode) -> Result<Tensor> {
        let n = z.dims()[0];
        let z = self.bn_code.forward(z, mode)?;
        let mut x = z.reshape(&[n, CifarLeNet::REP_DIM / 16, 4, 4])?.leaky_relu(self.slope)?;
        for (d, bn) in &self.deconvs {
            x = bn.forward_act(&d.forward(&x)?, mode, Unary::LeakyRelu(self.slope))?.upsample_nearest(2)?;
        }
        self.out.forward(&x)?.sigmoid()
    }
}
