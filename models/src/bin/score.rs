//! `score`: applies a saved model to data. With labels (a one-class split of a known data set)
//! it prints `AUC-ROC <value>`, the same value the training run reported. `--input FILE`
//! scores every sample of a file instead, labelled or not.

use clap::Parser;
use datasets::{load_samples, split, Dataset, ProtocolConfig, Scaling, Source};
use engine::{safetensors, Device};
use kernels::gpu::infer::Precision;
use models::config::Config;
use models::experiment::{check_can_write_in, header_flag, label_flag, parent_folder, preprocessing_from_json};
use models::methods::{build, Detector};
use models::metrics::auc_roc;
use models::nets::InputKind;
use models::report::{score_histogram, write_scores_csv};
use models::{Error, Result};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

#[derive(Parser, Debug)]
#[command(name = "score", version, about = "Score data with a saved one-class model", allow_negative_numbers = true)]
struct Args {
    /// A model.safetensors written by `train`
    #[arg(long)]
    model: PathBuf,
    /// Data set (default: the one the model was trained on)
    #[arg(long)]
    dataset: Option<String>,
    /// Its files (default: where the model's data were read in training, if they are still there)
    #[arg(long)]
    data: Option<PathBuf>,
    /// Score every sample of this file instead of a data set's test split: .csv (every column a
    /// feature, unless --label names the label column), .npz (array X, labelled by y when present)
    /// or .npy; samples along the first axis, flat or in the model's shape; image pixels in
    /// [0, 1]. Labels 0 normal and 1 anomalous, or with --normal-class that label normal and any
    /// other anomalous
    #[arg(long, conflicts_with_all = ["dataset", "data", "seed"])]
    input: Option<PathBuf>,
    /// CSV label column, a name or 0-based index (default: the model's, else the last column;
    /// with --input, none)
    #[arg(long)]
    label: Option<String>,
    /// yes | no | auto: whether a CSV file's first line names its columns (default: the model's
    /// with its own data set, else auto: a first line with no number in it, or `0,1,…`, is a header)
    #[arg(long)]
    csv_header: Option<String>,
    /// Normal class for the labels (default: the model's; with --input, labels are 0/1 unless given)
    #[arg(long, value_parser = class_label)]
    normal_class: Option<i64>,
    /// Seed of the tabular split (default: the model's)
    #[arg(long)]
    seed: Option<u64>,
    /// Where to write the scores (default: rescored.csv beside the model, so the training run's
    /// scores.csv is kept)
    #[arg(long)]
    out: Option<PathBuf>,
    /// cpu, gpu or auto (a hardware GPU if there is one, else the CPU)
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Run the fused GPU inference kernels (conv + batch norm + leaky ReLU per launch) instead
    /// of the engine's ops; Deep SVDD and OC-NN models
    #[arg(long)]
    fused: bool,
    /// Storage of weights and activations on the fused path: f32, or f16 (sums stay f32; needs
    /// an adapter with SHADER_F16; implies --fused)
    #[arg(long, default_value = "f32")]
    precision: String,
}

