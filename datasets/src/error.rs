//! The crate's one error type. Every variant names the file (or data source) at fault, so the CLI
//! prints `error: {e}` and the user reads `error: <file>: <what is wrong>`.

use std::fmt;
use std::path::{Path, PathBuf};

/// Where the bad data came from: a file path, or a name such as `mnist-mini (bundled)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin(pub PathBuf);

impl Origin {
    pub fn new(p: impl AsRef<Path>) -> Self {
        Origin(p.as_ref().to_path_buf())
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.display())
    }
}

impl From<&Path> for Origin {
    fn from(p: &Path) -> Self {
        Origin::new(p)
    }
}

/// Everything that can go wrong while loading, checking or splitting data.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The file could not be opened or read (missing path, permissions, a directory, …).
    #[error("{origin}: cannot read: {source}")]
    Io { origin: Origin, source: std::io::Error },

    /// A gzip or deflate stream that does not decode (bad header, bad data, CRC mismatch).
    #[error("{origin}: corrupt compressed data: {msg}")]
    Compressed { origin: Origin, msg: String },

    /// The file ends before the data its header announces.
    #[error("{origin}: truncated: {msg}")]
    Truncated { origin: Origin, msg: String },

    /// The bytes are not in the expected format (wrong magic, bad header, unsupported dtype,
    /// trailing bytes, a zip archive that does not parse, …).
    #[error("{origin}: {msg}")]
    Format { origin: Origin, msg: String },

    /// Two parts of one data set disagree (image count vs. label count, X rows vs. y length).
    #[error("{origin}: {msg}")]
    Mismatch { origin: Origin, msg: String },

    /// A class label outside the range the format allows.
    #[error("{origin}: label {label} of sample {index} is out of range ({allowed})")]
    LabelOutOfRange { origin: Origin, index: usize, label: i64, allowed: String },

    /// A NaN or infinite value in tabular data.
    #[error("{origin}: value {value:e} of sample {row}, column {col} (both counting from 0) is non-finite as f32")]
    NonFinite { origin: Origin, row: usize, col: usize, value: f64 },

    /// A CSV line whose field count differs from the first line's.
    #[error("{origin}: line {line} has {found} fields, expected {expected}")]
    Ragged { origin: Origin, line: usize, expected: usize, found: usize },

    /// A CSV field that does not parse as a number, or a missing label column.
    #[error("{origin}: line {line}: {msg}")]
    Parse { origin: Origin, line: usize, msg: String },

    /// The requested normal class does not occur in the data.
    #[error("{origin}: normal class {class} is not in the data (classes present: {present})")]
    UnknownClass { origin: Origin, class: i64, present: String },

    /// The normal class occurs but leaves no training sample (e.g. only in the test split).
    #[error("{origin}: normal class {class} has no training samples{detail}")]
    EmptyNormalClass { origin: Origin, class: i64, detail: String },

    /// Protocol settings that cannot be met by this data (contamination beyond the anomalies
    /// available, fractions outside [0, 1), a missing `--data` path, …).
    #[error("{origin}: {msg}")]
    Config { origin: Origin, msg: String },
}

impl DataError {
    /// The file or data source the error is about.
    pub fn origin(&self) -> &Origin {
        match self {
            DataError::Io { origin, .. }
            | DataError::Compressed { origin, .. }
            | DataError::Truncated { origin, .. }
            | DataError::Format { origin, .. }
            | DataError::Mismatch { origin, .. }
            | DataError::LabelOutOfRange { origin, .. }
            | DataError::NonFinite { origin, .. }
            | DataError::Ragged { origin, .. }
            | DataError::Parse { origin, .. }
            | DataError::UnknownClass { origin, .. }
            | DataError::EmptyNormalClass { origin, .. }
            | DataError::Config { origin, .. } => origin,
        }
    }

    pub(crate) fn format(origin: &Origin, msg: impl Into<String>) -> Self {
        DataError::Format { origin: origin.clone(), msg: msg.into() }
    }

    pub(crate) fn truncated(origin: &Origin, msg: impl Into<String>) -> Self {
        DataError::Truncated { origin: origin.clone(), msg: msg.into() }
    }

    pub(crate) fn config(origin: &Origin, msg: impl Into<String>) -> Self {
        DataError::Config { origin: origin.clone(), msg: msg.into() }
    }

    pub(crate) fn io(origin: &Origin, source: std::io::Error) -> Self {
        DataError::Io { origin: origin.clone(), source }
    }
}

pub type Result<T, E = DataError> = std::result::Result<T, E>;
