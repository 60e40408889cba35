//! MinLGAN (Wang et al., "Minimum likelihood GAN for anomaly detection", §IV): a GAN whose
//! discriminator is the detector, anomaly score −D(x) (the logit), and whose generator is kept
//! from converging to the data by a minimum-likelihood term. Per mini-batch, in turn (§IV-A):
//!
//! 1. D:  max_D  E_x log D(x) + E_{z~p(z)} log(1 − D(G(z)))                  (binary cross-entropy)
//! 2. q:  max_ϑ  E_{q(z|x)} log p(x|z) − KL(q(z|x) ‖ p(z))                    (the ELBO)
//! 3. G:  min_G  ‖E_x f(x) − E_z f(G(z))‖² + a · E_{z~q(z|x)} log p(x|z)     (`--minl-a`)
//!
//! with p(x|z) = N(x; G(z), σ²I), so log p(x|z) = −‖x − G(z)‖²/(2σ²) + const. The sign of the
//! last term: G *minimises* a·log p(x|z) at the z that q says explain x, i.e. it maximises
//! ‖x − G(z)‖² there — G(z) is pushed away from the real data ("minimising ∫q log p means G(z)
//! is trained to get away from x", §IV-A), which is −a·KL(p_data ‖ p̃_G) up to the ELBO gap.
//! `--minl-a 0` is the plain GAN baseline (feature matching only).
//!
//! Ensembles (§IV-B): N members trained independently (own seeds for every network and every
//! draw); EMinLGAN-1 scores −mean_i D_i(x), EMinLGAN-2 −mean_i (D_i(x) − n_i)/(m_i − n_i) with
//! n_i, m_i the min and max of D_i over the holdout normals.
//!
//! Stopping (§V-B: "a small holdout set is used to decide the termination"): our holdout holds
//! normals only, so the holdout score of an epoch's D is the AUC of −D separating the holdout
//! normals from a bank of generator samples drawn at the end of every epoch so far. Each epoch
//! the current D is compared with the best one so far on the same, current bank, and replaces
//! it when at least as good; the member keeps the best D. No test data is involved.
//!
//! Checkpoints: after every epoch of every member (phase `minlgan D<i>`), everything the
//! remaining epochs depend on — every member's D (earlier members' final ones with their holdout
//! ranges), this member's G, q, best D so far and holdout bank, the three optimisers, the member's
//! RNG, and each member's kept epoch. A resumed run skips the members already finished and
//! continues the interrupted one after its last checkpointed epoch.

use super::{floats_from_string, floats_to_string, Detector};
use crate::batch::{batch, epoch_batches, map_in_chunks};
use crate::config::{Config, EnsembleMode};
use crate::error::{Error, Result};
use crate::metrics::auc_roc;
use crate::nets::minlgan::{Discriminator, Posterior};
use crate::nets::{Generator, InputKind};
use crate::nn::{Mode, Scope, Vars};
use crate::report::{image_grid, line_plot, Series};
use crate::run::Run;
use datasets::Dataset;
use engine::optim::{Adam, AdamConfig, Optimizer};
use engine::{no_grad, Device, Rng, Tensor};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

/// σ of the Gaussian p(x|z) = N(G(z), σ²I). Tabular features are standardised and images lie in
/// [-1, 1], so one unit is about the data's own spread in both.
const SIGMA_X: f32 = 1.0;
/// Generator samples added to the holdout bank after every epoch.
const BANK_PER_EPOCH: usize = 128;
/// DCGAN's Adam momentum (β1 = 0.5), the usual setting for GANs.
const BETA1: f32 = 0.5;

/// One ensemble member as saved: its discriminator and its holdout range (n_i, m_i), the latter
/// as buffers so a saved model carries it beside the weights.
struct Member {
    d: Discriminator,
    lo: Tensor,
    hi: Tensor,
}

pub struct MinLGan {
    cfg: Config,
    input: InputKind,
    seed: u64,
    vars: Vars,
    members: Vec<Member>,
    /// Diagnostics only: test data whose AUC under each epoch's D is printed while training.
    /// Never used for a choice.
    watch: Option<(Dataset, Vec<u8>)>,
    /// Per member: the epoch the holdout rule kept and its holdout AUC (for `results.json`).
    chosen: Vec<(usize, f64)>,
}

