//! `train`: fits a one-class detector and evaluates it by the papers' protocol.
//! `cargo run -p models --bin train -- --method dsvdd` runs on the bundled mnist-mini data.

use clap::Parser;
use datasets::Source;
use models::config::{flag_readers, reads, Config, EnsembleMode, HiddenActivation, KeepPolicy, Preset, METHODS};
use models::experiment::{
    check_out_folders, earlier_runs, finished_run, header_flag, label_flag, run_one, write_summary, RunSpec,
};
use models::nets::InputKind;
use models::nn::WeightInit;
use models::{Error, Result};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "train",
    version,
    about = "Train and evaluate a deep one-class classifier",
    args_override_self = true,
    allow_negative_numbers = true
)]
struct Args {
    /// dsvdd | dsvdd-soft | ocnn | ics | ganocc | minlgan | dcae
    #[arg(long, default_value = "dsvdd")]
    method: String,
    /// mnist-mini | mnist | fashion-mnist | cifar10 | npz | csv
    #[arg(long, default_value = "mnist-mini")]
    dataset: String,
    /// Folder of IDX/CIFAR files, or the .npz/.csv file
    #[arg(long)]
    data: Option<PathBuf>,
    /// CSV label column, by name or 0-based index (default: the last column)
    #[arg(long)]
    label: Option<String>,
    /// yes | no | auto: whether a CSV file's first line names its columns (auto: a first line
    /// with no number in it, or `0,1,…`, is a header)
    #[arg(long)]
    csv_header: Option<String>,
    /// The normal class, or `all` for one run per class (images: default 0; tabular data
    /// labelled 0/1: label 0; tabular data with other labels: required, this label normal and
    /// the rest anomalies)
    #[arg(long)]
    normal_class: Option<String>,
    /// Number of seeds per class (seeds seed, seed+1, …)
    #[arg(long, default_value_t = 1)]
    seeds: u64,
    /// First seed
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// auto | cpu | gpu
    #[arg(long, default_value = "auto")]
    device: String,
    /// quick (about a minute per MNIST class on 2 cores) | paper (the papers' schedules; Deep
    /// SVDD and its DCAE on images as the authors' code ran them) | paper-text (paper, except
    /// Deep SVDD and the DCAE with the schedule and slope the paper's text states) | authors
    /// (ICS on images as the authors' Keras code runs it; Deep SVDD: paper); reference is
    /// paper's earlier name
    #[arg(long, default_value = "quick")]
    preset: String,
    /// Training epochs (Deep SVDD, OC-NN, GANOCC: one D_k each, MinLGAN; default: the preset's)
    #[arg(long)]
    epochs: Option<usize>,
    /// Autoencoder epochs: dcae's training, Deep SVDD's and OC-NN's pretraining (0 skips it),
    /// ICS's split
    #[arg(long)]
    pretrain_epochs: Option<usize>,
    /// Learning rate of the method's Adam (dcae: see --pretrain-lr)
    #[arg(long)]
    lr: Option<f32>,
    /// Learning rate of the autoencoder's Adam
    #[arg(long)]
    pretrain_lr: Option<f32>,
    /// Epoch at which the learning rate drops 10× (0: from the start)
    #[arg(long)]
    lr_milestone: Option<usize>,
    /// Mini-batch size
    #[arg(long)]
    batch_size: Option<usize>,
    /// ν of soft-boundary Deep SVDD and OC-NN: the share of training samples allowed outside
    #[arg(long)]
    nu: Option<f32>,
    /// Adam's weight decay (Deep SVDD) or the L2 weight on convolutions (ICS)
    #[arg(long)]
    weight_decay: Option<f32>,
    /// Negative slope of the leaky ReLUs in the encoder and decoder (default 0.1; Deep SVDD and
    /// DCAE on images, paper preset: 0.01)
    #[arg(long)]
    leaky_slope: Option<f32>,
    /// Initial weights of the encoder and decoder: pytorch (Kaiming uniform, a = √5) | glorot
    /// (Glorot uniform, the Deep SVDD paper's and its Theano code's)
    #[arg(long)]
    weight_init: Option<String>,
    /// on | off: start the autoencoder's first convolution from a sparse dictionary of 5×5
    /// patches of 500 training images (the Deep SVDD authors' Theano code)
    #[arg(long)]
    dictionary_init: Option<String>,
    /// Weight decay of the autoencoder pretraining (DCAE)
    #[arg(long)]
    pretrain_weight_decay: Option<f32>,
    /// OC-NN: hidden units
    #[arg(long)]
    ocnn_hidden: Option<usize>,
    /// OC-NN hidden activation: gauss (default; fixed kernel-like units) | linear | sigmoid (the paper's)
    #[arg(long)]
    ocnn_activation: Option<String>,
    /// ICS: share of training samples split off as atypical (default 0.1)
    #[arg(long)]
    rho: Option<f32>,
    /// ICS: on | off (off = without the distance constraints, the paper's NNwICS)
    #[arg(long)]
    ics_constraints: Option<String>,
    /// ICS: data range L in SSIM's constants (K1·L)², (K2·L)²; 0 = the images' own range
    #[arg(long)]
    ssim_range: Option<f32>,
    /// ICS: dropout rate on the classifier's dense-layer inputs (the flattened features, and z before the head) while it trains
    #[arg(long)]
    dropout: Option<f32>,
    /// ICS: training iterations, three Adam steps each (quick 1000, paper 10000)
    #[arg(long)]
    iterations: Option<usize>,
    /// GANOCC, MinLGAN: noise dimension of the generator
    #[arg(long)]
    z_dim: Option<usize>,
    /// GANOCC: train G each epoch until its loss is below this
    #[arg(long)]
    g_loss_threshold: Option<f32>,
    /// GANOCC: train D_k until its loss on real data is below this
    #[arg(long)]
    d_real_threshold: Option<f32>,
    /// GANOCC: … and its loss on synthetic data below this
    #[arg(long)]
    d_fake_threshold: Option<f32>,
    /// GANOCC: most steps of D_k's "train until" loop per epoch (quick 200, paper 500)
    #[arg(long)]
    step_cap: Option<usize>,
    /// GANOCC: most steps of G's "train until" loop per epoch (default 5)
    #[arg(long)]
    g_step_cap: Option<usize>,
    /// GANOCC: weight of the loss on real data (preset 2: "higher weight on the loss of positive samples")
    #[arg(long)]
    alpha_data: Option<f32>,
    /// GANOCC: weight of the loss on synthetic data
    #[arg(long)]
    alpha_z: Option<f32>,
    /// GANOCC: all (default) | best (the ensemble prefix best on a holdout of normals + generated
    /// samples)
    #[arg(long)]
    ganocc_keep: Option<String>,
    /// GANOCC: samples of each epoch's G that D_k is trained against (presets: 64, one batch)
    #[arg(long)]
    ganocc_pool: Option<usize>,
    /// MinLGAN: weight a of the minimum-likelihood term (default 0.1; 0 = plain GAN)
    #[arg(long)]
    minl_a: Option<f32>,
    /// MinLGAN: number of independently trained models (default 1)
    #[arg(long)]
    ensemble: Option<usize>,
    /// MinLGAN: mean (EMinLGAN-1) | scaled (EMinLGAN-2, the default)
    #[arg(long)]
    ensemble_mode: Option<String>,
    /// Share of anomalies mixed into the training set
    #[arg(long, default_value_t = 0.0)]
    contamination: f64,
    /// Output folder (default runs/<method>-<dataset>-<class>-<seed>/)
    #[arg(long)]
    out: Option<PathBuf>,
    /// Continue an interrupted run from its checkpoint
    #[arg(long)]
    resume: bool,
    /// Log lines instead of progress bars (also when stderr is not a terminal)
    #[arg(long)]
    quiet: bool,
}

