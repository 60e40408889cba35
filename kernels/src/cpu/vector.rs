//! Wider vectors for the auto-vectorised loops, chosen at run time.
//!
//! The crate is compiled for the baseline x86-64 target (SSE2), so that one binary runs on any
//! x86-64 CPU; the GEMM has hand-written AVX2 and AVX-512 kernels, but the elementwise passes
//! and per-channel sums compile to 128-bit SSE2 code, two f64 or four f32 per instruction.
//! [`wide`] runs a loop compiled with AVX2 where the CPU has it (most since 2013), at twice
//! the width.
//!
//! The loop is a [`Loop`], whose `run` is `#[inline(always)]`, not a closure. A closure (or a
//! function item, through its `FnOnce` shim) is called from both copies, AVX2 and the SSE2
//! fallback, so LLVM was free to leave it out of line, and did: the AVX2 copy became a call of
//! the SSE2 code (found with rustc 1.95: no ymm register in the binary's batch-norm code, every
//! pass at SSE2 width). A direct call of an `#[inline(always)]` method is inlined in both.
//!
//! Results do not change: AVX2 computes each element with the same IEEE operations (Rust never
//! contracts `a·b + c` into an FMA on its own), and the reductions' summation order is fixed by
//! their explicit lanes, which the compiler may not reassociate.

/// A loop for [`wide`]: its inputs as fields, its body in `run`, which must be marked
/// `#[inline(always)]` (without it the AVX2 copy may again call the SSE2 code).
pub trait Loop {
    type Out;
    fn run(self) -> Self::Out;
}

/// `body.run()`, compiled for AVX2 when the CPU supports it.
#[inline(always)]
pub fn wide<L: Loop>(body: L) -> L::Out {
    #[cfg(target_arch = "x86_64")]
    {
        if has_avx2() {
            // SAFETY: the CPU supports AVX2 (checked at run time, cached by std).
            return unsafe { avx2(body) };
        }
    }
    body.run()
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn has_avx2() -> bool {
    is_x86_feature_detected!("avx2")
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn avx2<L: Loop>(body: L) -> L::Out {
    body.run()
}
