//! The one-class methods behind one trait, so the CLI, the protocol runner and the reports
//! treat them alike. Convention: a higher score is more anomalous.

pub mod dcae;
pub mod dsvdd;
pub mod ganocc;
pub mod ics;
mod ics_snapshots;
pub mod minlgan;
pub mod ocnn;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::nets::InputKind;
use crate::nn::Vars;
use crate::run::Run;
use datasets::Dataset;
use engine::Device;
use kernels::gpu::infer::Precision;
use std::collections::BTreeMap;
use std::path::Path;

pub trait Detector {
    /// Trains on normal data (`holdout`: extra normals for methods that pick a model by it).
    fn fit(&mut self, train: &Dataset, holdout: Option<&Dataset>, run: &mut Run) -> Result<()>;
    /// One anomaly score per sample; higher = more anomalous.
    fn score(&self, x: &Dataset) -> Result<Vec<f32>>;
    /// Scores on the GPU through the fused inference kernels, weights and activations stored
    /// in `precision` (`score --precision f16`); `None` when the method has no such path.
    fn score_on_plan(&self, _x: &Dataset, _precision: Precision) -> Option<Result<Vec<f32>>> {
        None
    }
    /// The tensors a saved model holds.
    fn vars(&self) -> &Vars;
    /// What scoring needs besides the weights (center, radius, threshold…), as strings for the
    /// safetensors metadata.
    fn state(&self) -> BTreeMap<String, String>;
    /// Restores [`Detector::state`] after the weights are loaded.
    fn set_state(&mut self, state: &BTreeMap<String, String>) -> Result<()>;
    /// Method-specific outputs written after scoring (plots, tables), given the test data and
    /// its labels (1 = anomaly). For reporting only: nothing here may change the model.
    fn write_reports(&self, _out: &Path, _test: &Dataset, _labels: &[u8]) -> Result<()> {
        Ok(())
    }
    /// Scores of the baselines the method trained on the way (Deep SVDD's and OC-NN's
    /// pretraining autoencoder is the DCAE baseline; ICS's autoencoder similarity is the paper's
    /// SSIM column), by name. Their test AUCs go to `results.json` under `baselines` and into
    /// the protocol summary, for reporting only. Empty when the run did not train them here
    /// (e.g. resumed past the pretraining).
    fn baseline_scores(&self, _x: &Dataset) -> Result<Vec<(&'static str, Vec<f32>)>> {
        Ok(Vec::new())
    }
    /// What the method wants recorded in `results.json` under `method_report` (step counts,
    /// cap hits, the epoch a holdout chose…).
    fn report_json(&self) -> Option<serde_json::Value> {
        None
    }
}

/// Builds the detector a configuration names, untrained.
pub fn build(cfg: &Config, input: InputKind, seed: u64, device: Device) -> Result<Box<dyn Detector>> {
    Ok(match cfg.method.as_str() {
        "dcae" => Box::new(dcae::Dcae::new(cfg.clone(), input, seed, device)?),
        "dsvdd" => Box::new(dsvdd::DeepSvdd::new(cfg.clone(), input, false, seed, device)?),
        "dsvdd-soft" => Box::new(dsvdd::DeepSvdd::new(cfg.clone(), input, true, seed, device)?),
        "ocnn" => Box::new(ocnn::OcNn::new(cfg.clone(), input, seed, device)?),
        "ics" => Box::new(ics::Ics::new(cfg.clone(), input, seed, device)?),
        "minlgan" => Box::new(minlgan::MinLGan::new(cfg.clone(), input, seed, device)?),
        "ganocc" => Box::new(ganocc::Ganocc::new(cfg.clone(), input, seed, device)?),
        other => return Err(Error::config(format!("--method {other} is not implemented yet in this version"))),
    })
}

/// Parses a metadata entry written by [`Detector::state`].
pub(crate) fn state_value<T: std::str::FromStr>(state: &BTreeMap<String, String>, key: &str) -> Result<T> {
    state
        .get(key)
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| Error::config(format!("saved model lacks a valid {key:?}")))
}

/// A list of floats as one metadata string (round-trips exactly: Rust prints the shortest
/// representation that parses back to the same f32).
pub(crate) fn floats_to_string(v: &[f32]) -> String {
    v.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(",")
}

pub(crate) fn floats_from_string(s: &str) -> Result<Vec<f32>> {
    s.split(',').map(|x| x.parse().map_err(|_| Error::config(format!("bad number {x:?} in saved model")))).collect()
}
