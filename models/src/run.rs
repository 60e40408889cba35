//! What every training run shares: the device, the seeded RNG, progress bars, the loss
//! history, throughput counters, and the NaN guard in the one training loop all methods use.

use crate::batch::{batch, epoch_batches};
use crate::checkpoint::{self, Checkpoint, Snapshot};
use crate::error::{Error, Result};
use crate::nn::Vars;
use datasets::Dataset;
use engine::optim::{Adam, MultiStepLr, Optimizer};
use engine::{Device, Rng, Tensor};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::path::PathBuf;
use std::time::Instant;

/// One point of the loss curve: the mean training loss of an epoch of a phase.
#[derive(Clone, Debug)]
pub struct LossPoint {
    pub phase: String,
    pub epoch: usize,
    pub loss: f64,
}

pub struct Run {
    pub device: Device,
    pub rng: Rng,
    /// Plain log lines instead of progress bars.
    pub quiet: bool,
    pub history: Vec<LossPoint>,
    /// Samples pushed through a training step, and the seconds spent doing so.
    pub samples_trained: usize,
    pub train_seconds: f64,
    /// Where a checkpoint is written after every epoch (none: no checkpoints).
    pub checkpoint: Option<PathBuf>,
    /// The checkpoint being resumed from, until its phase has been restored.
    pub resume: Option<Checkpoint>,
    /// Phases finished in this run (or before the checkpoint it resumed from).
    pub completed: Vec<String>,
    /// The run's output folder, for methods that write pictures while training.
    pub out: Option<PathBuf>,
    /// The run's configuration and protocol, written into every checkpoint.
    pub identity: Option<serde_json::Value>,
}

impl Run {
    pub fn new(device: Device, seed: u64, quiet: bool) -> Self {
        Run {
            device,
            rng: Rng::new(seed),
            quiet,
            history: Vec::new(),
            samples_trained: 0,
            train_seconds: 0.0,
            checkpoint: None,
            resume: None,
            completed: Vec::new(),
            out: None,
            identity: None,
        }
    }

    /// Whether a resumed run has already finished `phase` (the method then skips it and what
    /// follows it up to the phase the checkpoint was taken in: that phase restores the state).
    pub fn phase_done(&self, phase: &str) -> bool {
        self.completed.iter().any(|p| p == phase)
    }

    pub fn samples_per_second(&self) -> f64 {
        if self.train_seconds > 0.0 {
            self.samples_trained as f64 / self.train_seconds
        } else {
            0.0
        }
    }

    /// A progress bar for `steps` steps (hidden when quiet).
    pub fn bar(&self, phase: &str, steps: u64) -> ProgressBar {
        let pb = ProgressBar::new(steps);
        if self.quiet {
            pb.set_draw_target(ProgressDrawTarget::hidden());
        } else {
            pb.set_draw_target(ProgressDrawTarget::stderr());
        }
        let style = ProgressStyle::with_template("{prefix:>10} [{bar:30}] {pos}/{len} {msg} ({eta})")
            .expect("static template")
            .progress_chars("=> ");
        pb.set_style(style);
        pb.set_prefix(phase.to_string());
        pb
    }

    /// The NaN guard for methods with their own loops (GANs): a non-finite loss becomes the
    /// error naming phase, epoch and batch (both 1-based), before any optimiser step uses it.
    pub fn check_finite(phase: &str, epoch: usize, batch: usize, value: f32) -> Result<f32> {
        if value.is_finite() {
            Ok(value)
        } else {
            Err(Error::NonFinite { phase: phase.to_string(), epoch, batch, value })
        }
    }

    /// Adds to the throughput counters: samples through a training step, and the seconds spent.
    pub fn count_trained(&mut self, samples: usize, secs: f64) {
        self.samples_trained += samples;
        self.train_seconds += secs;
    }

    /// Books one point of a custom loop's loss curve and its throughput, without a log line
    /// (for loops that log several phases in one line).
    pub fn record_point(&mut self, phase: &str, epoch: usize, loss: f64, samples: usize, secs: f64) {
        self.count_trained(samples, secs);
        self.history.push(LossPoint { phase: phase.to_string(), epoch, loss });
    }

    /// Books one finished epoch of a custom loop: loss curve point, throughput counters, and the
    /// log line when quiet.
    pub fn record_epoch(&mut self, phase: &str, epoch: usize, epochs: usize, loss: f64, samples: usize, secs: f64) {
        self.record_point(phase, epoch, loss, samples, secs);
        if self.quiet {
            eprintln!(
                "{phase}: epoch {epoch}/{epochs} loss {loss:.6} ({:.0} samples/s)",
                samples as f64 / secs.max(1e-9)
            );
        }
    }

