//! Checkpoints: after every epoch of every phase, everything a run needs to continue exactly
//! where it stopped — the tensors of the networks being trained (method state such as Deep
//! SVDD's center lives there too, as buffers), the moments of every optimiser the loop steps, the
//! shuffling RNG, the loss history — written atomically, so an interrupted run resumes from the
//! last good epoch.
//!
//! Format: a safetensors file; tensor `vars{i}.{name}` is tensor `name` of the i-th registry,
//! `adam{j}.m.{k}` / `adam{j}.v.{k}` the moments of parameter k of the j-th optimiser; the
//! metadata entry `checkpoint` holds the rest as JSON (phase, epochs done, `adam_t` — one step
//! count per optimiser —, RNG state, loss history, counters) and the run's identity (its
//! configuration and protocol, which `--resume` must match).

use crate::error::{Error, Result};
use crate::nn::Vars;
use crate::run::LossPoint;
use engine::optim::{Adam, Optimizer};
use engine::safetensors::{self, Loaded};
use engine::{Device, Rng, Tensor};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;

/// A loaded checkpoint: which phase it was taken in, after how many of its epochs, and the state.
pub struct Checkpoint {
    /// Phases finished before `phase` began (resuming skips them).
    pub completed: Vec<String>,
    pub phase: String,
    pub epochs_done: usize,
    /// The configuration and protocol of the run that wrote it (absent in older checkpoints).
    pub identity: Option<Value>,
    pub loaded: Loaded,
}

/// What the training loop hands over to be saved.
pub struct Snapshot<'a> {
    pub completed: &'a [String],
    pub phase: &'a str,
    pub epochs_done: usize,
    pub vars: &'a [&'a Vars],
    /// Every optimiser of the loop, in an order the loop restores them in.
    pub opts: &'a [&'a Adam],
    pub rng: &'a Rng,
    pub history: &'a [LossPoint],
    pub samples_trained: usize,
    pub train_seconds: f64,
    pub identity: Option<&'a Value>,
}

pub fn save(path: &Path, s: &Snapshot<'_>) -> Result<()> {
    let mut owned: Vec<(String, Tensor)> = Vec::new();
    for (i, vars) in s.vars.iter().enumerate() {
        for (name, t, _) in vars.entries() {
            owned.push((format!("vars{i}.{name}"), t.detach()));
        }
    }
    let mut steps = Vec::with_capacity(s.opts.len());
    for (j, opt) in s.opts.iter().enumerate() {
        let (t, m, v) = opt.state();
        steps.push(t);
        for (k, (m, v)) in m.into_iter().zip(v).enumerate() {
            let n = m.len();
            owned.push((format!("adam{j}.m.{k}"), Tensor::from_vec(m, &[n], Device::Cpu)?));
            owned.push((format!("adam{j}.v.{k}"), Tensor::from_vec(v, &[n], Device::Cpu)?));
        }
    }
    let (rs, spare) = s.rng.state();
    let history: Vec<Value> = s.history.iter().map(|p| json!([p.phase, p.epoch, p.loss])).collect();
    let meta = json!({
        "completed": s.completed,
        "phase": s.phase,
        "epochs_done": s.epochs_done,
        "adam_t": steps,
        "rng": rs.iter().map(|w| w.to_string()).collect::<Vec<_>>(),
        "rng_spare": if spare.is_nan() { Value::Null } else { json!(spare) },
        "history": history,
        "samples_trained": s.samples_trained,
        "train_seconds": s.train_seconds,
        "run": s.identity,
    });
    let mut md = BTreeMap::new();
    md.insert("checkpoint".to_string(), meta.to_string());
    let named: Vec<(&str, &Tensor)> = owned.iter().map(|(n, t)| (n.as_str(), t)).collect();
    safetensors::save(path, &named, &md)?;
    Ok(())
}

fn meta(c: &Checkpoint) -> Result<Value> {
    let text = c.loaded.metadata.get("checkpoint").ok_or_else(|| Error::config("checkpoint lacks its metadata"))?;
    serde_json::from_str(text).map_err(|e| Error::config(format!("checkpoint metadata: {e}")))
}

