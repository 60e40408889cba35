//! The ICS networks of the authors' released Keras code (`deep-occ-using-ics`,
//! `models/build.py`), for `--preset authors`.
//!
//! The classifier: four stages of two chained bias-free 3 × 3
//! convolutions whose outputs are concatenated (16, 32, 64, 128 filters each), leaky ReLU 0.2,
//! 2 × 2 average pooling and batch norm (momentum 0.99, ε 1e-3 in Keras' terms); a fifth stage of
//! two parallel 1 × 1 convolutions (256 each); then dense 2048 → 256 → 128 = z, with biases,
//! leaky ReLU and dropout after each, and the head 128 → 1. Kernels start from a normal
//! truncated at ±2σ with σ = 0.01, biases at 0.
//!
//! 28 × 28 inputs are zero-padded from 7 × 7 to 9 × 9 after the second pooling (before its batch
//! norm, as the code does), so both image sizes end at 2 × 2 × 512. Keras flattens channels-last;
//! we flatten NCHW, a fixed permutation of the dense layer's inputs that changes nothing learnt
//! from scratch. The head's output is the logit of "atypical" (the code's sigmoid is the
//! probability of "typical": the same ranking with the sign flipped).
//!
//! The autoencoder that makes the split: 28 × 28 inputs zero-padded to 32 × 32; four stages of two
//! chained 3 × 3 convolutions with ReLU (8, 16, 32, 64 filters), concatenated, 2 × 2 max pooling
//! and batch norm; a 1 × 1 convolution to the 2 × 2 × 128 code (ReLU, bias); batch norm; four
//! stages of a stride-2 3 × 3 transposed convolution and a 3 × 3 convolution, both ReLU,
//! concatenated, batch norm (32, 32, 16, 8 filters); a 3 × 3 convolution with bias and a sigmoid,
//! cropped back to 28 × 28. Keras' batch-norm defaults. Its transposed convolutions pad as
//! PyTorch's `padding=1, output_padding=1` do, one pixel off TensorFlow's "same" alignment, which
//! a network trained from scratch absorbs.

use crate::nets::InputKind;
use crate::nn::{sum_of_squares, BatchNorm, BiasedConv, Conv2d, ConvTranspose2d, Dense, Mode, Scope};
use engine::init::truncated_normal;
use engine::{Error, Result, Rng, Tensor};

const SLOPE: f32 = 0.2;
const INIT_STD: f32 = 0.01;
/// Keras' `BatchNormalization(momentum=0.99, epsilon=1e-3)`: the running statistics keep 99 %
/// of their value per batch, i.e. PyTorch's momentum 0.01.
const BN_MOMENTUM: f32 = 0.01;
const BN_EPS: f32 = 1e-3;

fn conv(s: &Scope, rng: &mut Rng, inputs: usize, outputs: usize, k: usize) -> Result<Conv2d> {
    let w = truncated_normal(&[outputs, inputs, k, k], INIT_STD, rng, s.device)?;
    Ok(Conv2d { weight: s.param("weight", w), stride: 1, pad: k / 2 })
}

fn dense(s: &Scope, rng: &mut Rng, inputs: usize, outputs: usize) -> Result<Dense> {
    let w = truncated_normal(&[outputs, inputs], INIT_STD, rng, s.device)?;
    let b = Tensor::param(vec![0.0; outputs], &[outputs], s.device)?;
    Ok(Dense { weight: s.param("weight", w), bias: s.param("bias", b) })
}

/// Batch norm with γ and β, in Keras' default constants.
pub(crate) fn keras_batch_norm(s: &Scope, channels: usize) -> Result<BatchNorm> {
    let mut bn = BatchNorm::new(s, channels, BN_EPS, true)?;
    bn.state.momentum = BN_MOMENTUM;
    Ok(bn)
}

/// `p` rows and columns of zeros on every side of an `n × c × h × w` map (Keras'
/// `ZeroPadding2D`).
pub(crate) fn zero_pad(x: &Tensor, p: usize) -> Result<Tensor> {
    let d = x.dims().to_vec();
    let side = Tensor::zeros(&[d[0], d[1], d[2], p], x.device());
    let x = Tensor::concat(&[&side, x, &side], 3)?;
    let rows = Tensor::zeros(&[d[0], d[1], p, d[3] + 2 * p], x.device());
    Tensor::concat(&[&rows, &x, &rows], 2)
}

