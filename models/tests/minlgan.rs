//! MinLGAN end to end: short runs on the bundled mnist-mini and on a tabular ADBench set (when
//! the shared data is present), checked against chance, the save → score round trip, and a run
//! killed in its second member that resumes to the same scores.

use datasets::{split, ProtocolConfig, Source};
use engine::Device;
use models::config::{Config, EnsembleMode, Preset};
use models::experiment::scaling_for;
use models::methods::minlgan::MinLGan;
use models::methods::Detector;
use models::metrics::auc_roc;
use models::nets::InputKind;
use models::run::Run;
use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::{adbench, assert_score_reproduces, auc_line, interrupt_train, tmp};

/// Trains on the one-class split of `source` (normal class `class`, 10 % holdout) and returns
/// the test AUC of the configured ensemble and the per-member AUCs.
/// `limit`: train on the first this many training samples only (fast tests).
fn fit(
    source: &Source,
    class: Option<i64>,
    seed: u64,
    limit: Option<usize>,
    tune: impl FnOnce(&mut Config),
    watch: bool,
) -> (f64, MinLGan) {
    let data = source.load().unwrap();
    let input = InputKind::from_shape(&data.train.shape).unwrap();
    let mut cfg = Config::preset("minlgan", Preset::Quick, input).unwrap();
    tune(&mut cfg);
    let protocol =
        ProtocolConfig { seed, scaling: scaling_for("minlgan", input), holdout_fraction: 0.1, ..Default::default() };
    let mut sp = split(&data, class, &protocol).unwrap();
    if let Some(n) = limit {
        sp.train = sp.train.select(&(0..n.min(sp.train.len())).collect::<Vec<_>>());
    }
    let labels: Vec<u8> = sp.test.labels.iter().map(|&l| (l != 0) as u8).collect();
    let mut det = MinLGan::new(cfg, input, seed, Device::Cpu).unwrap();
    if watch {
        det.watch(sp.test.clone(), labels.clone());
    }
    let mut run = Run::new(Device::Cpu, seed, true);
    det.fit(&sp.train, sp.holdout.as_ref(), &mut run).unwrap();
    let auc = auc_roc(&det.score(&sp.test).unwrap(), &labels).unwrap();
    (auc, det)
}

fn train(out: &Path, args: &[&str]) -> f64 {
    let o = Command::new(env!("CARGO_BIN_EXE_train"))
        .args(["--method", "minlgan", "--device", "cpu", "--quiet", "--out", out.to_str().unwrap()])
        .args(args)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    auc_line(&o)
}

#[test]
fn beats_chance_on_mnist_mini_and_the_score_binary_reproduces_the_auc() {
    // Digit 0, one epoch per member: AUC ≈ 0.95 (chance is 0.5). Two members, scaled, so the
    // saved model must carry both discriminators and both holdout ranges.
    let out = tmp("mnist");
    let auc = train(&out, &["--normal-class", "0", "--epochs", "1", "--ensemble", "2", "--ensemble-mode", "scaled"]);
    assert!(auc > 0.8, "AUC {auc}");
    for f in ["results.json", "model.safetensors", "ensemble_auc.csv", "ensemble_auc.png", "generated.png"] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let csv = std::fs::read_to_string(out.join("ensemble_auc.csv")).unwrap();
    assert_eq!(csv.lines().count(), 3, "{csv}");
    assert_score_reproduces(&out, auc);
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn a_seeded_ensemble_beats_chance_on_thinned_shuttle() {
    // 3000 training rows, 5 epochs, 3 members, seed 0: AUC 0.971. Single members are NOT stable
    // here (their per-epoch test AUC swings between 0.02 and 0.99: the discriminator extrapolates
    // "real" in directions the generator never visited), so this pins the seeded ensemble only.
    let Some(path) = adbench("32_shuttle.npz") else {
        eprintln!("skipped: 32_shuttle.npz not found");
        return;
    };
    let source = Source::from_cli("npz", Some(&path), None, None).unwrap();
    let (auc, _) = fit(&source, None, 0, Some(3000), |c| (c.epochs, c.ensemble) = (5, 3), false);
    assert!(auc > 0.8, "AUC {auc}");
}

#[test]
fn the_first_member_of_an_ensemble_is_the_model_trained_alone() {
    // Member streams depend on the seed and the member index only, so the ensemble's first
    // member is the single model (what ensemble_auc.csv's k = 1 row reports). Plain GAN
    // (a = 0) and MinLGAN both run.
    let source = Source::from_cli("mnist-mini", None, None, None).unwrap();
    for a in [0.0, 0.1] {
        let tune = |n: usize| move |c: &mut Config| (c.epochs, c.ensemble, c.minl_a) = (1, n, a);
        let (_, one) = fit(&source, Some(1), 4, Some(128), tune(1), false);
        let (_, two) = fit(&source, Some(1), 4, Some(128), tune(2), false);
        let (x, y) = (one.vars().entries(), two.vars().entries());
        let first: Vec<_> = y.iter().filter(|(n, _, _)| n.starts_with("member0.")).collect();
        assert_eq!(x.len(), first.len());
        for ((nx, tx, _), (ny, ty, _)) in x.iter().zip(first) {
            assert_eq!(nx, ny);
            assert_eq!(tx.to_vec(), ty.to_vec(), "a = {a}: {nx}");
        }
    }
}

fn method_report(out: &Path) -> serde_json::Value {
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("results.json")).unwrap()).unwrap();
    r["method_report"].clone()
}

