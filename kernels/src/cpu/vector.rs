//! Wider vectors for the auto-vectorised loops, chosen at run time.
//!
//! The crate is compiled for the baseline x86-64 target (SSE2), so that one binary runs on any
//! x86-64 CPU; the GEMM has hand-written AVX2 and AVX-512 kernels, but the elementwise passes
//! and per-channel sums compiled to 128-bit SSE2 code, two f64 or four f32 per instruction.
//! [`wide`] runs a closure compiled with AVX2 where the CPU has it (most since 2013): LLVM
//! inlines the closure into [`avx2`] and vectorises it at twice the width.
//!
//! Results do not change: AVX2 computes each element with the same IEEE operations (Rust never
//! contracts `a·b + c` into an FMA on its own), and the reductions' summation order is fixed by
//! their explicit lanes, which the compiler may not reassociate.

/// `f()`, compiled for AVX2 when the CPU supports it. Keep `f` one call site (a closure around
/// a loop): LLVM then inlines it into the AVX2 copy.
#[inline(always)]
pub fn wide<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        if has_avx2() {
            // SAFETY: the CPU supports AVX2 (checked at run time, cached by std).
            return unsafe { avx2(f) };
        }
    }
    f()
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn has_avx2() -> bool {
    is_x86_feature_detected!("avx2")
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn avx2<R>(f: impl FnOnce() -> R) -> R {
    f()
}