    /// Writes the checkpoint, when the run keeps one, after `epochs_done` epochs (or iteration
    /// blocks) of `phase`: the tensors of `vars`, the optimisers' moments, `rng` and the history.
    pub fn save_checkpoint(
        &self,
        phase: &str,
        epochs_done: usize,
        vars: &[&Vars],
        opts: &[&Adam],
        rng: &Rng,
    ) -> Result<()> {
        let Some(path) = &self.checkpoint else { return Ok(()) };
        let snap = Snapshot {
            completed: &self.completed,
            phase,
            epochs_done,
            vars,
            opts,
            rng,
            history: &self.history,
            samples_trained: self.samples_trained,
            train_seconds: self.train_seconds,
            identity: self.identity.as_ref(),
        };
        checkpoint::save(path, &snap)
    }

    /// The training loop every method uses: shuffled mini-batches, `loss_fn` builds the loss,
    /// one optimiser step per batch, the learning rate from `schedule` each epoch, `after_epoch`
    /// called with the epoch index and mean loss. A non-finite loss stops the run with an error
    /// naming the phase, epoch and batch, before the optimiser can touch the weights. After each
    /// epoch the tensors of `vars`, the optimiser and the RNG are checkpointed; a run resumed in
    /// this phase restores them and continues with the next epoch.
    #[allow(clippy::too_many_arguments)]
    pub fn train_epochs(
        &mut self,
        phase: &str,
        data: &Dataset,
        epochs: usize,
        batch_size: usize,
        vars: &[&Vars],
        opt: &mut Adam,
        schedule: &MultiStepLr,
        mut loss_fn: impl FnMut(&Tensor) -> engine::Result<Tensor>,
        mut after_epoch: impl FnMut(&mut Run, usize, f64) -> Result<()>,
    ) -> Result<()> {
        if data.is_empty() {
            return Err(Error::config(format!("{phase}: no training samples")));
        }
        let mut start = 0;
        if self.resume.as_ref().is_some_and(|c| c.phase == phase) {
            let ck = self.resume.take().expect("checked");
            let (history, samples, secs) = ck.restore(vars, &mut [&mut *opt], &mut self.rng)?;
            (self.history, self.samples_trained, self.train_seconds) = (history, samples, secs);
            start = ck.epochs_done.min(epochs);
            if !self.quiet {
                eprintln!("{phase}: resumed after epoch {start}/{epochs}");
            }
        }
        let per_epoch = data.len().div_ceil(batch_size.max(1)) as u64;
        let pb = self.bar(phase, per_epoch * epochs as u64);
        pb.set_position(per_epoch * start as u64);
        for epoch in start..epochs {
            opt.set_lr(schedule.lr_at(epoch));
            let batches = epoch_batches(data.len(), batch_size, &mut self.rng);
            let (mut sum, mut count) = (0.0f64, 0usize);
            let t0 = Instant::now();
            for (b, idx) in batches.iter().enumerate() {
                let x = batch(data, idx, self.device)?;
                let loss = loss_fn(&x)?;
                let value = loss.to_scalar()?;
                if !value.is_finite() {
                    pb.abandon();
                    return Err(Error::NonFinite { phase: phase.to_string(), epoch: epoch + 1, batch: b + 1, value });
                }
                opt.zero_grad();
                loss.backward()?;
                opt.step()?;
                sum += value as f64 * idx.len() as f64;
                count += idx.len();
                pb.inc(1);
                pb.set_message(format!("epoch {}/{epochs} loss {:.5}", epoch + 1, sum / count as f64));
            }
            let secs = t0.elapsed().as_secs_f64();
            self.samples_trained += count;
            self.train_seconds += secs;
            let mean = sum / count.max(1) as f64;
            self.history.push(LossPoint { phase: phase.to_string(), epoch: epoch + 1, loss: mean });
            if self.quiet {
                eprintln!(
                    "{phase}: epoch {}/{epochs} loss {mean:.6} ({:.0} samples/s)",
                    epoch + 1,
                    count as f64 / secs.max(1e-9)
                );
            }
            after_epoch(self, epoch, mean)?;
            self.save_checkpoint(phase, epoch + 1, vars, &[opt], &self.rng)?;
        }
        pb.finish_and_clear();
        self.completed.push(phase.to_string());
        Ok(())
    }
}
