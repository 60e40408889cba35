//! The binaries as a user meets them: short end-to-end runs on the bundled mnist-mini data, the
//! save → score round trip, and `error: …` with exit status 2 for bad input.

mod common;

use common::{assert_score_reproduces, auc_line, interrupt_train, tmp, train};
use std::path::Path;
use std::process::Command;

/// Trains `method` for a few epochs on mnist-mini and returns the AUC (normal class 1 unless
/// `extra` says otherwise: clap keeps the last value of a repeated flag).
fn short_run(method: &str, out: &Path, extra: &[&str]) -> f64 {
    let mut args =
        vec!["--method", method, "--normal-class", "1", "--pretrain-epochs", "3", "--epochs", "3", "--quiet", "--out"];
    args.push(out.to_str().unwrap());
    args.extend_from_slice(extra);
    let o = train(&args);
    assert!(o.status.success(), "{method} failed: {}", String::from_utf8_lossy(&o.stderr));
    auc_line(&o)
}

#[test]
fn every_implemented_method_beats_chance_on_mnist_mini() {
    // A few epochs on digit 0 already give AUC ≈ 0.9 (0.5 is chance); the autoencoder needs
    // more steps than the hypersphere methods, and OC-NN's Gaussian units need a pretrained
    // encoder (10 epochs: 0.85; 3 epochs leave it near random).
    // The soft-boundary run is long enough (8 epochs) for R to be re-solved once (every 5).
    let runs: [(&str, &[&str]); 4] = [
        ("dsvdd", &["--normal-class", "0", "--epochs", "5"]),
        ("dsvdd-soft", &["--normal-class", "0", "--epochs", "8"]),
        ("dcae", &["--normal-class", "0", "--pretrain-epochs", "10", "--pretrain-lr", "3e-3"]),
        ("ocnn", &["--normal-class", "0", "--pretrain-epochs", "10", "--epochs", "10"]),
    ];
    for (method, extra) in runs {
        let out = tmp(method);
        let auc = short_run(method, &out, extra);
        assert!(auc > 0.8, "{method}: AUC {auc}");
        for f in [
            "results.json",
            "model.safetensors",
            "scores.csv",
            "roc.png",
            "scores.png",
            "loss.png",
            "most_normal.png",
            "most_anomalous.png",
        ] {
            assert!(out.join(f).is_file(), "{method}: {f} missing");
        }
        // Deep SVDD and OC-NN report their pretraining autoencoder as the DCAE baseline.
        let results: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
        let dcae = results["baselines"]["dcae"].as_f64();
        if method == "dcae" {
            assert!(dcae.is_none(), "dcae is no baseline of itself");
        } else {
            assert!(dcae.is_some_and(|b| (0.0..=1.0).contains(&b)), "{method}: baselines {}", results["baselines"]);
        }
        // The saved model carries everything scoring needs (OC-NN: r, the centre c, the fixed V).
        assert_score_reproduces(&out, auc);
        let _ = std::fs::remove_dir_all(&out);
    }
}

