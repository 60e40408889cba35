//! The facade of oneclass: one dependency that re-exports the engine, its kernels, the data
//! loaders and the methods. The README below is compiled and tested as this crate's docs, so its
//! example stays true.
#![doc = include_str!("../README.md")]

pub use datasets;
pub use engine;
pub use kernels;
pub use models;