fn main_inner(a: Args) -> Result<()> {
    let precision = Precision::parse(&a.precision)
        .ok_or_else(|| Error::config(format!("--precision {:?} is not one of f32, f16", a.precision)))?;
    let fused = a.fused || precision == Precision::F16;
    let device = models::platform::device_flag(&a.device)?;
    if fused && device != Device::Gpu {
        return Err(Error::config(format!(
            "--fused and --precision f16 run on the GPU: pass --device gpu (or auto with a GPU), not {}",
            a.device
        )));
    }
    let loaded = safetensors::load(&a.model, device)?;
    let out = a.out.clone().unwrap_or_else(|| a.model.with_file_name("rescored.csv"));
    check_out_file(&out, &a.model)?;
    let meta = &loaded.metadata;
    let get = |k: &str| {
        meta.get(k).ok_or_else(|| Error::file(&a.model, format!("not a oneclass model: metadata {k:?} missing")))
    };
    let parse = |k: &str| -> Result<Value> {
        serde_json::from_str(get(k)?).map_err(|e| Error::file(&a.model, format!("metadata {k:?}: {e}")))
    };
    let cfg = Config::from_json(&parse("config")?)?;
    // The method is written twice (for readers of the metadata, and in the config we build
    // from): two that disagree mean an edited or mixed-up file, not one to guess about.
    if let Some(m) = meta.get("method").filter(|m| **m != cfg.method) {
        return Err(Error::file(
            &a.model,
            format!("metadata \"method\" says {m:?} but its config is for {:?}: the file was edited", cfg.method),
        ));
    }
    let shape: Vec<usize> = serde_json::from_value(parse("input_shape")?).map_err(|e| Error::file(&a.model, e))?;
    let input = InputKind::from_shape(&shape).map_err(Error::config)?;
    let pre = preprocessing_from_json(&parse("preprocessing")?)?;
    let protocol = parse("protocol")?;

    let mut det = build(&cfg, input, 0, device)?;
    det.vars().load_from(&loaded).map_err(|e| Error::file(&a.model, e))?;
    let state: BTreeMap<String, String> =
        meta.iter().filter_map(|(k, v)| k.strip_prefix("state.").map(|k| (k.to_string(), v.clone()))).collect();
    det.set_state(&state).map_err(|e| Error::file(&a.model, e))?;

    if let Some(input) = &a.input {
        let (mut data, labelled) = read_input(input, &a, &shape)?;
        pre.apply_dataset(&mut data)?;
        return score_and_report(det.as_ref(), &cfg.method, &data, labelled, fused, precision, device, &out);
    }
    let dataset = a
        .dataset
        .clone()
        .or_else(|| protocol["dataset"].as_str().map(String::from))
        .unwrap_or_else(|| "mnist-mini".into());
    // The CSV label column the model was trained with, unless given again.
    let saved_label = protocol["label"].as_str().filter(|_| dataset == "csv");
    let label = label_flag(a.label.as_deref().or(saved_label))?;
    let saved_header = protocol["csv_header"].as_str().filter(|_| dataset == "csv");
    let csv_header = header_flag(a.csv_header.as_deref().or(saved_header))?;
    // The model's own data files, where it was trained on this data set (and they are still there).
    let same_dataset = a.dataset.is_none() || protocol["dataset"].as_str() == Some(dataset.as_str());
    let saved_data = meta.get("data").filter(|_| same_dataset).map(PathBuf::from);
    if let Some(gone) = saved_data.as_ref().filter(|p| a.data.is_none() && !p.exists()) {
        return Err(Error::config(format!(
            "the model's data were read from {}, which is not there any more: pass --data",
            gone.display()
        )));
    }
    let source = Source::from_cli(&dataset, a.data.as_deref().or(saved_data.as_deref()), label, csv_header)?;
    let data = source.load()?;
    if data.train.shape != shape {
        return Err(Error::config(format!(
            "the model expects samples of shape {shape:?}, {dataset} has {:?}",
            data.train.shape
        )));
    }
    // A tabular model trained on 0/1 labels has no normal class saved: as `train` says, label 0
    // is the normal one, and another would score the anomalies as normal and invert the AUC.
    let saved_class = protocol["normal_class"].as_i64();
    let binary = shape.len() == 1 && saved_class.is_none();
    if binary && a.normal_class.is_some_and(|c| c != 0) {
        return Err(Error::config(
            "--normal-class: this model was trained on data labelled 0/1, where label 0 is the normal class",
        ));
    }
    let normal_class = if binary { None } else { a.normal_class.or(saved_class) };
    let seed = a.seed.or_else(|| protocol["seed"].as_u64()).unwrap_or(0);
    let contamination = protocol["contamination"].as_f64().unwrap_or(0.0);
    // The same split as training, left unscaled; then the model's own saved preprocessing.
    let cfg_split = ProtocolConfig { seed, contamination, scaling: Scaling::None, ..Default::default() };
    let mut test = split(&data, normal_class, &cfg_split)?.test;
    pre.apply_dataset(&mut test)?;
    score_and_report(det.as_ref(), &cfg.method, &test, true, fused, precision, device, &out)
}

