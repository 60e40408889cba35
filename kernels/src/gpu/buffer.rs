//! `GpuBuffer`: a storage buffer of 4-byte elements, drawn from and returned to a per-context
//! pool keyed by size class.

use super::context::{lock, Context};
use super::{GpuError, Result};
use std::collections::HashMap;
use wgpu::util::DeviceExt;

/// Bytes kept in the pool at most; a returned buffer beyond this is freed instead.
const POOL_CAP: u64 = 1 << 30;
/// The smallest allocation (WebGPU wants storage bindings of non-zero size).
const MIN_BYTES: u64 = 256;

/// Free buffers by size class.
#[derive(Default)]
pub(crate) struct Pool {
    free: HashMap<u64, Vec<wgpu::Buffer>>,
    bytes: u64,
}

/// The allocation size for `bytes`: eight classes per octave (≤ 12.5 % slack), so buffers of
/// nearly equal length (batches of a varying last size) share a class.
fn size_class(bytes: u64) -> u64 {
    let b = bytes.max(MIN_BYTES);
    let p = b.next_power_of_two();
    let step = (p / 16).max(4);
    b.div_ceil(step) * step
}

const USAGE: wgpu::BufferUsages =
    wgpu::BufferUsages::STORAGE.union(wgpu::BufferUsages::COPY_SRC).union(wgpu::BufferUsages::COPY_DST);

/// A device buffer of `len` 4-byte elements (`f32`, or `u32` for indices such as max-pool
/// argmax), possibly longer underneath (its size class). Dropping it returns the memory to the
/// context's pool; commands already recorded that use it still see their data, since
/// everything runs in recording order.
pub struct GpuBuffer {
    ctx: Context,
    buf: Option<wgpu::Buffer>,
    len: usize,
}

