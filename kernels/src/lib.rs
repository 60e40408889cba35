//! Raw compute for oneclass: every op's forward and backward on plain, contiguous `f32` slices.
//!
//! No autodiff and no shapes beyond what each kernel needs: the `engine` crate owns tensors and
//! decides which kernel runs. The CPU kernels live in [`cpu`], one module per op family; the GPU
//! kernels will sit beside them in `gpu` with their WGSL sources in `shaders/`.
//!
//! Every fast kernel has a plain-loop reference beside it (`*_reference`), the yardstick its
//! tests and the gradient-check suite judge it by.

pub mod cpu;
