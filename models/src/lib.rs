//! Layers, the papers' networks, the one-class methods, metrics and reports — and the `train`
//! and `score` binaries that put them behind one command line.

pub mod batch;
pub mod checkpoint;
pub mod config;
pub mod error;
pub mod experiment;
pub mod methods;
pub mod metrics;
pub mod nets;
pub mod nn;
pub mod platform;
pub mod report;
pub mod run;
pub mod ssim;

pub use error::{Error, Result};