/// Per member: the epoch the holdout rule kept and its holdout AUC, in a buffer so that a
/// checkpoint carries the finished members' choices and the running one's best so far. The AUC's
/// f64 bits are stored as four 16-bit pieces, each exact in an f32, so a resumed run reports the
/// same value.
struct Chosen {
    vars: Vars,
    rows: Tensor,
}

impl Chosen {
    const COLS: usize = 5;

    fn new(members: usize) -> Self {
        let vars = Vars::new();
        let rows = Scope::new(&vars, Device::Cpu).buffer("chosen", Tensor::zeros(&[members, Self::COLS], Device::Cpu));
        Chosen { vars, rows }
    }

    fn get(&self, i: usize) -> (usize, f64) {
        let r = &self.rows.to_vec()[i * Self::COLS..(i + 1) * Self::COLS];
        let bits = (0..4).fold(0u64, |b, k| b | ((r[1 + k] as u64) << (16 * k)));
        (r[0] as usize, f64::from_bits(bits))
    }

    fn set(&self, i: usize, epoch: usize, auc: f64) -> Result<()> {
        let mut all = self.rows.to_vec();
        let bits = auc.to_bits();
        let row = [epoch as f32].into_iter().chain((0..4).map(|k| ((bits >> (16 * k)) & 0xFFFF) as f32));
        for (x, v) in all[i * Self::COLS..(i + 1) * Self::COLS].iter_mut().zip(row) {
            *x = v;
        }
        Ok(self.rows.set_data(all)?)
    }
}

/// The checkpoint phase of member `i` (also its progress bar's and loss curve's name).
fn member_phase(i: usize) -> String {
    format!("minlgan D{}", i + 1)
}

/// An independent random stream for `member`'s `purpose` (0: D's initial weights, 1: G, 2: q,
/// 3: training draws). Member i's streams do not depend on the ensemble size, so the first member
/// of an ensemble is the single model trained with the same seed.
fn stream(seed: u64, member: usize, purpose: u64) -> Rng {
    Rng::new(seed).fork(16 * (member as u64 + 1) + purpose)
}

fn zero_grads(vars: &[&Vars]) {
    for v in vars {
        for p in v.params() {
            p.zero_grad();
        }
    }
}

/// −log p(x|z) per value, without its constant: (x − x̂)²/(2σ²), averaged over everything.
fn neg_log_lik_per_value(x: &Tensor, x_hat: &Tensor) -> engine::Result<Tensor> {
    x.sub(x_hat)?.sqr()?.mean_all()?.mul_scalar(0.5 / (SIGMA_X * SIGMA_X))
}

/// AUC of −D telling the holdout normals (label 0) from `others` (label 1).
fn holdout_auc(d: &Discriminator, holdout: &Dataset, others: &Dataset, dev: Device) -> Result<f64> {
    let mut s = logits(d, holdout, dev)?;
    s.extend(logits(d, others, dev)?);
    let scores: Vec<f32> = s.iter().map(|v| -v).collect();
    let labels: Vec<u8> = (0..scores.len()).map(|i| (i >= holdout.len()) as u8).collect();
    Ok(auc_roc(&scores, &labels).unwrap_or(0.5))
}

fn logits(d: &Discriminator, data: &Dataset, dev: Device) -> Result<Vec<f32>> {
    Ok(no_grad(|| map_in_chunks(data, 500, dev, |b| Ok(d.logits(b)?.to_vec())))?)
}

/// The mean of one loss over an epoch, and the NaN guard on each batch's value.
#[derive(Default)]
struct Mean {
    sum: f64,
    n: usize,
}

impl Mean {
    fn add(&mut self, phase: &str, epoch: usize, batch: usize, loss: &Tensor, count: usize) -> Result<()> {
        let v = Run::check_finite(phase, epoch, batch, loss.to_scalar()?)?;
        self.sum += v as f64 * count as f64;
        self.n += count;
        Ok(())
    }
    fn get(&self) -> f64 {
        self.sum / self.n.max(1) as f64
    }
}

impl MinLGan {
    pub fn new(cfg: Config, input: InputKind, seed: u64, device: Device) -> Result<Self> {
        let vars = Vars::new();
        let s = Scope::new(&vars, device);
        let mut members = Vec::new();
        for i in 0..cfg.ensemble {
            let m = s.sub(&format!("member{i}"));
            let d = Discriminator::new(&m.sub("D"), &mut stream(seed, i, 0), input)?;
            let lo = m.buffer("holdout_min", Tensor::zeros(&[1], device));
            let hi = m.buffer("holdout_max", Tensor::ones(&[1], device));
            members.push(Member { d, lo, hi });
        }
        Ok(MinLGan { cfg, input, seed, vars, members, watch: None, chosen: Vec::new() })
    }

