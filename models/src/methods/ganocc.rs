//! GANOCC: a generator G and an ensemble of small "epoch discriminators". Each epoch k, G is
//! trained against the ensemble C until L_G = −E log C(G(z)) drops below a threshold; then a
//! freshly initialised D_k (one hidden layer of 8 leaky-ReLU units, identity output, on the
//! flattened input) learns to separate real data from this epoch's synthetic samples with
//!   L_Dk = −α_data E log σ(D_k(x)) − α_z E log(1 − σ(D_k(G(z))))
//! until its real and synthetic losses drop below their thresholds, and joins C.
//! C(x) = Π_k σ(D_k(x)) is computed in log space; the anomaly score is
//! −log C(x) = Σ_k softplus(−D_k(x)).
//!
//! Every "train until" loop stops at a step cap (G's `g_step_cap`, D_k's `step_cap`); how often
//! that happened is counted and reported (results.json `method_report`, and a line on stderr).
//! G's cap is small (5) on purpose: trained for hundreds of steps against a frozen ensemble, G
//! converges on the single point C rates most real — every sample alike — and the D_k that
//! follow learn to reject one image each (README, GANOCC).

use super::{state_value, Detector};
use crate::batch::{batch, epoch_batches, map_in_chunks};
use crate::config::{Config, KeepPolicy};
use crate::error::{Error, Result};
use crate::metrics::auc_roc;
use crate::nets::{Generator, InputKind};
use crate::nn::{Dense, Mode, Scope, Vars};
use crate::report::{image_grid, line_plot, Series};
use crate::run::Run;
use datasets::Dataset;
use engine::optim::{Adam, AdamConfig, Optimizer};
use engine::{no_grad, Device, Rng, Tensor};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

/// Hidden units of an epoch discriminator (paper: 8).
const HIDDEN: usize = 8;
/// Negative slope of the discriminators' leaky ReLU (the paper does not say; DCGAN's 0.2).
const SLOPE: f32 = 0.2;
/// Generator samples kept per epoch for `--ganocc-keep best` and for the sample grids.
const KEEP_SAMPLES: usize = 64;
/// Per-epoch counters in the `stats` buffer: G steps, D steps, G capped, D capped, final L_G,
/// final real loss, final synthetic loss.
const STATS: usize = 7;

/// D_k: flattened input → 8 leaky-ReLU units → one logit.
struct EpochDiscriminator {
    fc1: Dense,
    fc2: Dense,
}

impl EpochDiscriminator {
    fn new(s: &Scope, rng: &mut Rng, d: usize) -> Result<Self> {
        Ok(EpochDiscriminator {
            fc1: Dense::new(&s.sub("fc1"), rng, d, HIDDEN)?,
            fc2: Dense::new(&s.sub("fc2"), rng, HIDDEN, 1)?,
        })
    }

    /// Logits `[n]` for flattened inputs `n × d`.
    fn forward(&self, x: &Tensor) -> engine::Result<Tensor> {
        let n = x.dims()[0];
        self.fc2.forward(&self.fc1.forward(x)?.leaky_relu(SLOPE)?)?.reshape(&[n])
    }
}

/// The first k discriminators stacked into one wide layer, so the whole ensemble is one GEMM:
/// h = lrelu(x W1ᵀ + b1) (`n × 8k`), logit_j = Σ_{u ∈ block j} h_u w2_u + b2_j. Detached copies:
/// the members are frozen once trained.
struct Stack {
    k: usize,
    w1: Tensor,
    b1: Tensor,
    w2: Tensor,
    b2: Tensor,
}

impl Stack {
    fn new(members: &[EpochDiscriminator]) -> Result<Option<Stack>> {
        if members.is_empty() {
            return Ok(None);
        }
        let cat = |f: &dyn Fn(&EpochDiscriminator) -> Tensor| -> engine::Result<Tensor> {
            let parts: Vec<Tensor> = members.iter().map(f).collect();
            let refs: Vec<&Tensor> = parts.iter().collect();
            Ok(Tensor::concat(&refs, 0)?.detach())
        };
        Ok(Some(Stack {
            k: members.len(),
            w1: cat(&|m| m.fc1.weight.clone())?,
            b1: cat(&|m| m.fc1.bias.clone())?,
            w2: cat(&|m| m.fc2.weight.reshape(&[HIDDEN]).expect("8 weights"))?,
            b2: cat(&|m| m.fc2.bias.clone())?,
        }))
    }

