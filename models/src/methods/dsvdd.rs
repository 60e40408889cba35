//! Deep SVDD (Ruff et al., ICML 2018): map normal data into a small hypersphere around a
//! center c. One-class objective (Eq. 4): mean ‖φ(x) − c‖² + λ/2 Σ‖W‖²; soft-boundary
//! objective (Eq. 3): R² + 1/(νn) Σ max(0, ‖φ(x) − c‖² − R²) + λ/2 Σ‖W‖².

use super::{floats_from_string, floats_to_string, state_value, Detector};
use crate::batch::map_in_chunks;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::methods::dcae::Autoencoder;
use crate::nets::{Encoder, InputKind};
use crate::nn::{Mode, Scope, Vars};
use crate::run::Run;
use datasets::Dataset;
use engine::optim::{Adam, AdamConfig, MultiStepLr};
use engine::{no_grad, Device, Rng, Tensor};
use kernels::gpu::infer::Precision;
use std::collections::BTreeMap;

pub struct DeepSvdd {
    cfg: Config,
    input: InputKind,
    soft: bool,
    rng: Rng,
    vars: Vars,
    encoder: Encoder,
    /// The center c (`1 × rep`), fixed after initialisation (§3.3: learning c would collapse to
    /// c = φ(x) = 0). A buffer in `vars`, so checkpoints and saved models carry it.
    c: Tensor,
    /// Soft-boundary radius R (`[1]`, 0 for the one-class objective), also a buffer.
    radius: Tensor,
    /// The pretraining autoencoder, kept after `fit` as the DCAE baseline; not saved.
    pretrained: Option<Autoencoder>,
}

impl DeepSvdd {
    pub fn new(cfg: Config, input: InputKind, soft: bool, seed: u64, device: Device) -> Result<Self> {
        let mut rng = Rng::new(seed);
        let vars = Vars::new();
        let s = Scope::new(&vars, device);
        let encoder = Encoder::new(&s.sub("encoder").with_init(cfg.weight_init), &mut rng, input, cfg.leaky_slope)?;
        let c = s.buffer("c", Tensor::zeros(&[1, encoder.rep_dim()], device));
        let radius = s.buffer("R", Tensor::zeros(&[1], device));
        Ok(DeepSvdd { cfg, input, soft, rng, vars, encoder, c, radius, pretrained: None })
    }

    fn device(&self) -> Device {
        self.vars.params()[0].device()
    }

    /// ‖φ(x) − c‖² per sample.
    fn distances(&self, x: &Tensor, c: &Tensor, mode: Mode) -> engine::Result<Tensor> {
        self.encoder.forward(x, mode)?.sub(c)?.sqr()?.sum(&[1], false)
    }

    /// c = mean of φ(x) over the training data (network in evaluation mode, as the reference
    /// implementation does), with near-zero coordinates pushed to ±eps.
    fn init_center(&mut self, train: &Dataset) -> Result<()> {
        let (_, mean) = self.encoder.mean_representation(train, self.device())?;
        let eps = self.cfg.center_eps as f64;
        let c: Vec<f32> = mean
            .iter()
            .map(|&v| {
                if v.abs() >= eps {
                    v
                } else if v < 0.0 {
                    -eps
                } else {
                    eps
                }
            })
            .map(|v| v as f32)
            .collect();
        self.c.set_data(c)?;
        Ok(())
    }

    fn train_distances(&self, train: &Dataset) -> Result<Vec<f32>> {
        Ok(no_grad(|| {
            map_in_chunks(train, 500, self.device(), |b| Ok(self.distances(b, &self.c, Mode::Eval)?.to_vec()))
        })?)
    }

    fn r(&self) -> f32 {
        self.radius.to_vec()[0]
    }
}

/// The (1 − ν)-quantile of √dist: the radius that leaves a ν share of the samples outside.
pub fn radius_quantile(dist: &[f32], nu: f32) -> f32 {
    let mut r: Vec<f32> = dist.iter().map(|d| d.max(0.0).sqrt()).collect();
    r.sort_by(f32::total_cmp);
    if r.is_empty() {
        return 0.0;
    }
    let pos = ((1.0 - nu as f64) * (r.len() - 1) as f64).round() as usize;
    r[pos.min(r.len() - 1)]
}