/// The value of a flag that takes one of a few names, or the `error:` listing them.
fn choice<T: Copy>(flag: &str, value: &str, options: &[(&str, T)]) -> Result<T> {
    options.iter().find(|(name, _)| *name == value).map(|&(_, v)| v).ok_or_else(|| {
        let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
        Error::config(format!("{flag} {value:?} is not one of {}", names.join(", ")))
    })
}

fn config(a: &Args, input: InputKind) -> Result<Config> {
    let preset = choice(
        "--preset",
        &a.preset,
        &[
            ("quick", Preset::Quick),
            ("paper", Preset::Paper),
            ("paper-text", Preset::PaperText),
            ("reference", Preset::Paper),
            ("authors", Preset::Authors),
        ],
    )?;
    let mut c = Config::preset(&a.method, preset, input)?;
    if let Some(v) = a.epochs {
        c.epochs = v;
        if a.lr_milestone.is_none() {
            c.lr_milestone = c.lr_milestone.min(v);
        }
    }
    if let Some(v) = a.pretrain_epochs {
        c.pretrain_epochs = v;
        c.pretrain_lr_milestone = c.pretrain_lr_milestone.min(v);
    }
    c.lr = a.lr.unwrap_or(c.lr);
    c.pretrain_lr = a.pretrain_lr.unwrap_or(c.pretrain_lr);
    c.lr_milestone = a.lr_milestone.unwrap_or(c.lr_milestone);
    c.batch_size = a.batch_size.unwrap_or(c.batch_size);
    c.nu = a.nu.unwrap_or(c.nu);
    c.weight_decay = a.weight_decay.unwrap_or(c.weight_decay);
    c.pretrain_weight_decay = a.pretrain_weight_decay.unwrap_or(c.pretrain_weight_decay);
    c.leaky_slope = a.leaky_slope.unwrap_or(c.leaky_slope);
    if let Some(v) = &a.weight_init {
        c.weight_init = choice("--weight-init", v, &WeightInit::NAMES)?;
    }
    c.ocnn_hidden = a.ocnn_hidden.unwrap_or(c.ocnn_hidden);
    if let Some(v) = &a.ocnn_activation {
        c.ocnn_activation = choice("--ocnn-activation", v, &HiddenActivation::NAMES)?;
    }
    c.rho = a.rho.unwrap_or(c.rho);
    if let Some(v) = &a.dictionary_init {
        c.dictionary_init = choice("--dictionary-init", v, &[("on", true), ("off", false)])?;
    }
    if let Some(v) = &a.ics_constraints {
        c.ics_constraints = choice("--ics-constraints", v, &[("on", true), ("off", false)])?;
    }
    c.iterations = a.iterations.unwrap_or(c.iterations);
    c.ssim_range = a.ssim_range.unwrap_or(c.ssim_range);
    c.dropout = a.dropout.unwrap_or(c.dropout);
    c.z_dim = a.z_dim.unwrap_or(c.z_dim);
    c.g_loss_threshold = a.g_loss_threshold.unwrap_or(c.g_loss_threshold);
    c.d_real_threshold = a.d_real_threshold.unwrap_or(c.d_real_threshold);
    c.d_fake_threshold = a.d_fake_threshold.unwrap_or(c.d_fake_threshold);
    c.step_cap = a.step_cap.unwrap_or(c.step_cap);
    c.g_step_cap = a.g_step_cap.unwrap_or(c.g_step_cap);
    c.alpha_data = a.alpha_data.unwrap_or(c.alpha_data);
    c.alpha_z = a.alpha_z.unwrap_or(c.alpha_z);
    if let Some(v) = &a.ganocc_keep {
        c.ganocc_keep = choice("--ganocc-keep", v, &[("all", KeepPolicy::All), ("best", KeepPolicy::Best)])?;
    }
    c.ganocc_pool = a.ganocc_pool.unwrap_or(c.ganocc_pool);
    c.minl_a = a.minl_a.unwrap_or(c.minl_a);
    c.ensemble = a.ensemble.unwrap_or(c.ensemble);
    if let Some(v) = &a.ensemble_mode {
        c.ensemble_mode =
            choice("--ensemble-mode", v, &[("mean", EnsembleMode::Mean), ("scaled", EnsembleMode::Scaled)])?;
    }
    c.validate()?;
    Ok(c)
}