    /// Prints the test AUC of every epoch's discriminator while training (diagnostics: it shows
    /// how well the holdout rule stops, and changes nothing).
    pub fn watch(&mut self, test: Dataset, labels: Vec<u8>) {
        self.watch = Some((test, labels));
    }

    fn device(&self) -> Device {
        self.vars.params()[0].device()
    }

    /// D_i(x) for every member, `[member][sample]`.
    fn member_logits(&self, x: &Dataset) -> Result<Vec<Vec<f32>>> {
        let dev = self.device();
        self.members.iter().map(|m| logits(&m.d, x, dev)).collect()
    }

    /// The ensemble score of the first `k` members: −mean D_i (EMinLGAN-1) or −mean of the
    /// holdout-scaled D_i (EMinLGAN-2).
    fn combine(&self, logits: &[Vec<f32>], k: usize, mode: EnsembleMode) -> Vec<f32> {
        let n = logits.first().map_or(0, Vec::len);
        let mut s = vec![0.0f32; n];
        for (m, l) in self.members.iter().zip(logits).take(k) {
            let (a, b) = match mode {
                EnsembleMode::Mean => (1.0, 0.0),
                EnsembleMode::Scaled => {
                    let (lo, hi) = (m.lo.to_vec()[0], m.hi.to_vec()[0]);
                    let range = (hi - lo).max(f32::MIN_POSITIVE);
                    (1.0 / range, -lo / range)
                }
            };
            for (si, &v) in s.iter_mut().zip(l) {
                *si -= a * v + b;
            }
        }
        s.iter().map(|v| v / k as f32).collect()
    }

