//! The papers' protocol as a program: for each normal class and seed, split the data, train a
//! detector, score the test set, and write what a person wants to see — results, scores,
//! weights, ROC curve, loss curve, the most normal and most anomalous test images — then, over
//! several runs, a summary in the papers' table layout.

use crate::checkpoint;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::methods::{build, Detector};
use crate::metrics::{auc_pr, auc_roc, roc_curve};
use crate::nets::InputKind;
use crate::report::{image_grid, line_plot_scaled, roc_plot, score_histogram, write_scores_csv, Series, YScale};
use crate::run::Run;
use datasets::{split, Header, LabelColumn, Loaded, OneClassSplit, Preprocessing, ProtocolConfig, Scaling};
use engine::{safetensors, Device};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// One run's identity and settings.
#[derive(Clone, Debug)]
pub struct RunSpec {
    pub dataset: String,
    pub normal_class: Option<i64>,
    pub seed: u64,
    pub device: Device,
    pub contamination: f64,
    /// `--label` as given (CSV data), saved with the model so `score` reads the same column.
    pub label: Option<String>,
    /// `--csv-header` (CSV data; `None`: detected), saved with the model like `label`.
    pub csv_header: Option<Header>,
    /// Where the data came from (`--data`, made absolute), saved with the model so `score` finds
    /// it again by default; not part of the run's identity (the same files may move).
    pub data: Option<PathBuf>,
    pub out: PathBuf,
    pub quiet: bool,
    /// Continue from `out/checkpoint.safetensors`; a run whose `results.json` exists is reused.
    pub resume: bool,
}

/// What a finished run reports.
#[derive(Clone, Debug)]
pub struct RunResult {
    pub normal_class: Option<i64>,
    pub seed: u64,
    pub auc_roc: f64,
    pub auc_pr: f64,
    pub json: Value,
}

/// The preprocessing each method and kind of data gets: Deep SVDD's protocol for images (global
/// contrast normalisation + min-max to [0, 1] from the normal class's training data); [-1, 1]
/// for the GAN methods, whose image generators end in tanh; the pixels as loaded for ICS;
/// standardisation fitted on training normals for tabular data.
pub fn scaling_for(method: &str, input: InputKind) -> Scaling {
    match input {
        InputKind::Tabular(_) => Scaling::Standardise,
        _ if matches!(method, "ganocc" | "minlgan") => Scaling::MinMaxSymmetric,
        // ICS splits by SSIM, which compares local luminance, contrast and structure: on the
        // pixels as loaded ([0, 1], as the paper's TensorFlow pipeline reads them) its split and
        // classifier beat the GCN + min-max images by 2–6 points (README).
        _ if method == "ics" => Scaling::None,
        _ => Scaling::GcnMinMax,
    }
}

/// `--label COLUMN` (CSV data): a column name or 0-based index.
pub fn label_flag(value: Option<&str>) -> Result<Option<LabelColumn>> {
    value.map(|s| s.parse::<LabelColumn>()).transpose().map_err(|e| Error::config(format!("--label: {e}")))
}

/// `--csv-header yes|no|auto` (CSV data): whether the first line names the columns.
pub fn header_flag(value: Option<&str>) -> Result<Option<Header>> {
    value.map(|s| s.parse::<Header>()).transpose().map_err(|e| Error::config(format!("--csv-header: {e}")))
}

/// MinLGAN stops early and scales its ensemble on held-out normals; GANOCC's `--ganocc-keep
/// best` picks its ensemble prefix on them.
pub fn needs_holdout(cfg: &Config) -> bool {
    cfg.method == "minlgan" || (cfg.method == "ganocc" && cfg.ganocc_keep == crate::config::KeepPolicy::Best)
}