/// Every method-specific flag once, with its field in `Args`: which were given, and how to
/// forget one a method does not read.
macro_rules! method_flags {
    ($($flag:literal => $field:ident),* $(,)?) => {
        /// The method-specific flags given on the command line.
        fn given_flags(a: &Args) -> Vec<&'static str> {
            let mut given = Vec::new();
            $(if a.$field.is_some() {
                given.push($flag);
            })*
            given
        }

        /// Drops `flag`'s value, so the run keeps (and `results.json` records) the preset's.
        fn forget_flag(a: &mut Args, flag: &str) {
            match flag {
                $($flag => a.$field = None,)*
                _ => {}
            }
        }
    };
}

method_flags! {
    "--epochs" => epochs,
    "--lr" => lr,
    "--lr-milestone" => lr_milestone,
    "--weight-decay" => weight_decay,
    "--pretrain-epochs" => pretrain_epochs,
    "--pretrain-lr" => pretrain_lr,
    "--pretrain-weight-decay" => pretrain_weight_decay,
    "--leaky-slope" => leaky_slope,
    "--weight-init" => weight_init,
    "--dictionary-init" => dictionary_init,
    "--nu" => nu,
    "--ocnn-hidden" => ocnn_hidden,
    "--ocnn-activation" => ocnn_activation,
    "--rho" => rho,
    "--ics-constraints" => ics_constraints,
    "--ssim-range" => ssim_range,
    "--dropout" => dropout,
    "--iterations" => iterations,
    "--z-dim" => z_dim,
    "--g-loss-threshold" => g_loss_threshold,
    "--d-real-threshold" => d_real_threshold,
    "--d-fake-threshold" => d_fake_threshold,
    "--step-cap" => step_cap,
    "--g-step-cap" => g_step_cap,
    "--alpha-data" => alpha_data,
    "--alpha-z" => alpha_z,
    "--ganocc-keep" => ganocc_keep,
    "--ganocc-pool" => ganocc_pool,
    "--minl-a" => minl_a,
    "--ensemble" => ensemble,
    "--ensemble-mode" => ensemble_mode,
}