    /// Trains member `i` (steps 1–3 of the module docs per mini-batch) and leaves it with its
    /// best-on-holdout discriminator and holdout range, its choice in `chosen`. A run resumed in
    /// this member's phase restores its checkpoint and continues after the epoch it was taken at.
    fn fit_member(&self, i: usize, train: &Dataset, holdout: &Dataset, chosen: &Chosen, run: &mut Run) -> Result<()> {
        let (cfg, dev, input) = (&self.cfg, self.device(), self.input);
        let member = &self.members[i];
        let d = &member.d;
        let d_prefix = format!("member{i}.D.");
        // G and q live only while training: scoring needs D alone.
        let gq = Vars::new();
        let s = Scope::new(&gq, dev);
        let g = Generator::new(&s.sub("G"), &mut stream(self.seed, i, 1), input, cfg.z_dim)?;
        let q = Posterior::new(&s.sub("q"), &mut stream(self.seed, i, 2), input, cfg.z_dim)?;
        let mut rng = stream(self.seed, i, 3);
        // The best discriminator so far, in a scratch registry of the same layout.
        let best_vars = Vars::new();
        let best = Discriminator::new(&Scope::new(&best_vars, dev).sub("D"), &mut Rng::new(0), input)?;
        let d_entries: Vec<Tensor> =
            self.vars.entries().into_iter().filter(|(n, _, _)| n.starts_with(&d_prefix)).map(|(_, t, _)| t).collect();
        let best_entries: Vec<Tensor> = best_vars.entries().into_iter().map(|(_, t, _)| t).collect();
        let keep_best = || -> Result<()> {
            for (b, t) in best_entries.iter().zip(&d_entries) {
                b.set_data(t.to_vec())?;
            }
            Ok(())
        };

        let adam = AdamConfig { lr: cfg.lr, beta1: BETA1, beta2: 0.999, ..Default::default() };
        let mut opt_d = Adam::new(self.vars.params_under(&d_prefix), adam);
        let mut opt_g = Adam::new(gq.params_under("G."), adam);
        let mut opt_q = Adam::new(gq.params_under("q."), adam);
        let all: [&Vars; 2] = [&self.vars, &gq];
        let a = cfg.minl_a;

        let phase = member_phase(i);
        let per_epoch = train.len().div_ceil(cfg.batch_size.max(1)) as u64;
        let pb = run.bar(&phase, per_epoch * cfg.epochs as u64);
        let mut bank = Dataset { x: Vec::new(), labels: Vec::new(), shape: train.shape.clone() };
        let (mut best_epoch, mut best_auc) = (0, f64::NAN);
        let k = BANK_PER_EPOCH.max(2);
        let mut start = 0;
        if run.resume.as_ref().is_some_and(|c| c.phase == phase) {
            let ck = run.resume.take().expect("checked");
            start = ck.epochs_done.min(cfg.epochs);
            // The bank holds k samples per epoch done; its buffer gets that size to be restored.
            let bank_vars = Vars::new();
            let n_bank = start * k;
            let saved = Scope::new(&bank_vars, Device::Cpu)
                .buffer("bank", Tensor::zeros(&[n_bank * train.sample_len()], Device::Cpu));
            let (history, samples, secs) = ck.restore(
                &[&self.vars, &gq, &best_vars, &chosen.vars, &bank_vars],
                &mut [&mut opt_d, &mut opt_q, &mut opt_g],
                &mut rng,
            )?;
            (run.history, run.samples_trained, run.train_seconds) = (history, samples, secs);
            (bank.x, bank.labels) = (saved.to_vec(), vec![1; n_bank]);
            (best_epoch, best_auc) = chosen.get(i);
            pb.set_position(per_epoch * start as u64);
            if !run.quiet {
                eprintln!("{phase}: resumed after epoch {start}/{}", cfg.epochs);
            }
        }
        for epoch in start + 1..=cfg.epochs {
            let t0 = Instant::now();
            let (mut ld_mean, mut lq_mean, mut lg_mean) = (Mean::default(), Mean::default(), Mean::default());
            for (b, idx) in epoch_batches(train.len(), cfg.batch_size, &mut rng).iter().enumerate() {
                let x = batch(train, idx, dev)?;
                let n = idx.len();
                let bno = b + 1;

                // 1. D: real → 1, G(z) → 0.
                let fake = no_grad(|| g.forward(&g.noise(n, &mut rng, dev)?, Mode::Train))?;
                let ld = d
                    .logits(&x)?
                    .bce_with_logits(&Tensor::ones(&[n], dev))?
                    .add(&d.logits(&fake)?.bce_with_logits(&Tensor::zeros(&[n], dev))?)?;
                ld_mean.add(&phase, epoch, bno, &ld, n)?;
                zero_grads(&all);
                ld.backward()?;
                opt_d.step()?;

                // 2. q: minimise −ELBO = E_q ‖x − G(z)‖²/(2σ²) + KL(q ‖ N(0, I)), summed over
                // values and z, averaged over the batch. G runs in evaluation mode here and in
                // step 3's likelihood term: its running statistics come from prior batches, so
                // q inverts the same function G(z) that D sees, not one renormalised by the
                // statistics of a batch of q's codes.
                let (mu, log_var) = q.forward(&x)?;
                let z = q.sample(&mu, &log_var, &mut rng)?;
                let values = x.numel() as f32;
                let rec = neg_log_lik_per_value(&x, &g.forward(&z, Mode::Eval)?)?.mul_scalar(values / n as f32)?;
                let lq = rec.add(&Posterior::kl(&mu, &log_var)?.mean_all()?)?;
                lq_mean.add(&phase, epoch, bno, &lq, n)?;
                zero_grads(&all);
                lq.backward()?;
                opt_q.step()?;

                // 3. G: feature matching on D's last hidden layer (squared distance of the batch
                // means, as improved-GAN's code), plus a·E_{z~q(z|x)} log p(x|z) per value
                // (= −a·E (x − G(z))²/(2σ²)): minimising it drives G(z) away from x.
                let f_real = no_grad(|| d.forward(&x)?.0.mean(&[0], false))?;
                let (f_fake, _) = d.forward(&g.forward(&g.noise(n, &mut rng, dev)?, Mode::Train)?)?;
                let mut lg = f_real.sub(&f_fake.mean(&[0], false)?)?.sqr()?.mean_all()?;
                if a > 0.0 {
                    let z = no_grad(|| {
                        let (mu, log_var) = q.forward(&x)?;
                        q.sample(&mu, &log_var, &mut rng)
                    })?;
                    let log_lik = neg_log_lik_per_value(&x, &g.forward(&z, Mode::Eval)?)?.neg()?;
                    lg = lg.add(&log_lik.mul_scalar(a)?)?;
                }
                lg_mean.add(&phase, epoch, bno, &lg, n)?;
                zero_grads(&all);
                lg.backward()?;
                opt_g.step()?;
                pb.inc(1);
            }
            zero_grads(&all);

            // The holdout score: this epoch's samples join the bank; the current D replaces the
            // best one when it separates the holdout from the whole bank at least as well.
            let samples = no_grad(|| g.forward(&g.noise(k, &mut rng, dev)?, Mode::Train))?;
            bank.x.extend(samples.to_vec());
            bank.labels.extend(std::iter::repeat_n(1, k));
            let auc = holdout_auc(d, holdout, &bank, dev)?;
            let incumbent = if best_epoch == 0 { f64::NEG_INFINITY } else { holdout_auc(&best, holdout, &bank, dev)? };
            if auc >= incumbent {
                keep_best()?;
                (best_epoch, best_auc) = (epoch, auc);
            } else {
                best_auc = incumbent;
            }
            if let Some((test, labels)) = &self.watch {
                let s: Vec<f32> = logits(d, test, dev)?.iter().map(|v| -v).collect();
                eprintln!("{phase}: epoch {epoch} test AUC {:.4}", auc_roc(&s, labels).unwrap_or(f64::NAN));
            }
            let secs = t0.elapsed().as_secs_f64();
            pb.set_message(format!(
                "epoch {epoch}/{} D {:.4} q {:.3} G {:.4} holdout AUC {auc:.4} (best: epoch {best_epoch})",
                cfg.epochs,
                ld_mean.get(),
                lq_mean.get(),
                lg_mean.get()
            ));
            run.record_epoch(&phase, epoch, cfg.epochs, ld_mean.get(), ld_mean.n, secs);
            if run.quiet {
                eprintln!(
                    "{phase}: epoch {epoch} q {:.4} G {:.5} holdout AUC {auc:.4}, best epoch {best_epoch} ({best_auc:.4})",
                    lq_mean.get(),
                    lg_mean.get()
                );
            }
            if run.checkpoint.is_some() {
                chosen.set(i, best_epoch, best_auc)?;
                let bank_vars = Vars::new();
                Scope::new(&bank_vars, Device::Cpu)
                    .buffer("bank", Tensor::from_vec(bank.x.clone(), &[bank.x.len()], Device::Cpu)?);
                run.save_checkpoint(
                    &phase,
                    epoch,
                    &[&self.vars, &gq, &best_vars, &chosen.vars, &bank_vars],
                    &[&opt_d, &opt_q, &opt_g],
                    &rng,
                )?;
            }
        }
        pb.finish_and_clear();

        // The member keeps its best discriminator, and its range on the holdout (EMinLGAN-2).
        if best_epoch > 0 {
            for (t, b) in d_entries.iter().zip(&best_entries) {
                t.set_data(b.to_vec())?;
            }
        }
        let h = logits(d, holdout, dev)?;
        let (lo, hi) = h.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)));
        member.lo.set_data(vec![lo])?;
        member.hi.set_data(vec![hi])?;
        chosen.set(i, best_epoch, best_auc)?;
        if !run.quiet {
            eprintln!(
                "minlgan: member {}/{} keeps epoch {best_epoch} (holdout AUC {best_auc:.4})",
                i + 1,
                cfg.ensemble
            );
        }
        if i == 0 && input != InputKind::Tabular(train.sample_len()) {
            if let Some(out) = &run.out {
                let path = out.join("generated.png");
                let title = format!("G samples after the last epoch (a = {a})");
                image_grid(&path, &samples_for_grid(&g, dev, &mut rng)?, &train.shape, 32, 8, &title)
                    .map_err(|e| Error::file(&path, e))?;
            }
        }
        run.completed.push(phase);
        Ok(())
    }
}