impl Detector for DeepSvdd {
    fn fit(&mut self, train: &Dataset, _holdout: Option<&Dataset>, run: &mut Run) -> Result<()> {
        // 1. DCAE pretraining; φ starts from the trained encoder (§4.1). 2. The center.
        // (A run resumed in step 3 skips both: its checkpoint restores the weights and c.)
        let ae_rng = &mut self.rng.fork(1);
        if !run.phase_done("pretrain") {
            if self.cfg.pretrain_epochs > 0 {
                let ae = Autoencoder::new(self.input, ae_rng, self.device(), &self.cfg)?;
                ae.train(&self.cfg, train, run)?;
                let copied = self.vars.copy_matching(&ae.vars, "encoder.")?;
                if copied == 0 {
                    return Err(Error::config("pretrained encoder shares no tensors with the Deep SVDD network"));
                }
                self.pretrained = Some(ae);
            }
            self.init_center(train)?;
        }
        // 3. The objective, Adam with weight decay λ, two learning-rate phases.
        let c = self.c.clone();
        let params = self.vars.params();
        let mut opt = Adam::new(
            params,
            AdamConfig { lr: self.cfg.lr, weight_decay: self.cfg.weight_decay, ..Default::default() },
        );
        let schedule = MultiStepLr { base: self.cfg.lr, milestones: vec![self.cfg.lr_milestone], gamma: 0.1 };
        let (soft, nu, every) = (self.soft, self.cfg.nu, self.cfg.radius_every);
        let phase = if soft { "dsvdd-soft" } else { "dsvdd" };
        let this = &*self;
        run.train_epochs(
            phase,
            train,
            this.cfg.epochs,
            this.cfg.batch_size,
            &[&this.vars],
            &mut opt,
            &schedule,
            |x| {
                let dist = this.distances(x, &c, Mode::Train)?;
                if soft {
                    let r2 = this.r() * this.r();
                    dist.add_scalar(-r2)?.relu()?.mean_all()?.mul_scalar(1.0 / nu)?.add_scalar(r2)
                } else {
                    dist.mean_all()
                }
            },
            |_, epoch, _| {
                // Soft boundary: R by line search every k epochs = the (1 − ν)-quantile of the
                // distances (§3.1), from the current network over all training data.
                if soft && (epoch + 1) % every == 0 {
                    this.radius.set_data(vec![radius_quantile(&this.train_distances(train)?, nu)])?;
                }
                Ok(())
            },
        )?;
        Ok(())
    }

    fn score(&self, x: &Dataset) -> Result<Vec<f32>> {
        let r2 = self.r() * self.r();
        let d =
            no_grad(|| map_in_chunks(x, 500, self.device(), |b| Ok(self.distances(b, &self.c, Mode::Eval)?.to_vec())))?;
        Ok(if self.soft { d.iter().map(|v| v - r2).collect() } else { d })
    }

    fn score_on_plan(&self, x: &Dataset, precision: Precision) -> Option<Result<Vec<f32>>> {
        let run = || -> Result<Vec<f32>> {
            let reps = self.encoder.representations_on_plan(x, precision)?;
            let c = self.c.to_vec();
            let r2 = if self.soft { self.r() * self.r() } else { 0.0 };
            Ok(reps
                .chunks(c.len())
                .map(|z| z.iter().zip(&c).map(|(a, b)| (a - b) * (a - b)).sum::<f32>() - r2)
                .collect())
        };
        Some(run())
    }

    fn baseline_scores(&self, x: &Dataset) -> Result<Vec<(&'static str, Vec<f32>)>> {
        self.pretrained.iter().map(|ae| Ok(("dcae", ae.scores(x)?))).collect()
    }

    fn vars(&self) -> &Vars {
        &self.vars
    }

    fn state(&self) -> BTreeMap<String, String> {
        let mut m = BTreeMap::new();
        m.insert("c".into(), floats_to_string(&self.c.to_vec()));
        m.insert("R".into(), self.r().to_string());
        m
    }

    fn set_state(&mut self, state: &BTreeMap<String, String>) -> Result<()> {
        let c = floats_from_string(state.get("c").ok_or_else(|| Error::config("saved model lacks the center \"c\""))?)?;
        if c.len() != self.encoder.rep_dim() {
            return Err(Error::config(format!(
                "saved center has {} coordinates, the network {}",
                c.len(),
                self.encoder.rep_dim()
            )));
        }
        self.c.set_data(c)?;
        self.radius.set_data(vec![state_value(state, "R")?])?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::radius_quantile;

    #[test]
    fn radius_leaves_nu_outside() {
        let d: Vec<f32> = (1..=100).map(|i| (i * i) as f32).collect();
        let r = radius_quantile(&d, 0.1);
        let outside = d.iter().filter(|&&x| x.sqrt() > r).count();
        assert!((9..=11).contains(&outside), "{outside} outside radius {r}");
    }
}
