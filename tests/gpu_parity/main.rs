//! Every GPU kernel against the CPU kernel of the same name, forward and backward, on fresh
//! seeded random inputs, with output buffers poisoned (NaN) so an element the GPU never writes
//! fails. Sizes are odd on purpose: they do not divide the workgroup size (256) nor the GEMM
//! tile (64).
//!
//! Without a usable adapter each test prints why and passes, unless `ONECLASS_REQUIRE_GPU=1`
//! (CI, with lavapipe), when it fails. Software adapters are accepted here: parity, not speed.
//!
//! Tolerances (f32):
//! - elementwise ops: `|gpu − cpu| ≤ 1e-4 · max(|cpu|, 1)` per element (relative error,
//!   absolute below 1, where transcendental functions' last-ulp differences live);
//! - sums, products, convolutions, normalisation: `max|gpu − cpu| ≤ 1e-4 · max|cpu|`
//!   (norm-wise relative error: the GPU sums in a different order than the CPU).
//!
//! Run: `ONECLASS_REQUIRE_GPU=1 cargo test --release --test gpu_parity`.

use kernels::gpu::{gpu_required, Context, ContextOptions, GpuBuffer};
use std::sync::OnceLock;

mod activation;
mod binary;
mod context;
mod conv;
/// The engine on `Device::Gpu` (a module name that does not shadow the `engine` crate).
#[path = "engine.rs"]
mod engine_on_gpu;
mod gemm;
mod infer;
mod layout;
mod loss;
mod norm;
mod optim;
mod pool;
mod reduce;
mod upsample;

/// The f32 tolerance every test states.
pub const TOL: f32 = 1e-4;

/// The shared context, or `None` (after printing why) when there is no adapter and the GPU is
/// not required.
pub fn ctx() -> Option<&'static Context> {
    static CTX: OnceLock<Result<Context, String>> = OnceLock::new();
    let c = CTX.get_or_init(|| {
        let c = Context::new(ContextOptions { allow_software: true }).map_err(|e| e.to_string());
        if let Ok(c) = &c {
            eprintln!("gpu_parity: adapter {}", c.adapter());
        }
        c
    });
    match c {
        Ok(c) => Some(c),
        Err(e) if gpu_required() => panic!("ONECLASS_REQUIRE_GPU=1, but: {e}"),
        Err(e) => {
            eprintln!("gpu_parity: skipped, {e}");
            None
        }
    }
}

/// `let ctx = gpu!();` — the context, or return from the test (skip).
#[macro_export]
macro_rules! gpu {
    () => {
        match $crate::ctx() {
            Some(c) => c,
            None => return,
        }
    };
}

/// SplitMix64: small, seeded, good enough to fill test tensors.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `[lo, hi)`.
    pub fn uniform(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * ((self.next_u64() >> 40) as f32 / (1u64 << 24) as f32)
    }
    pub fn vec(&mut self, n: usize, lo: f32, hi: f32) -> Vec<f32> {
        (0..n).map(|_| self.uniform(lo, hi)).collect()
    }
    /// Magnitudes in `[lo, hi)` with random signs (never near zero: divisors).
    pub fn signed_vec(&mut self, n: usize, lo: f32, hi: f32) -> Vec<f32> {
        (0..n).map(|_| if self.next_u64() & 1 == 0 { self.uniform(lo, hi) } else { -self.uniform(lo, hi) }).collect()
    }
}

pub fn up(ctx: &Context, v: &[f32]) -> GpuBuffer {
    GpuBuffer::from_slice(ctx, v).expect("upload")
}

/// An output buffer filled with NaN: any element the kernel leaves unwritten fails the check.
pub fn poisoned(ctx: &Context, n: usize) -> GpuBuffer {
    up(ctx, &vec![f32::NAN; n])
}

pub fn down(b: &GpuBuffer) -> Vec<f32> {
    b.to_vec().expect("readback")
}

/// Per element: `|got − want| ≤ tol · max(|want|, 1)`. Returns the largest error ratio.
pub fn assert_close(what: &str, got: &[f32], want: &[f32], tol: f32) -> f32 {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    let mut worst = 0f32;
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let err = (g - w).abs() / w.abs().max(1.0);
        assert!(
            err <= tol || (g.is_nan() && w.is_nan()) || g == w,
            "{what}: element {i}: gpu {g} vs cpu {w} (error {err:e} > {tol:e})"
        );
        if err.is_finite() {
            worst = worst.max(err);
        }
    }
    worst
}

/// Norm-wise: `max|got − want| ≤ tol · max|want|`, and no NaN where the CPU has none.
pub fn assert_close_norm(what: &str, got: &[f32], want: &[f32], tol: f32) -> f32 {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    let scale = want.iter().fold(0f32, |m, v| m.max(v.abs())).max(f32::MIN_POSITIVE);
    let mut worst = 0f32;
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let err = (g - w).abs() / scale;
        assert!(
            err <= tol || g == w,
            "{what}: element {i}: gpu {g} vs cpu {w} (error {err:e} of max|cpu| {scale} > {tol:e})"
        );
        worst = worst.max(err);
    }
    worst
}
