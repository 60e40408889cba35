//! The one-class protocol: which samples a detector trains on and which it is tested on.
//!
//! * Images (data with its own test split): train on the training split of the normal class;
//!   test on the whole test split, label 0 for the normal class and 1 for every other class
//!   (Ruff et al. 2018; Chalapathy et al. 2018).
//! * Tabular (one table, `y` 1 = anomaly): a seeded `train_fraction` (80 %) of the normal rows
//!   trains; the remaining normals plus every anomaly test (ADBench; MinLGAN).
//! * Contamination (OC-NN's 1 % / 10 %): anomalies added to the training set so that they make up
//!   `contamination` of it — drawn from the other classes' *training* images, or for tabular
//!   data from the anomalies, which then leave the test set (no sample is in both).
//! * Holdout: `holdout_fraction` of the training normals, set aside (normals only) for methods
//!   that need data unseen in training (MinLGAN).
//!
//! Randomness: one SplitMix64 stream seeded with `seed` shuffles, in this order, the normal
//! indices (tabular split and holdout) and then the anomaly/other-class indices (contamination).
//! Every selected set is then sorted back into file order. The same data, settings and seed give
//! the same split on every machine.
//!
//! Preprocessing is fitted on the training set exactly as the detector will see it (normals, plus
//! the contamination if any: a practitioner cannot tell those apart) and applied to every part.
//!
//! Memory: loaded images are bytes; only the selected parts become `f32` here (for MNIST class 0,
//! 5923 training and 10000 test images, ≈ 50 MB beside the 55 MB of bytes), never the whole set.

use crate::error::{DataError, Origin, Result};
use crate::preprocess::{Preprocessing, Scaling};
use crate::rng::SplitMix64;
use crate::{Dataset, Loaded};

/// Settings of the one-class protocol.
#[derive(Clone, Debug, PartialEq)]
pub struct ProtocolConfig {
    /// Seeds the shuffles (tabular split, holdout, contamination).
    pub seed: u64,
    /// Tabular data: the share of normal rows used for training (the rest test). Ignored for
    /// data with its own test split.
    pub train_fraction: f64,
    /// The share of anomalies in the training set, in [0, 1).
    pub contamination: f64,
    /// The share of training normals held out (returned as `holdout`), in [0, 1).
    pub holdout_fraction: f64,
    /// The preprocessing fitted on the training set and applied to every part.
    pub scaling: Scaling,
}

impl Default for ProtocolConfig {
    fn default() -> Self {
        ProtocolConfig {
            seed: 0,
            train_fraction: 0.8,
            contamination: 0.0,
            holdout_fraction: 0.0,
            scaling: Scaling::None,
        }
    }
}

/// A one-class experiment's data. Labels: 0 = normal, 1 = anomaly, in every part.
#[derive(Clone, Debug, PartialEq)]
pub struct OneClassSplit {
    /// Training normals (plus any contamination, labelled 1 — the detector must not look).
    pub train: Dataset,
    /// Held-out training normals, when `holdout_fraction > 0`.
    pub holdout: Option<Dataset>,
    /// Test data, normals and anomalies.
    pub test: Dataset,
    /// The original class label of each test sample (e.g. the digit), for per-class reports.
    pub test_classes: Vec<i64>,
    /// The fitted preprocessing, already applied to `train`, `holdout` and `test`.
    pub preprocessing: Preprocessing,
    /// The normal class (`None`: labels were already 0 normal / 1 anomaly).
    pub normal_class: Option<i64>,
}

fn check_fraction(origin: &Origin, name: &str, v: f64, lo_open: bool, hi_closed: bool) -> Result<()> {
    let ok =
        v.is_finite() && (if lo_open { v > 0.0 } else { v >= 0.0 }) && (if hi_closed { v <= 1.0 } else { v < 1.0 });
    if ok {
        Ok(())
    } else {
        let range = format!("{}0, 1{}", if lo_open { "(" } else { "[" }, if hi_closed { "]" } else { ")" });
        Err(DataError::config(origin, format!("{name} {v} is outside {range}")))
    }
}