/// A run's protocol: data set, normal class, seed, contamination, CSV label column and header (in
/// `results.json` and the model's metadata).
fn protocol_json(spec: &RunSpec) -> serde_json::Map<String, Value> {
    let mut m: serde_json::Map<String, Value> = [
        ("dataset", json!(spec.dataset)),
        ("normal_class", json!(spec.normal_class)),
        ("seed", json!(spec.seed)),
        ("contamination", json!(spec.contamination)),
        ("label", json!(spec.label)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    // Only a CSV run's: other data sets have no header to read, and runs written before the
    // flag (which lack the field) still compare equal.
    if spec.dataset == "csv" {
        m.insert("csv_header".into(), json!(spec.csv_header.unwrap_or_default().as_str()));
    }
    // A table's file name tells two npz or csv runs apart (an image set's folder does not
    // matter: the same MNIST may sit anywhere).
    if let Some(name) = data_file_name(spec) {
        m.insert("data_file".into(), json!(name));
    }
    m
}

/// The file name of a tabular data set (`npz`, `csv`), without its folder.
pub fn data_file_name(spec: &RunSpec) -> Option<String> {
    let file = spec.data.as_ref().filter(|_| matches!(spec.dataset.as_str(), "npz" | "csv"))?;
    file.file_name().map(|n| n.to_string_lossy().into_owned())
}

/// What makes a run the run it is: its protocol and configuration. `--resume` continues a
/// checkpoint, or reuses a finished `results.json`, only when they were written with the same.
fn identity(cfg: &Config, spec: &RunSpec) -> Value {
    let mut m = protocol_json(spec);
    m.insert("config".into(), cfg.to_json());
    Value::Object(m)
}

/// The first field of `old` whose value `new` does not share, as `config.lr: 0.0001 → 0.001`.
/// Fields `old` lacks (written by an older build) are not compared; [`difference`] first fills in
/// the settings an older build did not write ([`with_old_defaults`]).
fn first_difference(old: &Value, new: &Value, path: &str) -> Option<String> {
    match (old, new) {
        (Value::Object(o), Value::Object(n)) => o.iter().find_map(|(k, v)| {
            let at = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
            first_difference(v, n.get(k).unwrap_or(&Value::Null), &at)
        }),
        _ if old == new => None,
        _ => Some(format!("{path}: {old} → {new}")),
    }
}

/// How a written run's identity differs from this one's: another method first (every other
/// field may differ with it), else the first differing field. `csv`: the data file of a CSV run,
/// whose label column and header are compared as what they resolve to ([`resolved_layout`]).
fn difference(old: &Value, new: &Value, csv: Option<&Path>) -> Option<String> {
    let (was, is) = (&old["config"]["method"], &new["config"]["method"]);
    if !was.is_null() && was != is {
        return Some(format!("method {was} → {is}"));
    }
    first_difference(&resolved_layout(&with_old_defaults(old), csv), &resolved_layout(new, csv), "")
}

/// The data file of a CSV run (the one data set with a label column to choose).
fn csv_file(spec: &RunSpec) -> Option<&Path> {
    spec.data.as_deref().filter(|_| spec.dataset == "csv")
}

/// `identity` with a CSV run's `label` and `csv_header` replaced by the column and header
/// decision they resolve to in `csv`: `--label y`, `--label 3` and the default last column may
/// name one column, and then make one run. Unchanged without a file, or when it cannot be read.
fn resolved_layout(identity: &Value, csv: Option<&Path>) -> Value {
    let (Some(path), Some(label)) = (csv, identity.get("label")) else { return identity.clone() };
    let column: LabelColumn = label.as_str().map(|s| s.parse().expect("infallible")).unwrap_or_default();
    let header = identity["csv_header"].as_str().and_then(|s| s.parse().ok()).unwrap_or_default();
    let Ok((col, has_header)) = datasets::csv_layout(path, &column, header) else { return identity.clone() };
    let mut v = identity.clone();
    if let Some(m) = v.as_object_mut() {
        m.insert("label".into(), json!(format!("column {col}")));
        m.insert("csv_header".into(), json!(if has_header { "yes" } else { "no" }));
    }
    v
}

/// `old` with its configuration completed as a saved model's is ([`Config::from_json`]): a
/// setting an older build did not write takes the value that build ran with. A run written
/// before a default changed (GANOCC's pool: 1024, now 64) is then told apart from one with the
/// new default, instead of being resumed with it half-way.
fn with_old_defaults(old: &Value) -> std::borrow::Cow<'_, Value> {
    match Config::from_json(&old["config"]) {
        Ok(c) => {
            let mut v = old.clone();
            v["config"] = c.to_json();
            std::borrow::Cow::Owned(v)
        }
        Err(_) => std::borrow::Cow::Borrowed(old),
    }
}

/// `--resume` against a run written with other flags: an error naming the first difference.
fn check_same_run(written: &Value, cfg: &Config, spec: &RunSpec, what: &Path) -> Result<()> {
    match difference(written, &identity(cfg, spec), csv_file(spec)) {
        None => Ok(()),
        Some(d) => Err(Error::file(
            what,
            format!("--resume: written by a run with other settings ({d}); resume with the same flags, or use another --out"),
        )),
    }
}

/// The fields of a written `results.json` (or a protocol run in `summary.json`) that make up
/// `current`'s identity.
fn written_identity(json: &Value, current: &Value) -> Value {
    let keys = current.as_object().expect("an object").keys();
    Value::Object(keys.filter_map(|k| json.get(k).map(|v| (k.clone(), v.clone()))).collect())
}

fn read_json(path: &Path) -> Option<Value> {
    std::fs::read_to_string(path).ok().and_then(|t| serde_json::from_str(&t).ok())
}

fn other_settings(out: &Path, d: &str) -> Error {
    Error::file(
        out,
        format!(
            "holds a run with other settings ({d}); use another --out, or delete the folder to replace that run \
             (--resume continues it with its own flags)"
        ),
    )
}

/// Before any run trains, for a single run or a protocol (`protocol`: the runs go into
/// sub-folders of `base` with `summary.json` beside them): that no folder holds a run with other
/// settings, unless resuming, and that the output can be written. A new run in another run's
/// folder would replace its checkpoint at the first epoch and its results only at the end, so a
/// failure in between would leave neither whole; a run with the same settings is replaced
/// (running a command again reproduces it). Nothing is created here: a run refused later (a
/// class the data lack) leaves no empty folder.
pub fn check_out_folders(cfg: &Config, base: &Path, protocol: bool, specs: &[RunSpec]) -> Result<()> {
    if base.exists() && !base.is_dir() {
        return Err(Error::file(base, "--out names a file, not a folder"));
    }
    // A single run and a protocol do not share a folder: the summary would sit beside a model
    // it does not describe, or describe runs of two settings.
    let single = ["results.json", "checkpoint.safetensors"].iter().any(|f| base.join(f).exists());
    if protocol && single {
        return Err(Error::file(base, "holds a single run; use another --out for the protocol's runs"));
    }
    if !protocol && base.join("summary.json").exists() {
        return Err(Error::file(base, "holds a protocol of runs (summary.json); use another --out for a single run"));
    }
    if let (true, Some(first)) = (protocol, specs.first()) {
        // The summary's runs share everything but their class and seed.
        let strip = |mut v: Value| {
            if let Some(m) = v.as_object_mut() {
                m.remove("seed");
                m.remove("normal_class");
            }
            v
        };
        let current = strip(identity(cfg, first));
        let earlier = read_json(&base.join("summary.json")).and_then(|s| s["runs"].get(0).cloned());
        if let Some(d) =
            earlier.and_then(|r| difference(&strip(written_identity(&r, &current)), &current, csv_file(first)))
        {
            return Err(other_settings(base, &d));
        }
    }
    for spec in specs.iter().filter(|s| !s.resume) {
        let (out, current) = (&spec.out, identity(cfg, spec));
        let ckpt = out.join("checkpoint.safetensors");
        let written = read_json(&out.join("results.json"))
            .map(|json| written_identity(&json, &current))
            .or_else(|| checkpoint::load(&ckpt).ok().and_then(|c| c.identity));
        if let Some(d) = written.and_then(|w| difference(&w, &current, csv_file(spec))) {
            return Err(other_settings(out, &d));
        }
    }
    // Writable: a probe file in the nearest folder that exists (the run makes the rest).
    let mut at = base;
    while !at.exists() {
        at = parent_folder(at);
    }
    if !at.is_dir() {
        return Err(Error::file(at, "--out: not a folder, so the output folder cannot be made in it"));
    }
    check_can_write_in(at)
}

/// The folder `path` lies in (`.` for a bare name).
pub fn parent_folder(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// An `--out` error unless a file can be made in `folder` (tried with a probe file, removed at
/// once): a bad output location is found before the work, not after it.
pub fn check_can_write_in(folder: &Path) -> Result<()> {
    let probe = folder.join(format!(".write-test-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(|e| Error::file(folder, format!("--out: cannot write here ({e})")))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// A finished run's result, read back from its `results.json` (for `--resume`); an error when
/// that run had another configuration or protocol.
pub fn finished_run(cfg: &Config, spec: &RunSpec) -> Result<Option<RunResult>> {
    let path = spec.out.join("results.json");
    let Some(json) = std::fs::read_to_string(&path).ok().and_then(|t| serde_json::from_str::<Value>(&t).ok()) else {
        return Ok(None);
    };
    let Some(auc_roc) = json["auc_roc"].as_f64() else { return Ok(None) };
    check_same_run(&written_identity(&json, &identity(cfg, spec)), cfg, spec, &path)?;
    let auc_pr = json["auc_pr"].as_f64().unwrap_or(f64::NAN);
    Ok(Some(RunResult { normal_class: spec.normal_class, seed: spec.seed, auc_roc, auc_pr, json }))
}

/// Splits, trains, scores and writes every output of one run into `spec.out`. The run is
/// checkpointed after every epoch; with `spec.resume` it continues from its checkpoint.
pub fn run_one(cfg: &Config, data: &Loaded, spec: &RunSpec) -> Result<RunResult> {
    let input = InputKind::from_shape(&data.train.shape).map_err(Error::config)?;
    let protocol = ProtocolConfig {
        seed: spec.seed,
        contamination: spec.contamination,
        scaling: scaling_for(&cfg.method, input),
        // Methods that choose by held-out normals (never by test labels) get 10 % of them.
        holdout_fraction: if needs_holdout(cfg) { 0.1 } else { 0.0 },
        ..Default::default()
    };
    let sp = split(data, spec.normal_class, &protocol)?;
    // Before training, not after: with every anomaly moved into training (contamination) or a
    // data set of normals only, no AUC can come of the run.
    let has = |anomalous: bool| sp.test.labels.iter().any(|&l| (l != 0) == anomalous);
    if !has(true) || !has(false) {
        return Err(Error::config(format!(
            "the test split has no {}: AUC undefined",
            if has(true) { "normals" } else { "anomalies" }
        )));
    }
    std::fs::create_dir_all(&spec.out).map_err(|e| Error::file(&spec.out, e))?;

    let mut detector = build(cfg, input, spec.seed, spec.device)?;
    let mut run = Run::new(spec.device, spec.seed, spec.quiet);
    let ckpt = spec.out.join("checkpoint.safetensors");
    if spec.resume && ckpt.is_file() {
        let ck = checkpoint::load(&ckpt)?;
        if let Some(written) = &ck.identity {
            check_same_run(written, cfg, spec, &ckpt)?;
        }
        run.completed = ck.completed.clone();
        run.resume = Some(ck);
    }
    run.identity = Some(identity(cfg, spec));
    run.checkpoint = Some(ckpt);
    run.out = Some(spec.out.clone());
    let t0 = Instant::now();
    detector.fit(&sp.train, sp.holdout.as_ref(), &mut run)?;
    let train_seconds = t0.elapsed().as_secs_f64();

    let scores = detector.score(&sp.test)?;
    let labels: Vec<u8> = sp.test.labels.iter().map(|&l| (l != 0) as u8).collect();
    let auc = auc_roc(&scores, &labels)
        .ok_or_else(|| Error::config("the test split lacks normals or anomalies: AUC undefined"))?;
    let ap = auc_pr(&scores, &labels).unwrap_or(f64::NAN);

    save_model(&spec.out.join("model.safetensors"), detector.as_ref(), cfg, &sp, spec)?;
    write_scores_csv(spec.out.join("scores.csv"), &scores, Some(&labels)).map_err(|e| Error::file(&spec.out, e))?;
    roc_plot(spec.out.join("roc.png"), &roc_curve(&scores, &labels), auc).map_err(|e| Error::file(&spec.out, e))?;
    score_histogram(spec.out.join("scores.png"), &scores, Some(&labels), Some(auc))
        .map_err(|e| Error::file(&spec.out, e))?;
    write_loss_plot(&spec.out.join("loss.png"), &run)?;
    if input != InputKind::Tabular(sp.test.sample_len()) {
        write_extremes(&spec.out, &sp, &scores)?;
    }
    detector.write_reports(&spec.out, &sp.test, &labels)?;
    let mut baselines = serde_json::Map::new();
    for (name, scores) in detector.baseline_scores(&sp.test)? {
        let b = auc_roc(&scores, &labels).unwrap_or(f64::NAN);
        eprintln!("baseline {name}: AUC-ROC {b:.4}");
        baselines.insert(name.to_string(), json!(b));
    }

    let mut json = json!({
        "method": cfg.method,
        "device": spec.device.to_string(),
        "auc_roc": auc,
        "auc_pr": ap,
        "n_train": sp.train.len(),
        "n_test": sp.test.len(),
        "train_seconds": train_seconds,
        "train_samples_per_second": run.samples_per_second(),
        "config": cfg.to_json(),
    });
    json.as_object_mut().expect("an object").extend(protocol_json(spec));
    if !baselines.is_empty() {
        json["baselines"] = Value::Object(baselines);
    }
    if let Some(r) = detector.report_json() {
        json["method_report"] = r;
    }
    let text = serde_json::to_string_pretty(&json).expect("JSON values always serialise");
    safetensors::write_atomic(&spec.out.join("results.json"), text.as_bytes())?;
    Ok(RunResult { normal_class: spec.normal_class, seed: spec.seed, auc_roc: auc, auc_pr: ap, json })
}

/// Weights plus everything scoring needs, in the safetensors metadata: method, configuration,
/// input shape, preprocessing statistics and the method's state (c, R, r…).
fn save_model(path: &Path, det: &dyn Detector, cfg: &Config, sp: &OneClassSplit, spec: &RunSpec) -> Result<()> {
    let mut meta: BTreeMap<String, String> = det.state().into_iter().map(|(k, v)| (format!("state.{k}"), v)).collect();
    meta.insert("method".into(), cfg.method.clone());
    meta.insert("config".into(), cfg.to_json().to_string());
    meta.insert("input_shape".into(), json!(sp.train.shape).to_string());
    meta.insert("preprocessing".into(), preprocessing_to_json(&sp.preprocessing).to_string());
    meta.insert("format".into(), "oneclass-model-1".into());
    meta.insert("protocol".into(), Value::Object(protocol_json(spec)).to_string());
    if let Some(data) = &spec.data {
        meta.insert("data".into(), data.display().to_string());
    }
    let entries = det.vars().entries();
    let named: Vec<(&str, &engine::Tensor)> = entries.iter().map(|(n, t, _)| (n.as_str(), t)).collect();
    safetensors::save(path, &named, &meta)?;
    Ok(())
}

pub fn preprocessing_to_json(p: &Preprocessing) -> Value {
    match p {
        Preprocessing::Identity => json!({"kind": "identity"}),
        Preprocessing::MinMax { gcn, min, max, lo, hi } => {
            json!({"kind": "minmax", "gcn": gcn, "min": min, "max": max, "lo": lo, "hi": hi})
        }
        Preprocessing::Standardise { mean, std } => json!({"kind": "standardise", "mean": mean, "std": std}),
    }
}

pub fn preprocessing_from_json(v: &Value) -> Result<Preprocessing> {
    let bad = || Error::config("saved model has an unreadable preprocessing entry");
    let f = |k: &str| v.get(k).and_then(Value::as_f64).map(|x| x as f32).ok_or_else(bad);
    let vec = |k: &str| -> Result<Vec<f32>> {
        v.get(k)
            .and_then(Value::as_array)
            .ok_or_else(bad)?
            .iter()
            .map(|x| x.as_f64().map(|x| x as f32).ok_or_else(bad))
            .collect()
    };
    match v.get("kind").and_then(Value::as_str) {
        Some("identity") => Ok(Preprocessing::Identity),
        Some("minmax") => Ok(Preprocessing::MinMax {
            gcn: v.get("gcn").and_then(Value::as_bool).ok_or_else(bad)?,
            min: f("min")?,
            max: f("max")?,
            lo: f("lo")?,
            hi: f("hi")?,
        }),
        Some("standardise") => Ok(Preprocessing::Standardise { mean: vec("mean")?, std: vec("std")? }),
        _ => Err(bad()),
    }
}

fn write_loss_plot(path: &Path, run: &Run) -> Result<()> {
    let mut phases: Vec<String> = Vec::new();
    for p in &run.history {
        if !phases.contains(&p.phase) {
            phases.push(p.phase.clone());
        }
    }
    let series: Vec<Series> = phases
        .iter()
        .map(|ph| Series {
            name: ph.clone(),
            points: run.history.iter().filter(|p| &p.phase == ph).map(|p| (p.epoch as f64, p.loss)).collect(),
        })
        .collect();
    // A log axis when the losses span two decades or more, so the later epochs are not a flat line.
    let scale = YScale::for_values(&series);
    let y_label = if scale == YScale::Log { "mean loss (log scale)" } else { "mean loss" };
    line_plot_scaled(path, "training loss", "epoch", y_label, &series, scale).map_err(|e| Error::file(path, e))
}

/// `most_normal.png` / `most_anomalous.png`: the 32 lowest- and highest-scored test images.
fn write_extremes(out: &Path, sp: &OneClassSplit, scores: &[f32]) -> Result<()> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let k = order.len().min(32);
    for (name, idx, title) in [
        ("most_normal.png", &order[..k], "most normal test images"),
        ("most_anomalous.png", &order[order.len() - k..], "most anomalous test images"),
    ] {
        let mut idx = idx.to_vec();
        if name == "most_anomalous.png" {
            idx.reverse();
        }
        let imgs = sp.test.select(&idx);
        let path = out.join(name);
        image_grid(&path, &imgs.x, &sp.test.shape, idx.len(), 8, title).map_err(|e| Error::file(&path, e))?;
    }
    Ok(())
}

/// The runs an earlier `summary.json` in `out` lists that none of `specs` repeats: a protocol
/// of fewer classes or seeds in the same folder (its settings are checked to be the same) adds
/// to the summary rather than replacing it with its own runs.
pub fn earlier_runs(out: &Path, specs: &[RunSpec]) -> Vec<RunResult> {
    let Some(summary) = read_json(&out.join("summary.json")) else { return Vec::new() };
    let runs = summary["runs"].as_array().cloned().unwrap_or_default();
    runs.into_iter()
        .filter_map(|json| {
            let (normal_class, seed, auc_roc) =
                (json["normal_class"].as_i64(), json["seed"].as_u64()?, json["auc_roc"].as_f64()?);
            let repeated = specs.iter().any(|s| s.normal_class == normal_class && s.seed == seed);
            let auc_pr = json["auc_pr"].as_f64().unwrap_or(f64::NAN);
            (!repeated).then_some(RunResult { normal_class, seed, auc_roc, auc_pr, json })
        })
        .collect()
}

/// `summary.json` and `summary.md`: mean ± std AUC per class over seeds, and overall; a column
/// more for each baseline the runs trained on the way (`results.json` → `baselines`, over the
/// runs that have it).
pub fn write_summary(out: &Path, method: &str, dataset: &str, results: &[RunResult]) -> Result<String> {
    let mut classes: Vec<Option<i64>> = results.iter().map(|r| r.normal_class).collect();
    classes.sort();
    classes.dedup();
    let mut baselines: Vec<String> =
        results.iter().filter_map(|r| r.json["baselines"].as_object()).flat_map(|b| b.keys().cloned()).collect();
    baselines.sort();
    baselines.dedup();
    let stats = |v: &[f64]| {
        let n = v.len() as f64;
        let m = v.iter().sum::<f64>() / n;
        let sd = if v.len() > 1 { (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0)).sqrt() } else { 0.0 };
        (m, sd)
    };
    // Column 0 is the method, then the baselines: each a function from a run to its AUC.
    let column = |col: usize, r: &RunResult| -> Option<f64> {
        if col == 0 {
            Some(r.auc_roc)
        } else {
            r.json["baselines"][&baselines[col - 1]].as_f64()
        }
    };
    let columns = 1 + baselines.len();
    let cell = |v: &[f64]| {
        if v.is_empty() {
            "–".to_string()
        } else {
            let (m, sd) = stats(v);
            format!("{:.1} ± {:.1}", 100.0 * m, 100.0 * sd)
        }
    };
    let heads: String = baselines.iter().map(|b| format!(" {b} baseline |")).collect();
    let mut md = format!(
        "# {method} on {dataset}\n\nAUC-ROC in %, mean ± std over seeds.\n\n| normal class | AUC-ROC |{heads} runs |\n|---|---|{}---|\n",
        "---|".repeat(baselines.len())
    );
    let mut rows = Vec::new();
    let mut class_means = vec![Vec::new(); columns];
    for c in &classes {
        let runs: Vec<&RunResult> = results.iter().filter(|r| &r.normal_class == c).collect();
        let label = c.map(|c| c.to_string()).unwrap_or_else(|| "normal (label 0)".into());
        md.push_str(&format!("| {label} |"));
        let mut row = json!({"normal_class": c, "runs": runs.len()});
        for col in 0..columns {
            let v: Vec<f64> = runs.iter().filter_map(|r| column(col, r)).collect();
            md.push_str(&format!(" {} |", cell(&v)));
            if v.is_empty() {
                continue;
            }
            let (m, sd) = stats(&v);
            class_means[col].push(m);
            if col == 0 {
                row["auc_roc_mean"] = json!(m);
                row["auc_roc_std"] = json!(sd);
            } else {
                row["baselines"][&baselines[col - 1]] = json!({"auc_roc_mean": m, "auc_roc_std": sd, "runs": v.len()});
            }
        }
        md.push_str(&format!(" {} |\n", runs.len()));
        rows.push(row);
    }
    // The bottom row: the mean of the class means, ± the std over all runs.
    let all: Vec<f64> = results.iter().map(|r| r.auc_roc).collect();
    let (m_all, sd_all) = stats(&all);
    let (m_cls, _) = stats(&class_means[0]);
    md.push_str(&format!("| **mean** | **{:.1}** ± {:.1} |", 100.0 * m_cls, 100.0 * sd_all));
    let mut baseline_means = serde_json::Map::new();
    for (col, name) in baselines.iter().enumerate().map(|(i, b)| (i + 1, b)) {
        let runs: Vec<f64> = results.iter().filter_map(|r| column(col, r)).collect();
        let (m, _) = stats(&class_means[col]);
        let (_, sd) = stats(&runs);
        md.push_str(&format!(" {:.1} ± {:.1} |", 100.0 * m, 100.0 * sd));
        baseline_means.insert(name.clone(), json!({"mean_auc_roc": m, "std_auc_roc_all_runs": sd, "runs": runs.len()}));
    }
    md.push_str(&format!(" {} |\n", all.len()));
    let summary = json!({
        "method": method,
        "dataset": dataset,
        "per_class": rows,
        "mean_auc_roc": m_cls,
        "std_auc_roc_all_runs": sd_all,
        "mean_auc_roc_all_runs": m_all,
        "baselines": baseline_means,
        "runs": results.iter().map(|r| r.json.clone()).collect::<Vec<_>>(),
    });
    std::fs::create_dir_all(out).map_err(|e| Error::file(out, e))?;
    safetensors::write_atomic(
        &out.join("summary.json"),
        serde_json::to_string_pretty(&summary).expect("JSON").as_bytes(),
    )?;
    safetensors::write_atomic(&out.join("summary.md"), md.as_bytes())?;
    Ok(md)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(class: i64, seed: u64, auc: f64, dcae: Option<f64>) -> RunResult {
        let mut json = json!({ "auc_roc": auc });
        if let Some(b) = dcae {
            json["baselines"] = json!({ "dcae": b });
        }
        RunResult { normal_class: Some(class), seed, auc_roc: auc, auc_pr: f64::NAN, json }
    }

    /// A run written before `ganocc_pool` existed drew 1024 samples: resuming it under the new
    /// default (64) is a difference, resuming it with `--ganocc-pool 1024` is not. Fields that
    /// are not settings (protocol fields an older build lacked) are still skipped.
    #[test]
    fn settings_an_older_build_did_not_write_compare_as_what_it_ran_with() {
        let cfg = Config::preset("ganocc", crate::config::Preset::Paper, InputKind::Mnist).unwrap();
        let mut written = json!({ "config": cfg.to_json() });
        written["config"].as_object_mut().unwrap().remove("ganocc_pool");
        let now = json!({ "config": cfg.to_json(), "data_file": "t.csv" });
        assert_eq!(difference(&written, &now, None).as_deref(), Some("config.ganocc_pool: 1024 → 64"));
        let same = Config { ganocc_pool: 1024, ..cfg };
        assert_eq!(difference(&written, &json!({ "config": same.to_json(), "data_file": "t.csv" }), None), None);
    }

    #[test]
    fn the_summary_has_a_column_per_baseline_over_the_runs_that_have_it() {
        let out = std::env::temp_dir().join(format!("oneclass-summary-{}", std::process::id()));
        let runs = [
            result(0, 0, 0.90, Some(0.80)),
            result(0, 1, 0.94, Some(0.84)),
            result(1, 0, 0.98, None), // e.g. resumed past its pretraining
            result(1, 1, 0.96, Some(0.70)),
        ];
        let md = write_summary(&out, "dsvdd", "mnist", &runs).unwrap();
        assert!(md.contains("| normal class | AUC-ROC | dcae baseline | runs |"), "{md}");
        assert!(md.contains("| 0 | 92.0 ± 2.8 | 82.0 ± 2.8 | 2 |"), "{md}");
        assert!(md.contains("| 1 | 97.0 ± 1.4 | 70.0 ± 0.0 | 2 |"), "{md}");
        // Means of the class means: (92 + 97) / 2 and (82 + 70) / 2.
        assert!(md.contains("| **mean** | **94.5** ±"), "{md}");
        let summary: Value = serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
        assert!((summary["baselines"]["dcae"]["mean_auc_roc"].as_f64().unwrap() - 0.76).abs() < 1e-12);
        assert_eq!(summary["baselines"]["dcae"]["runs"], 3);
        assert_eq!(summary["per_class"][1]["baselines"]["dcae"]["runs"], 1);

        // Without baselines the table keeps its two columns.
        let md = write_summary(&out, "dsvdd", "mnist", &[result(0, 0, 0.9, None)]).unwrap();
        assert!(md.contains("| normal class | AUC-ROC | runs |\n|---|---|---|\n| 0 | 90.0 ± 0.0 | 1 |"), "{md}");
        let _ = std::fs::remove_dir_all(&out);
    }
}
