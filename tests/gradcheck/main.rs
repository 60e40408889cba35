//! Gradient checks of the engine's ops, one module per op family (named as in
//! `engine/src/ops/`). Every op's forward is compared with a plain-loop f64 reference written
//! here, and its backward with f64 central differences of that reference; `check` holds the
//! machinery and states the tolerances. `mlp` trains a small network end to end.
//!
//! Run: `cargo test --release --test gradcheck` (one family: add its name, e.g. `conv::`).

mod check;

mod binary;
mod conv;
mod layout;
mod loss;
mod matmul;
mod mlp;
mod norm;
mod pairwise;
mod pool;
mod reduce;
mod unary;
mod upsample;