/// Two convolutions and the concatenation of their outputs: chained (`b` reads `a`'s output)
/// in the 3 × 3 stages, parallel (both read the input) in the 1 × 1 stage.
struct ConvPair {
    a: Conv2d,
    b: Conv2d,
    chained: bool,
}

impl ConvPair {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let a = self.a.forward(x)?;
        let b = self.b.forward(if self.chained { &a } else { x })?;
        Tensor::concat(&[&a, &b], 1)
    }
}

pub struct IcsAuthorsNet {
    stages: Vec<(ConvPair, BatchNorm)>,
    /// Zero-pad after this stage's pooling (28 × 28 inputs: the second).
    pad_after: Option<usize>,
    fc7: Dense,
    fc8: Dense,
    head: Dense,
}

impl IcsAuthorsNet {
    pub fn new(s: &Scope, rng: &mut Rng, kind: InputKind) -> Result<Self> {
        let (mut c_in, pad_after) = match kind {
            InputKind::Mnist => (1, Some(1)),
            InputKind::Cifar => (3, None),
            InputKind::Tabular(_) => {
                return Err(Error::Invalid { op: "ics", msg: "the authors' ICS networks are for images only".into() });
            }
        };
        let mut stages = Vec::new();
        for (i, f) in [16, 32, 64, 128, 256].into_iter().enumerate() {
            let s = s.sub(&format!("stage{}", i + 1));
            let k = if f == 256 { 1 } else { 3 };
            let a = conv(&s.sub("conv_a"), rng, c_in, f, k)?;
            let b = conv(&s.sub("conv_b"), rng, if k == 1 { c_in } else { f }, f, k)?;
            let bn = keras_batch_norm(&s.sub("bn"), 2 * f)?;
            stages.push((ConvPair { a, b, chained: k == 3 }, bn));
            c_in = 2 * f;
        }
        let fc7 = dense(&s.sub("fc7"), rng, 512 * 2 * 2, 256)?;
        let fc8 = dense(&s.sub("fc8"), rng, 256, 128)?;
        let head = dense(&s.sub("head"), rng, 128, 1)?;
        Ok(IcsAuthorsNet { stages, pad_after, fc7, fc8, head })
    }

    pub fn rep_dim(&self) -> usize {
        128
    }

    /// x → z: the dense layer's output after its leaky ReLU (the code's latent layer). In
    /// training, batch norm uses the batch's statistics and dropout (rate `p`, masks from
    /// `rng`) follows the first dense layer.
    pub fn features_with(&self, x: &Tensor, mode: Mode, drop: Option<(f32, &mut Rng)>) -> Result<Tensor> {
        let mut h = x.clone();
        let last = self.stages.len() - 1;
        for (i, (pair, bn)) in self.stages.iter().enumerate() {
            h = pair.forward(&h)?.leaky_relu(SLOPE)?;
            if i < last {
                h = h.avg_pool2d(2, 2)?;
            }
            if self.pad_after == Some(i) {
                h = zero_pad(&h, 1)?;
            }
            h = bn.forward(&h, mode)?;
        }
        h = self.fc7.forward(&h.flatten()?)?.leaky_relu(SLOPE)?;
        if let Some((p, rng)) = drop {
            h = super::dropout(&h, p, rng)?;
        }
        self.fc8.forward(&h)?.leaky_relu(SLOPE)
    }

    /// z → logit of "atypical" (`n`).
    pub fn head(&self, z: &Tensor) -> Result<Tensor> {
        let n = z.dims()[0];
        self.head.forward(z)?.reshape(&[n])
    }

    /// Σ‖W‖² over the kernels of x → z (the code's L2 covers every kernel; the head's is
    /// [`head_l2`](Self::head_l2), which only the classifier's loss carries).
    pub fn features_l2(&self) -> Result<Tensor> {
        let mut kernels: Vec<&Tensor> = Vec::new();
        for (pair, _) in &self.stages {
            kernels.extend([&pair.a.weight, &pair.b.weight]);
        }
        kernels.extend([&self.fc7.weight, &self.fc8.weight]);
        l2(&kernels)
    }

    pub fn head_l2(&self) -> Result<Tensor> {
        self.head.weight.sqr()?.sum_all()
    }
}