    /// Every member's logit, `n × k`.
    fn logits(&self, x: &Tensor) -> engine::Result<Tensor> {
        let n = x.dims()[0];
        let h = x.linear(&self.w1)?.add(&self.b1)?.leaky_relu(SLOPE)?;
        h.mul(&self.w2)?.reshape(&[n, self.k, HIDDEN])?.sum(&[2], false)?.add(&self.b2)
    }

    /// −log C(x) = Σ_k softplus(−D_k(x)), per sample `[n]`.
    fn neg_log_c(&self, x: &Tensor) -> engine::Result<Tensor> {
        self.logits(x)?.neg()?.softplus()?.sum(&[1], false)
    }
}

pub struct Ganocc {
    cfg: Config,
    input: InputKind,
    vars: Vars,
    gen: Generator,
    /// D_1 … D_N, all created (untrained) up front so a saved model or checkpoint always has
    /// the same tensors; only the first `kept` form C.
    discs: Vec<EpochDiscriminator>,
    /// How many discriminators C holds (`[1]`, a buffer so checkpoints and models carry it).
    kept: Tensor,
    /// Per-epoch counters `N × STATS` (a buffer, so a resumed run keeps its history).
    stats: Tensor,
    /// Generator samples kept per epoch for `--ganocc-keep best`.
    samples: Vec<Vec<f32>>,
    /// Seeds the noise of those samples, per epoch, so a resumed run draws the same ones.
    seed: u64,
}

impl Ganocc {
    pub fn new(cfg: Config, input: InputKind, seed: u64, device: Device) -> Result<Self> {
        let mut rng = Rng::new(seed);
        let vars = Vars::new();
        let s = Scope::new(&vars, device);
        let gen = Generator::new(&s.sub("gen"), &mut rng, input, cfg.z_dim)?;
        let d = input_len(input);
        let discs = (0..cfg.epochs)
            .map(|k| EpochDiscriminator::new(&s.sub(&format!("disc{}", k + 1)), &mut rng, d))
            .collect::<Result<Vec<_>>>()?;
        let kept = s.buffer("kept", Tensor::zeros(&[1], device));
        let stats = s.buffer("stats", Tensor::zeros(&[cfg.epochs.max(1), STATS], device));
        Ok(Ganocc { cfg, input, vars, gen, discs, kept, stats, samples: Vec::new(), seed })
    }

    fn device(&self) -> Device {
        self.vars.params()[0].device()
    }

    fn kept(&self) -> usize {
        self.kept.to_vec()[0] as usize
    }

    fn stats_rows(&self) -> Vec<[f32; STATS]> {
        self.stats.to_vec().chunks(STATS).map(|r| r.try_into().expect("STATS columns")).collect()
    }

    /// Every member's logit on `data`, row-major `n × k` (k = members trained so far).
    fn member_logits(&self, data: &Dataset, k: usize) -> Result<Vec<f32>> {
        let Some(stack) = Stack::new(&self.discs[..k])? else { return Ok(Vec::new()) };
        let d = data.sample_len();
        Ok(no_grad(|| {
            map_in_chunks(data, 500, self.device(), |b| {
                let n = b.dims()[0];
                Ok(stack.logits(&b.reshape(&[n, d])?)?.to_vec())
            })
        })?)
    }

    /// Trains G against C = the first k members until L_G < threshold, at most `g_step_cap`
    /// steps; returns (steps, capped, last loss).
    fn train_generator(
        &self,
        stack: Option<&Stack>,
        opt: &mut Adam,
        epoch: usize,
        run: &mut Run,
    ) -> Result<(usize, bool, f32)> {
        let Some(stack) = stack else { return Ok((0, false, 0.0)) };
        let (n, d, dev) = (self.cfg.batch_size, input_len(self.input), self.device());
        let cap = self.cfg.g_step_cap;
        for step in 0..=cap {
            let z = self.gen.noise(n, &mut run.rng, dev)?;
            let fake = self.gen.forward(&z, Mode::Train)?.reshape(&[n, d])?;
            let loss = stack.neg_log_c(&fake)?.mean_all()?;
            let value = Run::check_finite("ganocc G", epoch + 1, step + 1, loss.to_scalar()?)?;
            if value < self.cfg.g_loss_threshold {
                return Ok((step, false, value));
            }
            if step == cap {
                return Ok((step, true, value));
            }
            opt.zero_grad();
            loss.backward()?;
            opt.step()?;
        }
        unreachable!("the loop returns at g_step_cap")
    }

