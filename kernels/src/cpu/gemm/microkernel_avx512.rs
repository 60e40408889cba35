//! AVX-512F micro-kernel: a 14 × 32 tile of C held in 28 zmm registers.
//!
//! Why 14 × 32: each k step loads two B vectors (32 columns) and broadcasts 14 A values, giving
//! 28 independent FMAs — enough to cover the FMA latency (4 cycles) on both FMA ports — while
//! 28 accumulators + 2 B vectors + 1 broadcast fit the 32 zmm registers. 16 loads per 28 FMAs
//! stays under the two loads per cycle the core can issue. In L1 it runs at ~90% of the FMA
//! peak (measured on the 2.8 GHz Ice Lake Xeon: ~158 of ~175 GFLOP/s per core).

use std::arch::x86_64::*;

use super::MicroKernel;

/// The kernel with `R` rows per tile (`R × 32`).
pub(super) struct Avx512Rows<const R: usize>;

/// The general kernel, 14 × 32.
pub(super) type Avx512 = Avx512Rows<14>;

/// For products with at most 8 or 4 rows (the MNIST LeNet's 8- and 4-channel convolutions),
/// where a 14-row tile would spend 43 % or 71 % of its FMAs on zero padding, and with 8 rows
/// for row counts that 14-row panels pad badly (32, 64, 128: see `avx512_rows`). `R × 2` accumulators
/// (16 or 8) still cover the FMA latency on both ports (8 in flight are needed), and every
/// element is summed in the same order as by the 14-row kernel, so results are bit-identical.
pub(super) type Avx512Short8 = Avx512Rows<8>;
pub(super) type Avx512Short4 = Avx512Rows<4>;

const NR: usize = 32;

impl<const R: usize> MicroKernel for Avx512Rows<R> {
    const MR: usize = R;
    const NR: usize = NR;

    #[inline(always)]
    unsafe fn run(kc: usize, a: *const f32, b: *const f32, c: *mut f32, ldc: usize, alpha: f32, beta: f32) {
        kernel::<R>(kc, a, b, c, ldc, alpha, beta)
    }

    #[inline(always)]
    unsafe fn run_edge(
        kc: usize,
        a: *const f32,
        b: *const f32,
        c: *mut f32,
        ldc: usize,
        alpha: f32,
        beta: f32,
        shape: (usize, usize),
    ) {
        kernel_edge::<R>(kc, a, b, c, ldc, alpha, beta, shape.0, shape.1)
    }

    unsafe fn pack_transposed(src: &[f32], rs: usize, rows: usize, kc: usize, width: usize, dst: &mut [f32]) {
        pack_transposed(src, rs, rows, kc, width, dst)
    }
}

/// The kc-step product of one A and one B micro-panel, in registers: row `i` of the tile is
/// `(lo[i], hi[i])`.
#[inline(always)]
unsafe fn accumulate<const MR: usize>(kc: usize, mut a: *const f32, mut b: *const f32) -> ([__m512; MR], [__m512; MR]) {
    let mut lo = [_mm512_setzero_ps(); MR];
    let mut hi = [_mm512_setzero_ps(); MR];
    for _ in 0..kc {
        // The B micro-panel streams from L2 (two lines per step): ask for it 8 steps ahead.
        // `wrapping_add`: the last prefetches point past the panel, which is harmless for a
        // prefetch but must not be an out-of-bounds `add`.
        _mm_prefetch::<_MM_HINT_T0>(b.wrapping_add(8 * NR).cast());
        _mm_prefetch::<_MM_HINT_T0>(b.wrapping_add(8 * NR + 16).cast());
        let b_lo = _mm512_loadu_ps(b);
        let b_hi = _mm512_loadu_ps(b.add(16));
        for i in 0..MR {
            let ai = _mm512_set1_ps(*a.add(i));
            lo[i] = _mm512_fmadd_ps(ai, b_lo, lo[i]);
            hi[i] = _mm512_fmadd_ps(ai, b_hi, hi[i]);
        }
        a = a.add(MR);
        b = b.add(NR);
    }
    (lo, hi)
}