impl GpuBuffer {
    /// A buffer of `len` elements with unspecified contents (a kernel's output).
    pub fn uninit(ctx: &Context, len: usize) -> Result<GpuBuffer> {
        let bytes = (len as u64).checked_mul(4).ok_or_else(|| GpuError::TooLarge(format!("{len} elements")))?;
        let class = size_class(bytes);
        let lim = &ctx.inner.limits;
        let max = lim.max_buffer_size.min(lim.max_storage_buffer_binding_size);
        if class > max {
            return Err(GpuError::TooLarge(format!(
                "a buffer of {len} elements ({bytes} bytes) exceeds this device's {max}-byte storage binding limit"
            )));
        }
        let reused = lock(&ctx.inner.pool).take(class);
        let buf = match reused {
            Some(b) => b,
            None => ctx.scoped(false, |d| {
                d.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("oneclass"),
                    size: class,
                    usage: USAGE,
                    mapped_at_creation: false,
                })
            })?,
        };
        Ok(GpuBuffer { ctx: ctx.clone(), buf: Some(buf), len })
    }

    /// A copy of `data` on the device (the copy is recorded, so it runs in order with launches).
    pub fn from_slice(ctx: &Context, data: &[f32]) -> Result<GpuBuffer> {
        Self::from_words(ctx, bytemuck::cast_slice(data), data.len())
    }

    /// A copy of `u32` data (indices) on the device.
    pub fn from_slice_u32(ctx: &Context, data: &[u32]) -> Result<GpuBuffer> {
        Self::from_words(ctx, bytemuck::cast_slice(data), data.len())
    }

    fn from_words(ctx: &Context, bytes: &[u8], len: usize) -> Result<GpuBuffer> {
        let out = Self::uninit(ctx, len)?;
        if len > 0 {
            let staging = ctx.scoped(false, |d| {
                d.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                    label: Some("upload"),
                    contents: bytes,
                    usage: wgpu::BufferUsages::COPY_SRC,
                })
            })?;
            ctx.record(|enc| enc.copy_buffer_to_buffer(&staging, 0, out.raw(), 0, bytes.len() as u64))?;
        }
        Ok(out)
    }

    /// `len` elements, all zero bits (`0.0f32`, `0u32`).
    pub fn zeros(ctx: &Context, len: usize) -> Result<GpuBuffer> {
        let out = Self::uninit(ctx, len)?;
        if len > 0 {
            ctx.record(|enc| enc.clear_buffer(out.raw(), 0, Some(len as u64 * 4)))?;
        }
        Ok(out)
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn context(&self) -> &Context {
        &self.ctx
    }

    pub(crate) fn raw(&self) -> &wgpu::Buffer {
        self.buf.as_ref().expect("GpuBuffer used after drop")
    }

    /// Copies `src` (same length) into this buffer, in recording order.
    pub fn copy_from(&self, src: &GpuBuffer) -> Result<()> {
        super::check_lens("copy_from", &[("src", src.len, self.len)])?;
        if self.len > 0 {
            self.ctx.record(|enc| enc.copy_buffer_to_buffer(src.raw(), 0, self.raw(), 0, self.len as u64 * 4))?;
        }
        Ok(())
    }

    /// Reads the contents back as `f32` (flushes, then blocks until the GPU is done).
    pub fn to_vec(&self) -> Result<Vec<f32>> {
        // A byte Vec is only 1-aligned: copy element by element rather than cast in place.
        Ok(bytemuck::pod_collect_to_vec(&self.read_bytes()?))
    }

    /// Reads the contents back as `u32`.
    pub fn to_vec_u32(&self) -> Result<Vec<u32>> {
        Ok(bytemuck::pod_collect_to_vec(&self.read_bytes()?))
    }

    fn read_bytes(&self) -> Result<Vec<u8>> {
        let ctx = &self.ctx;
        let size = self.len as u64 * 4;
        if size == 0 {
            ctx.flush()?;
            return Ok(Vec::new());
        }
        let staging = ctx.scoped(false, |d| {
            d.create_buffer(&wgpu::BufferDescriptor {
                label: Some("readback"),
                size,
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            })
        })?;
        ctx.record(|enc| enc.copy_buffer_to_buffer(self.raw(), 0, &staging, 0, size))?;
        ctx.flush()?;
        let (tx, rx) = std::sync::mpsc::channel();
        staging.map_async(wgpu::MapMode::Read, .., move |r| {
            let _ = tx.send(r);
        });
        ctx.wait()?;
        match rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(GpuError::Map(e.to_string())),
            Err(_) => return Err(GpuError::Map("the map callback never ran".into())),
        }
        let bytes = staging.get_mapped_range(..).map_err(|e| GpuError::Map(e.to_string()))?.to_vec();
        staging.unmap();
        Ok(bytes)
    }
}

impl Pool {
    fn take(&mut self, class: u64) -> Option<wgpu::Buffer> {
        let b = self.free.get_mut(&class)?.pop()?;
        self.bytes -= class;
        Some(b)
    }

    fn give(&mut self, buf: wgpu::Buffer) {
        let class = buf.size();
        if self.bytes + class > POOL_CAP {
            return; // dropped: freed once the commands using it have run
        }
        self.bytes += class;
        self.free.entry(class).or_default().push(buf);
    }
}

impl Drop for GpuBuffer {
    fn drop(&mut self) {
        if let Some(b) = self.buf.take() {
            lock(&self.ctx.inner.pool).give(b);
        }
    }
}

impl std::fmt::Debug for GpuBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "GpuBuffer({} elements)", self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::size_class;

    #[test]
    fn size_classes_cover_and_bound_slack() {
        for bytes in [0u64, 1, 255, 256, 257, 1000, 4096, 4097, 123_456_789] {
            let c = size_class(bytes);
            assert!(c >= bytes && c >= 256 && c.is_multiple_of(4), "{bytes} -> {c}");
            assert!(c <= (bytes.max(256) as f64 * 1.125) as u64 + 4, "{bytes} -> {c}");
        }
    }
}
