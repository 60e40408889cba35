//! One-Class Neural Network (Chalapathy, Menon & Chawla 2018). A pretrained encoder feeds a
//! one-hidden-layer network ŷ = ⟨w, g(V·φ(x))⟩; the objective (Eq. 3 of the paper)
//!   min_{w,V,r}  ½‖w‖² + ½‖V‖²_F + (1/ν)·mean_n max(0, r − ŷ_n) − r
//! is solved by alternating: backprop on (w, V, encoder) with r fixed, then r ← the ν-quantile
//! of {ŷ_n} (Eq. 5). Anomaly score r − ŷ (the decision score ŷ − r is ≥ 0 for normals).

use super::{state_value, Detector};
use crate::batch::map_in_chunks;
use crate::config::{Config, HiddenActivation};
use crate::error::Result;
use crate::methods::dcae::Autoencoder;
use crate::nets::{Encoder, InputKind};
use crate::nn::{Linear, Mode, Scope, Vars};
use crate::run::Run;
use datasets::Dataset;
use engine::optim::{Adam, AdamConfig, MultiStepLr};
use engine::{no_grad, Device, Rng, Tensor};
use std::collections::BTreeMap;

pub struct OcNn {
    cfg: Config,
    input: InputKind,
    rng: Rng,
    vars: Vars,
    encoder: Encoder,
    v: Linear,
    w: Linear,
    /// The threshold r (`[1]`), a buffer so checkpoints and saved models carry it.
    r: Tensor,
}

impl OcNn {
    pub fn new(cfg: Config, input: InputKind, seed: u64, device: Device) -> Result<Self> {
        let mut rng = Rng::new(seed);
        let vars = Vars::new();
        let s = Scope::new(&vars, device);
        let encoder = Encoder::new(&s.sub("encoder"), &mut rng, input)?;
        let v = Linear::new(&s.sub("ocnn.V"), &mut rng, encoder.rep_dim(), cfg.ocnn_hidden)?;
        let w = Linear::new(&s.sub("ocnn.w"), &mut rng, cfg.ocnn_hidden, 1)?;
        let r = s.buffer("r", Tensor::full(0.1, &[1], device));
        Ok(OcNn { cfg, input, rng, vars, encoder, v, w, r })
    }

    fn device(&self) -> Device {
        self.vars.params()[0].device()
    }

    /// ŷ per sample.
    fn output(&self, x: &Tensor, mode: Mode) -> engine::Result<Tensor> {
        let h = self.v.forward(&self.encoder.forward(x, mode)?)?;
        let h = match self.cfg.ocnn_activation {
            HiddenActivation::Linear => h,
            HiddenActivation::Sigmoid => h.sigmoid()?,
        };
        let n = x.dims()[0];
        self.w.forward(&h)?.reshape(&[n])
    }

    fn outputs(&self, data: &Dataset) -> Result<Vec<f32>> {
        Ok(no_grad(|| map_in_chunks(data, 500, self.device(), |b| Ok(self.output(b, Mode::Eval)?.to_vec())))?)
    }
}

/// The ν-quantile: a ν share of the outputs lies below r (Eq. 5).
pub fn nu_quantile(y: &[f32], nu: f32) -> f32 {
    let mut s = y.to_vec();
    s.sort_by(f32::total_cmp);
    if s.is_empty() {
        return 0.0;
    }
    let pos = (nu as f64 * (s.len() - 1) as f64).round() as usize;
    s[pos.min(s.len() - 1)]
}

impl Detector for OcNn {
    fn fit(&mut self, train: &Dataset, _holdout: Option<&Dataset>, run: &mut Run) -> Result<()> {
        let ae_rng = &mut self.rng.fork(1);
        if self.cfg.pretrain_epochs > 0 && !run.phase_done("pretrain") {
            let ae = Autoencoder::new(self.input, ae_rng, self.device())?;
            ae.train(&self.cfg, train, run)?;
            self.vars.copy_matching(&ae.vars, "encoder.")?;
        }
        let mut opt =
            Adam::new(self.vars.params(), AdamConfig { lr: self.cfg.lr, weight_decay: 0.0, ..Default::default() });
        let schedule = MultiStepLr { base: self.cfg.lr, milestones: vec![self.cfg.lr_milestone], gamma: 0.1 };
        let nu = self.cfg.nu;
        let this = &*self;
        run.train_epochs(
            "ocnn",
            train,
            this.cfg.epochs,
            this.cfg.batch_size,
            &[&this.vars],
            &mut opt,
            &schedule,
            |x| {
                let y = this.output(x, Mode::Train)?;
                let reg = this.w.weight.sqr()?.sum_all()?.add(&this.v.weight.sqr()?.sum_all()?)?.mul_scalar(0.5)?;
                let rv = this.r.to_vec()[0];
                let hinge = y.neg()?.add_scalar(rv)?.relu()?.mean_all()?.mul_scalar(1.0 / nu)?;
                reg.add(&hinge)?.add_scalar(-rv)
            },
            |_, _, _| {
                this.r.set_data(vec![nu_quantile(&this.outputs(train)?, nu)])?;
                Ok(())
            },
        )?;
        Ok(())
    }

    fn score(&self, x: &Dataset) -> Result<Vec<f32>> {
        let r = self.r.to_vec()[0];
        Ok(self.outputs(x)?.iter().map(|y| r - y).collect())
    }

    fn vars(&self) -> &Vars {
        &self.vars
    }

    fn state(&self) -> BTreeMap<String, String> {
        BTreeMap::from([("r".to_string(), self.r.to_vec()[0].to_string())])
    }

    fn set_state(&mut self, state: &BTreeMap<String, String>) -> Result<()> {
        self.r.set_data(vec![state_value(state, "r")?])?;
        Ok(())
    }
}
