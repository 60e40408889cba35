//! Layers. Each layer registers its tensors under a dotted name in a shared [`Vars`] registry
//! when it is built, so optimisers, checkpoints and `model.safetensors` all see one list.

mod batchnorm;
mod conv;
mod linear;
mod vars;

pub use batchnorm::BatchNorm;
pub use conv::{Conv2d, ConvTranspose2d};
pub use linear::{Dense, Linear};
pub use vars::{Kind, Scope, Vars};

/// The papers' stated leaky ReLU slope: ICS's classifier, the LeNet / MLP networks unless the
/// configuration sets theirs (`Config::leaky_slope`), and the throughput workloads.
pub const LEAKY_SLOPE: f32 = 0.1;

/// Whether a forward pass trains (batch statistics in batch norm) or evaluates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Train,
    Eval,
}