/// The method-specific flags given that `method` does not read, each with the methods that do
/// (`config::FLAG_READERS`): a run with `--method ganocc --rho 0.2` works, but the user probably
/// meant something else.
fn unused_flags(a: &Args, method: &str) -> Vec<(&'static str, &'static [&'static str])> {
    given_flags(a)
        .into_iter()
        .filter(|flag| !reads(method, flag))
        .map(|flag| (flag, flag_readers(flag).unwrap_or(&[])))
        .collect()
}

/// The flag `method` reads in place of `flag`, where there is one: the autoencoder methods'
/// training is their pretraining, and ICS's classifier counts iterations.
fn instead(method: &str, flag: &str) -> Option<&'static str> {
    match (method, flag) {
        ("dcae", "--epochs") => Some("--pretrain-epochs"),
        ("dcae", "--lr") => Some("--pretrain-lr"),
        ("dcae", "--weight-decay") => Some("--pretrain-weight-decay"),
        ("ics", "--epochs") => Some("--iterations (and --pretrain-epochs for its autoencoder)"),
        _ => None,
    }
}

/// The runs' normal classes from `--normal-class` (`None`: tabular data labelled 0 normal, 1
/// anomalous). Tabular data with other labels is multi-class: the named label is normal and
/// every other one anomalous, as for images.
fn normal_classes(flag: Option<&str>, data: &datasets::Loaded, tabular: bool) -> Result<Vec<Option<i64>>> {
    let binary = tabular && data.classes().iter().all(|&c| c == 0 || c == 1);
    let parse = |v: &str| {
        v.parse::<i64>().map_err(|_| Error::config(format!("--normal-class {v:?} is not a class number or `all`")))
    };
    Ok(match flag {
        None if tabular => vec![None],
        Some("all") if binary => vec![None],
        Some("all") => data.classes().into_iter().map(Some).collect(),
        Some(v) if binary => match parse(v)? {
            0 => vec![None],
            _ => {
                return Err(Error::config(
                    "--normal-class: in data labelled 0/1 label 0 is the normal class (other classes are for multi-class labels)",
                ))
            }
        },
        v => vec![Some(parse(v.unwrap_or("0"))?)],
    })
}

/// The nearest folder on the way up from `path` that exists now (`path` itself if it does).
fn existing_ancestor(path: &Path) -> PathBuf {
    path.ancestors().find(|p| p.as_os_str().is_empty() || p.exists()).unwrap_or(path).to_path_buf()
}

/// A run refused before it wrote anything (a split too small for ICS, no holdout for MinLGAN,
/// `--dictionary-init` on tabular data) takes back the empty folders it made, up to `kept`;
/// `remove_dir` stops at the first folder that holds something.
fn remove_made_folders(out: &Path, kept: &Path) {
    for p in out.ancestors().take_while(|p| *p != kept) {
        if std::fs::remove_dir(p).is_err() {
            break;
        }
    }
}

