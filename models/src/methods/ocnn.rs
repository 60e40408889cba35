//! One-Class Neural Network (Chalapathy, Menon & Chawla 2018). A pretrained encoder feeds a
//! one-hidden-layer network ŷ = ⟨w, g(V·φ(x))⟩; the objective (Eq. 3 of the paper)
//!   min_{w,V,r}  ½‖w‖² + ½‖V‖²_F + (1/ν)·mean_n max(0, r − ŷ_n) − r
//! is solved by alternating: backprop on (w, V, encoder) with r fixed, then r ← the ν-quantile
//! of {ŷ_n} (Eq. 5). Anomaly score r − ŷ (the decision score ŷ − r is ≥ 0 for normals).
//!
//! The hidden activation decides whether Eq. 3 ranks anomalies at all. With the paper's linear
//! (or sigmoid) g, ŷ is monotone along w·V: the −r term pushes the normals far along that
//! direction, and anomalies that lie further out still — larger cells on breastw, more ink on
//! MNIST — score as *more* normal (measured: MNIST digit 0 0.69, breastw 0.03). The OC-SVM the
//! paper mimics works because its RBF feature map is bounded and peaks at the data; the authors'
//! released code does the same with a cosine (random Fourier feature) activation on a fixed
//! random first layer. `--ocnn-activation gauss` (the default) follows that: g(u) = exp(−u²)
//! on u = V(φ(x) − c), with c the mean pretrained feature (the bias of the hidden layer) and V
//! a fixed random projection whose rows are scaled to unit spread on the training data (the
//! kernel bandwidth). The encoder and w keep training under Eq. 3; ½‖V‖² is then a constant.

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
use kernels::gpu::infer::Precision;
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
    /// Centre of the Gaussian units (`1 × rep`; `gauss` only), a buffer.
    c: Tensor,
    /// The pretraining autoencoder, kept after `fit` as the DCAE baseline; not saved.
    pretrained: Option<Autoencoder>,
}

impl OcNn {
    pub fn new(cfg: Config, input: InputKind, seed: u64, device: Device) -> Result<Self> {
        let mut rng = Rng::new(seed);
        let vars = Vars::new();
        let s = Scope::new(&vars, device);
        let encoder = Encoder::new(&s.sub("encoder").with_init(cfg.weight_init), &mut rng, input, cfg.leaky_slope)?;
        let v = Linear::new(&s.sub("ocnn.V"), &mut rng, encoder.rep_dim(), cfg.ocnn_hidden)?;
        let w = Linear::new(&s.sub("ocnn.w"), &mut rng, cfg.ocnn_hidden, 1)?;
        if cfg.ocnn_activation == HiddenActivation::Gauss {
            // Every Gaussian unit starts as a vote for "near the data" (as an OC-SVM's dual
            // coefficients are ≥ 0); random signs would start from a score unrelated to
            // density (mnist-mini digit 0 before training: 0.54 with signs, 0.84 without).
            w.weight.set_data(w.weight.to_vec().iter().map(|v| v.abs()).collect())?;
        }
        let r = s.buffer("r", Tensor::full(0.1, &[1], device));
        let c = s.buffer("c", Tensor::zeros(&[1, encoder.rep_dim()], device));
        Ok(OcNn { cfg, input, rng, vars, encoder, v, w, r, c, pretrained: None })
    }

    fn device(&self) -> Device {
        self.vars.params()[0].device()
    }

    fn gauss(&self) -> bool {
        self.cfg.ocnn_activation == HiddenActivation::Gauss
    }

    /// ŷ per sample.
    fn output(&self, x: &Tensor, mode: Mode) -> engine::Result<Tensor> {
        self.head(&self.encoder.forward(x, mode)?)
    }

    /// ŷ from the representations φ (`n × rep`): the hidden layer and the output weights.
    fn head(&self, phi: &Tensor) -> engine::Result<Tensor> {
        let h = match self.cfg.ocnn_activation {
            HiddenActivation::Linear => self.v.forward(phi)?,
            HiddenActivation::Sigmoid => self.v.forward(phi)?.sigmoid()?,
            HiddenActivation::Gauss => self.v.forward(&phi.sub(&self.c)?)?.sqr()?.neg()?.exp()?,
        };
        let n = phi.dims()[0];
        self.w.forward(&h)?.reshape(&[n])
    }

    fn outputs(&self, data: &Dataset) -> Result<Vec<f32>> {
        Ok(no_grad(|| map_in_chunks(data, 500, self.device(), |b| Ok(self.output(b, Mode::Eval)?.to_vec())))?)
    }

