//! Where a tensor's data lives. Ops match on [`Storage`] to pick the kernel for its device, so
//! a new backend adds a variant here and an arm in each op family — model code does not change.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Device {
    #[default]
    Cpu,
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Device::Cpu => write!(f, "cpu"),
        }
    }
}

/// A tensor's elements on its device (f32, row-major, contiguous).
#[derive(Clone, Debug)]
pub enum Storage {
    Cpu(Vec<f32>),
}

impl Storage {
    pub fn device(&self) -> Device {
        match self {
            Storage::Cpu(_) => Device::Cpu,
        }
    }
    pub fn len(&self) -> usize {
        match self {
            Storage::Cpu(v) => v.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The host slice. Ops call this inside their `Device::Cpu` arm only.
    pub fn cpu(&self) -> &[f32] {
        match self {
            Storage::Cpu(v) => v,
        }
    }
    pub fn cpu_mut(&mut self) -> &mut [f32] {
        match self {
            Storage::Cpu(v) => v,
        }
    }
    /// A copy on the host, whatever the device.
    pub fn to_vec(&self) -> Vec<f32> {
        match self {
            Storage::Cpu(v) => v.clone(),
        }
    }
}
