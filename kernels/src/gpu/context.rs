//! The device, its queue, the pipeline cache, the buffer pool and the shared command encoder.

use super::buffer::Pool;
use super::{GpuBuffer, GpuError, Result};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use wgpu::util::DeviceExt;

/// How to pick an adapter.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ContextOptions {
    /// Accept a software rasteriser (lavapipe's `llvmpipe`, WARP) when no hardware adapter
    /// exists. Off by default: for training, the CPU backend beats a software GPU. The
    /// environment variable `ONECLASS_REQUIRE_GPU=1` (CI, the parity tests) turns it on.
    pub allow_software: bool,
}

/// What the chosen adapter says about itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdapterSummary {
    pub name: String,
    /// `Vulkan`, `Metal`, `Dx12`, …
    pub backend: String,
    /// `DiscreteGpu`, `IntegratedGpu`, `VirtualGpu`, `Cpu` (software) or `Other`.
    pub device_type: String,
    pub driver: String,
    pub driver_info: String,
    /// True for a software adapter (`DeviceType::Cpu`).
    pub software: bool,
}

impl fmt::Display for AdapterSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}, {}", self.name, self.backend, self.device_type)?;
        if !self.driver.is_empty() {
            write!(f, ", {} {}", self.driver, self.driver_info)?;
        }
        write!(f, ")")
    }
}

/// One WGSL source file, compiled once per context.
pub(crate) struct Shader {
    pub name: &'static str,
    pub source: &'static str,
}

/// Launches recorded but not yet submitted.
struct Pending {
    encoder: Option<wgpu::CommandEncoder>,
    commands: usize,
}

/// Submit on our own after this many recorded commands, so a long chain of launches without a
/// readback neither holds unbounded driver memory nor leaves the GPU idle.
const AUTO_FLUSH: usize = 256;

pub(crate) struct Inner {
    pub(crate) device: wgpu::Device,
    queue: wgpu::Queue,
    info: wgpu::AdapterInfo,
    pub(crate) limits: wgpu::Limits,
    features: wgpu::Features,
    modules: Mutex<HashMap<&'static str, wgpu::ShaderModule>>,
    pipelines: Mutex<HashMap<String, (wgpu::ComputePipeline, wgpu::BindGroupLayout)>>,
    pub(crate) pool: Mutex<Pool>,
    pending: Mutex<Pending>,
    /// The first error wgpu reported outside an error scope; returned (once) by the next call.
    failure: Arc<Mutex<Option<GpuError>>>,
    /// Set by the device-lost callback; every later call fails with it.
    lost: Arc<Mutex<Option<String>>>,
}

/// A GPU device with everything the kernels share. Cheap to clone (an `Arc`); `Send + Sync`.
#[derive(Clone)]
pub struct Context {
    pub(crate) inner: Arc<Inner>,
}

/// Locks a mutex, recovering from poisoning (a panic elsewhere must not wedge the GPU).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Preference order: hardware first; a software adapter only when allowed.
fn rank(t: wgpu::DeviceType) -> u32 {
    match t {
        wgpu::DeviceType::DiscreteGpu => 4,
        wgpu::DeviceType::IntegratedGpu => 3,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Other => 1,
        wgpu::DeviceType::Cpu => 0,
    }
}

/// True when `ONECLASS_REQUIRE_GPU=1`: GPU tests must fail rather than skip, and the software
/// adapter counts.
pub fn gpu_required() -> bool {
    std::env::var("ONECLASS_REQUIRE_GPU").is_ok_and(|v| v == "1")
}