    /// `gauss`: c ← mean of φ over the training data (evaluation mode), then each row v_j of V
    /// scaled so that v_j·(φ(x) − c) has unit standard deviation over the training data.
    fn fit_gauss_units(&self, train: &Dataset) -> Result<()> {
        let d = self.encoder.rep_dim();
        let (reps, c) = self.encoder.mean_representation(train, self.device())?;
        let n = (reps.len() / d).max(1) as f64;
        let v = self.v.weight.to_vec();
        let units = v.len() / d;
        let mut var = vec![0f64; units];
        for row in reps.chunks(d) {
            for (j, vj) in v.chunks(d).enumerate() {
                let u: f64 = vj.iter().zip(row).zip(&c).map(|((&a, &x), &m)| a as f64 * (x as f64 - m)).sum();
                var[j] += u * u / n;
            }
        }
        let scaled: Vec<f32> = v
            .chunks(d)
            .zip(&var)
            .flat_map(|(vj, &s2)| {
                let k = if s2 > 1e-24 { 1.0 / s2.sqrt() } else { 1.0 };
                vj.iter().map(move |&a| (a as f64 * k) as f32)
            })
            .collect();
        self.v.weight.set_data(scaled)?;
        self.c.set_data(c.iter().map(|&m| m as f32).collect())?;
        Ok(())
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
        // (A run resumed in the OC-NN phase skips this: its checkpoint restores weights, c, V.)
        if !run.phase_done("pretrain") {
            if self.cfg.pretrain_epochs > 0 {
                let ae = Autoencoder::new(self.input, ae_rng, self.device(), &self.cfg)?;
                ae.train(&self.cfg, train, run)?;
                self.vars.copy_matching(&ae.vars, "encoder.")?;
                self.pretrained = Some(ae);
            }
            if self.gauss() {
                self.fit_gauss_units(train)?;
            }
        }
        // `gauss` keeps V fixed (the kernel's feature map); the others learn it (Eq. 4).
        let v_id = self.v.weight.id();
        let params = self.vars.params().into_iter().filter(|p| !self.gauss() || p.id() != v_id).collect();
        let mut opt = Adam::new(params, AdamConfig { lr: self.cfg.lr, weight_decay: 0.0, ..Default::default() });
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

    fn score_on_plan(&self, x: &Dataset, precision: Precision) -> Option<Result<Vec<f32>>> {
        let run = || -> Result<Vec<f32>> {
            let reps = self.encoder.representations_on_plan(x, precision)?;
            let phi = Tensor::from_vec(reps, &[x.len(), self.encoder.rep_dim()], self.device())?;
            let r = self.r.to_vec()[0];
            Ok(no_grad(|| self.head(&phi))?.to_vec().iter().map(|y| r - y).collect())
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
        BTreeMap::from([("r".to_string(), self.r.to_vec()[0].to_string())])
    }

    fn set_state(&mut self, state: &BTreeMap<String, String>) -> Result<()> {
        self.r.set_data(vec![state_value(state, "r")?])?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{nu_quantile, OcNn};
    use crate::config::{Config, Preset};
    use crate::nets::InputKind;
    use crate::nn::Mode;
    use datasets::Dataset;
    use engine::{no_grad, Device, Rng, Tensor};

    #[test]
    fn nu_quantile_leaves_nu_below() {
        let y: Vec<f32> = (0..100).map(|i| i as f32).collect();
        let r = nu_quantile(&y, 0.1);
        let below = y.iter().filter(|&&v| v < r).count();
        assert!((9..=11).contains(&below), "{below} below r = {r}");
    }

    /// The Gaussian units are centred on the mean feature and each unit's projection has unit
    /// spread on the training data: the kernel's bandwidth, whatever the encoder's scale.
    #[test]
    fn gauss_units_are_centred_and_scaled_on_the_training_data() {
        let d = 6;
        let cfg = Config::preset("ocnn", Preset::Quick, InputKind::Tabular(d)).unwrap();
        let net = OcNn::new(cfg, InputKind::Tabular(d), 7, Device::Cpu).unwrap();
        let mut rng = Rng::new(3);
        let n = 300;
        let x: Vec<f32> = (0..n * d).map(|i| 3.0 * rng.normal() + (i % d) as f32).collect();
        let train = Dataset { x: x.clone(), labels: vec![0; n], shape: vec![d] };
        net.fit_gauss_units(&train).unwrap();
        let u = no_grad(|| {
            let xb = Tensor::from_vec(x, &[n, d], Device::Cpu)?;
            net.v.forward(&net.encoder.forward(&xb, Mode::Eval)?.sub(&net.c)?)
        })
        .unwrap()
        .to_vec();
        let units = u.len() / n;
        assert_eq!(units, net.cfg.ocnn_hidden);
        for j in 0..units {
            let col: Vec<f64> = u.iter().skip(j).step_by(units).map(|&v| v as f64).collect();
            let mean = col.iter().sum::<f64>() / n as f64;
            let var = col.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64;
            assert!(mean.abs() < 1e-3, "unit {j}: mean {mean}");
            assert!((var - 1.0).abs() < 1e-3, "unit {j}: variance {var}");
        }
        // Every unit starts as a vote for "near the data".
        assert!(net.w.weight.to_vec().iter().all(|&w| w >= 0.0));
    }
}