fn main_inner(mut a: Args) -> Result<()> {
    if !METHODS.contains(&a.method.as_str()) {
        return Err(Error::config(format!("--method {:?} is not one of {}", a.method, METHODS.join(", "))));
    }
    for (flag, users) in unused_flags(&a, &a.method) {
        let hint = instead(&a.method, flag).map(|f| format!(" (it reads {f})")).unwrap_or_default();
        eprintln!(
            "warning: {flag} is read by --method {} only; --method {} ignores it{hint}",
            users.join(" / "),
            a.method
        );
        // Not checked and not recorded: results.json says what the run used.
        forget_flag(&mut a, flag);
    }
    let dev = models::platform::device_flag(&a.device)?;
    // Every run's spec is built before the first one starts; a mistyped count must not fill memory.
    if !(1..=10_000).contains(&a.seeds) {
        return Err(Error::config("--seeds must lie in 1..=10000"));
    }
    let last_seed = a.seed.checked_add(a.seeds - 1).ok_or_else(|| {
        Error::config(format!("--seed {} with --seeds {} runs past the largest seed", a.seed, a.seeds))
    })?;
    let label = label_flag(a.label.as_deref())?;
    let csv_header = header_flag(a.csv_header.as_deref())?;
    let source = Source::from_cli(&a.dataset, a.data.as_deref(), label, csv_header)?;
    let data = source.load()?;
    let input = InputKind::from_shape(&data.train.shape).map_err(Error::config)?;
    let cfg = config(&a, input)?;

    let classes = normal_classes(a.normal_class.as_deref(), &data, matches!(input, InputKind::Tabular(_)))?;
    let all = a.normal_class.as_deref() == Some("all");
    // DESIGN.md: `--normal-class all` always gives the protocol's folders and summary, even
    // where there is one normal class (tabular data).
    let many = all || classes.len() > 1 || a.seeds > 1;
    let dataset_tag = a.dataset.clone();
    let base = a.out.clone().unwrap_or_else(|| {
        let cls =
            if all { "all".to_string() } else { classes[0].map(|c| c.to_string()).unwrap_or_else(|| "normal".into()) };
        let seed = if a.seeds > 1 { format!("s{}-{last_seed}", a.seed) } else { a.seed.to_string() };
        // A table's runs are named after its file (`dsvdd-32_shuttle-normal-0`), so two files'
        // runs do not share a folder.
        let data = match (a.dataset.as_str(), a.data.as_ref().and_then(|p| p.file_stem())) {
            ("npz" | "csv", Some(stem)) => stem.to_string_lossy().into_owned(),
            _ => dataset_tag.clone(),
        };
        PathBuf::from("runs").join(format!("{}-{data}-{cls}-{seed}", a.method))
    });

    // An empty folder holds no earlier run either: `--resume` there would start afresh unasked.
    let holds_something = |d: &Path| std::fs::read_dir(d).is_ok_and(|mut e| e.next().is_some());
    if a.resume && !holds_something(&base) {
        return Err(Error::file(&base, "--resume: no earlier run in this folder"));
    }
    let mut specs = Vec::new();
    for &class in &classes {
        for seed in a.seed..=last_seed {
            let out = if many {
                base.join(format!(
                    "class{}-seed{seed}",
                    class.map(|c| c.to_string()).unwrap_or_else(|| "normal".into())
                ))
            } else {
                base.clone()
            };
            specs.push(RunSpec {
                dataset: dataset_tag.clone(),
                normal_class: class,
                seed,
                device: dev,
                contamination: a.contamination,
                label: a.label.clone(),
                csv_header,
                data: a.data.as_ref().map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| p.clone())),
                out,
                quiet: a.quiet,
                resume: a.resume,
            });
        }
    }
    // Every folder before the first run: a protocol of hours does not stop at its fifth class.
    check_out_folders(&cfg, &base, many, &specs)?;
    let mut results = Vec::new();
    for spec in &specs {
        let finished = if a.resume { finished_run(&cfg, spec)? } else { None };
        let kept = existing_ancestor(&spec.out);
        let r = match finished {
            Some(r) => r,
            None => run_one(&cfg, &data, spec).inspect_err(|_| remove_made_folders(&spec.out, &kept))?,
        };
        let class = spec.normal_class.map(|c| format!(" class {c}")).unwrap_or_default();
        eprintln!("{}{class} seed {}: AUC-ROC {:.4} → {}", cfg.method, spec.seed, r.auc_roc, spec.out.display());
        if r.auc_roc < 0.5 {
            eprintln!(
                "warning: AUC-ROC below 0.5: these scores rank the test anomalies as more normal than the \
                 normals (README, Tabular data, says where the GAN methods do this)"
            );
        }
        results.push(r);
    }
    if many {
        let mut all = earlier_runs(&base, &specs);
        all.extend(results);
        all.sort_by_key(|r| (r.normal_class, r.seed));
        let md = write_summary(&base, &cfg.method, &dataset_tag, &all)?;
        println!("{md}");
        println!("summary: {}", base.join("summary.md").display());
    } else {
        println!("AUC-ROC {:.4}", results[0].auc_roc);
    }
    Ok(())
}

fn main() -> ExitCode {
    models::platform::quiet_gpu_probe();
    let mut args: Args = match models::platform::parse_args() {
        Ok(a) => a,
        Err(status) => return status,
    };
    // Progress bars draw only on a terminal: into a log file or a pipe, the log lines instead.
    args.quiet |= !std::io::stderr().is_terminal();
    // The whole run on a pool thread, so each kernel forks and joins inside rayon's pool.
    match kernels::cpu::parallel::in_pool(|| main_inner(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
