//! Intra-Class Splitting end to end on the bundled mnist-mini data: a short run beats chance by
//! far, writes the split pictures, and its saved model scores to the same AUC; the split is a
//! function of the seed.

use datasets::{split, ProtocolConfig, Scaling, Source};
use engine::Device;
use models::config::{Config, Preset};
use models::methods::ics::Ics;
use models::nets::InputKind;
use models::run::Run;
use std::process::Command;

mod common;
use common::{assert_score_reproduces, auc_line, tmp};

#[test]
fn a_short_run_beats_chance_and_its_saved_model_scores_the_same() {
    // 3 autoencoder epochs + 100 iterations on digit 0 (1000 training images): AUC ≈ 0.95
    // measured (0.5 is chance).
    let out = tmp("e2e");
    let o = Command::new(env!("CARGO_BIN_EXE_train"))
        .args(["--method", "ics", "--normal-class", "0", "--pretrain-epochs", "3", "--iterations", "100"])
        .args(["--device", "cpu", "--quiet", "--out", out.to_str().unwrap()])
        .output()
        .expect("train runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let auc = auc_line(&o);
    assert!(auc >= 0.85, "AUC {auc}");
    for f in ["typical.png", "atypical.png", "split.csv", "ssim_baseline.json", "model.safetensors", "scores.csv"] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    // ρ = 10 % of the 1000 training images are atypical.
    let csv = std::fs::read_to_string(out.join("split.csv")).unwrap();
    assert_eq!(csv.lines().skip(1).filter(|l| l.ends_with(",1")).count(), 100);

    assert_score_reproduces(&out, auc);
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn the_split_is_deterministic_for_a_seed() {
    let data = Source::from_cli("mnist-mini", None, None).unwrap().load().unwrap();
    let protocol = ProtocolConfig { scaling: Scaling::GcnMinMax, ..Default::default() };
    let sp = split(&data, Some(3), &protocol).unwrap();
    let train = sp.train.select(&(0..300).collect::<Vec<_>>());
    let mut cfg = Config::preset("ics", Preset::Quick, InputKind::Mnist).unwrap();
    cfg.pretrain_epochs = 2;
    let split_with = |seed: u64| {
        let mut ics = Ics::new(cfg.clone(), InputKind::Mnist, seed, Device::Cpu).unwrap();
        ics.intra_class_split(&train, &mut Run::new(Device::Cpu, seed, true)).unwrap()
    };
    let (a, b, c) = (split_with(7), split_with(7), split_with(8));
    assert_eq!(a, b, "same seed, different split");
    assert_eq!(a.atypical_indices().len(), 30);
    // Every atypical sample is less similar to its reconstruction than every typical one.
    let max_atyp = a.atypical_indices().iter().map(|&i| a.similarity[i]).fold(f32::MIN, f32::max);
    let min_typ = a.typical_indices().iter().map(|&i| a.similarity[i]).fold(f32::MAX, f32::min);
    assert!(max_atyp <= min_typ);
    // Another seed trains another autoencoder: other similarities.
    assert_ne!(a.similarity, c.similarity);
}