/// Splits loaded data by the protocol above. `normal_class`: `Some(c)` makes class `c` normal and
/// every other class anomalous; `None` requires labels 0 (normal) / 1 (anomaly), as in ADBench.
pub fn split(data: &Loaded, normal_class: Option<i64>, cfg: &ProtocolConfig) -> Result<OneClassSplit> {
    let origin = Origin::new(&data.name);
    check_fraction(&origin, "train fraction", cfg.train_fraction, true, true)?;
    check_fraction(&origin, "contamination", cfg.contamination, false, false)?;
    check_fraction(&origin, "holdout fraction", cfg.holdout_fraction, false, false)?;

    let is_normal = |l: i64| match normal_class {
        Some(c) => l == c,
        None => l == 0,
    };
    match normal_class {
        Some(c) => {
            let present = data.classes();
            if !present.contains(&c) {
                let list: Vec<String> = present.iter().map(|c| c.to_string()).collect();
                return Err(DataError::UnknownClass { origin, class: c, present: list.join(", ") });
            }
        }
        None => {
            for part in std::iter::once(&data.train).chain(&data.test) {
                if let Some(index) = part.labels.iter().position(|&l| l != 0 && l != 1) {
                    return Err(DataError::LabelOutOfRange {
                        origin,
                        index,
                        label: part.labels[index],
                        allowed: "0 (normal) or 1 (anomaly); give a normal class for multi-class data".into(),
                    });
                }
            }
        }
    }
    let class = normal_class.unwrap_or(0);
    let mut rng = SplitMix64::new(cfg.seed);
    let pool = &data.train;
    let mut normals: Vec<usize> = (0..pool.len()).filter(|&i| is_normal(pool.labels[i])).collect();
    let mut others: Vec<usize> = (0..pool.len()).filter(|&i| !is_normal(pool.labels[i])).collect();
    if normals.is_empty() {
        let detail = if data.test.is_some() { " (it occurs only in the test split)" } else { "" };
        return Err(DataError::EmptyNormalClass { origin, class, detail: detail.into() });
    }
    rng.shuffle(&mut normals);
    rng.shuffle(&mut others);

    // Tabular: the first `train_fraction` of the shuffled normals train, the rest test.
    let mut test_normals = Vec::new();
    if data.test.is_none() {
        let n_train = ((cfg.train_fraction * normals.len() as f64).round() as usize).clamp(1, normals.len());
        test_normals = normals.split_off(n_train);
    }
    let n_hold = (cfg.holdout_fraction * normals.len() as f64).round() as usize;
    if n_hold >= normals.len() {
        return Err(DataError::EmptyNormalClass {
            origin,
            class,
            detail: format!(" left after holding out {n_hold} of {}", normals.len()),
        });
    }
    let mut holdout = normals.split_off(normals.len() - n_hold);
    // `contamination` of the final training set: n_a / (n_normal + n_a) = c.
    let c = cfg.contamination;
    let n_anom = (c / (1.0 - c) * normals.len() as f64).round() as usize;
    if n_anom > others.len() {
        return Err(DataError::config(
            &origin,
            format!("contamination {c} needs {n_anom} anomalies in training, only {} available", others.len()),
        ));
    }
    let test_anomalies = others.split_off(n_anom);
    let mut train = normals;
    train.extend_from_slice(&others);
    train.sort_unstable();
    holdout.sort_unstable();

    let label01 = |l: i64| if is_normal(l) { 0 } else { 1 };
    let mut train = pool.select(&train);
    train.labels.iter_mut().for_each(|l| *l = label01(*l));
    let mut holdout = (!holdout.is_empty()).then(|| {
        let mut h = pool.select(&holdout);
        h.labels.iter_mut().for_each(|l| *l = 0);
        h
    });
    let mut test = match &data.test {
        Some(t) => t.to_f32(),
        None => {
            let mut idx = test_normals;
            idx.extend_from_slice(&test_anomalies);
            idx.sort_unstable();
            pool.select(&idx)
        }
    };
    let test_classes = test.labels.clone();
    test.labels.iter_mut().for_each(|l| *l = label01(*l));

    let preprocessing = Preprocessing::fit(cfg.scaling, &train.x, train.sample_len());
    preprocessing.apply_dataset(&mut train)?;
    if let Some(h) = &mut holdout {
        preprocessing.apply_dataset(h)?;
    }
    preprocessing.apply_dataset(&mut test)?;
    Ok(OneClassSplit { train, holdout, test, test_classes, preprocessing, normal_class })
}
