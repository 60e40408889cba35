//! Data for oneclass: loaders for the papers' data sets, their preprocessing, and the one-class
//! protocol. Returns plain `f32` arrays, labels and per-sample shapes; knows nothing of tensors.
//!
//! ```no_run
//! use datasets::{one_class_split, ProtocolConfig, Scaling, Source};
//! let cfg = ProtocolConfig { scaling: Scaling::GcnMinMax, ..ProtocolConfig::default() };
//! let split = one_class_split(&Source::MnistMini, Some(3), &cfg)?;
//! assert_eq!(split.train.shape, [1, 28, 28]);
//! # Ok::<(), datasets::DataError>(())
//! ```
//!
//! Image loaders keep pixels as bytes (value = byte / 255, in [0, 1]) and the one-class split
//! converts to `f32` only the samples it uses; tabular features are `f32` as stored.

mod cifar;
mod csv;
mod error;
mod idx;
mod mini;
mod npy;
mod npz;
mod preprocess;
mod protocol;
mod rng;
mod samples;
mod stream;
mod zip;

use std::path::{Path, PathBuf};

pub use crate::cifar::{load_cifar_dir, parse_cifar_batch};
pub use crate::csv::{csv_layout, load_csv, parse_csv, parse_csv_table, parse_csv_unlabelled, Header, LabelColumn};
pub use crate::error::{DataError, Origin, Result};
pub use crate::idx::{load_idx_dir, parse_idx};
pub use crate::mini::load_mnist_mini;
pub use crate::npy::{parse_npy, DType, NpyArray};
pub use crate::npz::{load_npz, parse_npz, tabular_from_npz};
pub use crate::preprocess::{gcn_l1, Preprocessing, Scaling};
pub use crate::protocol::{split, OneClassSplit, ProtocolConfig};
pub use crate::samples::{load_samples, Samples};
pub use crate::zip::{zip_entries, ZipEntry};

/// The name the bundled data set goes by in messages and in `Loaded::name`.
pub const MNIST_MINI_NAME: &str = "mnist-mini (bundled)";

/// Samples stored back to back: `x` holds `labels.len()` samples of `shape` (row-major) each.
///
/// `X` is how the values are stored. The one-class protocol's output, and every tabular loader,
/// uses the default `Vec<f32>`; loaded data before the protocol is `Dataset<Values>`, whose image
/// pixels stay bytes until [`split`] selects the samples it needs.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset<X = Vec<f32>> {
    pub x: X,
    pub labels: Vec<i64>,
    /// Per-sample shape: `[1, 28, 28]`, `[3, 32, 32]` or `[d]`.
    pub shape: Vec<usize>,
}

/// The values of a loaded data set. Image pixels stay bytes — a quarter of the memory of `f32`,
/// so loading MNIST holds its raw 55 MB rather than 220 MB — and become `f32` only for the samples
/// a split selects; tabular features are `f32` as loaded.
#[derive(Clone, Debug, PartialEq)]
pub enum Values {
    /// Image pixels; the value of byte `b` is `b / 255`, in [0, 1].
    U8(Vec<u8>),
    F32(Vec<f32>),
}

