//! AVX2 + FMA micro-kernel: a 6 × 16 tile of C held in 12 ymm registers.
//!
//! The classic Haswell shape (as in BLIS and OpenBLAS): 12 accumulators + 2 B vectors + 1
//! broadcast fit the 16 ymm registers, and 12 independent FMAs cover two ports × 5-cycle latency.

use std::arch::x86_64::*;

use super::MicroKernel;

pub(super) struct Avx2;

const MR: usize = 6;
const NR: usize = 16;

impl MicroKernel for Avx2 {
    const MR: usize = MR;
    const NR: usize = NR;

    #[inline(always)]
    unsafe fn run(kc: usize, a: *const f32, b: *const f32, c: *mut f32, ldc: usize, alpha: f32, beta: f32) {
        kernel(kc, a, b, c, ldc, alpha, beta)
    }

    unsafe fn pack_transposed(src: &[f32], rs: usize, rows: usize, kc: usize, width: usize, dst: &mut [f32]) {
        pack_transposed(src, rs, rows, kc, width, dst)
    }
}

#[target_feature(enable = "avx2,fma")]
unsafe fn kernel(kc: usize, mut a: *const f32, mut b: *const f32, c: *mut f32, ldc: usize, alpha: f32, beta: f32) {
    let mut lo = [_mm256_setzero_ps(); MR];
    let mut hi = [_mm256_setzero_ps(); MR];
    for _ in 0..kc {
        let b_lo = _mm256_loadu_ps(b);
        let b_hi = _mm256_loadu_ps(b.add(8));
        for i in 0..MR {
            let ai = _mm256_broadcast_ss(&*a.add(i));
            lo[i] = _mm256_fmadd_ps(ai, b_lo, lo[i]);
            hi[i] = _mm256_fmadd_ps(ai, b_hi, hi[i]);
        }
        a = a.add(MR);
        b = b.add(NR);
    }

    let alpha = _mm256_set1_ps(alpha);
    for i in 0..MR {
        let row = c.add(i * ldc);
        let (lo, hi) = (lo[i], hi[i]);
        if beta == 0.0 {
            // C is write-only here: it may hold NaN.
            _mm256_storeu_ps(row, _mm256_mul_ps(alpha, lo));
            _mm256_storeu_ps(row.add(8), _mm256_mul_ps(alpha, hi));
        } else if beta == 1.0 {
            _mm256_storeu_ps(row, _mm256_fmadd_ps(alpha, lo, _mm256_loadu_ps(row)));
            _mm256_storeu_ps(row.add(8), _mm256_fmadd_ps(alpha, hi, _mm256_loadu_ps(row.add(8))));
        } else {
            let beta = _mm256_set1_ps(beta);
            let old_lo = _mm256_mul_ps(beta, _mm256_loadu_ps(row));
            let old_hi = _mm256_mul_ps(beta, _mm256_loadu_ps(row.add(8)));
            _mm256_storeu_ps(row, _mm256_fmadd_ps(alpha, lo, old_lo));
            _mm256_storeu_ps(row.add(8), _mm256_fmadd_ps(alpha, hi, old_hi));
        }
    }
}

/// Transposing pack: 8 × 8 blocks are loaded as rows, transposed in registers and stored as k
/// steps, instead of the portable scalar scatter (several cycles per element).
///
/// # Safety
/// The CPU supports AVX2; `src` holds rows `0 .. rows` of `kc` floats `rs` apart; `dst` holds
/// `kc·width` floats.
#[target_feature(enable = "avx2,fma")]
unsafe fn pack_transposed(src: &[f32], rs: usize, rows: usize, kc: usize, width: usize, dst: &mut [f32]) {
    assert!(rows <= width && dst.len() >= kc * width && (rows == 0 || src.len() >= (rows - 1) * rs + kc));
    let (src, dst) = (src.as_ptr(), dst.as_mut_ptr());
    // Lane i of `first_lanes(n)` is all ones for i < n: the mask of `vmaskmovps`.
    let first_lanes =
        |n: usize| _mm256_cmpgt_epi32(_mm256_set1_epi32(n as i32), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    for g in (0..width).step_by(8) {
        let store_mask = first_lanes((width - g).min(8));
        let group_rows = rows.saturating_sub(g).min(8);
        for p in (0..kc).step_by(8) {
            let steps = (kc - p).min(8);
            // Masked-off lanes are neither read nor able to fault, so the tail needs no copy.
            // Rows past `rows` load as zeros through an empty mask; the loops keep constant
            // bounds so the block stays in registers.
            let load_mask = first_lanes(steps);
            let mut block = [_mm256_setzero_ps(); 8];
            for (r, v) in block.iter_mut().enumerate() {
                let mask = if r < group_rows { load_mask } else { _mm256_setzero_si256() };
                *v = _mm256_maskload_ps(src.wrapping_add((g + r) * rs + p), mask);
            }
            let block = transpose_8x8(block);
            for (q, v) in block.iter().enumerate() {
                let mask = if q < steps { store_mask } else { _mm256_setzero_si256() };
                _mm256_maskstore_ps(dst.wrapping_add((p + q) * width + g), mask, *v);
            }
        }
    }
}

/// `out[j]` lane `i` = `rows[i]` lane `j`.
#[inline(always)]
unsafe fn transpose_8x8(r: [__m256; 8]) -> [__m256; 8] {
    // 1. Interleave row pairs within 128-bit lanes.
    let mut t = [_mm256_setzero_ps(); 8];
    for k in 0..4 {
        t[2 * k] = _mm256_unpacklo_ps(r[2 * k], r[2 * k + 1]);
        t[2 * k + 1] = _mm256_unpackhi_ps(r[2 * k], r[2 * k + 1]);
    }
    // 2. u[4g + c], 128-bit lane L, holds column 4L + c of rows 4g .. 4g + 4.
    let mut u = [_mm256_setzero_ps(); 8];
    for g in 0..2 {
        let (t0, t1, t2, t3) = (t[4 * g], t[4 * g + 1], t[4 * g + 2], t[4 * g + 3]);
        u[4 * g] = _mm256_shuffle_ps::<0x44>(t0, t2);
        u[4 * g + 1] = _mm256_shuffle_ps::<0xEE>(t0, t2);
        u[4 * g + 2] = _mm256_shuffle_ps::<0x44>(t1, t3);
        u[4 * g + 3] = _mm256_shuffle_ps::<0xEE>(t1, t3);
    }
    // 3. Column 4L + c is lane L of u[c] followed by lane L of u[4 + c].
    let mut out = [_mm256_setzero_ps(); 8];
    for c in 0..4 {
        out[c] = _mm256_permute2f128_ps::<0x20>(u[c], u[4 + c]);
        out[4 + c] = _mm256_permute2f128_ps::<0x31>(u[c], u[4 + c]);
    }
    out
}