pub fn load(path: &Path) -> Result<Checkpoint> {
    let loaded = safetensors::load(path, Device::Cpu)?;
    let mut c = Checkpoint { completed: vec![], phase: String::new(), epochs_done: 0, identity: None, loaded };
    let m = meta(&c)?;
    let bad = |k: &str| Error::file(path, format!("checkpoint field {k:?} is missing or malformed"));
    c.phase = m["phase"].as_str().ok_or_else(|| bad("phase"))?.to_string();
    c.epochs_done = m["epochs_done"].as_u64().ok_or_else(|| bad("epochs_done"))? as usize;
    c.identity = m.get("run").filter(|v| !v.is_null()).cloned();
    c.completed = m["completed"]
        .as_array()
        .ok_or_else(|| bad("completed"))?
        .iter()
        .map(|v| v.as_str().map(String::from).ok_or_else(|| bad("completed")))
        .collect::<Result<_>>()?;
    Ok(c)
}

impl Checkpoint {
    /// Puts the saved tensors, the optimisers' state and the RNG back; returns the history and
    /// counters. `vars` and `opts` must be listed as they were in the [`Snapshot`].
    pub fn restore(
        &self,
        vars: &[&Vars],
        opts: &mut [&mut Adam],
        rng: &mut Rng,
    ) -> Result<(Vec<LossPoint>, usize, f64)> {
        for (i, v) in vars.iter().enumerate() {
            for (name, t, _) in v.entries() {
                let src = self
                    .loaded
                    .get(&format!("vars{i}.{name}"))
                    .ok_or_else(|| Error::config(format!("checkpoint lacks tensor {name}")))?;
                if src.dims() != t.dims() {
                    return Err(Error::config(format!(
                        "checkpoint tensor {name} has shape {:?}, expected {:?}",
                        src.dims(),
                        t.dims()
                    )));
                }
                t.set_data(src.to_vec())?;
            }
        }
        let m = meta(self)?;
        // Checkpoints written before loops could have several optimisers hold one, as `adam.*`
        // with a single step count; they still resume.
        let single = m["adam_t"].as_u64();
        let steps: Vec<u64> = match single {
            Some(t) => vec![t],
            None => m["adam_t"].as_array().into_iter().flatten().filter_map(Value::as_u64).collect(),
        };
        let prefix = |j: usize| if single.is_some() { "adam".to_string() } else { format!("adam{j}") };
        if steps.len() != opts.len() {
            return Err(Error::config(format!(
                "checkpoint holds {} optimisers, the training loop has {}",
                steps.len(),
                opts.len()
            )));
        }
        for (j, opt) in opts.iter_mut().enumerate() {
            let k = opt.params().len();
            let (mut ms, mut vs) = (Vec::with_capacity(k), Vec::with_capacity(k));
            for i in 0..k {
                let get = |n: String| {
                    self.loaded
                        .get(&n)
                        .map(|t| t.to_vec())
                        .ok_or_else(|| Error::config(format!("checkpoint lacks {n}")))
                };
                ms.push(get(format!("{}.m.{i}", prefix(j)))?);
                vs.push(get(format!("{}.v.{i}", prefix(j)))?);
            }
            opt.set_state(steps[j], ms, vs)?;
        }
        let words: Vec<u64> =
            m["rng"].as_array().into_iter().flatten().filter_map(|w| w.as_str()?.parse().ok()).collect();
        let words: [u64; 4] = words.try_into().map_err(|_| Error::config("checkpoint RNG state is malformed"))?;
        *rng = Rng::from_state(words, m["rng_spare"].as_f64().map(|x| x as f32).unwrap_or(f32::NAN));
        let history = m["history"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| {
                Some(LossPoint {
                    phase: p[0].as_str()?.to_string(),
                    epoch: p[1].as_u64()? as usize,
                    loss: p[2].as_f64()?,
                })
            })
            .collect();
        Ok((history, m["samples_trained"].as_u64().unwrap_or(0) as usize, m["train_seconds"].as_f64().unwrap_or(0.0)))
    }
}
