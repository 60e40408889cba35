//! Hyperparameters with the papers' names, the `quick` and `paper` presets, and the JSON form
//! written to `results.json` and into `model.safetensors`.

use crate::error::{Error, Result};
use crate::nets::InputKind;
use serde_json::{json, Value};

/// Every method a user can name (`--method`), implemented or not.
pub const METHODS: [&str; 7] = ["dsvdd", "dsvdd-soft", "ocnn", "ics", "ganocc", "minlgan", "dcae"];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Preset {
    /// About a minute per MNIST class on 2 cores.
    Quick,
    /// The papers' epochs, learning rates and batch sizes.
    Paper,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HiddenActivation {
    Linear,
    Sigmoid,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub method: String,
    /// Main phase: epochs, Adam learning rate, the epoch at which it drops 10×.
    pub epochs: usize,
    pub lr: f32,
    pub lr_milestone: usize,
    /// Autoencoder pretraining (DCAE) phase.
    pub pretrain_epochs: usize,
    pub pretrain_lr: f32,
    pub pretrain_lr_milestone: usize,
    pub batch_size: usize,
    /// λ: L2 weight decay in Adam.
    pub weight_decay: f32,
    /// ν: the expected outlier share (soft-boundary Deep SVDD, OC-NN).
    pub nu: f32,
    /// Center coordinates closer to 0 than this are pushed to ±eps (Deep SVDD).
    pub center_eps: f32,
    /// Soft-boundary: R is re-solved every this many epochs.
    pub radius_every: usize,
    /// OC-NN: hidden units and activation g.
    pub ocnn_hidden: usize,
    pub ocnn_activation: HiddenActivation,
}

impl Config {
    pub fn preset(method: &str, preset: Preset, input: InputKind) -> Result<Config> {
        if !METHODS.contains(&method) {
            return Err(Error::config(format!("--method {method:?} is not one of {}", METHODS.join(", "))));
        }
        let tabular = matches!(input, InputKind::Tabular(_));
        // Paper: Deep SVDD 150 + 100 epochs (lr 1e-4 then 1e-5), DCAE 250 + 100, batch 200.
        let (epochs, milestone, pre, pre_milestone) = match preset {
            Preset::Paper => (250, 150, 350, 250),
            Preset::Quick if tabular => (30, 20, 20, 15),
            Preset::Quick => (10, 7, 10, 7),
        };
        Ok(Config {
            method: method.to_string(),
            epochs,
            lr: 1e-4,
            lr_milestone: milestone,
            pretrain_epochs: pre,
            pretrain_lr: 1e-4,
            pretrain_lr_milestone: pre_milestone,
            batch_size: if tabular { 128 } else { 200 },
            weight_decay: 1e-6,
            nu: 0.1,
            center_eps: 0.1,
            radius_every: 5,
            ocnn_hidden: 32,
            ocnn_activation: HiddenActivation::Linear,
        })
    }

    pub fn to_json(&self) -> Value {
        // f32 → the decimal it was written as (1e-4, not 0.00009999999747…).
        let f = |x: f32| x.to_string().parse::<f64>().map(Value::from).unwrap_or(Value::Null);
        json!({
            "method": self.method,
            "epochs": self.epochs,
            "lr": f(self.lr),
            "lr_milestone": self.lr_milestone,
            "pretrain_epochs": self.pretrain_epochs,
            "pretrain_lr": f(self.pretrain_lr),
            "pretrain_lr_milestone": self.pretrain_lr_milestone,
            "batch_size": self.batch_size,
            "weight_decay": f(self.weight_decay),
            "nu": f(self.nu),
            "center_eps": f(self.center_eps),
            "radius_every": self.radius_every,
            "ocnn_hidden": self.ocnn_hidden,
            "ocnn_activation": match self.ocnn_activation { HiddenActivation::Linear => "linear", HiddenActivation::Sigmoid => "sigmoid" },
        })
    }

    /// Reads what [`Config::to_json`] wrote (a saved model's configuration).
    pub fn from_json(v: &Value) -> Result<Config> {
        let bad = |k: &str| Error::config(format!("saved configuration lacks a valid {k:?}"));
        let u = |k: &str| v.get(k).and_then(Value::as_u64).map(|x| x as usize).ok_or_else(|| bad(k));
        let f = |k: &str| v.get(k).and_then(Value::as_f64).map(|x| x as f32).ok_or_else(|| bad(k));
        Ok(Config {
            method: v.get("method").and_then(Value::as_str).ok_or_else(|| bad("method"))?.to_string(),
            epochs: u("epochs")?,
            lr: f("lr")?,
            lr_milestone: u("lr_milestone")?,
            pretrain_epochs: u("pretrain_epochs")?,
            pretrain_lr: f("pretrain_lr")?,
            pretrain_lr_milestone: u("pretrain_lr_milestone")?,
            batch_size: u("batch_size")?,
            weight_decay: f("weight_decay")?,
            nu: f("nu")?,
            center_eps: f("center_eps")?,
            radius_every: u("radius_every")?,
            ocnn_hidden: u("ocnn_hidden")?,
            ocnn_activation: match v.get("ocnn_activation").and_then(Value::as_str) {
                Some("sigmoid") => HiddenActivation::Sigmoid,
                Some("linear") => HiddenActivation::Linear,
                _ => return Err(bad("ocnn_activation")),
            },
        })
    }

    /// Rejects values no run can use, naming the flag.
    pub fn validate(&self) -> Result<()> {
        let check = |ok: bool, msg: &str| if ok { Ok(()) } else { Err(Error::config(msg.to_string())) };
        check(self.batch_size >= 2, "--batch-size must be at least 2 (batch norm needs two samples)")?;
        check(self.lr.is_finite() && self.lr > 0.0, "--lr must be a positive number")?;
        check(self.pretrain_lr.is_finite() && self.pretrain_lr > 0.0, "--pretrain-lr must be a positive number")?;
        check(self.weight_decay.is_finite() && self.weight_decay >= 0.0, "--weight-decay must be ≥ 0")?;
        check(self.nu > 0.0 && self.nu < 1.0, "--nu must lie in (0, 1)")?;
        check(self.radius_every >= 1, "the radius update period must be ≥ 1 epoch")?;
        check(self.ocnn_hidden >= 1, "--ocnn-hidden must be ≥ 1")
    }
}
