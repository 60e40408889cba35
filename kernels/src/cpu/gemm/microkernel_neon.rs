//! NEON micro-kernel (aarch64): an 8 × 8 tile of C held in 16 q registers.
//!
//! 16 accumulators + 2 B vectors leave room in the 32 q registers, and 16 independent FMAs
//! cover the 4-cycle FMA latency on the common two-pipe cores.

use std::arch::aarch64::*;

use super::MicroKernel;

pub(super) struct Neon;

const MR: usize = 8;
const NR: usize = 8;

impl MicroKernel for Neon {
    const MR: usize = MR;
    const NR: usize = NR;

    #[inline(always)]
    unsafe fn run(kc: usize, a: *const f32, b: *const f32, c: *mut f32, ldc: usize, alpha: f32, beta: f32) {
        kernel(kc, a, b, c, ldc, alpha, beta)
    }
}

#[target_feature(enable = "neon")]
unsafe fn kernel(kc: usize, mut a: *const f32, mut b: *const f32, c: *mut f32, ldc: usize, alpha: f32, beta: f32) {
    let mut lo = [vdupq_n_f32(0.0); MR];
    let mut hi = [vdupq_n_f32(0.0); MR];
    for _ in 0..kc {
        let b_lo = vld1q_f32(b);
        let b_hi = vld1q_f32(b.add(4));
        for i in 0..MR {
            let ai = *a.add(i);
            lo[i] = vfmaq_n_f32(lo[i], b_lo, ai);
            hi[i] = vfmaq_n_f32(hi[i], b_hi, ai);
        }
        a = a.add(MR);
        b = b.add(NR);
    }

    for i in 0..MR {
        let row = c.add(i * ldc);
        let (lo, hi) = (vmulq_n_f32(lo[i], alpha), vmulq_n_f32(hi[i], alpha));
        if beta == 0.0 {
            // C is write-only here: it may hold NaN.
            vst1q_f32(row, lo);
            vst1q_f32(row.add(4), hi);
        } else {
            vst1q_f32(row, vfmaq_n_f32(lo, vld1q_f32(row), beta));
            vst1q_f32(row.add(4), vfmaq_n_f32(hi, vld1q_f32(row.add(4)), beta));
        }
    }
}
