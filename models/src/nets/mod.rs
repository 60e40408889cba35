//! The papers' networks, chosen by input shape: 28×28×1 (MNIST, Fashion-MNIST), 32×32×3
//! (CIFAR-10), or a flat feature vector (tabular data).

mod dcgan;
mod icsnet;
mod icsnet_authors;
mod lenet;
pub mod minlgan;
mod mlp;
pub mod plan;

pub use dcgan::{DcganGenerator, Generator, MlpGenerator};
pub use icsnet::{dropout, IcsNet};
pub use icsnet_authors::{IcsAuthorsAutoencoder, IcsAuthorsNet};
pub use lenet::{CifarLeNet, CifarLeNetDecoder, MnistLeNet, MnistLeNetDecoder};
pub use mlp::{Mlp, MlpDecoder};

use crate::batch::map_in_chunks;
use crate::nn::{Mode, Scope};
use datasets::Dataset;
use engine::{no_grad, Device, Result, Rng, Tensor};

/// Samples per launch of an inference plan.
const PLAN_CHUNK: usize = 1000;

/// What the input looks like, which decides the architecture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputKind {
    Mnist,
    Cifar,
    Tabular(usize),
}

impl InputKind {
    /// From a per-sample shape: `[1, 28, 28]`, `[3, 32, 32]` or `[d]`.
    pub fn from_shape(shape: &[usize]) -> std::result::Result<Self, String> {
        match shape {
            [1, 28, 28] => Ok(InputKind::Mnist),
            [3, 32, 32] => Ok(InputKind::Cifar),
            [d] if *d > 0 => Ok(InputKind::Tabular(*d)),
            other => Err(format!(
                "no network for samples of shape {other:?} (expected 1×28×28, 3×32×32 or a feature vector)"
            )),
        }
    }
}

/// φ: input → representation (Deep SVDD's encoder, shared by DCAE, OC-NN and ICS).
pub enum Encoder {
    Mnist(MnistLeNet),
    Cifar(CifarLeNet),
    Mlp(Mlp),
}

impl Encoder {
    /// `slope`: the leaky ReLUs' negative slope ([`crate::config::Config::leaky_slope`]).
    pub fn new(s: &Scope, rng: &mut Rng, kind: InputKind, slope: f32) -> Result<Self> {
        Ok(match kind {
            InputKind::Mnist => Encoder::Mnist(MnistLeNet::new(s, rng, slope)?),
            InputKind::Cifar => Encoder::Cifar(CifarLeNet::new(s, rng, slope)?),
            InputKind::Tabular(d) => Encoder::Mlp(Mlp::new(s, rng, d, slope)?),
        })
    }

    pub fn rep_dim(&self) -> usize {
        match self {
            Encoder::Mnist(_) => MnistLeNet::REP_DIM,
            Encoder::Cifar(_) => CifarLeNet::REP_DIM,
            Encoder::Mlp(m) => m.rep_dim(),
        }
    }

    pub fn forward(&self, x: &Tensor, mode: Mode) -> Result<Tensor> {
        match self {
            Encoder::Mnist(n) => n.forward(x, mode),
            Encoder::Cifar(n) => n.forward(x, mode),
            Encoder::Mlp(n) => n.forward(x, mode),
        }
    }

    /// [`Self::forward`] in eval mode, as the layers of an [`plan::InferencePlan`].
    pub fn layer_specs(&self) -> Vec<plan::LayerSpec> {
        match self {
            Encoder::Mnist(n) => n.layer_specs(),
            Encoder::Cifar(n) => n.layer_specs(),
            Encoder::Mlp(n) => n.layer_specs(),
        }
    }

    /// φ(x) of every sample through a fused [`plan::InferencePlan`] on the GPU with
    /// `precision` storage, `len × rep_dim` row-major (what `score --precision` runs).
    pub fn representations_on_plan(
        &self,
        data: &Dataset,
        precision: kernels::gpu::infer::Precision,
    ) -> crate::error::Result<Vec<f32>> {
        let ctx = engine::device::gpu_context()?;
        let plan = plan::InferencePlan::new(ctx, &self.layer_specs(), &data.shape, precision)?;
        let mut reps = Vec::with_capacity(data.len() * self.rep_dim());
        // Samples are contiguous: each chunk is a slice of the data set, uploaded as it is.
        let per = data.sample_len().max(1);
        for x in data.x.chunks(PLAN_CHUNK * per) {
            reps.extend(plan.forward(x, x.len() / per)?);
        }
        Ok(reps)
    }

    /// φ(x) of every sample (evaluation mode, no tape), `len × rep_dim` row-major, and their
    /// mean per coordinate — the center of Deep SVDD and of OC-NN's Gaussian units.
    pub fn mean_representation(&self, data: &Dataset, device: Device) -> crate::error::Result<(Vec<f32>, Vec<f64>)> {
        let d = self.rep_dim();
        let reps = no_grad(|| map_in_chunks(data, 500, device, |b| Ok(self.forward(b, Mode::Eval)?.to_vec())))?;
        let n = (reps.len() / d).max(1) as f64;
        let mut mean = vec![0f64; d];
        for row in reps.chunks(d) {
            for (m, &v) in mean.iter_mut().zip(row) {
                *m += v as f64;
            }
        }
        mean.iter_mut().for_each(|m| *m /= n);
        Ok((reps, mean))
    }
}

/// The mirror of an [`Encoder`]: representation → reconstruction in the input's shape.
pub enum Decoder {
    Mnist(MnistLeNetDecoder),
    Cifar(CifarLeNetDecoder),
    Mlp(MlpDecoder),
}

impl Decoder {
    pub fn new(s: &Scope, rng: &mut Rng, kind: InputKind, slope: f32) -> Result<Self> {
        Ok(match kind {
            InputKind::Mnist => Decoder::Mnist(MnistLeNetDecoder::new(s, rng, slope)?),
            InputKind::Cifar => Decoder::Cifar(CifarLeNetDecoder::new(s, rng, slope)?),
            InputKind::Tabular(d) => Decoder::Mlp(MlpDecoder::new(s, rng, d, slope)?),
        })
    }

    pub fn forward(&self, z: &Tensor, mode: Mode) -> Result<Tensor> {
        match self {
            Decoder::Mnist(n) => n.forward(z, mode),
            Decoder::Cifar(n) => n.forward(z, mode),
            Decoder::Mlp(n) => n.forward(z, mode),
        }
    }
}