    /// `count` samples from G (flattened, evaluation mode: running batch-norm statistics).
    fn generate(&self, count: usize, rng: &mut Rng) -> Result<Tensor> {
        let d = input_len(self.input);
        let z = self.gen.noise(count, rng, self.device())?;
        Ok(no_grad(|| self.gen.forward(&z, Mode::Eval)?.reshape(&[count, d]))?)
    }

    /// Trains D_k on real data vs. this epoch's synthetic pool until the real loss is below
    /// d_real_threshold and the synthetic loss below d_fake_threshold; returns (steps, capped,
    /// real loss, synthetic loss).
    fn train_discriminator(
        &self,
        k: usize,
        train: &Dataset,
        pool: &Tensor,
        run: &mut Run,
    ) -> Result<(usize, bool, f32, f32)> {
        let cfg = &self.cfg;
        let disc = &self.discs[k];
        let params = self.vars.params_under(&format!("disc{}.", k + 1));
        let mut opt = Adam::new(params, AdamConfig { lr: cfg.lr, beta1: 0.5, ..Default::default() });
        let (d, dev, n) = (input_len(self.input), self.device(), cfg.batch_size.min(train.len()));
        let mut real_batches = Vec::new();
        let pool_n = pool.dims()[0];
        for step in 0..=cfg.step_cap {
            if real_batches.is_empty() {
                real_batches = epoch_batches(train.len(), n, &mut run.rng);
            }
            let idx = real_batches.pop().expect("refilled");
            let real = batch(train, &idx, dev)?.reshape(&[idx.len(), d])?;
            let rows: Vec<usize> = (0..n).map(|_| run.rng.below(pool_n)).collect();
            let fake = pool.select_rows(&rows)?;
            let l_real = disc.forward(&real)?.neg()?.softplus()?.mean_all()?;
            let l_fake = disc.forward(&fake)?.softplus()?.mean_all()?;
            let (vr, vf) = (l_real.to_scalar()?, l_fake.to_scalar()?);
            Run::check_finite("ganocc D", k + 1, step + 1, vr + vf)?;
            if vr < cfg.d_real_threshold && vf < cfg.d_fake_threshold {
                return Ok((step, false, vr, vf));
            }
            if step == cfg.step_cap {
                return Ok((step, true, vr, vf));
            }
            let loss = l_real.mul_scalar(cfg.alpha_data)?.add(&l_fake.mul_scalar(cfg.alpha_z)?)?;
            opt.zero_grad();
            loss.backward()?;
            opt.step()?;
        }
        unreachable!("the loop returns at step_cap")
    }

    /// `--ganocc-keep best`: the prefix C_k with the best AUC separating held-out normals from
    /// the generator's samples of all epochs (never test labels). Ties go to the shorter prefix.
    /// (A resumed run only has the samples of the epochs it trained itself.)
    fn best_prefix(&self, holdout: &Dataset, n_epochs: usize) -> Result<usize> {
        let fakes: Vec<f32> = self.samples.iter().flatten().copied().collect();
        let d = input_len(self.input);
        let n_fake = fakes.len() / d;
        let fake_set = Dataset { x: fakes, labels: vec![1; n_fake], shape: holdout.shape.clone() };
        let real = self.member_logits(holdout, n_epochs)?;
        let fake = self.member_logits(&fake_set, n_epochs)?;
        let labels: Vec<u8> = (0..holdout.len()).map(|_| 0).chain((0..n_fake).map(|_| 1)).collect();
        let curve = cumulative_auc(&[real, fake].concat(), n_epochs, &labels);
        let mut best = (1, f64::NEG_INFINITY);
        for (k, auc) in curve.iter().enumerate() {
            if *auc > best.1 + 1e-12 {
                best = (k + 1, *auc);
            }
        }
        Ok(best.0)
    }
}

