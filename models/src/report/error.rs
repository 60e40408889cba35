//! The one error type of the report module: every message starts with the file it was writing.

use std::path::{Path, PathBuf};

/// What went wrong while writing a report file. `Display` reads `<path>: <what went wrong>`.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The folder the file should go into does not exist (we never create folders behind the
    /// caller's back: a typo in `--out` should be reported, not silently materialised).
    #[error("{}: folder {} does not exist", path.display(), dir.display())]
    MissingDir { path: PathBuf, dir: PathBuf },
    /// Creating, writing or renaming the file failed.
    #[error("{}: {what}: {source}", path.display())]
    Io { path: PathBuf, what: &'static str, source: std::io::Error },
    /// The PNG encoder refused the image.
    #[error("{}: PNG encoding failed: {source}", path.display())]
    Png { path: PathBuf, source: png::EncodingError },
    /// The data handed in cannot be drawn or written (wrong lengths, shapes, counts).
    #[error("{}: {msg}", path.display())]
    Input { path: PathBuf, msg: String },
}

impl ReportError {
    /// The file this error is about.
    pub fn path(&self) -> &Path {
        match self {
            ReportError::MissingDir { path, .. }
            | ReportError::Io { path, .. }
            | ReportError::Png { path, .. }
            | ReportError::Input { path, .. } => path,
        }
    }

    pub(crate) fn input(path: &Path, msg: impl Into<String>) -> Self {
        ReportError::Input { path: path.to_path_buf(), msg: msg.into() }
    }
}
