//! Every bad-input case of the data issue, through the `train` binary as a user meets it:
//! `error: <file>: <what is wrong>` on stderr, exit status 2, no panic.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("oneclass-bad-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn idx_images(n: u32, rows: u32) -> Vec<u8> {
    let mut v = vec![0, 0, 8, 3];
    for d in [n, rows, rows] {
        v.extend_from_slice(&d.to_be_bytes());
    }
    v.extend((0..n * rows * rows).map(|i| (i % 251) as u8));
    v
}

fn idx_labels(labels: &[u8]) -> Vec<u8> {
    let mut v = vec![0, 0, 8, 1];
    v.extend_from_slice(&(labels.len() as u32).to_be_bytes());
    v.extend_from_slice(labels);
    v
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    // A stored (uncompressed) deflate stream inside a gzip wrapper: valid gzip, no dependency.
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];
    let chunks: Vec<&[u8]> = bytes.chunks(65535).collect();
    for (i, c) in chunks.iter().enumerate() {
        out.push((i + 1 == chunks.len()) as u8);
        let len = c.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(c);
    }
    let crc = crc32(bytes);
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// Writes an MNIST-layout folder: train/test images and labels (raw IDX), then lets `edit`
/// spoil one file.
fn mnist_dir(name: &str, edit: impl FnOnce(&Path)) -> PathBuf {
    let d = dir(name);
    let labels: Vec<u8> = (0..20).map(|i| (i % 10) as u8).collect();
    for prefix in ["train", "t10k"] {
        std::fs::write(d.join(format!("{prefix}-images-idx3-ubyte")), idx_images(20, 28)).unwrap();
        std::fs::write(d.join(format!("{prefix}-labels-idx1-ubyte")), idx_labels(&labels)).unwrap();
    }
    edit(&d);
    d
}

fn expect_error(args: &[&str], needle: &str) {
    let o = Command::new(env!("CARGO_BIN_EXE_train"))
        .args(["--method", "dsvdd", "--epochs", "1", "--pretrain-epochs", "0", "--quiet"])
        .args(args)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    assert!(err.contains("error: ") && err.contains(needle), "{args:?}: expected {needle:?} in {err}");
    assert!(!err.contains("panicked"), "{args:?}: {err}");
}

