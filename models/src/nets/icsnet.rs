//! The ICS classifier backbone (Schlachter et al. 2019, §3.1): a feature extraction subnetwork
//! x → z and a classification subnetwork z → logit of "atypical". The paper uses AlexNet, with
//! z = the second-last layer and the head = its output layer; AlexNet is built for 227 × 227
//! inputs, so at 28 × 28 and 32 × 32 we keep its layer types and drop its size: a LeNet-sized
//! stack of convolutions with biases, leaky ReLU and 2 × 2 max pooling, one dense layer to z,
//! and no batch norm (AlexNet has none, and ICS steps losses on batches of only typical or only
//! atypical samples, whose batch statistics differ from the mixed batches scoring sees).
//! Weights are Glorot-uniform and biases zero: Keras' defaults, as in the paper's TensorFlow.

use crate::nets::InputKind;
use crate::nn::{sum_of_squares, BiasedConv, Conv2d, Dense, Scope, LEAKY_SLOPE};
use engine::init::glorot_uniform;
use engine::{Result, Rng, Tensor};

/// A convolution (padded to keep the size) with a zero bias, Glorot-uniform weights.
fn biased_conv(s: &Scope, rng: &mut Rng, inputs: usize, outputs: usize, k: usize) -> Result<BiasedConv> {
    let w = glorot_uniform(&[outputs, inputs, k, k], 1.0, rng, s.device)?;
    BiasedConv::zero_bias(s, Conv2d { weight: s.param("weight", w), stride: 1, pad: k / 2 })
}

fn glorot_dense(s: &Scope, rng: &mut Rng, inputs: usize, outputs: usize) -> Result<Dense> {
    let w = glorot_uniform(&[outputs, inputs], 1.0, rng, s.device)?;
    let b = Tensor::param(vec![0.0; outputs], &[outputs], s.device)?;
    Ok(Dense { weight: s.param("weight", w), bias: s.param("bias", b) })
}

/// Layer widths per input kind: convolution channels (5 × 5, each followed by a 2 × 2 pool),
/// then the dense layers (the last one's width is dim z).
fn widths(kind: InputKind) -> (usize, Vec<usize>, Vec<usize>) {
    match kind {
        // 1×28×28 → 16@14×14 → 32@7×7 → 1568 → 64 = z.
        InputKind::Mnist => (1, vec![16, 32], vec![32 * 7 * 7, 64]),
        // 3×32×32 → 32@16×16 → 64@8×8 → 128@4×4 → 2048 → 128 = z.
        InputKind::Cifar => (3, vec![32, 64, 128], vec![128 * 4 * 4, 128]),
        // d → 64 → 32 = z.
        InputKind::Tabular(d) => (0, vec![], vec![d, 64, 32]),
    }
}

pub struct IcsNet {
    convs: Vec<BiasedConv>,
    dense: Vec<Dense>,
    head: Dense,
}

impl IcsNet {
    pub fn new(s: &Scope, rng: &mut Rng, kind: InputKind) -> Result<Self> {
        let (mut c_in, chans, dense_w) = widths(kind);
        let mut convs = Vec::new();
        for (i, &c) in chans.iter().enumerate() {
            convs.push(biased_conv(&s.sub(&format!("conv{}", i + 1)), rng, c_in, c, 5)?);
            c_in = c;
        }
        let mut dense = Vec::new();
        for (i, w) in dense_w.windows(2).enumerate() {
            dense.push(glorot_dense(&s.sub(&format!("fc{}", i + 1)), rng, w[0], w[1])?);
        }
        let head = glorot_dense(&s.sub("head"), rng, *dense_w.last().expect("non-empty"), 1)?;
        Ok(IcsNet { convs, dense, head })
    }

    /// Width of the latent code z.
    pub fn rep_dim(&self) -> usize {
        self.head.weight.dims()[1]
    }

    /// Feature extraction subnetwork: x → z (`n × rep_dim`).
    pub fn features(&self, x: &Tensor) -> Result<Tensor> {
        self.features_with(x, None)
    }

    /// [`features`](Self::features) in training, with dropout (rate `p`, masks from `rng`) on the
    /// input of every dense layer, as AlexNet's dense layers have.
    pub fn features_train(&self, x: &Tensor, p: f32, rng: &mut Rng) -> Result<Tensor> {
        self.features_with(x, if p > 0.0 { Some((p, rng)) } else { None })
    }