#[test]
fn score_reproduces_the_training_auc_exactly() {
    let out = tmp("roundtrip");
    // Six epochs, so the saved radius R is a real one, not the initial 0.
    let trained = short_run("dsvdd-soft", &out, &["--seed", "3", "--epochs", "6"]);
    assert_score_reproduces(&out, trained);

    // `--input`: the run's own test images, written to a .npy file (pixels in [0, 1], as the
    // loaders give them), score exactly as in the training run's scores.csv.
    let loaded = datasets::Source::MnistMini.load().unwrap();
    let cfg = datasets::ProtocolConfig { seed: 3, scaling: datasets::Scaling::None, ..Default::default() };
    let test = datasets::split(&loaded, Some(1), &cfg).unwrap().test;
    let images = out.join("test_images.npy");
    std::fs::write(&images, npy_f4(&[test.len(), 1, 28, 28], &test.x)).unwrap();
    let model = out.join("model.safetensors");
    let rescored = out.join("from_file.csv");
    let score_images = || {
        let o = score(&[
            "--model",
            model.to_str().unwrap(),
            "--input",
            images.to_str().unwrap(),
            "--out",
            rescored.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        o
    };
    let o = score_images();
    assert!(String::from_utf8_lossy(&o.stdout).is_empty(), "no labels, so no AUC line");
    let column = |path: &Path| -> Vec<String> {
        let text = std::fs::read_to_string(path).unwrap();
        text.lines().skip(1).map(|l| l.split(',').nth(1).unwrap().to_string()).collect()
    };
    assert_eq!(column(&rescored), column(&out.join("scores.csv")));

    // Flat rows of 784 pixels are the same samples, and so are 28 × 28 images without the
    // channel axis (MNIST arrays' usual shape).
    for shape in [[test.len(), 784].as_slice(), &[test.len(), 28, 28]] {
        std::fs::write(&images, npy_f4(shape, &test.x)).unwrap();
        score_images();
        assert_eq!(column(&rescored), column(&out.join("scores.csv")), "{shape:?}");
    }
    // Channels last would read scrambled pixels: refused.
    std::fs::write(&images, npy_f4(&[test.len(), 28, 28, 1], &test.x)).unwrap();
    let o = score(&["--model", model.to_str().unwrap(), "--input", images.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("samples of shape [28, 28, 1]") && err.contains("channels first"), "{err}");

    // The wrong width, and 8-bit pixels, are errors naming what the model takes.
    let csv = out.join("bad.csv");
    for (rows, needle) in [
        ("0.1,0.2,0.3\n", "the model takes [1, 28, 28], or rows of 784 values"),
        (&format!("{}\n", vec!["255"; 784].join(","))[..], "image pixels must lie in [0, 1]"),
    ] {
        std::fs::write(&csv, rows).unwrap();
        let o = score(&["--model", model.to_str().unwrap(), "--input", csv.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains(needle), "{err}");
    }
    let _ = std::fs::remove_dir_all(&out);
}

/// A little-endian f32 `.npy` file of `shape`.
fn npy_f4(shape: &[usize], values: &[f32]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({}), }}", dims.join(", "));
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((header.len() as u16).to_le_bytes());
    out.extend(header.as_bytes());
    out.extend(values.iter().flat_map(|v| v.to_le_bytes()));
    out
}

fn score(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_score")).args(args).output().unwrap()
}

#[test]
fn score_in_f16_on_the_gpu_keeps_the_auc() {
    // Deep SVDD and OC-NN (its head runs on the plan's f16 representations).
    let runs: [(&str, &[&str]); 2] = [
        ("dsvdd", &["--normal-class", "0", "--seed", "2"]),
        ("ocnn", &["--normal-class", "0", "--pretrain-epochs", "10", "--epochs", "10"]),
    ];
    for (method, extra) in runs {
        let out = tmp(&format!("f16-{method}"));
        let trained = short_run(method, &out, extra);
        let model = out.join("model.safetensors");
        let model = model.to_str().unwrap();
        // Flags that cannot work are errors before anything runs.
        let bad_flags: [&[&str]; 5] = [
            &["--precision", "f64"],
            &["--precision", "f16", "--device", "cpu"],
            &["--fused"],
            &["--device", "tpu"],
            &["--normal-class", "all"],
        ];
        for bad in bad_flags {
            let o = score(&[&["--model", model][..], bad].concat());
            let err = String::from_utf8_lossy(&o.stderr);
            assert_eq!(o.status.code(), Some(2), "{bad:?}: {err}");
            assert!(err.starts_with("error: --") || err.contains(&format!("for '{}", bad[0])), "{bad:?}: {err}");
            assert!(bad.iter().all(|b| err.contains(b)), "{bad:?}: the error names neither flag nor value: {err}");
        }
        let usable = engine::device::gpu_context().is_ok_and(|c| c.supports_f16());
        if !usable && !kernels::gpu::gpu_required() {
            eprintln!("score_in_f16_on_the_gpu_keeps_the_auc: no GPU with SHADER_F16, skipped the GPU part");
            return;
        }
        // f16 storage moves scores by ~1e-3 relative: the ranking, and so the AUC, barely moves.
        for precision in ["f32", "f16"] {
            let csv = out.join(format!("fused-{precision}.csv"));
            let o = score(&[
                "--model",
                model,
                "--device",
                "gpu",
                "--precision",
                precision,
                "--fused",
                "--out",
                csv.to_str().unwrap(),
            ]);
            assert!(o.status.success(), "{method}: {}", String::from_utf8_lossy(&o.stderr));
            let auc = auc_line(&o);
            let tol = if precision == "f16" { 2e-3 } else { 1e-4 };
            assert!((auc - trained).abs() <= tol, "{method} {precision}: AUC {auc} vs {trained} trained");
        }
        let _ = std::fs::remove_dir_all(&out);
    }
}

#[test]
fn same_seed_gives_the_same_auc_on_the_cpu() {
    let (a, b) = (tmp("seed-a"), tmp("seed-b"));
    let x = short_run("dsvdd", &a, &["--seed", "5", "--device", "cpu"]);
    let y = short_run("dsvdd", &b, &["--seed", "5", "--device", "cpu"]);
    assert_eq!(x, y);
    assert_eq!(std::fs::read(a.join("scores.csv")).unwrap(), std::fs::read(b.join("scores.csv")).unwrap());
    let _ = (std::fs::remove_dir_all(&a), std::fs::remove_dir_all(&b));
}

#[test]
fn a_diverging_loss_stops_with_an_error_naming_phase_epoch_and_batch() {
    let out = tmp("nan");
    let o = train(&[
        "--method",
        "dsvdd",
        "--pretrain-epochs",
        "0",
        "--epochs",
        "2",
        "--lr",
        "1e30",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("error: dsvdd: loss became") && err.contains("epoch") && err.contains("batch"), "{err}");
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn bad_input_is_an_error_with_status_2_not_a_panic() {
    let cases: &[&[&str]] = &[
        &["--method", "nonsense"],
        &["--method", "dsvdd", "--dataset", "mnist", "--data", "/nonexistent/folder"],
        &["--method", "dsvdd", "--dataset", "npz", "--data", "/nonexistent.npz"],
        &["--method", "dsvdd", "--normal-class", "42"],
        &["--method", "dsvdd", "--normal-class", "seven"],
        &["--method", "dsvdd", "--batch-size", "1"],
        &["--method", "dsvdd-soft", "--nu", "1.5"],
        &["--method", "dsvdd", "--preset", "slow"],
        &["--method", "dsvdd", "--device", "tpu"],
        &["--method", "dsvdd", "--epochs", "-3"],
        &["--method", "dsvdd", "--weight-init", "he"],
        &["--method", "dsvdd", "--dictionary-init", "maybe"],
        &["--method", "dsvdd", "--seed", "18446744073709551615", "--seeds", "2"],
        // Flags the data set would not read: the bundled default with a folder, a CSV label on images.
        &["--method", "dsvdd", "--data", "/some/mnist/folder"],
        &["--method", "dsvdd", "--label", "0"],
        // What clap itself rejects: one line too, and a negative number read as a value.
        &["--method", "dsvdd", "--bogus"],
        &["--method", "dsvdd", "--epochs"],
        &["--method", "dsvdd", "--epochs", "abc"],
        &["--method", "dsvdd", "--lr", "1e400"],
        &["--method", "minlgan", "--minl-a", "NaN"],
    ];
    for args in cases {
        let o = train(args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        let errors: Vec<&str> = err.lines().filter(|l| !l.starts_with("warning:")).collect();
        assert!(errors.len() == 1 && errors[0].starts_with("error: "), "{args:?}: not one error line: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
    let o = train(&["--method", "dsvdd", "--epochs", "-3"]);
    assert!(String::from_utf8_lossy(&o.stderr).starts_with("error: invalid value '-3' for '--epochs"));
    // A run that would train nothing is refused before its folder is made: no epochs (GANOCC
    // would have no ensemble, the others would report their initial weights), no ICS
    // iterations, an untrained autoencoder where it is the model or makes the split, no
    // synthetic samples for GANOCC's D_k to reject.
    let out = tmp("no-epochs");
    for (method, flags, says) in [
        ("ganocc", ["--epochs", "0"], "--epochs must be ≥ 1 for ganocc"),
        ("dsvdd", ["--epochs", "0"], "--epochs must be ≥ 1 for dsvdd"),
        ("minlgan", ["--epochs", "0"], "--epochs must be ≥ 1 for minlgan"),
        ("ics", ["--iterations", "0"], "--iterations must be ≥ 1 for ics"),
        ("dcae", ["--pretrain-epochs", "0"], "--pretrain-epochs must be ≥ 1 for dcae"),
        ("ganocc", ["--ganocc-pool", "0"], "--ganocc-pool must lie in 1..=262144"),
        // Sizes that would abort on a failed allocation are refused instead.
        ("ganocc", ["--ganocc-pool", "1000000000"], "--ganocc-pool must lie in 1..=262144"),
        ("ganocc", ["--z-dim", "1000000000"], "--z-dim must lie in 1..=65536"),
        ("ocnn", ["--ocnn-hidden", "1000000000"], "--ocnn-hidden must lie in 1..=65536"),
        ("dsvdd", ["--seeds", "18446744073709551615"], "--seeds must lie in 1..=10000"),
        // A preset a method has no configuration for.
        ("ocnn", ["--preset", "authors"], "--preset authors: ocnn has no released code that oneclass follows"),
    ] {
        let o = train(&[&["--method", method, "--quiet", "--out", out.to_str().unwrap()][..], &flags].concat());
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.starts_with(&format!("error: {says}")), "{err}");
        assert!(!out.exists(), "the refused run left {}", out.display());
    }
    // `--out` naming a file: said so, and the file is left as it was.
    std::fs::create_dir_all(&out).unwrap();
    let file = out.join("notes.txt");
    std::fs::write(&file, "mine").unwrap();
    let o = train(&["--method", "dsvdd", "--quiet", "--out", file.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("--out names a file, not a folder"), "{err}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "mine");
    let _ = std::fs::remove_dir_all(&out);
    let o =
        Command::new(env!("CARGO_BIN_EXE_score")).args(["--model", "/nonexistent/model.safetensors"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).starts_with("error: /nonexistent/model.safetensors"));
}

#[test]
fn a_run_never_overwrites_another_runs_folder_or_model() {
    let out = tmp("occupied");
    let o_str = out.to_str().unwrap();
    let base = ["--method", "dsvdd", "--epochs", "1", "--pretrain-epochs", "0", "--quiet", "--out", o_str];
    let first = train(&base);
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let files = ["results.json", "checkpoint.safetensors", "model.safetensors", "scores.csv"];
    let before: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(out.join(f)).unwrap()).collect();
    // Other settings, or another method: refused before anything is written.
    for extra in [&["--lr", "1e30"][..], &["--method", "dcae", "--pretrain-epochs", "1"]] {
        let o = train(&[&base[..], extra].concat());
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains("holds a run with other settings"), "{err}");
        let after: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(out.join(f)).unwrap()).collect();
        assert!(after == before, "{extra:?} changed the earlier run's files");
    }
    assert!(String::from_utf8_lossy(
        &train(&[&base[..], &["--method", "dcae", "--pretrain-epochs", "1"]].concat()).stderr
    )
    .contains("(method \"dsvdd\" → \"dcae\")"));
    // The same command again replaces the run with itself.
    let again = train(&base);
    assert!(again.status.success(), "{}", String::from_utf8_lossy(&again.stderr));
    assert_eq!(auc_line(&again), auc_line(&first));
    // A protocol does not go into a single run's folder, nor a single run into a protocol's,
    // nor a protocol into one of other settings.
    let o = train(&[&base[..], &["--seeds", "2"]].concat());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("holds a single run"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let proto = tmp("occupied-protocol");
    let p_str = proto.to_str().unwrap();
    let seeds =
        ["--method", "dsvdd", "--epochs", "1", "--pretrain-epochs", "0", "--quiet", "--seeds", "2", "--out", p_str];
    assert!(train(&seeds).status.success());
    let o = train(&[&base[..], &["--out", p_str]].concat());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("holds a protocol of runs"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = train(&[&seeds[..], &["--seed", "10", "--lr", "1e-3"]].concat());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("holds a run with other settings (config.lr: 0.0001 → 0.001)"), "{err}");
    let _ = std::fs::remove_dir_all(&proto);
    // `score` never writes its CSV over a model, nor into a folder name.
    let model = out.join("model.safetensors");
    for target in [model.clone(), out.join("other.safetensors"), out.clone(), out.join("roc.png")] {
        let o = score(&["--model", model.to_str().unwrap(), "--out", target.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.starts_with("error: ") && err.contains("--out"), "{err}");
    }
    assert_eq!(std::fs::read(&model).unwrap(), before[2], "the model was overwritten");
    let _ = std::fs::remove_dir_all(&out);
}

/// `--preset reference` is the paper preset's earlier name: the same configuration, so the same
/// run; `--preset paper-text` (the Deep SVDD paper's stated schedule and slope) is another.
#[test]
fn the_reference_preset_is_the_paper_preset_and_paper_text_another() {
    let out = tmp("presets");
    let o_str = out.to_str().unwrap();
    let run = |preset: &str| {
        train(&[
            "--method",
            "dsvdd",
            "--preset",
            preset,
            "--pretrain-epochs",
            "1",
            "--epochs",
            "1",
            "--quiet",
            "--out",
            o_str,
        ])
    };
    let paper = run("paper");
    assert!(paper.status.success(), "{}", String::from_utf8_lossy(&paper.stderr));
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    assert_eq!(results["config"]["leaky_slope"], 0.01);
    assert_eq!(results["config"]["dictionary_init"], true);
    let reference = run("reference");
    assert!(reference.status.success(), "{}", String::from_utf8_lossy(&reference.stderr));
    assert_eq!(auc_line(&reference), auc_line(&paper));
    let text = run("paper-text");
    let err = String::from_utf8_lossy(&text.stderr);
    assert_eq!(text.status.code(), Some(2), "{err}");
    assert!(err.contains("holds a run with other settings (config."), "{err}");
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn flags_the_method_does_not_read_are_warned_about() {
    // The missing data folder ends each run right after the flags are read.
    let missing = ["--dataset", "mnist", "--data", "/nonexistent/folder"];
    let o = train(&[&["--method", "ganocc", "--rho", "0.2", "--nu", "0.1", "--z-dim", "50"][..], &missing].concat());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("warning: --rho is read by --method ics only; --method ganocc ignores it"), "{err}");
    assert!(err.contains("warning: --nu is read by --method dsvdd-soft / ocnn only"), "{err}");
    assert!(!err.contains("--z-dim"), "GANOCC reads --z-dim: {err}");
    assert!(err.contains("\nerror: /nonexistent/folder"), "{err}");
    // An ignored flag's value is neither used nor recorded as used, nor checked (ν 0 would be
    // refused by OC-NN).
    let out = tmp("ignored-flag");
    let o = train(&[
        "--method",
        "dcae",
        "--pretrain-epochs",
        "1",
        "--epochs",
        "7",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    assert_ne!(results["config"]["epochs"], 7, "results.json records an ignored --epochs");
    let _ = std::fs::remove_dir_all(&out);
    let o = train(&[&["--method", "dsvdd", "--nu", "0"][..], &missing].concat());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("--method dsvdd ignores it") && err.contains("\nerror: /nonexistent/folder"), "{err}");
    let o = train(&[&["--method", "ics", "--rho", "0.2", "--iterations", "5"][..], &missing].concat());
    assert!(!String::from_utf8_lossy(&o.stderr).contains("warning"), "{}", String::from_utf8_lossy(&o.stderr));
    // The shared flags some methods do not read, and the flag they read instead.
    let o = train(&[&["--method", "dcae", "--epochs", "2", "--lr", "3e-3"][..], &missing].concat());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("--method dcae ignores it (it reads --pretrain-epochs)"), "{err}");
    assert!(err.contains("--method dcae ignores it (it reads --pretrain-lr)"), "{err}");
    let o = train(&[&["--method", "minlgan", "--pretrain-epochs", "4", "--leaky-slope", "0.5"][..], &missing].concat());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("warning: --pretrain-epochs is read by --method dsvdd / dsvdd-soft / ocnn / ics / dcae only"),
        "{err}"
    );
    assert!(err.contains("warning: --leaky-slope is read by"), "{err}");
}

#[test]
fn device_gpu_without_an_adapter_is_an_error_with_status_2() {
    // `WGPU_BACKEND=gl` narrows the search to a backend this build does not include: no adapter.
    let o = Command::new(env!("CARGO_BIN_EXE_train"))
        .args(["--method", "dsvdd", "--device", "gpu", "--quiet"])
        .env("WGPU_BACKEND", "gl")
        .env_remove("ONECLASS_REQUIRE_GPU")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.starts_with("error: --device gpu: no GPU adapter found"), "{err}");
    // `auto` falls back to the CPU (checked quickly: one epoch, no pretraining).
    let dir = std::env::temp_dir().join(format!("oneclass-cli-auto-{}", std::process::id()));
    let o = Command::new(env!("CARGO_BIN_EXE_train"))
        .args(["--method", "dsvdd", "--device", "auto", "--epochs", "1", "--pretrain-epochs", "0", "--quiet", "--out"])
        .arg(&dir)
        .env("WGPU_BACKEND", "gl")
        .env_remove("ONECLASS_REQUIRE_GPU")
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn resume_without_an_earlier_run_is_an_error() {
    // A missing folder and an empty one alike: neither holds a run to continue.
    let out = tmp("resume-nothing");
    for made in [false, true] {
        if made {
            std::fs::create_dir_all(&out).unwrap();
        }
        let o = train(&["--method", "dsvdd", "--quiet", "--resume", "--out", out.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains("--resume: no earlier run in this folder"), "{err}");
        assert_eq!(out.is_dir(), made, "the refused run changed {}", out.display());
    }
    assert!(out.read_dir().unwrap().next().is_none(), "the refused run wrote into {}", out.display());
}

#[test]
fn a_killed_run_resumes_to_the_same_auc_as_an_uninterrupted_one() {
    let (full, cut) = (tmp("full"), tmp("cut"));
    let args = [
        "--method",
        "dsvdd-soft",
        "--normal-class",
        "0",
        "--pretrain-epochs",
        "3",
        "--epochs",
        "15",
        "--quiet",
        "--out",
    ];
    let reference = train(&[&args[..], &[full.to_str().unwrap()]].concat());
    assert!(reference.status.success());

    // Kill it in the middle of the Deep SVDD phase, after its second epoch's checkpoint.
    interrupt_train(&args, &cut, |phase, done| phase == "dsvdd-soft" && done >= 2);

    let resumed = train(&[&args[..], &[cut.to_str().unwrap(), "--resume"]].concat());
    assert!(resumed.status.success(), "{}", String::from_utf8_lossy(&resumed.stderr));
    assert_eq!(auc_line(&resumed), auc_line(&reference));
    assert_eq!(std::fs::read(full.join("scores.csv")).unwrap(), std::fs::read(cut.join("scores.csv")).unwrap());

    // `--resume` with other settings neither reuses the finished run nor continues its checkpoint.
    let other = [&args[..], &[cut.to_str().unwrap(), "--resume", "--lr", "0.01"]].concat();
    for written in ["results.json", "checkpoint.safetensors"] {
        let o = train(&other);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains(written) && err.contains("other settings (config.lr: "), "{err}");
        std::fs::remove_file(cut.join("results.json")).ok();
    }
    let _ = (std::fs::remove_dir_all(&full), std::fs::remove_dir_all(&cut));
}
