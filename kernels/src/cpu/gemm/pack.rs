//! Packing: copy a block of `op(A)` or `op(B)` into the order the micro-kernel reads it.
//!
//! A micro-panel of width `R` (the kernel's `MR` for A, `NR` for B) and depth `kc` is stored
//! "k-major": the `R` values of step `p` sit side by side at `dst[p·R .. p·R + R]`. The kernel then
//! walks both panels with unit stride whatever the transposes of the caller, which is how all four
//! transpose combinations share one fast path. Rows past the matrix edge are zero, so edge tiles
//! run the same full-size kernel (their extra results are simply not stored).

use std::cell::Cell;

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
}

thread_local! {
    // Reused across calls so the hot path does not allocate. Each is *taken* for the duration of
    // one use and put back afterwards, so a nested GEMM on the same thread (rayon may run another
    // task while this one waits) finds an empty buffer and grows its own instead of aliasing.
    static PACK_A: Cell<PackBuffer> = Cell::new(PackBuffer::default());
    static PACK_B: Cell<PackBuffer> = Cell::new(PackBuffer::default());
}

/// Which thread-local buffer to borrow.
#[derive(Clone, Copy)]
pub(super) enum Slot {
    A,
    B,
}

/// Run `f` with this thread's reusable buffer for `slot`.
pub(super) fn with_buffer<T>(slot: Slot, f: impl FnOnce(&mut PackBuffer) -> T) -> T {
    let key = match slot {
        Slot::A => &PACK_A,
        Slot::B => &PACK_B,
    };
    let mut buf = key.with(Cell::take);
    let out = f(&mut buf);
    key.with(|cell| cell.set(buf));
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

/// Pack rows `r0 .. r0 + rows` (at most `R` of them), steps `p0 .. p0 + kc`, into one micro-panel
/// `dst[..kc·R]`, zero-filling rows `rows .. R`.
///
/// `R` is a run-time argument because the kernels' widths are associated constants, which cannot
/// be const generic arguments; `inline(always)` down from the call site makes it a constant again.
#[inline(always)]
#[allow(non_snake_case)]
fn pack_panel<K: MicroKernel>(v: Strided, r0: usize, rows: usize, p0: usize, kc: usize, R: usize, dst: &mut [f32]) {
    debug_assert!(rows <= R && dst.len() >= kc * R);
    let dst = &mut dst[..kc * R];
    if v.rs == 1 {
        // The panel's rows are contiguous in memory: one short copy per k step.
        for (p, out) in dst.chunks_exact_mut(R).enumerate() {
            let start = r0 + (p0 + p) * v.cs;
            if rows == R {
                // Full panel: a copy of constant length, which compiles to a few vector moves.
                out.copy_from_slice(&v.src[start..start + R]);
            } else {
                out[..rows].copy_from_slice(&v.src[start..start + rows]);
                out[rows..].fill(0.0);
            }
        }
    } else {
        // The k steps are contiguous: packing transposes a `rows × kc` block.
        debug_assert_eq!(v.cs, 1);
        let start = r0 * v.rs + p0;
        let end = if rows == 0 { start } else { start + (rows - 1) * v.rs + kc };
        // SAFETY: `gemm_at` checked that the CPU runs K's instructions.
        unsafe { K::pack_transposed(&v.src[start..end], v.rs, rows, kc, R, dst) };
    }
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
    for (i, panel) in dst.chunks_exact_mut(kc * R).enumerate() {
        let r0 = r_begin + (first + i) * R;
        pack_panel::<K>(v, r0, R.min(r_end - r0), p0, kc, R, panel);
    }
}

/// Pack `MR`-tall panels `first ..` of `op(A)` (rows `0 .. m`), steps `p0 .. p0 + kc`, into `dst`.
pub(super) fn pack_a<K: MicroKernel>(a: Strided, m: usize, first: usize, p0: usize, kc: usize, dst: &mut [f32]) {
    pack_panels::<K>(a, 0, m, first, p0, kc, K::MR, dst)
}

/// Pack `NR`-wide panels `first ..` of columns `c_begin .. c_end` of `op(B)`, steps
/// `p0 .. p0 + kc`, into `dst`.
pub(super) fn pack_b<K: MicroKernel>(
    b: Strided,
    c_begin: usize,
    c_end: usize,
    first: usize,
    p0: usize,
    kc: usize,
    dst: &mut [f32],
) {
    pack_panels::<K>(b, c_begin, c_end, first, p0, kc, K::NR, dst)
}