/// `--normal-class`: one class label; `all` is train's protocol, not a way to score.
fn class_label(s: &str) -> std::result::Result<i64, String> {
    s.parse().map_err(|_| {
        let all = if s == "all" { " (train's `all` runs one model per class; score applies one model)" } else { "" };
        format!("a class label is an integer{all}")
    })
}

/// Before anything is scored: `out` must be a new file, or a scores file `score` wrote before
/// (its first line `index,score…`), in a folder we can write. Any other existing file — the
/// model, the input or training data, a run's results.json — is refused, as are names that
/// would put the CSV on a model or on the .png the histogram goes to.
fn check_out_file(out: &Path, model: &Path) -> Result<()> {
    let same = |a: &Path, b: &Path| a.canonicalize().ok().is_some_and(|a| b.canonicalize().ok() == Some(a));
    let ext_is = |e: &str| out.extension().is_some_and(|x| x.eq_ignore_ascii_case(e));
    if same(out, model) || ext_is("safetensors") {
        return Err(Error::file(out, "--out would overwrite a model with scores; give a .csv path"));
    }
    if out.is_dir() || out.as_os_str().to_string_lossy().ends_with('/') {
        return Err(Error::file(out, "--out names a folder; give a file path, such as rescored.csv in it"));
    }
    if ext_is("png") {
        return Err(Error::file(out, "--out: the score histogram goes to the .png beside the CSV; give a .csv path"));
    }
    if out.exists() && !is_scores_file(out) {
        return Err(Error::file(
            out,
            "--out: this file exists and is not a scores file written by score (data, results or another file \
             would be lost); give a new path",
        ));
    }
    // The histogram's .png beside a new CSV would replace a picture `score` did not draw.
    let picture = out.with_extension("png");
    if picture.exists() && !out.exists() {
        return Err(Error::file(
            out,
            format!("--out: {} exists and the score histogram would replace it; give a new path", picture.display()),
        ));
    }
    let folder = parent_folder(out);
    if !folder.is_dir() {
        return Err(Error::file(folder, "--out: no such folder"));
    }
    check_can_write_in(folder)
}

/// Whether `path` starts as `write_scores_csv` writes: the header `index,score` or
/// `index,score,label`.
fn is_scores_file(path: &Path) -> bool {
    use std::io::{BufRead, Read};
    let Ok(f) = std::fs::File::open(path) else { return false };
    let mut first = String::new();
    if std::io::BufReader::new(f).take(64).read_line(&mut first).is_err() {
        return false;
    }
    matches!(first.trim_end(), "index,score" | "index,score,label")
}