    fn features_with(&self, x: &Tensor, mut drop: Option<(f32, &mut Rng)>) -> Result<Tensor> {
        let mut h = x.clone();
        for c in &self.convs {
            h = c.forward(&h)?.leaky_relu(LEAKY_SLOPE)?.max_pool2d(2, 2, 0)?;
        }
        if !self.convs.is_empty() {
            h = h.flatten()?;
        }
        for d in &self.dense {
            if let Some((p, rng)) = drop.as_mut() {
                h = dropout(&h, *p, rng)?;
            }
            h = d.forward(&h)?.leaky_relu(LEAKY_SLOPE)?;
        }
        Ok(h)
    }

    /// [`head`](Self::head) in training, with dropout (rate `p`) on z.
    pub fn head_train(&self, z: &Tensor, p: f32, rng: &mut Rng) -> Result<Tensor> {
        if p > 0.0 {
            self.head(&dropout(z, p, rng)?)
        } else {
            self.head(z)
        }
    }

    /// Classification subnetwork: z → logit of "atypical" (`n`); the probability is its sigmoid.
    pub fn head(&self, z: &Tensor) -> Result<Tensor> {
        let n = z.dims()[0];
        self.head.forward(z)?.reshape(&[n])
    }

    /// Σ‖W‖² over the convolution kernels (the paper's L2 regularisation is on those only).
    pub fn conv_l2(&self) -> Result<Option<Tensor>> {
        sum_of_squares(&self.convs.iter().map(|c| &c.conv.weight).collect::<Vec<_>>())
    }
}

/// Inverted dropout: each element kept with probability 1 − p and scaled by 1/(1 − p), so
/// evaluation uses the network as it is.
pub fn dropout(x: &Tensor, p: f32, rng: &mut Rng) -> Result<Tensor> {
    let keep = 1.0 / (1.0 - p);
    let mask = (0..x.numel()).map(|_| if rng.uniform() < p { 0.0 } else { keep }).collect();
    x.mul(&Tensor::from_vec(mask, x.dims(), x.device())?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::Vars;
    use engine::Device;

    #[test]
    fn dropout_zeroes_about_p_and_rescales_the_rest_so_the_mean_is_kept() {
        let x = Tensor::from_vec(vec![2.0; 20_000], &[100, 200], Device::Cpu).unwrap();
        let y = dropout(&x, 0.25, &mut Rng::new(3)).unwrap().to_vec();
        let zeros = y.iter().filter(|&&v| v == 0.0).count() as f32 / y.len() as f32;
        assert!((zeros - 0.25).abs() < 0.01, "dropped share {zeros}");
        assert!(y.iter().all(|&v| v == 0.0 || (v - 2.0 / 0.75).abs() < 1e-6));
        let mean = y.iter().sum::<f32>() / y.len() as f32;
        assert!((mean - 2.0).abs() < 0.05, "mean {mean}");
    }

    #[test]
    fn training_without_dropout_is_the_evaluation_network_and_dropout_reaches_the_gradient() {
        let vars = Vars::new();
        let s = Scope::new(&vars, Device::Cpu);
        let net = IcsNet::new(&s, &mut Rng::new(1), InputKind::Tabular(6)).unwrap();
        let x = Tensor::from_vec((0..24).map(|i| (i as f32 * 0.37).sin()).collect(), &[4, 6], Device::Cpu).unwrap();
        let eval = net.head(&net.features(&x).unwrap()).unwrap().to_vec();
        let rng = &mut Rng::new(9);
        let plain = net.head_train(&net.features_train(&x, 0.0, rng).unwrap(), 0.0, rng).unwrap().to_vec();
        assert_eq!(eval, plain);
        // With p = 0.5 the masks change the output, and a dropped z unit gets no gradient.
        let z = net.features_train(&x, 0.5, rng).unwrap();
        let logit = net.head_train(&z, 0.5, rng).unwrap();
        assert_ne!(logit.to_vec(), eval);
        logit.sum_all().unwrap().backward().unwrap();
        let g = net.head.weight.grad().expect("head weight gradient").to_vec();
        assert!(g.contains(&0.0) && g.iter().any(|&v| v != 0.0), "{g:?}");
    }
}
