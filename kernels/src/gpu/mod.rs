//! GPU kernels: wgpu (Vulkan, Metal, DX12) running the WGSL compute shaders in `kernels/shaders/`.
//!
//! One host module per op family, mirroring [`crate::cpu`]: the same names and arguments, with
//! `&GpuBuffer` in place of slices (an output buffer is written through a shared reference: the
//! GPU owns its memory). Every kernel returns `Result<(), GpuError>`.
//!
//! Conventions shared by every kernel (the CPU ones, and three of the GPU's own):
//! - tensors are row-major and contiguous; images are NCHW;
//! - an output buffer is overwritten, never read (it may hold NaN), unless the doc says otherwise;
//! - launches are *recorded* into one command encoder per [`Context`]; [`Context::flush`] submits
//!   them, and a readback ([`GpuBuffer::to_vec`]) flushes first. Commands run in recording order,
//!   so buffers can be reused (the pool) and reread freely between launches;
//! - errors (validation, out of memory, device loss) are reported asynchronously by wgpu; they
//!   surface as a `GpuError` from the next launch, flush or readback, never as a panic;
//! - reductions run as workgroup trees in f32: results match the CPU's f64 sums to about 1e-6
//!   relative, not bit for bit (the parity suite `tests/gpu_parity` states each tolerance).

mod buffer;
mod context;

pub mod activation;
pub mod avg_pool;
pub mod binary;
pub mod conv;
pub mod gemm;
pub mod infer;
pub mod layout;
pub mod loss;
pub mod norm;
pub mod optim;
pub mod pool;
pub mod reduce;
pub mod upsample;

pub use buffer::GpuBuffer;
pub use context::{gpu_required, AdapterSummary, Context, ContextOptions};

use std::fmt;

/// Everything that can go wrong on the GPU side, as a value.
#[derive(Clone, Debug, PartialEq)]
pub enum GpuError {
    /// No adapter fits the options (the message lists what was found and why it was skipped).
    NoAdapter(String),
    /// The adapter refused to create a device.
    RequestDevice(String),
    /// The device was lost (driver reset, GPU removed, or destroyed).
    DeviceLost(String),
    /// An allocation or a submission ran out of GPU memory.
    OutOfMemory(String),
    /// wgpu rejected a call: a bug on our side, reported rather than panicking.
    Validation(String),
    /// A WGSL module failed to compile on this adapter.
    Shader(String),
    /// A buffer or a dispatch exceeds the device's limits.
    TooLarge(String),
    /// Buffer lengths or geometry do not fit the kernel's arguments.
    Shape(String),
    /// Mapping a buffer for readback failed.
    Map(String),
}

impl fmt::Display for GpuError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GpuError::NoAdapter(m) => write!(f, "no usable GPU adapter: {m}"),
            GpuError::RequestDevice(m) => write!(f, "GPU device request failed: {m}"),
            GpuError::DeviceLost(m) => write!(f, "GPU device lost: {m}"),
            GpuError::OutOfMemory(m) => write!(f, "GPU out of memory: {m}"),
            GpuError::Validation(m) => write!(f, "GPU validation error: {m}"),
            GpuError::Shader(m) => write!(f, "WGSL shader error: {m}"),
            GpuError::TooLarge(m) => write!(f, "exceeds GPU limits: {m}"),
            GpuError::Shape(m) => write!(f, "shape mismatch: {m}"),
            GpuError::Map(m) => write!(f, "GPU readback failed: {m}"),
        }
    }
}

impl std::error::Error for GpuError {}

pub type Result<T> = std::result::Result<T, GpuError>;

/// Threads per workgroup of the elementwise kernels (every shader's 1-D `@workgroup_size`).
pub(crate) const WG: u32 = 256;

/// Most workgroups along one dispatch dimension (WebGPU's `maxComputeWorkgroupsPerDimension`).
pub(crate) const MAX_GROUPS: u32 = 65_535;

/// A 2-D grid of at least `groups` workgroups: `x ≤ 65535`, `y` as needed. Shaders flatten it
/// back as `wid.x + wid.y · nwg.x` and skip the excess.
pub(crate) fn grid_2d(groups: u64) -> Result<[u32; 3]> {
    let x = groups.clamp(1, MAX_GROUPS as u64);
    let y = groups.div_ceil(x).max(1);
    if y > MAX_GROUPS as u64 {
        return Err(GpuError::TooLarge(format!("{groups} workgroups in one dispatch")));
    }
    Ok([x as u32, y as u32, 1])
}

/// The grid for `n` elements at one thread each, `WG` threads per workgroup.
pub(crate) fn grid_elems(n: usize) -> Result<[u32; 3]> {
    grid_2d((n as u64).div_ceil(WG as u64))
}

/// `n` as the `u32` the shaders index with, or `TooLarge`.
pub(crate) fn u32_of(n: usize, what: &str) -> Result<u32> {
    u32::try_from(n).map_err(|_| GpuError::TooLarge(format!("{what} = {n} does not fit u32 indices")))
}

/// `Shape` unless every `(name, got, want)` agrees.
pub(crate) fn check_lens(kernel: &str, lens: &[(&str, usize, usize)]) -> Result<()> {
    for &(name, got, want) in lens {
        if got != want {
            return Err(GpuError::Shape(format!("{kernel}: `{name}` holds {got} elements, expected {want}")));
        }
    }
    Ok(())
}
