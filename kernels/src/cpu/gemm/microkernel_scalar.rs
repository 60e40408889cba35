//! Portable micro-kernel: a 4 × 8 tile of C in plain Rust.
//!
//! Used where no SIMD level is detected. The fixed-size inner loops let the compiler keep the
//! tile in registers (and vectorise it with the baseline SSE2 on x86-64). It multiplies and adds
//! separately: `f32::mul_add` would be a slow library call on CPUs without FMA.

use super::MicroKernel;

pub(super) struct Scalar;

const MR: usize = 4;
const NR: usize = 8;

impl MicroKernel for Scalar {
    const MR: usize = MR;
    const NR: usize = NR;

    #[inline(always)]
    unsafe fn run(kc: usize, a: *const f32, b: *const f32, c: *mut f32, ldc: usize, alpha: f32, beta: f32) {
        // SAFETY: the caller guarantees `a` holds `kc·MR` floats and `b` holds `kc·NR`.
        let (a, b) = unsafe { (std::slice::from_raw_parts(a, kc * MR), std::slice::from_raw_parts(b, kc * NR)) };
        let mut acc = [[0.0f32; NR]; MR];
        for (a, b) in a.chunks_exact(MR).zip(b.chunks_exact(NR)) {
            for i in 0..MR {
                for j in 0..NR {
                    acc[i][j] += a[i] * b[j];
                }
            }
        }
        for (i, acc) in acc.iter().enumerate() {
            // SAFETY: the caller guarantees `c` is an MR × NR tile with row stride `ldc`.
            let row = unsafe { std::slice::from_raw_parts_mut(c.add(i * ldc), NR) };
            for (out, &x) in row.iter_mut().zip(acc) {
                // `beta == 0` must not read C: it may hold NaN.
                *out = if beta == 0.0 { alpha * x } else { alpha * x + beta * *out };
            }
        }
    }
}