fn samples_for_grid(g: &Generator, dev: Device, rng: &mut Rng) -> Result<Vec<f32>> {
    Ok(no_grad(|| g.forward(&g.noise(32, rng, dev)?, Mode::Train))?.to_vec())
}

impl Detector for MinLGan {
    fn fit(&mut self, train: &Dataset, holdout: Option<&Dataset>, run: &mut Run) -> Result<()> {
        if train.len() < 2 {
            return Err(Error::config("minlgan: needs at least two training samples"));
        }
        let holdout = holdout
            .filter(|h| !h.is_empty())
            .ok_or_else(|| Error::config("minlgan: needs a holdout of training normals (for stopping and scaling)"))?;
        let chosen = Chosen::new(self.members.len());
        for i in 0..self.members.len() {
            // A resumed run skips the members finished before its checkpoint: the checkpoint,
            // restored in the member it was taken in, holds their discriminators and choices.
            if !run.phase_done(&member_phase(i)) {
                self.fit_member(i, train, holdout, &chosen, run)?;
            }
        }
        self.chosen = (0..self.members.len()).map(|i| chosen.get(i)).collect();
        Ok(())
    }

    fn score(&self, x: &Dataset) -> Result<Vec<f32>> {
        let l = self.member_logits(x)?;
        Ok(self.combine(&l, self.members.len(), self.cfg.ensemble_mode))
    }

