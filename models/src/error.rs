//! The models crate's error type. Every message names the file, flag, phase or shape at fault;
//! the binaries print it as `error: …` and exit with status 2.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Engine(#[from] engine::Error),
    #[error(transparent)]
    Data(#[from] datasets::DataError),
    #[error("{0}")]
    Config(String),
    #[error("{phase}: loss became {value} at epoch {epoch}, batch {batch}; stopped (the last checkpoint is intact)")]
    NonFinite { phase: String, epoch: usize, batch: usize, value: f32 },
    #[error("{}: {msg}", path.display())]
    File { path: PathBuf, msg: String },
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn config(msg: impl Into<String>) -> Self {
        Error::Config(msg.into())
    }
    pub fn file(path: impl Into<PathBuf>, msg: impl ToString) -> Self {
        Error::File { path: path.into(), msg: msg.to_string() }
    }
}