/// Elements per sample (D_k works on the flattened input).
fn input_len(input: InputKind) -> usize {
    match input {
        InputKind::Mnist => 28 * 28,
        InputKind::Cifar => 3 * 32 * 32,
        InputKind::Tabular(d) => d,
    }
}

/// −log C over the first k members for every k, from row-major logits `n × members`:
/// column j of the result is Σ_{i ≤ j} softplus(−logit_i). Returns the AUC of each prefix.
fn cumulative_auc(logits: &[f32], members: usize, labels: &[u8]) -> Vec<f64> {
    let n = labels.len();
    let mut score = vec![0f32; n];
    let mut out = Vec::with_capacity(members);
    for j in 0..members {
        for (i, s) in score.iter_mut().enumerate() {
            *s += softplus(-logits[i * members + j]);
        }
        out.push(auc_roc(&score, labels).unwrap_or(f64::NAN));
    }
    out
}

/// ln(1 + eˣ) without overflow.
fn softplus(x: f32) -> f32 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

impl Detector for Ganocc {
    fn fit(&mut self, train: &Dataset, holdout: Option<&Dataset>, run: &mut Run) -> Result<()> {
        let phase = "ganocc";
        let epochs = self.cfg.epochs;
        if train.is_empty() {
            return Err(Error::config("ganocc: no training samples"));
        }
        let g_params = self.vars.params_under("gen.");
        let mut g_opt = Adam::new(g_params, AdamConfig { lr: self.cfg.lr, beta1: 0.5, ..Default::default() });
        let mut start = 0;
        if run.resume.as_ref().is_some_and(|c| c.phase == phase) {
            let ck = run.resume.take().expect("checked");
            let (history, samples, secs) = ck.restore(&[&self.vars], &mut [&mut g_opt], &mut run.rng)?;
            (run.history, run.samples_trained, run.train_seconds) = (history, samples, secs);
            start = ck.epochs_done.min(epochs);
            if !run.quiet {
                eprintln!("{phase}: resumed after epoch {start}/{epochs}");
            }
        }
        let images = !matches!(self.input, InputKind::Tabular(_));
        let samples_dir = run.out.as_ref().filter(|_| images).map(|o| o.join("samples"));
        if let Some(dir) = &samples_dir {
            std::fs::create_dir_all(dir).map_err(|e| Error::file(dir, e))?;
        }
        let grid_every = (epochs / 10).max(1);
        let pb = run.bar(phase, epochs as u64);
        pb.set_position(start as u64);
        let mut stats = self.stats.to_vec();
        for k in start..epochs {
            let t0 = Instant::now();
            let stack = Stack::new(&self.discs[..k])?;
            let (g_steps, g_cap, g_loss) = self.train_generator(stack.as_ref(), &mut g_opt, k, run)?;
            // This epoch's synthetic data, from the generator as it now stands, in evaluation mode:
            // its batch norm uses running statistics, which trail the batches G trained on by a
            // few steps (and in epoch 1, where G does not train, are the initial 0 and 1). Drawn in
            // training mode instead (batch statistics, as G's own loss sees it), the paper preset
            // at seed 0 scored worse: digit 8 0.914 against 0.938, digit 2 0.933 against 0.962.
            let pool = self.generate(self.cfg.ganocc_pool, &mut run.rng)?;
            let (d_steps, d_cap, l_real, l_fake) = self.train_discriminator(k, train, &pool, run)?;
            let mut sample_rng = Rng::new(self.seed ^ ((k as u64 + 1) << 32));
            let kept_samples = self.generate(KEEP_SAMPLES, &mut sample_rng)?.to_vec();
            if let Some(dir) = &samples_dir {
                let due = (k + 1) % grid_every == 0 || k + 1 == epochs || k == 0;
                if due {
                    let path = dir.join(format!("epoch_{}.png", k + 1));
                    let title = format!("generator samples, epoch {}", k + 1);
                    image_grid(&path, &kept_samples, &train.shape, KEEP_SAMPLES.min(32), 8, &title)
                        .map_err(|e| Error::file(&path, e))?;
                }
            }
            // Only `--ganocc-keep best` chooses by them; otherwise 250 epochs of samples would
            // sit in memory for nothing.
            if self.cfg.ganocc_keep == KeepPolicy::Best {
                self.samples.push(kept_samples);
            }
            let row = [g_steps as f32, d_steps as f32, g_cap as u8 as f32, d_cap as u8 as f32, g_loss, l_real, l_fake];
            stats[k * STATS..(k + 1) * STATS].copy_from_slice(&row);
            self.stats.set_data(stats.clone())?;
            self.kept.set_data(vec![(k + 1) as f32])?;
            let secs = t0.elapsed().as_secs_f64();
            let trained = (g_steps + d_steps) * self.cfg.batch_size;
            if k > 0 {
                run.record_point("ganocc G", k + 1, g_loss as f64, trained, secs);
            } else {
                // No ensemble yet, so G did not train: no L_G to plot.
                run.count_trained(trained, secs);
            }
            if run.quiet {
                let g = if k > 0 {
                    format!("G {g_steps} steps, L_G {g_loss:.3}")
                } else {
                    "G untrained (no ensemble yet)".into()
                };
                eprintln!(
                    "ganocc: epoch {}/{epochs} {g}; D_{} {d_steps} steps, losses real {l_real:.3} synthetic {l_fake:.3} ({:.0} samples/s)",
                    k + 1,
                    k + 1,
                    trained as f64 / secs.max(1e-9)
                );
            }
            run.history.push(crate::run::LossPoint {
                phase: "ganocc D".into(),
                epoch: k + 1,
                loss: (self.cfg.alpha_data * l_real + self.cfg.alpha_z * l_fake) as f64,
            });
            pb.inc(1);
            pb.set_message(format!("G {g_steps} steps (L_G {g_loss:.3}), D_{} {d_steps} steps", k + 1));
            run.save_checkpoint(phase, k + 1, &[&self.vars], &[&g_opt], &run.rng)?;
        }
        pb.finish_and_clear();
        run.completed.push(phase.to_string());
        if self.cfg.ganocc_keep == KeepPolicy::Best {
            let holdout = holdout.ok_or_else(|| Error::config("--ganocc-keep best needs held-out normals"))?;
            if self.samples.is_empty() {
                return Err(Error::config("--ganocc-keep best: a resumed run has no generator samples to choose by"));
            }
            let best = self.best_prefix(holdout, epochs)?;
            self.kept.set_data(vec![best as f32])?;
        }
        let rows = self.stats_rows();
        let (g_caps, d_caps) =
            rows.iter().fold((0, 0), |(g, d), r| (g + (r[2] > 0.0) as usize, d + (r[3] > 0.0) as usize));
        let kept = self.kept();
        eprintln!(
            "ganocc: G hit its step cap ({}) in {g_caps} of {epochs} epochs, D_k its cap ({}) in {d_caps}; ensemble keeps {kept} member{}",
            self.cfg.g_step_cap,
            self.cfg.step_cap,
            if kept == 1 { "" } else { "s" }
        );
        Ok(())
    }

