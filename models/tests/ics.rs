//! Intra-Class Splitting end to end on the bundled mnist-mini data: a short run beats chance by
//! far, writes the split pictures, and its saved model scores to the same AUC; the split is a
//! function of the seed; a run killed in the classifier loop resumes to the same scores.

use datasets::{split, OneClassSplit, ProtocolConfig, Source};
use engine::Device;
use models::config::{Config, Preset};
use models::experiment::scaling_for;
use models::methods::ics::Ics;
use models::methods::Detector;
use models::nets::InputKind;
use models::run::Run;
use std::process::Command;

mod common;
use common::{assert_score_reproduces, auc_line, interrupt_train, tmp, train};

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
    for f in ["typical.png", "atypical.png", "split.csv", "model.safetensors", "scores.csv"] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    // The paper's SSIM column: the autoencoder's similarity alone already separates digit 0.
    let ssim = results(&out)["baselines"]["ssim"].as_f64().expect("an SSIM baseline");
    assert!(ssim > 0.6, "SSIM baseline AUC {ssim}");
    // ρ = 10 % of the 1000 training images are atypical.
    let csv = std::fs::read_to_string(out.join("split.csv")).unwrap();
    assert_eq!(csv.lines().skip(1).filter(|l| l.ends_with(",1")).count(), 100);
    // The classifier along the iterations (every 4th of 100), the last row being the kept model.
    let rows: Vec<Vec<f64>> = std::fs::read_to_string(out.join("iteration_auc.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(|v| v.parse().unwrap()).collect())
        .collect();
    assert_eq!(rows.iter().map(|r| r[0] as usize).collect::<Vec<_>>(), (1..=25).map(|k| 4 * k).collect::<Vec<_>>());
    let kept = results(&out)["auc_roc"].as_f64().unwrap();
    assert!((rows[24][1] - kept).abs() < 1e-6, "last row {} against the run's AUC {kept}", rows[24][1]);
    assert!(out.join("iteration_auc.png").is_file());
    assert!(String::from_utf8_lossy(&o.stderr).contains("as the authors' code does, would keep iteration"));

    assert_score_reproduces(&out, auc);
    let _ = std::fs::remove_dir_all(&out);
}

fn results(out: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap()
}

/// mnist-mini's one-class split for `class`, pixels as ICS reads them.
fn mnist_mini(class: i64) -> OneClassSplit {
    let data = Source::from_cli("mnist-mini", None, None, None).unwrap().load().unwrap();
    let protocol = ProtocolConfig { scaling: scaling_for("ics", InputKind::Mnist), ..Default::default() };
    split(&data, Some(class), &protocol).unwrap()
}

#[test]
fn the_split_is_deterministic_for_a_seed() {
    let sp = mnist_mini(3);
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

#[test]
fn the_ssim_baseline_keeps_the_training_images_range() {
    // With `--ssim-range 0` the split uses the training images' range (1 here); test images of
    // another range (2) must be scored with the same L, not their own.
    let sp = mnist_mini(1);
    let train = sp.train.select(&(0..200).collect::<Vec<_>>());
    let mut doubled = sp.test.select(&(0..50).collect::<Vec<_>>());
    doubled.x.iter_mut().for_each(|v| *v *= 2.0);
    let baseline = |l: f32| {
        let mut cfg = Config::preset("ics", Preset::Quick, InputKind::Mnist).unwrap();
        (cfg.pretrain_epochs, cfg.ssim_range) = (1, l);
        let mut ics = Ics::new(cfg, InputKind::Mnist, 4, Device::Cpu).unwrap();
        ics.intra_class_split(&train, &mut Run::new(Device::Cpu, 4, true)).unwrap();
        let mut b = ics.baseline_scores(&doubled).unwrap();
        assert_eq!(b.len(), 1);
        b.remove(0).1
    };
    let (own, one, two) = (baseline(0.0), baseline(1.0), baseline(2.0));
    assert_eq!(own, one, "the baseline took the test images' range");
    assert_ne!(own, two);
}

#[test]
fn a_killed_run_resumes_in_the_classifier_loop_to_the_same_scores() {
    // 1 autoencoder epoch, then 50 iterations checkpointed every 2; killed past iteration 20.
    // With dropout, whose masks a resumed run must draw as the uninterrupted one did.
    let (full, cut) = (tmp("full"), tmp("cut"));
    let args = [
        "--method",
        "ics",
        "--pretrain-epochs",
        "1",
        "--iterations",
        "50",
        "--dropout",
        "0.5",
        "--device",
        "cpu",
        "--quiet",
        "--out",
    ];
    let reference = train(&[&args[..], &[full.to_str().unwrap()]].concat());
    assert!(reference.status.success(), "{}", String::from_utf8_lossy(&reference.stderr));

    let (_, at) = interrupt_train(&args, &cut, |phase, done| phase == "ics" && done >= 20);

    let resumed = train(&[&args[..], &[cut.to_str().unwrap(), "--resume"]].concat());
    assert!(resumed.status.success(), "{}", String::from_utf8_lossy(&resumed.stderr));
    // It continued after iteration `at` (the quiet log has a line per phase and checkpoint)
    // rather than retraining the autoencoder or restarting the loop.
    let log = String::from_utf8_lossy(&resumed.stderr);
    assert!(!log.contains("pretrain: epoch") && !log.contains(&format!("ics: iteration {at}/50 ")), "{log}");
    assert!(at == 50 || log.contains("ics: iteration 50/50 "), "{log}");
    assert_eq!(auc_line(&resumed), auc_line(&reference));
    // The same scores, and the same split and SSIM baseline from the restored autoencoder.
    for f in ["scores.csv", "split.csv"] {
        let same = std::fs::read(full.join(f)).unwrap() == std::fs::read(cut.join(f)).unwrap();
        assert!(same, "{f} differs from the uninterrupted run's");
    }
    assert_eq!(results(&full)["baselines"], results(&cut)["baselines"]);
    let _ = (std::fs::remove_dir_all(&full), std::fs::remove_dir_all(&cut));
}

#[test]
fn the_authors_recipe_runs_end_to_end_and_resumes_to_the_same_scores() {
    // `--preset authors` (their batch-norm networks and loop) at a small size: 2 autoencoder
    // epochs, 30 iterations of pairs of 16; AUC 0.907 measured on digit 0 (0.5 is chance). Killed
    // past iteration 10 (a checkpoint every iteration), it resumes to the same scores.
    let (full, cut) = (tmp("authors-full"), tmp("authors-cut"));
    let args = ["--method", "ics", "--preset", "authors", "--pretrain-epochs", "2", "--iterations", "30"];
    let args = [&args[..], &["--batch-size", "16", "--device", "cpu", "--quiet", "--out"]].concat();
    let reference = train(&[&args[..], &[full.to_str().unwrap()]].concat());
    assert!(reference.status.success(), "{}", String::from_utf8_lossy(&reference.stderr));
    let auc = auc_line(&reference);
    assert!(auc >= 0.75, "AUC {auc}");
    let r = results(&full);
    assert_eq!(r["config"]["ics_recipe"], "authors", "{}", r["config"]);
    let log = String::from_utf8_lossy(&reference.stderr);
    assert!(log.contains("distance") && log.contains("intra-class"), "{log}");
    for f in ["typical.png", "atypical.png", "split.csv", "iteration_auc.csv"] {
        assert!(full.join(f).is_file(), "{f} missing");
    }

    let (_, at) = interrupt_train(&args, &cut, |phase, done| phase == "ics" && done >= 10);
    let resumed = train(&[&args[..], &[cut.to_str().unwrap(), "--resume"]].concat());
    assert!(resumed.status.success(), "{}", String::from_utf8_lossy(&resumed.stderr));
    let log = String::from_utf8_lossy(&resumed.stderr);
    assert!(!log.contains("pretrain: epoch") && (at == 30 || log.contains("ics: iteration 30/30 ")), "{log}");
    for f in ["scores.csv", "split.csv"] {
        let same = std::fs::read(full.join(f)).unwrap() == std::fs::read(cut.join(f)).unwrap();
        assert!(same, "{f} differs from the uninterrupted run's");
    }
    assert_score_reproduces(&full, auc);
    let _ = (std::fs::remove_dir_all(&full), std::fs::remove_dir_all(&cut));
}
