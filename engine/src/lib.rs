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
