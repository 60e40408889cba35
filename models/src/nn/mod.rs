//! Layers. Each layer registers its tensors under a dotted name in a shared [`Vars`] registry
//! when it is built, so optimisers, checkpoints and `model.safetensors` all see one list.

mod batchnorm;
mod conv;
pub mod dictionary;
mod linear;
mod vars;

pub use batchnorm::BatchNorm;
pub use conv::{BiasedConv, Conv2d, ConvTranspose2d};
pub use linear::{Dense, Linear};
pub use vars::{Kind, Scope, Vars};

use engine::{init, Device, Result, Rng, Tensor};

/// The papers' stated leaky ReLU slope: ICS's classifier, the LeNet / MLP networks unless the
/// configuration sets theirs (`Config::leaky_slope`), and the throughput workloads.
pub const LEAKY_SLOPE: f32 = 0.1;

/// How [`Conv2d::new`], [`ConvTranspose2d::new`] and [`Linear::new`] draw their weights (the
/// [`Scope`]'s choice, so a whole network follows one rule).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WeightInit {
    /// PyTorch's default: Kaiming uniform with a = √5, i.e. U(±1/√fan_in) (the Deep SVDD
    /// authors' PyTorch port).
    Pytorch,
    /// Glorot uniform, U(±gain·√(6/(fan_in + fan_out))): the Deep SVDD paper's "uniform Glorot
    /// weights" for the DCAE, with the gains of the authors' Theano code (Lasagne): √2 for
    /// convolutions, which a leaky ReLU follows (their √(2/(1 + 0.01²)) agrees to 4 digits), and 1
    /// for dense layers.
    Glorot,
}

impl WeightInit {
    pub const NAMES: [(&'static str, WeightInit); 2] =
        [("pytorch", WeightInit::Pytorch), ("glorot", WeightInit::Glorot)];

    pub fn name(self) -> &'static str {
        Self::NAMES.iter().find(|(_, w)| *w == self).map(|(n, _)| *n).unwrap_or("pytorch")
    }

    /// A convolution kernel, `out × in × k × k` or (transposed) `in × out × k × k`: Glorot's
    /// bound is symmetric in the two fans, and PyTorch's takes fan_in from `dims[1]` for both,
    /// as PyTorch does.
    pub(crate) fn conv(self, dims: &[usize], rng: &mut Rng, device: Device) -> Result<Tensor> {
        match self {
            WeightInit::Pytorch => init::kaiming_uniform(dims, 5f32.sqrt(), rng, device),
            WeightInit::Glorot => init::glorot_uniform(dims, 2f32.sqrt(), rng, device),
        }
    }

    /// A dense layer's weight (`out × in`).
    pub(crate) fn dense(self, dims: &[usize], rng: &mut Rng, device: Device) -> Result<Tensor> {
        match self {
            WeightInit::Pytorch => init::kaiming_uniform(dims, 5f32.sqrt(), rng, device),
            WeightInit::Glorot => init::glorot_uniform(dims, 1.0, rng, device),
        }
    }
}

/// Σ‖W‖² over `weights`, the L2 penalty a loss carries (`None` for no weights).
pub fn sum_of_squares(weights: &[&Tensor]) -> Result<Option<Tensor>> {
    let mut total: Option<Tensor> = None;
    for w in weights {
        let t = w.sqr()?.sum_all()?;
        total = Some(match total {
            Some(s) => s.add(&t)?,
            None => t,
        });
    }
    Ok(total)
}

/// Whether a forward pass trains (batch statistics in batch norm) or evaluates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Train,
    Eval,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// max |w| of a layer's weight against the rule's bound: never above it, and close to it
    /// (hundreds of uniform draws reach 80 % of the bound).
    fn assert_bound(w: &Tensor, bound: f32) {
        let max = w.to_vec().iter().fold(0f32, |m, v| m.max(v.abs()));
        assert!(max <= bound && max > 0.8 * bound, "max |w| {max}, bound {bound}");
    }

    #[test]
    fn each_rule_draws_within_its_bound() {
        let vars = Vars::new();
        let rng = &mut Rng::new(3);
        for init in [WeightInit::Pytorch, WeightInit::Glorot] {
            let s = Scope::new(&vars, Device::Cpu).with_init(init).sub(init.name());
            // A sub-scope keeps the rule.
            assert_eq!(s.sub("x").init, init);
            let conv = Conv2d::new(&s.sub("conv"), rng, 8, 4, 5, 1, 2).unwrap();
            let deconv = ConvTranspose2d::new(&s.sub("deconv"), rng, 2, 4, 5, 1, 2, 0).unwrap();
            let dense = Linear::new(&s.sub("dense"), rng, 196, 32).unwrap();
            let (conv_bound, deconv_bound, dense_bound) = match init {
                // 1/√fan_in, PyTorch's fan_in being dims[1]·k² for both kinds of convolution.
                WeightInit::Pytorch => (1.0 / 200f32.sqrt(), 1.0 / 100f32.sqrt(), 1.0 / 196f32.sqrt()),
                WeightInit::Glorot => {
                    let glorot = |fans: f32, gain: f32| gain * (6.0 / fans).sqrt();
                    (glorot(300.0, 2f32.sqrt()), glorot(150.0, 2f32.sqrt()), glorot(228.0, 1.0))
                }
            };
            assert_bound(&conv.weight, conv_bound);
            assert_bound(&deconv.weight, deconv_bound);
            assert_bound(&dense.weight, dense_bound);
        }
        // PyTorch's rule is the default.
        assert_eq!(Scope::new(&vars, Device::Cpu).init, WeightInit::Pytorch);
    }
}
