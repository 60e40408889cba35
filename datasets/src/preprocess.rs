//! Preprocessing, fitted on the normal class's training data and returned as statistics so a
//! saved model can re-apply exactly the same map to new data at scoring time.
//!
//! Deep SVDD (Ruff et al. 2018, §4.1 and their code): each image gets global contrast
//! normalisation with the L1 norm — subtract the image's mean, divide by its mean absolute
//! deviation — then min-max scaling with the single min and max over all GCN'd training images
//! of the normal class, so those land in [0, 1] (test data may fall outside).

use crate::error::{DataError, Origin, Result};
use crate::Dataset;

/// Which preprocessing to fit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Scaling {
    /// Leave the loaders' values as they are (pixels in [0, 1], tabular features raw).
    #[default]
    None,
    /// Deep SVDD: per-sample GCN (L1), then min-max to [0, 1] with the normal training min/max.
    GcnMinMax,
    /// As `GcnMinMax`, but to [-1, 1] (GAN generators with tanh outputs).
    GcnMinMaxSymmetric,
    /// Min-max to [-1, 1] without GCN (global min/max of the normal training data).
    MinMaxSymmetric,
    /// Per-feature (x − mean) / std, fitted on the normal training rows (tabular data).
    Standardise,
}

/// Fitted statistics: everything needed to re-apply the preprocessing to new data.
#[derive(Clone, Debug, PartialEq)]
pub enum Preprocessing {
    Identity,
    /// `x ↦ lo + (hi − lo) · (g(x) − min) / (max − min)`, with `g` = GCN (L1) per sample when
    /// `gcn`, else the identity; `min`/`max` are global scalars.
    MinMax {
        gcn: bool,
        min: f32,
        max: f32,
        lo: f32,
        hi: f32,
    },
    /// `x_j ↦ (x_j − mean_j) / std_j` per feature; constant features get `std_j = 1`.
    Standardise {
        mean: Vec<f32>,
        std: Vec<f32>,
    },
}

/// Global contrast normalisation with the L1 norm, in place, for one sample. A constant sample
/// (zero deviation) is only centred, not divided by zero.
pub fn gcn_l1(sample: &mut [f32]) {
    if sample.is_empty() {
        return;
    }
    let n = sample.len() as f64;
    let mean = sample.iter().map(|&v| v as f64).sum::<f64>() / n;
    let scale = sample.iter().map(|&v| (v as f64 - mean).abs()).sum::<f64>() / n;
    let inv = if scale > 0.0 { 1.0 / scale } else { 1.0 };
    for v in sample.iter_mut() {
        *v = ((*v as f64 - mean) * inv) as f32;
    }
}

impl Preprocessing {
    /// Fits the statistics of `scaling` on `x` (samples of `sample_len` values each).
    pub fn fit(scaling: Scaling, x: &[f32], sample_len: usize) -> Preprocessing {
        let minmax = |gcn: bool, lo: f32, hi: f32| {
            let (mut min, mut max) = (f32::INFINITY, f32::NEG_INFINITY);
            let mut buf = vec![0f32; sample_len];
            for s in x.chunks_exact(sample_len.max(1)) {
                let s = if gcn {
                    buf.copy_from_slice(s);
                    gcn_l1(&mut buf);
                    &buf[..]
                } else {
                    s
                };
                for &v in s {
                    min = min.min(v);
                    max = max.max(v);
                }
            }
            if min > max {
                (min, max) = (0.0, 1.0); // no data: an identity-like map rather than NaNs
            }
            Preprocessing::MinMax { gcn, min, max, lo, hi }
        };
        match scaling {
            Scaling::None => Preprocessing::Identity,
            Scaling::GcnMinMax => minmax(true, 0.0, 1.0),
            Scaling::GcnMinMaxSymmetric => minmax(true, -1.0, 1.0),
            Scaling::MinMaxSymmetric => minmax(false, -1.0, 1.0),
            Scaling::Standardise => {
                let d = sample_len.max(1);
                let rows = (x.len() / d).max(1) as f64;
                let mut sum = vec![0f64; d];
                let mut sq = vec![0f64; d];
                for r in x.chunks_exact(d) {
                    for (j, &v) in r.iter().enumerate() {
                        sum[j] += v as f64;
                    }
                }
                let mean: Vec<f64> = sum.iter().map(|s| s / rows).collect();
                for r in x.chunks_exact(d) {
                    for (j, &v) in r.iter().enumerate() {
                        sq[j] += (v as f64 - mean[j]).powi(2);
                    }
                }
                // Population std (ddof = 0, as scikit-learn's StandardScaler).
                let std = sq.iter().map(|s| (s / rows).sqrt()).map(|s| if s > 1e-12 { s } else { 1.0 });
                Preprocessing::Standardise {
                    mean: mean.iter().map(|&m| m as f32).collect(),
                    std: std.map(|s| s as f32).collect(),
                }
            }
        }
    }

    /// Applies the fitted map in place to `x` (samples of `sample_len` values each).
    pub fn apply(&self, x: &mut [f32], sample_len: usize) -> Result<()> {
        let mismatch = |msg: String| DataError::Mismatch { origin: Origin::new("preprocessing"), msg };
        if sample_len == 0 || !x.len().is_multiple_of(sample_len) {
            return Err(mismatch(format!("{} values do not split into samples of {sample_len}", x.len())));
        }
        match self {
            Preprocessing::Identity => {}
            &Preprocessing::MinMax { gcn, min, max, lo, hi } => {
                let range = if max > min { max - min } else { 1.0 };
                let k = (hi - lo) / range;
                for s in x.chunks_exact_mut(sample_len) {
                    if gcn {
                        gcn_l1(s);
                    }
                    for v in s.iter_mut() {
                        *v = lo + (*v - min) * k;
                    }
                }
            }
            Preprocessing::Standardise { mean, std } => {
                if mean.len() != sample_len {
                    return Err(mismatch(format!("fitted on {} features, given {sample_len}", mean.len())));
                }
                for r in x.chunks_exact_mut(sample_len) {
                    for ((v, m), s) in r.iter_mut().zip(mean).zip(std) {
                        *v = (*v - m) / s;
                    }
                }
            }
        }
        Ok(())
    }

    /// Applies the fitted map to a whole data set.
    pub fn apply_dataset(&self, d: &mut Dataset) -> Result<()> {
        let n = d.sample_len();
        self.apply(&mut d.x, n)
    }
}