    fn vars(&self) -> &Vars {
        &self.vars
    }

    /// The holdout ranges also live in the weights (buffers); here they are readable in the
    /// model's metadata, and checked against the weights on load.
    fn state(&self) -> BTreeMap<String, String> {
        let lo: Vec<f32> = self.members.iter().map(|m| m.lo.to_vec()[0]).collect();
        let hi: Vec<f32> = self.members.iter().map(|m| m.hi.to_vec()[0]).collect();
        BTreeMap::from([
            ("holdout_min".to_string(), floats_to_string(&lo)),
            ("holdout_max".to_string(), floats_to_string(&hi)),
        ])
    }

    fn set_state(&mut self, state: &BTreeMap<String, String>) -> Result<()> {
        for key in ["holdout_min", "holdout_max"] {
            let v =
                floats_from_string(state.get(key).ok_or_else(|| Error::config(format!("saved model lacks {key:?}")))?)?;
            if v.len() != self.members.len() {
                return Err(Error::config(format!(
                    "saved {key:?} has {} values for an ensemble of {}",
                    v.len(),
                    self.members.len()
                )));
            }
            for (m, x) in self.members.iter().zip(v) {
                let t = if key == "holdout_min" { &m.lo } else { &m.hi };
                t.set_data(vec![x])?;
            }
        }
        Ok(())
    }

    fn report_json(&self) -> Option<serde_json::Value> {
        let members: Vec<_> = self
            .chosen
            .iter()
            .zip(&self.members)
            .map(|(&(epoch, auc), m)| {
                serde_json::json!({
                    "kept_epoch": epoch,
                    "holdout_auc_vs_generated": auc,
                    "holdout_min": m.lo.to_vec()[0],
                    "holdout_max": m.hi.to_vec()[0],
                })
            })
            .collect();
        Some(serde_json::json!({ "members": members }))
    }

    /// `ensemble_auc.csv` and `ensemble_auc.png`: test AUC of the first k members' ensemble, both
    /// ways (the paper's Figures 2–3), and of member k alone, for k = 1..N.
    fn write_reports(&self, out: &Path, test: &Dataset, labels: &[u8]) -> Result<()> {
        let l = self.member_logits(test)?;
        let auc = |s: &[f32]| auc_roc(s, labels).unwrap_or(f64::NAN);
        let mut csv = String::from("members,auc_mean,auc_scaled,auc_member_alone\n");
        let (mut mean, mut scaled, mut alone) = (Vec::new(), Vec::new(), Vec::new());
        for k in 1..=self.members.len() {
            let (m, s) =
                (auc(&self.combine(&l, k, EnsembleMode::Mean)), auc(&self.combine(&l, k, EnsembleMode::Scaled)));
            let own: Vec<f32> = l[k - 1].iter().map(|v| -v).collect();
            let one = auc(&own);
            csv.push_str(&format!("{k},{m},{s},{one}\n"));
            mean.push((k as f64, m));
            scaled.push((k as f64, s));
            alone.push((k as f64, one));
        }
        let path = out.join("ensemble_auc.csv");
        std::fs::write(&path, csv).map_err(|e| Error::file(&path, e))?;
        let path = out.join("ensemble_auc.png");
        let series = [
            Series::new("EMinLGAN-1 (mean of D_i)", mean),
            Series::new("EMinLGAN-2 (holdout-scaled)", scaled),
            Series::new("member k alone", alone),
        ];
        line_plot(&path, "test AUC against ensemble size", "members", "AUC-ROC", &series)
            .map_err(|e| Error::file(&path, e))
    }
}