    fn score(&self, x: &Dataset) -> Result<Vec<f32>> {
        let k = self.kept();
        let Some(stack) = Stack::new(&self.discs[..k])? else {
            return Err(Error::config("ganocc: the ensemble is empty (no epoch was trained)"));
        };
        let d = x.sample_len();
        Ok(no_grad(|| {
            map_in_chunks(x, 500, self.device(), |b| {
                let n = b.dims()[0];
                Ok(stack.neg_log_c(&b.reshape(&[n, d])?)?.to_vec())
            })
        })?)
    }

    fn vars(&self) -> &Vars {
        &self.vars
    }

    fn state(&self) -> BTreeMap<String, String> {
        BTreeMap::from([("kept".to_string(), self.kept().to_string())])
    }

    fn set_state(&mut self, state: &BTreeMap<String, String>) -> Result<()> {
        let k: usize = state_value(state, "kept")?;
        if k > self.discs.len() {
            return Err(Error::config(format!("saved ensemble keeps {k} members, the model has {}", self.discs.len())));
        }
        self.kept.set_data(vec![k as f32])?;
        Ok(())
    }

    /// `ensemble_auc.csv` / `ensemble_auc.png`: the AUC of C as members are added, and each
    /// D_k's own AUC — what the paper monitors. Reporting only: the model is already fixed.
    fn write_reports(&self, out: &Path, test: &Dataset, labels: &[u8]) -> Result<()> {
        let n_members = self.stats_rows().iter().filter(|r| r[0] + r[1] > 0.0).count().max(self.kept());
        if n_members == 0 {
            return Ok(());
        }
        let logits = self.member_logits(test, n_members)?;
        let cumulative = cumulative_auc(&logits, n_members, labels);
        let single: Vec<f64> = (0..n_members)
            .map(|j| {
                let s: Vec<f32> = (0..labels.len()).map(|i| -logits[i * n_members + j]).collect();
                auc_roc(&s, labels).unwrap_or(f64::NAN)
            })
            .collect();
        let mut csv = String::from("members,ensemble_auc,member_auc\n");
        for k in 0..n_members {
            csv.push_str(&format!("{},{:.6},{:.6}\n", k + 1, cumulative[k], single[k]));
        }
        let path = out.join("ensemble_auc.csv");
        std::fs::write(&path, csv).map_err(|e| Error::file(&path, e))?;
        let series = [
            Series::new("ensemble C_k", cumulative.iter().enumerate().map(|(k, a)| ((k + 1) as f64, *a)).collect()),
            Series::new("D_k alone", single.iter().enumerate().map(|(k, a)| ((k + 1) as f64, *a)).collect()),
        ];
        let path = out.join("ensemble_auc.png");
        line_plot(&path, "GANOCC: test AUC vs. ensemble size", "members (epochs)", "AUC-ROC", &series)
            .map_err(|e| Error::file(&path, e))
    }

