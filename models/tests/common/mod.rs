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

/// The phase and epoch (or iteration block) count a checkpoint was written at, if it exists and
/// is complete.
pub fn checkpoint_position(path: &Path) -> Option<(String, u64)> {
    let l = engine::safetensors::load(path, engine::Device::Cpu).ok()?;
    let m: serde_json::Value = serde_json::from_str(l.metadata.get("checkpoint")?).ok()?;
    Some((m["phase"].as_str()?.to_string(), m["epochs_done"].as_u64()?))
}

/// Starts `train args… out` and kills it as soon as its checkpoint satisfies `ready(phase,
/// done)`; asserts it was really interrupted. Returns the checkpoint's position at the kill.
pub fn interrupt_train(args: &[&str], out: &Path, ready: impl Fn(&str, u64) -> bool) -> (String, u64) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_train"))
        .args(args)
        .arg(out)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let ckpt = out.join("checkpoint.safetensors");
    let t0 = std::time::Instant::now();
    while !checkpoint_position(&ckpt).is_some_and(|(phase, done)| ready(&phase, done)) {
        assert!(child.try_wait().unwrap().is_none(), "the run finished before it could be interrupted");
        assert!(t0.elapsed().as_secs() < 120, "no checkpoint appeared");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!out.join("results.json").exists(), "the run was not interrupted");
    checkpoint_position(&ckpt).unwrap()
}
