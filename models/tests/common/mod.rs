//! What the end-to-end tests of the binaries share: scratch folders, running `train`, reading
//! its `AUC-ROC` line, the save → score round trip, and the shared data sets.
#![allow(dead_code)] // each test file uses its own subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A fresh scratch folder, unique per test binary, process and name.
pub fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("oneclass-{}-{}-{name}", env!("CARGO_CRATE_NAME"), std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

pub fn train(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_train")).args(args).output().expect("train runs")
}

/// The value of the last stdout line, which must be `AUC-ROC <value>`.
pub fn auc_line(o: &Output) -> f64 {
    let out = String::from_utf8_lossy(&o.stdout);
    let last = out.lines().last().unwrap_or_default().to_string();
    assert!(last.starts_with("AUC-ROC "), "last line {last:?}; stderr: {}", String::from_utf8_lossy(&o.stderr));
    last[8..].trim().parse().unwrap()
}

/// Scores the run's saved model with the `score` binary: the same AUC and byte-identical
/// `scores.csv` as the training run.
pub fn assert_score_reproduces(out: &Path, auc: f64) {
    let o = Command::new(env!("CARGO_BIN_EXE_score"))
        .args(["--model", out.join("model.safetensors").to_str().unwrap()])
        .args(["--out", out.join("rescored.csv").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(auc_line(&o), auc);
    let (a, b) = (std::fs::read(out.join("scores.csv")).unwrap(), std::fs::read(out.join("rescored.csv")).unwrap());
    assert_eq!(a, b, "scores differ after save → load");
}

/// An ADBench file from `../shared/data/adbench` beside the repository (as in CI), if present.
pub fn adbench(file: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/adbench").join(file);
    p.is_file().then_some(p)
}