/// A convolution with a zero bias (the code's `use_bias=True` layers).
fn biased_conv(s: &Scope, rng: &mut Rng, inputs: usize, outputs: usize, k: usize) -> Result<BiasedConv> {
    BiasedConv::zero_bias(s, conv(s, rng, inputs, outputs, k)?)
}

/// Σ‖W‖² over a network's (non-empty) list of kernels.
fn l2(kernels: &[&Tensor]) -> Result<Tensor> {
    Ok(sum_of_squares(kernels)?.expect("a network with kernels"))
}

/// One decoder stage: a stride-2 transposed convolution (doubling the map) and a convolution
/// on its output, both ReLU, concatenated (convolution first, as the code has it).
struct UpStage {
    up: ConvTranspose2d,
    conv: Conv2d,
    bn: BatchNorm,
}

pub struct IcsAuthorsAutoencoder {
    down: Vec<(ConvPair, BatchNorm)>,
    code: BiasedConv,
    code_bn: BatchNorm,
    up: Vec<UpStage>,
    out: BiasedConv,
    /// Zero padding around the input, cropped off the output (28 × 28: 2; 32 × 32: 0).
    pad: usize,
}

impl IcsAuthorsAutoencoder {
    pub fn new(s: &Scope, rng: &mut Rng, kind: InputKind) -> Result<Self> {
        let (channels, pad) = match kind {
            InputKind::Mnist => (1, 2),
            InputKind::Cifar => (3, 0),
            InputKind::Tabular(_) => {
                return Err(Error::Invalid { op: "ics", msg: "the authors' ICS networks are for images only".into() });
            }
        };
        let kernel = |s: &Scope, rng: &mut Rng, i, o| -> Result<ConvTranspose2d> {
            let w = truncated_normal(&[i, o, 3, 3], INIT_STD, rng, s.device)?;
            Ok(ConvTranspose2d { weight: s.param("weight", w), stride: 2, pad: 1, output_padding: 1 })
        };
        let (mut down, mut c_in) = (Vec::new(), channels);
        for (i, f) in [8, 16, 32, 64].into_iter().enumerate() {
            let s = s.sub(&format!("down{}", i + 1));
            let pair = ConvPair {
                a: conv(&s.sub("conv_a"), rng, c_in, f, 3)?,
                b: conv(&s.sub("conv_b"), rng, f, f, 3)?,
                chained: true,
            };
            down.push((pair, keras_batch_norm(&s.sub("bn"), 2 * f)?));
            c_in = 2 * f;
        }
        let code = biased_conv(&s.sub("code"), rng, c_in, 128, 1)?;
        let code_bn = keras_batch_norm(&s.sub("code_bn"), 128)?;
        let (mut up, mut c_in) = (Vec::new(), 128);
        for (i, f) in [32, 32, 16, 8].into_iter().enumerate() {
            let s = s.sub(&format!("up{}", i + 1));
            let up_conv = kernel(&s.sub("up"), rng, c_in, f)?;
            up.push(UpStage {
                up: up_conv,
                conv: conv(&s.sub("conv"), rng, f, f, 3)?,
                bn: keras_batch_norm(&s.sub("bn"), 2 * f)?,
            });
            c_in = 2 * f;
        }
        let out = biased_conv(&s.sub("out"), rng, c_in, channels, 3)?;
        Ok(IcsAuthorsAutoencoder { down, code, code_bn, up, out, pad })
    }

    pub fn reconstruct(&self, x: &Tensor, mode: Mode) -> Result<Tensor> {
        let mut h = if self.pad > 0 { zero_pad(x, self.pad)? } else { x.clone() };
        for (pair, bn) in &self.down {
            let a = pair.a.forward(&h)?.relu()?;
            let b = pair.b.forward(&a)?.relu()?;
            h = bn.forward(&Tensor::concat(&[&b, &a], 1)?.max_pool2d(2, 2, 0)?, mode)?;
        }
        h = self.code_bn.forward(&self.code.forward(&h)?.relu()?, mode)?;
        for st in &self.up {
            let t = st.up.forward(&h)?.relu()?;
            let u = st.conv.forward(&t)?.relu()?;
            h = st.bn.forward(&Tensor::concat(&[&u, &t], 1)?, mode)?;
        }
        let y = self.out.forward(&h)?.sigmoid()?;
        if self.pad == 0 {
            return Ok(y);
        }
        let side = y.dims()[2] - 2 * self.pad;
        y.narrow(2, self.pad, side)?.narrow(3, self.pad, side)
    }