/// `--input`: the file's samples (flat or in the model's `shape`), checked, and whether they are
/// labelled; labels become 0 normal / 1 anomalous (`--normal-class C`: C is normal).
fn read_input(input: &Path, a: &Args, shape: &[usize]) -> Result<(Dataset, bool)> {
    let label = label_flag(a.label.as_deref())?;
    let header = header_flag(a.csv_header.as_deref())?.unwrap_or_default();
    let samples = load_samples(input, label.as_ref(), header)?;
    let mut data = samples.data;
    let per_sample: usize = shape.iter().product();
    let in_file = &samples.shape_in_file;
    // Flat rows of the right size, or the model's own shape (for one channel, with or without
    // its axis: `(n, 28, 28)` as MNIST arrays usually are): an image array in another layout
    // (channels last) would be read as scrambled pixels.
    let one_channel = shape.len() == 3 && shape[0] == 1 && in_file[..] == shape[1..];
    if data.sample_len() != per_sample || !(in_file.len() == 1 || *in_file == shape || one_channel) {
        let hint = if in_file.len() == 1 && data.sample_len() == per_sample + 1 && label.is_none() {
            " (if one column is the label, name it with --label)"
        } else if data.sample_len() == per_sample {
            " (lay the samples out as the model's shape, channels first, or flatten them)"
        } else {
            ""
        };
        return Err(Error::config(format!(
            "{}: samples of shape {in_file:?}; the model takes {shape:?}, or rows of {per_sample} values{hint}",
            input.display()
        )));
    }
    if samples.labelled {
        match a.normal_class {
            // Label C normal (0), every other anomalous (1); a class the file lacks is a typo, as
            // it is for `train`, not an AUC over anomalies alone.
            Some(c) => {
                if !data.labels.contains(&c) {
                    return Err(Error::config(format!(
                        "--normal-class {c}: no sample of {} is labelled {c}",
                        input.display()
                    )));
                }
                data.labels.iter_mut().for_each(|l| *l = i64::from(*l != c))
            }
            None => {
                if let Some(l) = data.labels.iter().find(|&&l| l != 0 && l != 1) {
                    return Err(Error::config(format!(
                        "{}: label {l} is neither 0 (normal) nor 1 (anomalous): pass --normal-class to name the normal one",
                        input.display()
                    )));
                }
            }
        }
    } else if a.normal_class.is_some() {
        return Err(Error::config(format!("--normal-class: {} has no labels", input.display())));
    }
    if shape.len() == 3 {
        if let Some(v) = data.x.iter().find(|v| !(0.0..=1.0).contains(*v)) {
            return Err(Error::config(format!(
                "{}: image pixels must lie in [0, 1], as the loaders give them (an 8-bit value / 255); found {v}",
                input.display()
            )));
        }
    }
    data.shape = shape.to_vec();
    Ok((data, samples.labelled))
}

/// Scores `data`, writes the scores to `out`, and with `labelled` data (0 normal, else
/// anomalous) prints `AUC-ROC <value>`.
#[allow(clippy::too_many_arguments)]
fn score_and_report(
    det: &dyn Detector,
    method: &str,
    data: &Dataset,
    labelled: bool,
    fused: bool,
    precision: Precision,
    device: Device,
    out: &Path,
) -> Result<()> {
    let started = Instant::now();
    let scores = if fused {
        det.score_on_plan(data, precision).unwrap_or_else(|| {
            Err(Error::config(format!(
                "--fused / --precision f16: method {} has no fused inference path (dsvdd, dsvdd-soft and ocnn have one)",
                method
            )))
        })?
    } else {
        det.score(data)?
    };
    let path = if fused { format!("fused {}", precision.name()) } else { "engine f32".into() };
    let ms = started.elapsed().as_secs_f64() * 1e3;
    eprintln!("scored {} samples on {device} ({path}) in {ms:.1} ms", scores.len());
    let labels: Option<Vec<u8>> = labelled.then(|| data.labels.iter().map(|&l| (l != 0) as u8).collect());
    write_scores_csv(out, &scores, labels.as_deref()).map_err(|e| Error::config(e.to_string()))?;
    eprintln!("{} scores → {}", scores.len(), out.display());
    let auc = labels.as_deref().and_then(|l| auc_roc(&scores, l));
    // The histogram beside the CSV (rescored.png), as `train` writes scores.png; unlabelled or
    // one-class scores get one too, without an AUC.
    let picture = out.with_extension("png");
    score_histogram(&picture, &scores, labels.as_deref(), auc).map_err(|e| Error::file(&picture, e))?;
    eprintln!("score histogram → {}", picture.display());
    match (auc, &labels) {
        (Some(auc), _) => {
            if auc < 0.5 {
                eprintln!(
                    "warning: AUC-ROC below 0.5: these scores rank the anomalies as more normal than the normals"
                );
            }
            println!("AUC-ROC {auc:.4}")
        }
        (None, Some(_)) => println!("AUC-ROC undefined (one class only in the labels)"),
        (None, None) => {}
    }
    Ok(())
}

fn main() -> ExitCode {
    models::platform::quiet_gpu_probe();
    let args: Args = match models::platform::parse_args() {
        Ok(a) => a,
        Err(status) => return status,
    };
    // As `train`: the whole job on a pool thread, so each kernel forks and joins inside the pool.
    match kernels::cpu::parallel::in_pool(|| main_inner(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
