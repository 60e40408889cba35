//! The tensor engine of oneclass: tensors on a device, reverse-mode autodiff, optimisers,
//! seeded initialisation and safetensors I/O.
//!
//! ```
//! use engine::{Tensor, Device, optim::{Adam, AdamConfig, Optimizer}};
//! let w = Tensor::param(vec![0.5, -0.5], &[1, 2], Device::Cpu).unwrap();
//! let x = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2], Device::Cpu).unwrap();
//! let loss = x.linear(&w).unwrap().sqr().unwrap().mean_all().unwrap();
//! let mut opt = Adam::new(vec![w.clone()], AdamConfig { lr: 0.1, ..Default::default() });
//! opt.zero_grad();
//! loss.backward().unwrap();
//! opt.step().unwrap();
//! ```
//!
//! Every op lives in `ops/<family>.rs` with its forward and, right beside it, the closure that
//! pushes the output's gradient to its inputs. The tape (`autograd`) sorts the recorded graph
//! and runs those closures in reverse.

pub mod autograd;
pub mod device;
pub mod error;
pub mod init;
pub mod ops;
pub mod optim;
pub(crate) mod pool;
pub mod rng;
pub mod safetensors;
pub mod shape;
pub mod tensor;

pub use autograd::{is_grad_enabled, no_grad, NoGradGuard};
pub use device::{Device, Storage};
pub use error::{Error, Result};
pub use rng::Rng;
pub use shape::Shape;
pub use tensor::Tensor;

/// Marks the end of one step of work that is not an optimiser step (one chunk of an evaluation):
/// the pool of reused host buffers frees those the last few steps did not take, as it does after
/// every optimiser step. Without it, a long evaluation after training kept up to the pool's cap
/// of idle buffers (ICS scoring 25 snapshots of its classifier: +330 MB of resident memory).
pub fn mark_step() {
    pool::end_step();
}