impl Context {
    /// Opens the best adapter: discrete, integrated, virtual, other; a software one only when
    /// `opts.allow_software` or `ONECLASS_REQUIRE_GPU=1`. `WGPU_BACKEND` (e.g. `vulkan`)
    /// narrows the backends searched.
    pub fn new(opts: ContextOptions) -> Result<Context> {
        let allow_software = opts.allow_software || gpu_required();
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle().with_env());
        let adapters = pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()));
        let mut seen = Vec::new();
        let mut best: Option<(u32, wgpu::Adapter)> = None;
        for adapter in adapters {
            let info = adapter.get_info();
            seen.push(format!("{} ({:?}, {:?})", info.name, info.backend, info.device_type));
            if info.device_type == wgpu::DeviceType::Cpu && !allow_software {
                continue;
            }
            let r = rank(info.device_type);
            if best.as_ref().is_none_or(|(b, _)| r > *b) {
                best = Some((r, adapter));
            }
        }
        let Some((_, adapter)) = best else {
            let found = if seen.is_empty() { "none".to_string() } else { seen.join(", ") };
            return Err(GpuError::NoAdapter(format!(
                "adapters found: {found}; software adapters are used only with \
                 ContextOptions {{ allow_software: true }} or ONECLASS_REQUIRE_GPU=1"
            )));
        };
        Self::with_adapter(adapter)
    }

    fn with_adapter(adapter: wgpu::Adapter) -> Result<Context> {
        let info = adapter.get_info();
        // The adapter's own limits: big storage buffers and the largest workgroups it allows.
        let limits = adapter.limits();
        // f16 storage for the inference path (`infer`), where the adapter offers it.
        let features = adapter.features() & wgpu::Features::SHADER_F16;
        let desc = wgpu::DeviceDescriptor {
            label: Some("oneclass"),
            required_features: features,
            required_limits: limits.clone(),
            memory_hints: wgpu::MemoryHints::Performance,
            ..Default::default()
        };
        let (device, queue) = pollster::block_on(adapter.request_device(&desc))
            .map_err(|e| GpuError::RequestDevice(format!("{}: {e}", info.name)))?;
        let failure: Arc<Mutex<Option<GpuError>>> = Arc::new(Mutex::new(None));
        let lost: Arc<Mutex<Option<String>>> = Arc::new(Mutex::new(None));
        {
            let failure = failure.clone();
            device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
                let err = match &e {
                    wgpu::Error::OutOfMemory { .. } => GpuError::OutOfMemory(e.to_string()),
                    wgpu::Error::Validation { .. } => GpuError::Validation(e.to_string()),
                    wgpu::Error::Internal { .. } => GpuError::Validation(format!("internal: {e}")),
                };
                lock(&failure).get_or_insert(err);
            }));
            let lost = lost.clone();
            device.set_device_lost_callback(move |reason, msg| {
                lock(&lost).get_or_insert(format!("{reason:?}: {msg}"));
            });
        }
        Ok(Context {
            inner: Arc::new(Inner {
                device,
                queue,
                info,
                limits,
                features,
                modules: Mutex::new(HashMap::new()),
                pipelines: Mutex::new(HashMap::new()),
                pool: Mutex::new(Pool::default()),
                pending: Mutex::new(Pending { encoder: None, commands: 0 }),
                failure,
                lost,
            }),
        })
    }

    /// Name, backend and type of the adapter in use.
    pub fn adapter(&self) -> AdapterSummary {
        let i = &self.inner.info;
        AdapterSummary {
            name: i.name.clone(),
            backend: format!("{:?}", i.backend),
            device_type: format!("{:?}", i.device_type),
            driver: i.driver.clone(),
            driver_info: i.driver_info.clone(),
            software: i.device_type == wgpu::DeviceType::Cpu,
        }
    }

    /// True when the device runs WGSL `f16` (the adapter offers `SHADER_F16`, and it was
    /// requested): the f16 storage path of [`super::infer`] is available.
    pub fn supports_f16(&self) -> bool {
        self.inner.features.contains(wgpu::Features::SHADER_F16)
    }

    /// The device limits the kernels run under.
    pub fn limits(&self) -> &wgpu::Limits {
        &self.inner.limits
    }

    /// Fails with the first asynchronous error or the device loss, if any.
    pub(crate) fn check(&self) -> Result<()> {
        if let Some(m) = lock(&self.inner.lost).clone() {
            return Err(GpuError::DeviceLost(m));
        }
        match lock(&self.inner.failure).take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Submits every recorded launch. Returns without waiting for the GPU.
    pub fn flush(&self) -> Result<()> {
        {
            // Submit under the lock: another thread's encoder, recorded after this one, must
            // not reach the queue first (its commands may read what this one writes).
            let mut p = lock(&self.inner.pending);
            p.commands = 0;
            if let Some(enc) = p.encoder.take() {
                self.inner.queue.submit([enc.finish()]);
            }
        }
        self.check()
    }

    /// Submits every recorded launch and waits until the GPU has finished all of them
    /// (what a timing loop needs before reading the clock).
    pub fn synchronize(&self) -> Result<()> {
        self.flush()?;
        self.wait()
    }

    pub(crate) fn wait(&self) -> Result<()> {
        self.inner
            .device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| GpuError::DeviceLost(format!("poll: {e}")))?;
        self.check()
    }

    /// Runs `f` on the shared encoder (creating it if needed), then submits when enough
    /// commands have piled up.
    pub(crate) fn record(&self, f: impl FnOnce(&mut wgpu::CommandEncoder)) -> Result<()> {
        let full = {
            let mut p = lock(&self.inner.pending);
            let enc = p.encoder.get_or_insert_with(|| {
                self.inner.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("oneclass") })
            });
            f(enc);
            p.commands += 1;
            p.commands >= AUTO_FLUSH
        };
        if full {
            self.flush()
        } else {
            Ok(())
        }
    }

    /// Runs `f` inside a validation + out-of-memory error scope and turns what it caught into
    /// a `GpuError` (`as_shader` for compile errors).
    pub(crate) fn scoped<T>(&self, as_shader: bool, f: impl FnOnce(&wgpu::Device) -> T) -> Result<T> {
        let dev = &self.inner.device;
        let oom = dev.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let val = dev.push_error_scope(wgpu::ErrorFilter::Validation);
        let out = f(dev);
        let v = pollster::block_on(val.pop());
        let o = pollster::block_on(oom.pop());
        if let Some(e) = o {
            return Err(GpuError::OutOfMemory(e.to_string()));
        }
        if let Some(e) = v {
            return Err(if as_shader { GpuError::Shader(e.to_string()) } else { GpuError::Validation(e.to_string()) });
        }
        Ok(out)
    }

    /// The pipeline for `shader`'s `entry` with the given override constants, compiled on
    /// first use and cached under `shader/entry?constants`.
    fn pipeline(
        &self,
        shader: &Shader,
        entry: &'static str,
        constants: &[(&'static str, f64)],
    ) -> Result<(wgpu::ComputePipeline, wgpu::BindGroupLayout)> {
        let mut key = format!("{}/{entry}", shader.name);
        for (k, v) in constants {
            key.push_str(&format!("?{k}={v}"));
        }
        if let Some(p) = lock(&self.inner.pipelines).get(&key) {
            return Ok(p.clone());
        }
        let module = {
            let mut modules = lock(&self.inner.modules);
            match modules.get(shader.name) {
                Some(m) => m.clone(),
                None => {
                    let m = self.scoped(true, |d| {
                        d.create_shader_module(wgpu::ShaderModuleDescriptor {
                            label: Some(shader.name),
                            source: wgpu::ShaderSource::Wgsl(shader.source.into()),
                        })
                    })?;
                    modules.insert(shader.name, m.clone());
                    m
                }
            }
        };
        let pipeline = self.scoped(true, |d| {
            d.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(&key),
                layout: None,
                module: &module,
                entry_point: Some(entry),
                compilation_options: wgpu::PipelineCompilationOptions {
                    constants,
                    // Every kernel writes its workgroup memory before reading it.
                    zero_initialize_workgroup_memory: false,
                },
                cache: None,
            })
        })?;
        let layout = pipeline.get_bind_group_layout(0);
        lock(&self.inner.pipelines).insert(key, (pipeline.clone(), layout.clone()));
        Ok((pipeline, layout))
    }

    /// Records one dispatch of `shader::entry` over `grid` workgroups: binding 0 is `params`
    /// (a uniform block), bindings 1.. are `buffers` in order.
    pub(crate) fn launch<P: bytemuck::Pod>(
        &self,
        shader: &Shader,
        entry: &'static str,
        constants: &[(&'static str, f64)],
        params: &P,
        buffers: &[&GpuBuffer],
        grid: [u32; 3],
    ) -> Result<()> {
        self.check()?;
        for b in buffers {
            if !Arc::ptr_eq(&b.context().inner, &self.inner) {
                return Err(GpuError::Validation(format!(
                    "{}::{entry}: a buffer belongs to another GPU context",
                    shader.name
                )));
            }
        }
        // One buffer in two bindings (an in-place call such as `unary_forward(op, &x, &x)`)
        // is a usage conflict that would invalidate the whole shared command buffer, other
        // callers' work included: refuse it here instead.
        for (i, a) in buffers.iter().enumerate() {
            if buffers[..i].iter().any(|b| std::ptr::eq(*a, *b)) {
                return Err(GpuError::Validation(format!(
                    "{}::{entry}: the same buffer is passed for two arguments (kernels do not work in place \
                     unless documented)",
                    shader.name
                )));
            }
        }
        if grid.iter().any(|&g| g > self.inner.limits.max_compute_workgroups_per_dimension) {
            return Err(GpuError::TooLarge(format!("{}::{entry}: grid {grid:?}", shader.name)));
        }
        if grid.contains(&0) {
            return Ok(());
        }
        let (pipeline, layout) = self.pipeline(shader, entry, constants)?;
        let dev = &self.inner.device;
        // A fresh uniform buffer per launch: a queue write into a shared one would land before
        // the earlier, still unsubmitted launches that read it.
        let uniform = dev.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("params"),
            contents: bytemuck::bytes_of(params),
            usage: wgpu::BufferUsages::UNIFORM,
        });
        let mut entries = vec![wgpu::BindGroupEntry { binding: 0, resource: uniform.as_entire_binding() }];
        for (i, b) in buffers.iter().enumerate() {
            entries.push(wgpu::BindGroupEntry { binding: i as u32 + 1, resource: b.raw().as_entire_binding() });
        }
        let bind = self.scoped(false, |d| {
            d.create_bind_group(&wgpu::BindGroupDescriptor { label: Some(entry), layout: &layout, entries: &entries })
        })?;
        self.record(|enc| {
            let mut pass =
                enc.begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some(entry), timestamp_writes: None });
            pass.set_pipeline(&pipeline);
            pass.set_bind_group(0, &bind, &[]);
            pass.dispatch_workgroups(grid[0], grid[1], grid[2]);
        })
    }
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context").field("adapter", &self.adapter().to_string()).finish()
    }
}
