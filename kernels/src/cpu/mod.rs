//! CPU kernels: rayon across batch and tiles, SIMD where it pays (chosen at run time).
//!
//! Conventions shared by every kernel:
//! - tensors are row-major and contiguous; images are NCHW;
//! - an output slice is overwritten, never read (callers may hand in uninitialised or poisoned
//!   memory), unless the doc says the kernel accumulates;
//! - results never depend on the number of threads: every reduction has a fixed order, so a
//!   seeded run is bit-for-bit repeatable.

pub mod activation;
pub mod avg_pool;
pub mod binary;
pub mod conv;
pub mod gemm;
pub mod layout;
pub mod loss;
pub mod norm;
pub mod norm_pool;
pub mod optim;
pub mod pairwise;
pub mod parallel;
pub mod pool;
pub mod reduce;
pub mod upsample;
pub mod vector;