#[test]
fn a_run_killed_in_its_second_member_resumes_to_the_same_scores() {
    // A generated table (6000 rows × 16 standard normals, every tenth row shifted by 3 and
    // labelled an anomaly) keeps this to seconds: on mnist-mini one member's epoch alone takes
    // about 10 s. Two members of 4 epochs; killed once member 2 has checkpointed an epoch, so
    // the resumed run must skip member 1 (its D, holdout range and kept epoch come from the
    // checkpoint) and continue member 2 mid-way (G, q, best D, bank, optimisers, RNG).
    let dir = tmp("resume");
    std::fs::create_dir_all(&dir).unwrap();
    let table = dir.join("table.csv");
    let mut rng = engine::Rng::new(7);
    let mut csv = String::new();
    for i in 0..6000 {
        let shift = if i % 10 == 0 { 3.0 } else { 0.0 };
        let row: Vec<String> = (0..16).map(|_| format!("{:.4}", rng.normal() + shift)).collect();
        csv.push_str(&format!("{},{}\n", row.join(","), (i % 10 == 0) as u8));
    }
    std::fs::write(&table, csv).unwrap();
    let (full, cut) = (dir.join("full"), dir.join("cut"));
    let args = [
        "--method",
        "minlgan",
        "--dataset",
        "csv",
        "--data",
        table.to_str().unwrap(),
        "--epochs",
        "4",
        "--ensemble",
        "2",
        "--ensemble-mode",
        "scaled",
        "--device",
        "cpu",
        "--quiet",
        "--out",
    ];
    let run = |extra: &[&str]| Command::new(env!("CARGO_BIN_EXE_train")).args(args).args(extra).output().unwrap();
    let reference = run(&[full.to_str().unwrap()]);
    assert!(reference.status.success(), "{}", String::from_utf8_lossy(&reference.stderr));

    let (_, at) = interrupt_train(&args, &cut, |phase, done| phase == "minlgan D2" && done >= 1);

    let resumed = run(&[cut.to_str().unwrap(), "--resume"]);
    assert!(resumed.status.success(), "{}", String::from_utf8_lossy(&resumed.stderr));
    let log = String::from_utf8_lossy(&resumed.stderr);
    assert!(!log.contains("minlgan D1: epoch") && !log.contains(&format!("minlgan D2: epoch {at}/4 ")), "{log}");
    assert!(at == 4 || log.contains("minlgan D2: epoch 4/4 "), "{log}");
    assert_eq!(auc_line(&resumed), auc_line(&reference));
    let same = std::fs::read(full.join("scores.csv")).unwrap() == std::fs::read(cut.join("scores.csv")).unwrap();
    assert!(same, "scores.csv differs from the uninterrupted run's");
    // Both members' kept epochs, holdout AUCs and ranges, exactly.
    assert_eq!(method_report(&full), method_report(&cut));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Development harness: `MINL_DATA=<npz|mnist-mini> MINL_A=… MINL_EPOCHS=… MINL_N=… cargo test
/// --release --test minlgan -- --ignored --nocapture dev` prints per-epoch test AUCs.
#[test]
#[ignore]
fn dev() {
    let env = |k: &str| std::env::var(k).ok();
    let data = env("MINL_DATA").unwrap_or_else(|| "mnist-mini".into());
    let (source, class) = if data == "mnist-mini" {
        (
            Source::from_cli("mnist-mini", None, None, None).unwrap(),
            env("MINL_CLASS").map(|c| c.parse().unwrap()).or(Some(0)),
        )
    } else {
        (Source::from_cli("npz", Some(&PathBuf::from(&data)), None, None).unwrap(), None)
    };
    let seed = env("MINL_SEED").map_or(0, |s| s.parse().unwrap());
    let limit = env("MINL_LIMIT").map(|v| v.parse().unwrap());
    let (auc, _) = fit(
        &source,
        class,
        seed,
        limit,
        |c| {
            if let Some(v) = env("MINL_A") {
                c.minl_a = v.parse().unwrap();
            }
            if let Some(v) = env("MINL_EPOCHS") {
                c.epochs = v.parse().unwrap();
            }
            if let Some(v) = env("MINL_N") {
                c.ensemble = v.parse().unwrap();
            }
            if let Some(v) = env("MINL_LR") {
                c.lr = v.parse().unwrap();
            }
            if env("MINL_MODE").as_deref() == Some("mean") {
                c.ensemble_mode = EnsembleMode::Mean;
            }
        },
        true,
    );
    println!("AUC {auc:.4}");
}
