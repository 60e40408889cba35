//! Packing: copy a block of `op(A)` or `op(B)` into the order the micro-kernel reads it.
//!
//! A micro-panel of width `R` (the kernel's `MR` for A, `NR` for B) and depth `kc` is stored
//! "k-major": the `R` values of step `p` sit side by side at `dst[p·R .. p·R + R]`. The kernel then
//! walks both panels with unit stride whatever the transposes of the caller, which is how all four
//! transpose combinations share one fast path. Rows past the matrix edge are zero, so edge tiles
//! run the same full-size kernel (their extra results are simply not stored).

use std::cell::RefCell;
use std::ops::Range;

use super::MicroKernel;

/// One cache line of f32: packed panels start on a line, so no vector load straddles two.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
pub(super) struct Line([f32; 16]);

/// A growable, cache-line-aligned f32 scratch buffer.
#[derive(Default)]
pub(super) struct PackBuffer(Vec<Line>);

impl PackBuffer {
    /// The first `len` floats, growing the buffer if needed (contents unspecified).
    pub(super) fn slice_mut(&mut self, len: usize) -> &mut [f32] {
        let lines = len.div_ceil(16);
        if self.0.len() < lines {
            self.0.resize(lines, Line([0.0; 16]));
        }
        // SAFETY: `Line` is `repr(C)` around `[f32; 16]`, so `lines` of them are `16·lines`
        // contiguous, initialised f32, and `len ≤ 16·lines`.
        unsafe { std::slice::from_raw_parts_mut(self.0.as_mut_ptr().cast::<f32>(), len) }
    }

    /// The first `len` floats (`len` at most what `slice_mut` last grew the buffer to).
    pub(super) fn slice(&self, len: usize) -> &[f32] {
        assert!(len <= 16 * self.0.len(), "PackBuffer::slice: {len} floats past the buffer");
        // SAFETY: as in `slice_mut`: `16·lines` contiguous, initialised f32.
        unsafe { std::slice::from_raw_parts(self.0.as_ptr().cast::<f32>(), len) }
    }
}

thread_local! {
    // Reused across calls so the hot path does not allocate. A use pops buffers and pushes them
    // back afterwards, so a nested GEMM on the same thread (rayon may run another caller's task
    // while this one waits for its tiles) pops other buffers instead of aliasing the first,
    // and those are kept for the next nested call too.
    static POOL_A: RefCell<Vec<PackBuffer>> = const { RefCell::new(Vec::new()) };
    static POOL_B: RefCell<Vec<PackBuffer>> = const { RefCell::new(Vec::new()) };
}

/// Which pool of thread-local buffers to draw from.
#[derive(Clone, Copy)]
pub(super) enum Slot {
    A,
    B,
}

/// Run `f` with two of this thread's reusable buffers for `slot` (a double buffer).
pub(super) fn with_buffers<T>(slot: Slot, f: impl FnOnce(&mut [PackBuffer; 2]) -> T) -> T {
    let pool = match slot {
        Slot::A => &POOL_A,
        Slot::B => &POOL_B,
    };
    let take = || pool.with(|p| p.borrow_mut().pop()).unwrap_or_default();
    let mut bufs = [take(), take()];
    let out = f(&mut bufs);
    pool.with(|p| p.borrow_mut().extend(bufs));
    out
}

/// A strided view of a matrix block: element `(r, p)` is `src[base + r·rs + p·cs]`.
///
/// `r` runs across the panel (rows of `op(A)`, columns of `op(B)`), `p` along the shared `k`
/// dimension. One of the strides is 1 for every transpose combination.
#[derive(Clone, Copy)]
pub(super) struct Strided<'a> {
    pub src: &'a [f32],
    pub rs: usize,
    pub cs: usize,
}

/// The portable transposing pack (see [`MicroKernel::pack_transposed`]).
pub(super) fn pack_transposed_portable(src: &[f32], rs: usize, rows: usize, kc: usize, width: usize, dst: &mut [f32]) {
    // Read each row once, sequentially, scattering it with stride `width` into the panel (which
    // stays in L1, so the scatter is cheap).
    for r in 0..rows {
        let row = &src[r * rs..r * rs + kc];
        for (out, &x) in dst.chunks_exact_mut(width).zip(row) {
            out[r] = x;
        }
    }
    if rows < width {
        for out in dst.chunks_exact_mut(width) {
            out[rows..].fill(0.0);
        }
    }
}

/// Pack panels `first .. first + dst.len() / (kc·R)` of the block whose rows are
/// `r_begin .. r_end` (panel `i` covers rows `r_begin + i·R ..`) and steps `p0 .. p0 + kc`.
///
/// `R` is a run-time argument because the kernels' widths are associated constants, which cannot
/// be const generic arguments; `inline(always)` into `pack_a`/`pack_b` makes it a constant again.
#[allow(clippy::too_many_arguments, non_snake_case)]
#[inline(always)]
fn pack_panels<K: MicroKernel>(
    v: Strided,
    r_begin: usize,
    r_end: usize,
    first: usize,
    p0: usize,
    kc: usize,
    R: usize,
    dst: &mut [f32],
) {
    let panel_len = kc * R;
    let r_first = r_begin + first * R;
    let r_last = r_end.min(r_first + dst.len() / panel_len * R);
    if v.rs == 1 {
        // The panels' rows are contiguous in memory: walk each k step's line once, left to right
        // (a stream the hardware prefetcher follows), handing an R-wide piece to each panel.
        for p in 0..kc {
            let start = (p0 + p) * v.cs;
            let line = &v.src[start + r_first..start + r_last];
            for (piece, panel) in line.chunks(R).zip(dst.chunks_exact_mut(panel_len)) {
                let out = &mut panel[p * R..(p + 1) * R];
                if piece.len() == R {
                    // Constant length: a few vector moves, not a `memcpy` call.
                    out.copy_from_slice(piece);
                } else {
                    out[..piece.len()].copy_from_slice(piece);
                    out[piece.len()..].fill(0.0);
                }
            }
        }
    } else {
        // The k steps are contiguous: each panel is the transpose of a `rows × kc` block.
        debug_assert_eq!(v.cs, 1);
        for (i, panel) in dst.chunks_exact_mut(panel_len).enumerate() {
            let r0 = r_first + i * R;
            let rows = R.min(r_last - r0);
            let start = r0 * v.rs + p0;
            let end = start + (rows - 1) * v.rs + kc;
            // SAFETY: `gemm_at` checked that the CPU runs K's instructions.
            unsafe { K::pack_transposed(&v.src[start..end], v.rs, rows, kc, R, panel) };
        }
    }
}

/// Pack `MR`-tall panels `first ..` of `op(A)` (rows `0 .. m`), steps `p0 .. p0 + kc`, into `dst`.
pub(super) fn pack_a<K: MicroKernel>(a: Strided, m: usize, first: usize, p0: usize, kc: usize, dst: &mut [f32]) {
    pack_panels::<K>(a, 0, m, first, p0, kc, K::MR, dst)
}

/// Pack `NR`-wide panels `first ..` of columns `cols` of `op(B)`, steps `p0 .. p0 + kc`, into
/// `dst`.
pub(super) fn pack_b<K: MicroKernel>(
    b: Strided,
    cols: Range<usize>,
    first: usize,
    p0: usize,
    kc: usize,
    dst: &mut [f32],
) {
    pack_panels::<K>(b, cols.start, cols.end, first, p0, kc, K::NR, dst)
}