/// `row[..] = alpha·acc + beta·row[..]` on the lanes of `mask` (others neither read nor written).
#[inline(always)]
unsafe fn store(row: *mut f32, mask: __mmask16, acc: __m512, alpha: __m512, beta: f32) {
    let v = if beta == 0.0 {
        // C is write-only here: it may hold NaN.
        _mm512_mul_ps(alpha, acc)
    } else if beta == 1.0 {
        _mm512_fmadd_ps(alpha, acc, _mm512_maskz_loadu_ps(mask, row))
    } else {
        _mm512_fmadd_ps(alpha, acc, _mm512_mul_ps(_mm512_set1_ps(beta), _mm512_maskz_loadu_ps(mask, row)))
    };
    _mm512_mask_storeu_ps(row, mask, v);
}

#[target_feature(enable = "avx512f")]
unsafe fn kernel<const MR: usize>(
    kc: usize,
    a: *const f32,
    b: *const f32,
    c: *mut f32,
    ldc: usize,
    alpha: f32,
    beta: f32,
) {
    // Start fetching the C tile now: after the kc loop its 2·MR lines are needed at once, and for
    // large n they come from L3 (rows a power-of-two apart also conflict in L1).
    for i in 0..MR {
        _mm_prefetch::<_MM_HINT_T0>(c.add(i * ldc).cast());
        _mm_prefetch::<_MM_HINT_T0>(c.add(i * ldc + 16).cast());
    }
    let (lo, hi) = accumulate::<MR>(kc, a, b);
    let alpha = _mm512_set1_ps(alpha);
    for i in 0..MR {
        let row = c.add(i * ldc);
        store(row, !0, lo[i], alpha, beta);
        store(row.add(16), !0, hi[i], alpha, beta);
    }
}

/// [`kernel`] for an edge tile of `rows × cols` (at most `MR × NR`): the same full-size product,
/// stored through lane masks straight into C. The portable route (a scratch tile, then a
/// scalar copy) cost a fifth of the MNIST LeNet's convolutions, whose 4 or 8 output channels
/// make every tile an edge tile.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx512f")]
unsafe fn kernel_edge<const MR: usize>(
    kc: usize,
    a: *const f32,
    b: *const f32,
    c: *mut f32,
    ldc: usize,
    alpha: f32,
    beta: f32,
    rows: usize,
    cols: usize,
) {
    let (lo, hi) = accumulate::<MR>(kc, a, b);
    let alpha = _mm512_set1_ps(alpha);
    let lanes = |n: usize| ((1u32 << n.min(16)) - 1) as __mmask16;
    let (lo_mask, hi_mask) = (lanes(cols), lanes(cols.saturating_sub(16)));
    for i in 0..MR.min(rows) {
        let row = c.add(i * ldc);
        store(row, lo_mask, lo[i], alpha, beta);
        if hi_mask != 0 {
            store(row.add(16), hi_mask, hi[i], alpha, beta);
        }
    }
}