    /// Σ‖W‖² over every kernel (the code's L2 regulariser).
    pub fn l2(&self) -> Result<Tensor> {
        let mut kernels: Vec<&Tensor> = Vec::new();
        for (pair, _) in &self.down {
            kernels.extend([&pair.a.weight, &pair.b.weight]);
        }
        kernels.push(&self.code.conv.weight);
        for st in &self.up {
            kernels.extend([&st.up.weight, &st.conv.weight]);
        }
        kernels.push(&self.out.conv.weight);
        l2(&kernels)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::Vars;
    use engine::Device;

    #[test]
    fn zero_pad_surrounds_the_map_and_passes_the_gradient_to_the_inside_only() {
        let x = Tensor::param((1..=8).map(|v| v as f32).collect(), &[1, 2, 2, 2], Device::Cpu).unwrap();
        let y = zero_pad(&x, 1).unwrap();
        assert_eq!(y.dims(), &[1, 2, 4, 4]);
        let v = y.to_vec();
        assert_eq!(&v[..16], &[0., 0., 0., 0., 0., 1., 2., 0., 0., 3., 4., 0., 0., 0., 0., 0.]);
        y.sqr().unwrap().sum_all().unwrap().backward().unwrap();
        assert_eq!(x.grad().unwrap().to_vec(), (1..=8).map(|v| 2.0 * v as f32).collect::<Vec<_>>());
    }

    /// Both image sizes reach the 2 × 2 × 512 the dense layer expects; the parameter count is
    /// the Keras model's (convolutions 16·9 + 16·16·9 + …, batch norm γ and β, dense with biases).
    #[test]
    fn both_image_sizes_reach_the_dense_layers_with_the_codes_parameter_count() {
        for (kind, c) in [(InputKind::Mnist, 1), (InputKind::Cifar, 3)] {
            let vars = Vars::new();
            let s = Scope::new(&vars, Device::Cpu);
            let net = IcsAuthorsNet::new(&s, &mut Rng::new(2), kind).unwrap();
            let side = if c == 1 { 28 } else { 32 };
            let x = Tensor::rand_uniform(&[3, c, side, side], 0.0, 1.0, &mut Rng::new(1), Device::Cpu).unwrap();
            let z = net.features_with(&x, Mode::Train, None).unwrap();
            assert_eq!(z.dims(), &[3, 128]);
            assert_eq!(net.head(&z).unwrap().dims(), &[3]);
            let convs =
                9 * (c * 16 + 16 * 16 + 32 * 32 + 32 * 32 + 64 * 64 + 64 * 64 + 128 * 128 + 128 * 128) + 256 * 256 * 2;
            let bn = 2 * (32 + 64 + 128 + 256 + 512);
            let dense = 2048 * 256 + 256 + 256 * 128 + 128 + 128 + 1;
            assert_eq!(vars.num_params(), convs + bn + dense, "{kind:?}");
        }
        let vars = Vars::new();
        assert!(IcsAuthorsNet::new(&Scope::new(&vars, Device::Cpu), &mut Rng::new(2), InputKind::Tabular(3)).is_err());
    }

    /// Both image sizes come back at their own size, in (0, 1), and the code is 2 × 2 × 128.
    #[test]
    fn the_autoencoder_reconstructs_both_image_sizes_through_a_two_by_two_code() {
        for (kind, c, side) in [(InputKind::Mnist, 1, 28), (InputKind::Cifar, 3, 32)] {
            let vars = Vars::new();
            let ae = IcsAuthorsAutoencoder::new(&Scope::new(&vars, Device::Cpu), &mut Rng::new(3), kind).unwrap();
            let x = Tensor::rand_uniform(&[2, c, side, side], 0.0, 1.0, &mut Rng::new(1), Device::Cpu).unwrap();
            let y = ae.reconstruct(&x, Mode::Train).unwrap();
            assert_eq!(y.dims(), &[2, c, side, side]);
            assert!(y.to_vec().iter().all(|&v| v > 0.0 && v < 1.0));
            assert_eq!(ae.code.conv.weight.dims(), &[128, 128, 1, 1]);
            y.mse(&x).unwrap().add(&ae.l2().unwrap()).unwrap().backward().unwrap();
            assert!(ae.down[0].0.a.weight.grad().is_some(), "the gradient reaches the first layer");
        }
    }
}
