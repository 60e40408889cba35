//! Where a tensor's data lives. Ops match on [`Storage`] to pick the kernel for its device, so
//! a new backend adds a variant here and an arm in each op family — model code does not change.

use crate::{Error, Result};
use kernels::gpu::{Context, ContextOptions, GpuBuffer, GpuError};
use std::fmt;
use std::sync::OnceLock;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Device {
    #[default]
    Cpu,
    /// The process-wide GPU context ([`gpu_context`]): the best adapter wgpu finds, a software
    /// one (lavapipe) included when nothing better exists.
    Gpu,
}

/// The one GPU context of the process, opened on first use. An explicit `Device::Gpu` accepts
/// a software adapter (lavapipe) when it is the only one; [`Device::parse`]`("auto")` does not.
pub fn gpu_context() -> Result<&'static Context> {
    static CTX: OnceLock<std::result::Result<Context, String>> = OnceLock::new();
    CTX.get_or_init(|| Context::new(ContextOptions { allow_software: true }).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| Error::invalid("gpu", e.clone()))
}

/// Maps a kernel's `GpuError` into the engine's error, naming the op.
pub(crate) fn gpu_err(op: &'static str) -> impl Fn(GpuError) -> Error {
    move |e| Error::invalid(op, format!("GPU: {e}"))
}

impl Device {
    /// True when some adapter (software included) can run the GPU kernels.
    pub fn gpu_available() -> bool {
        gpu_context().is_ok()
    }

    /// True when the GPU context runs on a hardware adapter (not lavapipe/WARP).
    pub fn hardware_gpu_available() -> bool {
        gpu_context().is_ok_and(|c| !c.adapter().software)
    }

    /// `cpu`, `gpu` (an error without an adapter) or `auto`: a hardware GPU when there is one,
    /// else the CPU — never a software adapter (lavapipe is ~100× slower than the CPU backend).
    pub fn parse(name: &str) -> Result<Device> {
        match name {
            "cpu" => Ok(Device::Cpu),
            "gpu" => gpu_context().map(|_| Device::Gpu),
            "auto" => Ok(if Device::hardware_gpu_available() { Device::Gpu } else { Device::Cpu }),
            other => Err(Error::invalid("device", format!("{other:?} is not one of auto, cpu, gpu"))),
        }
    }
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Device::Cpu => write!(f, "cpu"),
            Device::Gpu => write!(f, "gpu"),
        }
    }
}

/// A tensor's elements on its device (f32, row-major, contiguous).
#[derive(Debug)]
pub enum Storage {
    Cpu(Vec<f32>),
    Gpu(GpuBuffer),
}

impl Clone for Storage {
    /// A GPU clone is a device-side copy (copy-on-write of an in-place update).
    fn clone(&self) -> Self {
        match self {
            Storage::Cpu(v) => Storage::Cpu(v.clone()),
            Storage::Gpu(b) => {
                let copy = GpuBuffer::uninit(b.context(), b.len())
                    .and_then(|c| c.copy_from(b).map(|_| c))
                    .unwrap_or_else(|e| panic!("copying a GPU buffer: {e}"));
                Storage::Gpu(copy)
            }
        }
    }
}

impl Storage {
    pub fn device(&self) -> Device {
        match self {
            Storage::Cpu(_) => Device::Cpu,
            Storage::Gpu(_) => Device::Gpu,
        }
    }
    pub fn len(&self) -> usize {
        match self {
            Storage::Cpu(v) => v.len(),
            Storage::Gpu(b) => b.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The host slice. Ops call this inside their `Device::Cpu` arm only.
    pub fn cpu(&self) -> &[f32] {
        match self {
            Storage::Cpu(v) => v,
            Storage::Gpu(_) => panic!("Storage::cpu() on GPU storage (an op is missing its Gpu arm)"),
        }
    }
    pub fn cpu_mut(&mut self) -> &mut [f32] {
        match self {
            Storage::Cpu(v) => v,
            Storage::Gpu(_) => panic!("Storage::cpu_mut() on GPU storage (an op is missing its Gpu arm)"),
        }
    }
    /// The device buffer. Ops call this inside their `Device::Gpu` arm only.
    pub fn gpu(&self) -> &GpuBuffer {
        match self {
            Storage::Gpu(b) => b,
            Storage::Cpu(_) => panic!("Storage::gpu() on CPU storage"),
        }
    }
    /// A copy on the host, whatever the device (a GPU readback; panics if the GPU fails —
    /// [`Storage::try_to_vec`] returns the error instead).
    pub fn to_vec(&self) -> Vec<f32> {
        self.try_to_vec().unwrap_or_else(|e| panic!("{e}"))
    }
    pub fn try_to_vec(&self) -> Result<Vec<f32>> {
        match self {
            Storage::Cpu(v) => Ok(v.clone()),
            Storage::Gpu(b) => b.to_vec().map_err(gpu_err("to_vec")),
        }
    }
    /// `data` on `device` (an upload for the GPU).
    pub fn from_vec(data: Vec<f32>, device: Device) -> Result<Storage> {
        match device {
            Device::Cpu => Ok(Storage::Cpu(data)),
            Device::Gpu => Ok(Storage::Gpu(GpuBuffer::from_slice(gpu_context()?, &data).map_err(gpu_err("upload"))?)),
        }
    }
    /// `len` zeros on `device`.
    pub fn zeros(len: usize, device: Device) -> Result<Storage> {
        match device {
            Device::Cpu => Ok(Storage::Cpu(vec![0.0; len])),
            Device::Gpu => Ok(Storage::Gpu(GpuBuffer::zeros(gpu_context()?, len).map_err(gpu_err("zeros"))?)),
        }
    }
    /// A GPU buffer of `len` elements with unspecified contents (a kernel's output).
    pub(crate) fn gpu_uninit(op: &'static str, len: usize) -> Result<GpuBuffer> {
        GpuBuffer::uninit(gpu_context()?, len).map_err(gpu_err(op))
    }
    /// A copy of this storage on `device`.
    pub fn to_device(&self, device: Device) -> Result<Storage> {
        if self.device() == device {
            return Ok(self.clone());
        }
        Storage::from_vec(self.try_to_vec()?, device)
    }
}
