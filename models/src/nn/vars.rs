//! The registry of a model's named tensors: trainable parameters and non-trainable buffers
//! (batch norm's running statistics).

use super::WeightInit;
use engine::safetensors::Loaded;
use engine::{Device, Result, Tensor};
use std::sync::{Arc, Mutex};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Param,
    Buffer,
}

/// Shared, cheap to clone; tensors are listed in the order they were registered.
#[derive(Clone, Default)]
pub struct Vars(Arc<Mutex<Vec<(String, Tensor, Kind)>>>);

impl Vars {
    pub fn new() -> Self {
        Vars::default()
    }

    pub fn register(&self, name: String, t: Tensor, kind: Kind) -> Tensor {
        let mut v = self.0.lock().expect("vars lock poisoned");
        assert!(v.iter().all(|(n, _, _)| *n != name), "two tensors registered as {name}");
        v.push((name, t.clone(), kind));
        t
    }

    /// Trainable parameters, for an optimiser.
    pub fn params(&self) -> Vec<Tensor> {
        self.entries().into_iter().filter(|(_, _, k)| *k == Kind::Param).map(|(_, t, _)| t).collect()
    }

    /// Trainable parameters whose name starts with `prefix` (one sub-network's).
    pub fn params_under(&self, prefix: &str) -> Vec<Tensor> {
        self.entries()
            .into_iter()
            .filter(|(n, _, k)| *k == Kind::Param && n.starts_with(prefix))
            .map(|(_, t, _)| t)
            .collect()
    }

    /// Every tensor with its name and kind.
    pub fn entries(&self) -> Vec<(String, Tensor, Kind)> {
        self.0.lock().expect("vars lock poisoned").clone()
    }

    /// Copies the values of same-named tensors from `src` (e.g. encoder weights from a
    /// pretrained autoencoder). Returns how many were copied.
    pub fn copy_matching(&self, src: &Vars, prefix: &str) -> Result<usize> {
        let src = src.entries();
        let mut copied = 0;
        for (name, t, _) in self.entries().iter().filter(|(n, _, _)| n.starts_with(prefix)) {
            if let Some((_, s, _)) = src.iter().find(|(n, _, _)| n == name) {
                t.set_data(s.to_vec())?;
                copied += 1;
            }
        }
        Ok(copied)
    }

    /// Sets every registered tensor from a loaded file; all must be present with their shapes.
    pub fn load_from(&self, loaded: &Loaded) -> std::result::Result<(), String> {
        for (name, t, _) in self.entries() {
            let src = loaded.get(&name).ok_or_else(|| format!("tensor {name} is missing"))?;
            if src.dims() != t.dims() {
                return Err(format!("tensor {name} has shape {:?}, the model expects {:?}", src.dims(), t.dims()));
            }
            t.set_data(src.to_vec()).map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    pub fn num_params(&self) -> usize {
        self.params().iter().map(|t| t.numel()).sum()
    }
}

/// Where a layer registers its tensors: a registry, a dotted name prefix and a device.
#[derive(Clone)]
pub struct Scope {
    pub vars: Vars,
    pub prefix: String,
    pub device: Device,
    /// How the layers built under this scope draw their weights.
    pub init: WeightInit,
}

impl Scope {
    pub fn new(vars: &Vars, device: Device) -> Self {
        Scope { vars: vars.clone(), prefix: String::new(), device, init: WeightInit::Pytorch }
    }

    /// This scope, with its layers (and those of its sub-scopes) drawn by `init`.
    pub fn with_init(self, init: WeightInit) -> Scope {
        Scope { init, ..self }
    }

    /// A nested scope: `encoder` → `encoder.conv1`.
    pub fn sub(&self, name: &str) -> Scope {
        let prefix = if self.prefix.is_empty() { name.to_string() } else { format!("{}.{name}", self.prefix) };
        Scope { prefix, ..self.clone() }
    }

    fn name(&self, leaf: &str) -> String {
        if self.prefix.is_empty() {
            leaf.to_string()
        } else {
            format!("{}.{leaf}", self.prefix)
        }
    }

    pub fn param(&self, leaf: &str, t: Tensor) -> Tensor {
        self.vars.register(self.name(leaf), t, Kind::Param)
    }

    pub fn buffer(&self, leaf: &str, t: Tensor) -> Tensor {
        self.vars.register(self.name(leaf), t, Kind::Buffer)
    }
}