/// A one-epoch Deep SVDD run on a CSV file, writing to `out`.
fn train_csv(csv: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_train"))
        .args(["--method", "dsvdd", "--epochs", "1", "--pretrain-epochs", "0", "--quiet", "--dataset", "csv"])
        .args(["--data", csv.to_str().unwrap(), "--out", out.to_str().unwrap()])
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn score_refuses_another_normal_class_on_tabular_data() {
    // Label 0 is the normal class of tabular data; scoring with another would invert the AUC.
    let d = dir("tabular-class");
    let csv = d.join("t.csv");
    // The label in the first column: `score` must remember `--label 0` from training.
    let rows: String = (0..60).map(|i| format!("{},{},{}\n", (i % 6 == 0) as u8, i % 7, i % 5)).collect();
    std::fs::write(&csv, rows).unwrap();
    let out = d.join("run");
    let o = Command::new(env!("CARGO_BIN_EXE_train"))
        .args(["--method", "dsvdd", "--epochs", "1", "--pretrain-epochs", "0", "--quiet", "--dataset", "csv", "--data"])
        .args([csv.to_str().unwrap(), "--label", "0", "--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let last_line = |o: &std::process::Output| String::from_utf8_lossy(&o.stdout).lines().last().map(String::from);
    let trained = last_line(&o);
    assert!(trained.as_deref().is_some_and(|l| l.starts_with("AUC-ROC ")), "{trained:?}");
    let model = out.join("model.safetensors");
    let score = |class: &str| {
        Command::new(env!("CARGO_BIN_EXE_score"))
            .args(["--model", model.to_str().unwrap(), "--data", csv.to_str().unwrap(), "--normal-class", class])
            .output()
            .unwrap()
    };
    let o = score("1");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.starts_with("error: --normal-class: this model was trained on data labelled 0/1"), "{err}");
    let o = score("0");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(last_line(&o), trained, "score read another label column");
    // By default beside the model, without overwriting the training run's scores.csv.
    assert!(out.join("rescored.csv").is_file() && out.join("scores.csv").is_file());
    assert!(out.join("rescored.png").is_file(), "score draws its histogram beside the CSV");
    // Without --data: the model remembers where its data were read.
    let o = Command::new(env!("CARGO_BIN_EXE_score")).args(["--model", model.to_str().unwrap()]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(last_line(&o), trained);

    // `--input`: every row of a file, labelled through --label (then an AUC line) or not.
    let score_file = |file: &std::path::Path, label: Option<&str>, to: &str| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_score"));
        c.args(["--model", model.to_str().unwrap(), "--input", file.to_str().unwrap()]);
        c.args(["--out", d.join(to).to_str().unwrap()]);
        if let Some(l) = label {
            c.args(["--label", l]);
        }
        c.output().unwrap()
    };
    let o = score_file(&csv, Some("0"), "labelled.csv");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(last_line(&o).is_some_and(|l| l.starts_with("AUC-ROC ")));
    let features = d.join("features.csv");
    let rows: String = (0..60).map(|i| format!("{},{}\n", i % 7, i % 5)).collect();
    std::fs::write(&features, rows).unwrap();
    let o = score_file(&features, None, "unlabelled.csv");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let scores = |name: &str| -> Vec<String> {
        let text = std::fs::read_to_string(d.join(name)).unwrap();
        text.lines().skip(1).map(|l| l.split(',').take(2).collect::<Vec<_>>().join(",")).collect()
    };
    let unlabelled = scores("unlabelled.csv");
    assert_eq!(unlabelled.len(), 60);
    assert_eq!(unlabelled, scores("labelled.csv"));
    assert!(d.join("unlabelled.png").is_file(), "unlabelled scores get a histogram too");
    // A new CSV whose .png name holds someone's picture: refused, the picture kept.
    std::fs::write(d.join("photo.png"), b"not ours").unwrap();
    let o = score_file(&features, None, "photo.csv");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("photo.png exists and the score histogram would replace it"), "{err}");
    assert_eq!(std::fs::read(d.join("photo.png")).unwrap(), b"not ours");
    assert!(!d.join("photo.csv").exists());
    // Labels other than 0/1 need --normal-class to say which one is normal.
    let three = d.join("three.csv");
    let rows: String = (0..60).map(|i| format!("{},{},{}\n", i % 3, i % 7, i % 5)).collect();
    std::fs::write(&three, rows).unwrap();
    let o = score_file(&three, Some("0"), "three-scores.csv");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("label 2 is neither 0 (normal) nor 1 (anomalous): pass --normal-class"), "{err}");
    let o = Command::new(env!("CARGO_BIN_EXE_score"))
        .args(["--model", model.to_str().unwrap(), "--input", three.to_str().unwrap(), "--label", "0"])
        .args(["--normal-class", "2", "--out", d.join("three.csv.out").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(d.join("three.csv.out")).unwrap();
    // A normal class the file does not have is an error, not "AUC undefined".
    let o = Command::new(env!("CARGO_BIN_EXE_score"))
        .args(["--model", model.to_str().unwrap(), "--input", three.to_str().unwrap(), "--label", "0"])
        .args(["--normal-class", "7", "--out", d.join("seven.csv").to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("--normal-class 7: no sample of") && err.contains("is labelled 7"), "{err}");
    // Rows 2, 5, 8, … (label 2) are the normal ones now.
    let flags: Vec<&str> = text.lines().skip(1).take(3).map(|l| l.rsplit(',').next().unwrap()).collect();
    assert_eq!(flags, ["1", "1", "0"]);
    // A model whose metadata names another method than its config: refused, not guessed at.
    let mut edited = engine::safetensors::load(&model, engine::Device::Cpu).unwrap();
    edited.metadata.insert("method".into(), "ocnn".into());
    let tensors: Vec<(&str, &engine::Tensor)> = edited.tensors.iter().map(|(n, t)| (n.as_str(), t)).collect();
    let edited_path = d.join("edited.safetensors");
    engine::safetensors::save(&edited_path, &tensors, &edited.metadata).unwrap();
    let o =
        Command::new(env!("CARGO_BIN_EXE_score")).args(["--model", edited_path.to_str().unwrap()]).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("metadata \"method\" says \"ocnn\" but its config is for \"dsvdd\""), "{err}");
    // The training data gone: said so, rather than a bare "needs --data".
    std::fs::remove_file(&csv).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_score")).args(["--model", model.to_str().unwrap()]).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("which is not there any more: pass --data"), "{err}");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_numeric_csv_header_said_at_training_is_remembered_by_score() {
    // Column names that are numbers are read as a sample unless `--csv-header yes` says
    // otherwise; the model keeps the setting, so `score` splits the file as training did.
    let d = dir("numeric-header");
    let csv = d.join("t.csv");
    let rows: String = (0..60).map(|i| format!("{},{},{}\n", i % 7, i % 5, (i % 6 == 0) as u8)).collect();
    std::fs::write(&csv, format!("400,410,1\n{rows}")).unwrap();
    let out = d.join("run");
    let train = |extra: &[&str]| train_csv(&csv, &out, extra);
    let o = train(&["--csv-header", "yes"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    // 50 normals (80 % train) and 10 anomalies: the header is no sample.
    assert_eq!((results["n_train"].as_u64(), results["n_test"].as_u64()), (Some(40), Some(20)), "{results}");
    assert_eq!(results["csv_header"], "yes", "{results}");
    let model = out.join("model.safetensors");
    let score = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_score"))
            .args(["--model", model.to_str().unwrap(), "--out", d.join("s.csv").to_str().unwrap()])
            .args(extra)
            .output()
            .unwrap()
    };
    let last = |o: &std::process::Output| String::from_utf8_lossy(&o.stdout).lines().last().map(String::from);
    let o2 = score(&[]);
    assert!(o2.status.success(), "{}", String::from_utf8_lossy(&o2.stderr));
    assert_eq!(last(&o2), last(&o));
    // Said otherwise at scoring, the header row is a 61st sample: another split, another AUC
    // or an error, never silently the training run's.
    let o3 = score(&["--csv-header", "no"]);
    assert!(o3.status.code() == Some(2) || last(&o3) != last(&o), "{}", String::from_utf8_lossy(&o3.stdout));
    let o4 = score(&["--csv-header", "maybe"]);
    let err = String::from_utf8_lossy(&o4.stderr);
    assert_eq!(o4.status.code(), Some(2), "{err}");
    assert!(err.contains("error: --csv-header: \"maybe\" is not one of yes, no, auto"), "{err}");
    // A setting that changes the data is part of the run's identity: no resume across it.
    let o5 = train(&["--csv-header", "no", "--resume"]);
    let err = String::from_utf8_lossy(&o5.stderr);
    assert_eq!(o5.status.code(), Some(2), "{err}");
    assert!(err.contains("csv_header"), "{err}");
    expect_error(&["--csv-header", "yes"], "--csv-header is for --dataset csv");
    // `--out` never lands on data or results: only a new file or an earlier scores file.
    let data_before = std::fs::read(&csv).unwrap();
    for target in [csv.clone(), out.join("results.json"), out.join("MODEL.SAFETENSORS"), d.join("x.PNG")] {
        let o = Command::new(env!("CARGO_BIN_EXE_score"))
            .args(["--model", model.to_str().unwrap(), "--out", target.to_str().unwrap()])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{target:?}: {err}");
        assert!(err.starts_with("error: "), "{err}");
    }
    assert_eq!(std::fs::read(&csv).unwrap(), data_before, "the training data were overwritten");
    assert!(std::fs::read_to_string(out.join("results.json")).unwrap().starts_with('{'));
    let again = score(&[]);
    assert!(again.status.success(), "an earlier scores file is replaced: {}", String::from_utf8_lossy(&again.stderr));
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn normal_class_all_on_tabular_data_writes_the_protocol_summary() {
    // DESIGN.md: `--normal-class all` gives one folder per class and seed plus the summary, even
    // where tabular data has its one normal class (it used to end as a single plain run).
    let d = dir("tabular-all");
    let csv = d.join("t.csv");
    let rows: String = (0..60).map(|i| format!("{},{},{}\n", i % 7, i % 5, (i % 6 == 0) as u8)).collect();
    std::fs::write(&csv, rows).unwrap();
    let out = d.join("run");
    let o = train_csv(&csv, &out, &["--normal-class", "all"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.join("classnormal-seed0").join("results.json").is_file());
    let summary = || -> (Vec<u64>, String) {
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
        let seeds = json["runs"].as_array().unwrap().iter().map(|r| r["seed"].as_u64().unwrap()).collect();
        (seeds, std::fs::read_to_string(out.join("summary.md")).unwrap())
    };
    let (seeds, md) = summary();
    assert_eq!(seeds, [0]);
    assert!(md.contains("| normal (label 0) |") && md.contains("| **mean** |"), "{md}");
    // More seeds in the same folder, then one of them again: the summary keeps every run.
    assert!(train_csv(&csv, &out, &["--normal-class", "all", "--seeds", "3"]).status.success());
    assert_eq!(summary().0, [0, 1, 2]);
    let o = train_csv(&csv, &out, &["--normal-class", "all", "--seed", "1"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (seeds, md) = summary();
    assert_eq!(seeds, [0, 1, 2], "a smaller protocol replaced the summary of a larger one");
    assert!(md.contains(" 3 |\n"), "{md}");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn multi_class_tabular_data_takes_a_normal_class() {
    // Labels 0, 1, 2: `--normal-class 2` makes label 2 normal and the others anomalies (as the
    // npz error's hint says), `all` runs each class; on 0/1 labels only label 0 is normal.
    let d = dir("tabular-multi");
    let csv = d.join("t.csv");
    let rows: String = (0..90).map(|i| format!("{},{},{}\n", (i % 3) * 10 + i % 7, i % 5, i % 3)).collect();
    std::fs::write(&csv, rows).unwrap();
    let train = |extra: &[&str], out: &Path| train_csv(&csv, out, extra);
    let o = train(&[], &d.join("none"));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("label 2") && err.contains("give a normal class"), "{err}");
    assert!(!d.join("none").exists(), "the refused run left its folder");
    let one = d.join("two");
    let o = train(&["--normal-class", "2"], &one);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(one.join("results.json")).unwrap()).unwrap();
    assert_eq!(results["normal_class"], 2);
    // 80 % of the 30 normals train; the test has the other 6 and all 60 anomalies.
    assert_eq!((results["n_train"].as_u64(), results["n_test"].as_u64()), (Some(24), Some(66)));
    // `score` takes the saved class, so it reproduces the training AUC.
    let o2 = Command::new(env!("CARGO_BIN_EXE_score"))
        .args(["--model", one.join("model.safetensors").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o2.status.success(), "{}", String::from_utf8_lossy(&o2.stderr));
    let last = |o: &std::process::Output| String::from_utf8_lossy(&o.stdout).lines().last().map(String::from);
    assert_eq!(last(&o2), last(&o));
    let all = d.join("all");
    let o = train(&["--normal-class", "all"], &all);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for c in 0..3 {
        assert!(all.join(format!("class{c}-seed0")).join("results.json").is_file(), "class {c}");
    }
    let binary = d.join("binary.csv");
    let rows: String = (0..60).map(|i| format!("{},{},{}\n", i % 7, i % 5, (i % 6 == 0) as u8)).collect();
    std::fs::write(&binary, rows).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_train"))
        .args(["--method", "dsvdd", "--epochs", "1", "--pretrain-epochs", "0", "--quiet", "--dataset", "csv"])
        .args(["--data", binary.to_str().unwrap(), "--normal-class", "1", "--out", d.join("b").to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.starts_with("error: --normal-class: in data labelled 0/1 label 0 is the normal class"), "{err}");
    // Another file's run into the same folder: refused, naming the files.
    let o = Command::new(env!("CARGO_BIN_EXE_train"))
        .args(["--method", "dsvdd", "--epochs", "1", "--pretrain-epochs", "0", "--quiet", "--dataset", "csv"])
        .args(["--data", binary.to_str().unwrap(), "--out", one.to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("holds a run with other settings (data_file: \"t.csv\" → \"binary.csv\")"), "{err}");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn one_label_column_spelt_two_ways_is_one_run() {
    // `--label y`, `--label 2` and the default (the last column) name one column of this file:
    // a run with any of them is the same run, and `--resume` reuses it; another column
    // is another run.
    let d = dir("label-spellings");
    let csv = d.join("t.csv");
    let rows: String = (0..60).map(|i| format!("{},{},{}\n", i % 7, (i % 3 == 0) as u8, (i % 6 == 0) as u8)).collect();
    std::fs::write(&csv, format!("a,b,y\n{rows}")).unwrap();
    let out = d.join("run");
    let first = train_csv(&csv, &out, &[]);
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let last = |o: &std::process::Output| String::from_utf8_lossy(&o.stdout).lines().last().map(String::from);
    for extra in [&["--label", "y"][..], &["--label", "2", "--resume"], &["--label", "last", "--csv-header", "yes"]] {
        let o = train_csv(&csv, &out, extra);
        assert!(o.status.success(), "{extra:?}: {}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(last(&o), last(&first), "{extra:?}");
    }
    let o = train_csv(&csv, &out, &["--label", "b"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("other settings (label: \"column 2\" → \"column 1\")"), "{err}");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_data_set_without_anomalies_is_refused_before_training() {
    let d = dir("normals-only");
    let csv = d.join("normals.csv");
    let rows: String = (0..40).map(|i| format!("{},{},0\n", i % 7, i % 5)).collect();
    std::fs::write(&csv, rows).unwrap();
    let out = d.join("run");
    expect_error(
        &["--dataset", "csv", "--data", csv.to_str().unwrap(), "--out", out.to_str().unwrap()],
        "no anomalies",
    );
    assert!(!out.join("checkpoint.safetensors").exists(), "it trained before finding out");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn broken_idx_folders_are_reported_with_the_file_at_fault() {
    let ok = mnist_dir("ok", |_| {});
    let o = Command::new(env!("CARGO_BIN_EXE_train"))
        .args([
            "--method",
            "dcae",
            "--dataset",
            "mnist",
            "--data",
            ok.to_str().unwrap(),
            "--pretrain-epochs",
            "1",
            "--quiet",
        ])
        .args(["--out", ok.join("run").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "the well-formed folder must train: {}", String::from_utf8_lossy(&o.stderr));

    let truncated = mnist_dir("truncated", |d| {
        let p = d.join("train-images-idx3-ubyte");
        let b = std::fs::read(&p).unwrap();
        std::fs::write(&p, &b[..b.len() / 2]).unwrap();
    });
    expect_error(&["--dataset", "mnist", "--data", truncated.to_str().unwrap()], "train-images-idx3-ubyte");

    let magic = mnist_dir("magic", |d| {
        let p = d.join("t10k-labels-idx1-ubyte");
        let mut b = std::fs::read(&p).unwrap();
        b[0] = 0x42;
        std::fs::write(&p, b).unwrap();
    });
    expect_error(&["--dataset", "mnist", "--data", magic.to_str().unwrap()], "t10k-labels-idx1-ubyte");

    let mismatch = mnist_dir("mismatch", |d| {
        std::fs::write(d.join("train-labels-idx1-ubyte"), idx_labels(&[1, 2, 3])).unwrap();
    });
    expect_error(&["--dataset", "mnist", "--data", mismatch.to_str().unwrap()], "train-labels-idx1-ubyte");

    let out_of_range = mnist_dir("range", |d| {
        let labels: Vec<u8> = (0..20).map(|i| if i == 7 { 200 } else { (i % 10) as u8 }).collect();
        std::fs::write(d.join("train-labels-idx1-ubyte"), idx_labels(&labels)).unwrap();
    });
    expect_error(&["--dataset", "mnist", "--data", out_of_range.to_str().unwrap()], "train-labels-idx1-ubyte");

    let gz = mnist_dir("gzip", |d| {
        let p = d.join("train-images-idx3-ubyte");
        let mut g = gzip(&std::fs::read(&p).unwrap());
        std::fs::remove_file(&p).unwrap();
        let n = g.len();
        g[n - 6] ^= 0xff; // corrupt the CRC
        std::fs::write(d.join("train-images-idx3-ubyte.gz"), g).unwrap();
    });
    expect_error(&["--dataset", "mnist", "--data", gz.to_str().unwrap()], "train-images-idx3-ubyte.gz");

    let empty = mnist_dir("empty", |d| {
        let labels: Vec<u8> = (0..20).map(|i| if i % 10 == 3 { 4 } else { (i % 10) as u8 }).collect();
        std::fs::write(d.join("train-labels-idx1-ubyte"), idx_labels(&labels)).unwrap();
    });
    expect_error(&["--dataset", "mnist", "--data", empty.to_str().unwrap(), "--normal-class", "3"], "class 3");

    expect_error(&["--dataset", "mnist", "--data", ok.to_str().unwrap(), "--normal-class", "11"], "11");
    expect_error(&["--dataset", "mnist", "--data", "/nonexistent/mnist"], "/nonexistent/mnist");
    for d in [ok, truncated, magic, mismatch, out_of_range, gz, empty] {
        let _ = std::fs::remove_dir_all(d);
    }
}

#[test]
fn broken_tabular_files_are_reported_with_the_file_at_fault() {
    let d = dir("tabular");
    let ragged = d.join("ragged.csv");
    std::fs::write(&ragged, "a,b,label\n1,2,0\n3,0\n5,6,1\n").unwrap();
    expect_error(&["--dataset", "csv", "--data", ragged.to_str().unwrap()], "ragged.csv");

    let nan = d.join("nan.csv");
    let mut f = std::fs::File::create(&nan).unwrap();
    writeln!(f, "a,b,label").unwrap();
    for i in 0..20 {
        writeln!(f, "{},{},{}", if i == 4 { "nan".to_string() } else { i.to_string() }, i * 2, (i % 5 == 0) as u8)
            .unwrap();
    }
    drop(f);
    expect_error(&["--dataset", "csv", "--data", nan.to_str().unwrap()], "nan.csv");

    let zip = d.join("corrupt.npz");
    let mut bytes =
        std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/adbench/4_breastw.npz")).unwrap();
    let mid = bytes.len() / 2;
    for b in &mut bytes[mid..mid + 64] {
        *b ^= 0x5a;
    }
    std::fs::write(&zip, bytes).unwrap();
    expect_error(&["--dataset", "npz", "--data", zip.to_str().unwrap()], "corrupt.npz");

    let not_zip = d.join("text.npz");
    std::fs::write(&not_zip, "this is not a zip archive").unwrap();
    expect_error(&["--dataset", "npz", "--data", not_zip.to_str().unwrap()], "text.npz");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_run_refused_after_the_data_load_leaves_no_empty_folder() {
    // `--dictionary-init on` is checked against the data, after the run folder was made.
    let d = dir("refused-late");
    let csv = d.join("t.csv");
    let rows: String = (0..40).map(|i| format!("{},{},{}\n", i % 7, i % 5, (i % 8 == 0) as u8)).collect();
    std::fs::write(&csv, rows).unwrap();
    let out = d.join("runs").join("one");
    let dcae = |out: &Path| {
        Command::new(env!("CARGO_BIN_EXE_train"))
            .args(["--method", "dcae", "--epochs", "1", "--dictionary-init", "on", "--quiet", "--dataset", "csv"])
            .args(["--data", csv.to_str().unwrap(), "--out", out.to_str().unwrap()])
            .output()
            .unwrap()
    };
    let o = dcae(&out);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("--dictionary-init on needs image data"), "{err}");
    assert!(!out.exists(), "the refused run left {}", out.display());
    // The folder `--out` names goes with it when the run made it, but not a folder that was there.
    assert!(!d.join("runs").exists(), "the refused run left {}", d.join("runs").display());
    std::fs::create_dir_all(&out).unwrap();
    assert_eq!(dcae(&out).status.code(), Some(2));
    assert!(out.is_dir(), "a folder the user made was removed");
}