/// Transposing pack: 16 × 16 blocks are loaded as rows, transposed in registers (64 shuffles)
/// and stored as k steps, about 15× faster than the portable scalar scatter, which otherwise
/// costs as much as a fifth of a 512³ product.
///
/// # Safety
/// The CPU supports AVX-512F; `src` holds rows `0 .. rows` of `kc` floats `rs` apart; `dst`
/// holds `kc·width` floats.
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn pack_transposed(src: &[f32], rs: usize, rows: usize, kc: usize, width: usize, dst: &mut [f32]) {
    assert!(rows <= width && dst.len() >= kc * width && (rows == 0 || src.len() >= (rows - 1) * rs + kc));
    let (src, dst) = (src.as_ptr(), dst.as_mut_ptr());
    for g in (0..width).step_by(16) {
        let store_mask = ((1u32 << (width - g).min(16)) - 1) as __mmask16;
        let group_rows = rows.saturating_sub(g).min(16);
        for p in (0..kc).step_by(16) {
            let steps = (kc - p).min(16);
            // Masked-off lanes are neither read nor written and cannot fault, so rows past
            // `rows` load as zeros and the k tail needs no copy; the loops keep constant bounds
            // so the block stays in registers.
            let load_mask = ((1u32 << steps) - 1) as __mmask16;
            let mut block = [_mm512_setzero_ps(); 16];
            for (r, v) in block.iter_mut().enumerate() {
                let row = src.wrapping_add((g + r) * rs + p);
                // The 16 rows are 16 streams, too many for the hardware prefetcher when the
                // stride is large: fetch two blocks ahead.
                if r < group_rows {
                    _mm_prefetch::<_MM_HINT_T0>(row.wrapping_add(32).cast());
                }
                *v = _mm512_maskz_loadu_ps(if r < group_rows { load_mask } else { 0 }, row);
            }
            let block = transpose_16x16(block);
            for (q, v) in block.iter().enumerate() {
                let mask = if q < steps { store_mask } else { 0 };
                _mm512_mask_storeu_ps(dst.wrapping_add((p + q) * width + g), mask, *v);
            }
        }
    }
}

/// `out[j]` lane `i` = `rows[i]` lane `j`.
#[inline(always)]
unsafe fn transpose_16x16(r: [__m512; 16]) -> [__m512; 16] {
    // 1. Interleave row pairs within 128-bit lanes: t[2k], t[2k+1] hold rows 2k, 2k+1.
    let mut t = [_mm512_setzero_ps(); 16];
    for k in 0..8 {
        t[2 * k] = _mm512_unpacklo_ps(r[2 * k], r[2 * k + 1]);
        t[2 * k + 1] = _mm512_unpackhi_ps(r[2 * k], r[2 * k + 1]);
    }
    // 2. u[4g + c], 128-bit lane L, holds column 4L + c of rows 4g .. 4g + 4.
    let mut u = [_mm512_setzero_ps(); 16];
    for g in 0..4 {
        let (t0, t1, t2, t3) = (t[4 * g], t[4 * g + 1], t[4 * g + 2], t[4 * g + 3]);
        u[4 * g] = _mm512_shuffle_ps::<0x44>(t0, t2);
        u[4 * g + 1] = _mm512_shuffle_ps::<0xEE>(t0, t2);
        u[4 * g + 2] = _mm512_shuffle_ps::<0x44>(t1, t3);
        u[4 * g + 3] = _mm512_shuffle_ps::<0xEE>(t1, t3);
    }
    // 3. Transpose the 4 × 4 grid of 128-bit lanes of u[c], u[4 + c], u[8 + c], u[12 + c]:
    //    lane L of the result for column c is column 4L + c.
    let mut out = [_mm512_setzero_ps(); 16];
    for c in 0..4 {
        let x0 = _mm512_shuffle_f32x4::<0x44>(u[c], u[4 + c]);
        let x1 = _mm512_shuffle_f32x4::<0xEE>(u[c], u[4 + c]);
        let x2 = _mm512_shuffle_f32x4::<0x44>(u[8 + c], u[12 + c]);
        let x3 = _mm512_shuffle_f32x4::<0xEE>(u[8 + c], u[12 + c]);
        out[c] = _mm512_shuffle_f32x4::<0x88>(x0, x2);
        out[4 + c] = _mm512_shuffle_f32x4::<0xDD>(x0, x2);
        out[8 + c] = _mm512_shuffle_f32x4::<0x88>(x1, x3);
        out[12 + c] = _mm512_shuffle_f32x4::<0xDD>(x1, x3);
    }
    out
}