    fn report_json(&self) -> Option<Value> {
        let rows = self.stats_rows();
        let trained: Vec<&[f32; STATS]> = rows.iter().filter(|r| r[0] + r[1] > 0.0).collect();
        Some(json!({
            "members_kept": self.kept(),
            "g_step_cap": self.cfg.g_step_cap,
            "step_cap": self.cfg.step_cap,
            "g_cap_hits": trained.iter().filter(|r| r[2] > 0.0).count(),
            "d_cap_hits": trained.iter().filter(|r| r[3] > 0.0).count(),
            "g_steps": trained.iter().map(|r| r[0] as usize).collect::<Vec<_>>(),
            "d_steps": trained.iter().map(|r| r[1] as usize).collect::<Vec<_>>(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The log-space ensemble score equals −ln Π σ(D_k(x)) computed directly.
    #[test]
    fn log_space_ensemble_equals_product_form() {
        let vars = Vars::new();
        let s = Scope::new(&vars, Device::Cpu);
        let mut rng = Rng::new(3);
        let members: Vec<EpochDiscriminator> =
            (0..5).map(|k| EpochDiscriminator::new(&s.sub(&format!("d{k}")), &mut rng, 6).unwrap()).collect();
        let x = Tensor::randn(&[4, 6], 0.0, 1.0, &mut rng, Device::Cpu).unwrap();
        let stack = Stack::new(&members).unwrap().unwrap();
        let log_space = stack.neg_log_c(&x).unwrap().to_vec();
        let mut product = [1f64; 4];
        for m in &members {
            for (p, l) in product.iter_mut().zip(m.forward(&x).unwrap().to_vec()) {
                *p *= 1.0 / (1.0 + (-l as f64).exp());
            }
        }
        for (a, p) in log_space.iter().zip(product) {
            assert!((*a as f64 - (-p.ln())).abs() < 1e-4 * (1.0 + a.abs() as f64), "{a} vs {}", -p.ln());
        }
    }

    #[test]
    fn cumulative_auc_adds_members_in_order() {
        // Member 1 ranks the anomaly (label 1) highest; member 2 calls the normal sample far
        // more anomalous, which the sum of −log σ carries over.
        let labels = [0u8, 1];
        let logits = [3.0, -20.0, -3.0, 3.0]; // rows: sample 0 (m1, m2), sample 1 (m1, m2)
        let auc = cumulative_auc(&logits, 2, &labels);
        assert_eq!(auc[0], 1.0);
        assert_eq!(auc[1], 0.0);
    }
}