impl Values {
    /// Number of values.
    pub fn len(&self) -> usize {
        match self {
            Values::U8(v) => v.len(),
            Values::F32(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Value `i` as `f32` (bytes divided by 255). Panics if `i` is out of range.
    pub fn get(&self, i: usize) -> f32 {
        match self {
            Values::U8(v) => v[i] as f32 / 255.0,
            Values::F32(v) => v[i],
        }
    }

    /// The raw bytes, for image data.
    pub fn as_u8(&self) -> Option<&[u8]> {
        match self {
            Values::U8(v) => Some(v),
            Values::F32(_) => None,
        }
    }

    /// The values, for tabular data (images have no stored `f32`: see [`Values::to_f32`]).
    pub fn as_f32(&self) -> Option<&[f32]> {
        match self {
            Values::U8(_) => None,
            Values::F32(v) => Some(v),
        }
    }

    /// Appends `self[range]` as `f32` to `out`.
    fn extend_f32(&self, range: std::ops::Range<usize>, out: &mut Vec<f32>) {
        match self {
            Values::U8(v) => out.extend(v[range].iter().map(|&b| b as f32 / 255.0)),
            Values::F32(v) => out.extend_from_slice(&v[range]),
        }
    }

    /// All values as `f32` (a copy; 4 bytes per value).
    pub fn to_f32(&self) -> Vec<f32> {
        let mut out = Vec::with_capacity(self.len());
        self.extend_f32(0..self.len(), &mut out);
        out
    }
}

impl<X> Dataset<X> {
    /// Number of samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Values per sample (the product of `shape`).
    pub fn sample_len(&self) -> usize {
        self.shape.iter().product()
    }
}

impl Dataset {
    /// The values of sample `i`.
    pub fn sample(&self, i: usize) -> &[f32] {
        let n = self.sample_len();
        &self.x[i * n..(i + 1) * n]
    }

    /// A new data set of the samples at `indices`, in that order.
    pub fn select(&self, indices: &[usize]) -> Dataset {
        let n = self.sample_len();
        let mut x = Vec::with_capacity(indices.len() * n);
        for &i in indices {
            x.extend_from_slice(self.sample(i));
        }
        Dataset { x, labels: indices.iter().map(|&i| self.labels[i]).collect(), shape: self.shape.clone() }
    }
}

impl Dataset<Values> {
    /// The values of sample `i`, as `f32` (a copy).
    pub fn sample(&self, i: usize) -> Vec<f32> {
        let n = self.sample_len();
        let mut out = Vec::with_capacity(n);
        self.x.extend_f32(i * n..(i + 1) * n, &mut out);
        out
    }

    /// A new `f32` data set of the samples at `indices`, in that order: only these are converted.
    pub fn select(&self, indices: &[usize]) -> Dataset {
        let n = self.sample_len();
        let mut x = Vec::with_capacity(indices.len() * n);
        for &i in indices {
            self.x.extend_f32(i * n..(i + 1) * n, &mut x);
        }
        Dataset { x, labels: indices.iter().map(|&i| self.labels[i]).collect(), shape: self.shape.clone() }
    }

    /// The whole data set as `f32`.
    pub fn to_f32(&self) -> Dataset {
        Dataset { x: self.x.to_f32(), labels: self.labels.clone(), shape: self.shape.clone() }
    }
}

/// Tabular data as loaded: the `f32` values move, nothing is copied.
impl From<Dataset> for Dataset<Values> {
    fn from(d: Dataset) -> Self {
        Dataset { x: Values::F32(d.x), labels: d.labels, shape: d.shape }
    }
}

/// A loaded data set before the one-class protocol: image sets come with their own test split,
/// tabular sets are one table (`test: None`).
#[derive(Clone, Debug, PartialEq)]
pub struct Loaded {
    /// The file, folder or bundled name it came from (used in error messages).
    pub name: String,
    pub train: Dataset<Values>,
    pub test: Option<Dataset<Values>>,
}

impl Loaded {
    /// The distinct labels over all parts, ascending.
    pub fn classes(&self) -> Vec<i64> {
        let mut c: Vec<i64> =
            self.train.labels.iter().chain(self.test.iter().flat_map(|t| &t.labels)).copied().collect();
        c.sort_unstable();
        c.dedup();
        c
    }
}

/// Where data comes from; mirrors the `train` binary's `--dataset` / `--data` flags.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// The bundled MNIST subset; needs no files.
    MnistMini,
    /// A folder with the four MNIST IDX files (gzip or raw).
    Mnist(PathBuf),
    /// A folder with the four Fashion-MNIST IDX files (gzip or raw).
    FashionMnist(PathBuf),
    /// A folder with `data_batch_1..5.bin` and `test_batch.bin` (or its `cifar-10-batches-bin`).
    Cifar10(PathBuf),
    /// An `.npz` file with arrays `X` (n × d) and `y` (n; 1 = anomaly), as ADBench ships them.
    Npz(PathBuf),
    /// A numeric CSV file with one label column, its first line a header or data as `header` says.
    Csv { path: PathBuf, label: LabelColumn, header: Header },
}

impl Source {
    /// Builds a source from `--dataset NAME` and `--data PATH` (`label` and `header` only for
    /// CSV; defaults: the last column, the header detected). Names: `mnist-mini`, `mnist`,
    /// `fashion-mnist`, `cifar10`, `npz`, `csv`.
    pub fn from_cli(
        dataset: &str,
        data: Option<&Path>,
        label: Option<LabelColumn>,
        header: Option<Header>,
    ) -> Result<Source> {
        let path = || {
            data.map(Path::to_path_buf).ok_or_else(|| {
                DataError::config(&Origin::new("--data"), format!("--dataset {dataset} needs --data PATH"))
            })
        };
        // A flag the data set does not read is an error, not a silent no-op: `--data ~/mnist`
        // with the default `--dataset mnist-mini` would otherwise train on the bundled subset.
        if dataset == "mnist-mini" && data.is_some() {
            return Err(DataError::config(
                &Origin::new("--data"),
                "--dataset mnist-mini is bundled and reads no --data (for a folder of MNIST files: --dataset mnist)",
            ));
        }
        if label.is_some() && dataset != "csv" {
            return Err(DataError::config(
                &Origin::new("--label"),
                format!("--label is for --dataset csv, not {dataset}"),
            ));
        }
        if header.is_some() && dataset != "csv" {
            return Err(DataError::config(
                &Origin::new("--csv-header"),
                format!("--csv-header is for --dataset csv, not {dataset}"),
            ));
        }
        Ok(match dataset {
            "mnist-mini" => Source::MnistMini,
            "mnist" => Source::Mnist(path()?),
            "fashion-mnist" => Source::FashionMnist(path()?),
            "cifar10" => Source::Cifar10(path()?),
            "npz" => Source::Npz(path()?),
            "csv" => {
                Source::Csv { path: path()?, label: label.unwrap_or_default(), header: header.unwrap_or_default() }
            }
            other => {
                return Err(DataError::config(
                    &Origin::new("--dataset"),
                    format!("unknown data set {other:?} (mnist-mini, mnist, fashion-mnist, cifar10, npz, csv)"),
                ))
            }
        })
    }

    /// The file, folder or bundled name, as errors show it.
    pub fn name(&self) -> String {
        match self {
            Source::MnistMini => MNIST_MINI_NAME.to_string(),
            Source::Mnist(p) | Source::FashionMnist(p) | Source::Cifar10(p) | Source::Npz(p) => p.display().to_string(),
            Source::Csv { path, .. } => path.display().to_string(),
        }
    }

    /// True for image data sets (which come with their own test split).
    pub fn is_image(&self) -> bool {
        matches!(self, Source::MnistMini | Source::Mnist(_) | Source::FashionMnist(_) | Source::Cifar10(_))
    }

    /// Reads and checks the data.
    pub fn load(&self) -> Result<Loaded> {
        let name = self.name();
        let (train, test) = match self {
            Source::MnistMini => load_mnist_mini().map(|(a, b)| (a, Some(b)))?,
            Source::Mnist(p) | Source::FashionMnist(p) => load_idx_dir(p).map(|(a, b)| (a, Some(b)))?,
            Source::Cifar10(p) => load_cifar_dir(p).map(|(a, b)| (a, Some(b)))?,
            Source::Npz(p) => (load_npz(p)?.into(), None),
            Source::Csv { path, label, header } => (load_csv(path, label, *header)?.into(), None),
        };
        Ok(Loaded { name, train, test })
    }
}

/// Loads `source` and splits it by the one-class protocol (see [`split`]).
pub fn one_class_split(source: &Source, normal_class: Option<i64>, cfg: &ProtocolConfig) -> Result<OneClassSplit> {
    split(&source.load()?, normal_class, cfg)
}

/// A clear error for a data folder that is missing or is not a folder.
pub(crate) fn check_dir(dir: &Path) -> Result<()> {
    let origin = Origin::new(dir);
    match std::fs::metadata(dir) {
        Err(e) => Err(DataError::Io { origin, source: e }),
        Ok(m) if !m.is_dir() => Err(DataError::Io {
            origin,
            source: std::io::Error::other("is not a folder (expected the data set's folder)"),
        }),
        Ok(_) => Ok(()),
    }
}
