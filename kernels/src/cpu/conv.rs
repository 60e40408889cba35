//! 2-D convolution (cross-correlation, as in PyTorch) through im2col + GEMM.
//! Transposed convolution needs no kernels of its own: its forward is `conv2d_backward_input`,
//! its input gradient is `conv2d_forward` and its weight gradient is `conv2d_backward_weight`
//! with the roles of input and output swapped (the engine composes them).
//!
//! # Transposed convolution, spelled out
//! PyTorch's `conv_transpose2d(x_t, w_t, stride s, padding p, output_padding op)` takes
//! `x_t: n × c_in_t × h_t × w_t` and `w_t: c_in_t × c_out_t × k × k` and produces
//! `y_t: n × c_out_t × H × W` with `H = (h_t − 1)·s − 2p + k + op` (likewise `W`), `op < s`.
//! It is the adjoint of the convolution with geometry
//! `Conv2dGeom { n, c_in: c_out_t, h: H, w: W, c_out: c_in_t, kh: k, kw: k, stride: s, pad: p }`,
//! whose weight `c_out × c_in × k × k` is `w_t` as stored (no transpose or flip needed) and whose
//! output size is `h_t` again (`⌊(H + 2p − k)/s⌋ + 1 = h_t` because `op < s`). Hence:
//! - forward: `y_t = conv2d_backward_input(geom, dy = x_t, w = w_t)`;
//! - input gradient: `dx_t = conv2d_forward(geom, x = dy_t, w = w_t)`;
//! - weight gradient: `dw_t = conv2d_backward_weight(geom, x = dy_t, dy = x_t)`.
//!
//! With `op > 0`, `H + 2p − k` is not divisible by `s`: the last `op` rows (columns) of the
//! conv's input are covered by no window or only by some. `conv2d_backward_input` gives every
//! input cell exactly the sum of the windows that cover it (zero when none does), which is what
//! PyTorch's `output_padding` rows hold.

use rayon::prelude::*;

use crate::cpu::gemm::{gemm, gemm_serial};

/// A GEMM with `gemm`'s signature.
type Gemm = fn(bool, bool, usize, usize, usize, f32, &[f32], &[f32], f32, &mut [f32]);

/// The GEMM to call inside a parallel loop of `tasks` iterations: `gemm_serial` when the loop
/// alone keeps every thread busy, else the parallel `gemm` (so batch-1 inference still uses all
/// cores). Both are bit-identical, so the choice never changes a result.
fn inner_gemm(tasks: usize) -> Gemm {
    if tasks >= rayon::current_num_threads() {
        gemm_serial
    } else {
        gemm
    }
}

/// Shape of one convolution: input `n × c_in × h × w`, weight `c_out × c_in × kh × kw`,
/// the same stride and zero padding on both axes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2dGeom {
    pub n: usize,
    pub c_in: usize,
    pub h: usize,
    pub w: usize,
    pub c_out: usize,
    pub kh: usize,
    pub kw: usize,
    pub stride: usize,
    pub pad: usize,
}

impl Conv2dGeom {
    /// Output height; the caller guarantees `h + 2·pad ≥ kh`.
    pub fn oh(&self) -> usize {
        (self.h + 2 * self.pad - self.kh) / self.stride + 1
    }
    pub fn ow(&self) -> usize {
        (self.w + 2 * self.pad - self.kw) / self.stride + 1
    }
    pub fn x_len(&self) -> usize {
        self.n * self.c_in * self.h * self.w
    }
    pub fn w_len(&self) -> usize {
        self.c_out * self.c_in * self.kh * self.kw
    }
    pub fn y_len(&self) -> usize {
        self.n * self.c_out * self.oh() * self.ow()
    }

    /// Rows of the im2col matrix: `c_in·kh·kw` (the GEMM's inner dimension in the forward).
    fn col_rows(&self) -> usize {
        self.c_in * self.kh * self.kw
    }
    /// Output positions per sample-channel: `oh·ow` (the im2col matrix's columns).
    fn positions(&self) -> usize {
        self.oh() * self.ow()
    }
    /// A 1×1, stride-1, unpadded convolution's im2col matrix is the input itself.
    fn is_pointwise(&self) -> bool {
        self.kh == 1 && self.kw == 1 && self.stride == 1 && self.pad == 0
    }

    fn check(&self, what: &str, x: usize, w: usize, y: usize) {
        assert!(self.stride >= 1, "{what}: stride must be ≥ 1 in {self:?}");
        assert!(
            self.h + 2 * self.pad >= self.kh && self.w + 2 * self.pad >= self.kw,
            "{what}: kernel larger than the padded input in {self:?}"
        );
        assert!(
            x == self.x_len() && w == self.w_len() && y == self.y_len(),
            "{what}: slice lengths (x {x}, w {w}, y {y}) do not match {self:?} \
             (x {}, w {}, y {})",
            self.x_len(),
            self.w_len(),
            self.y_len()
        );
    }
}

/// Output indices `o` (along one axis) whose tap `t` lands inside the input, i.e.
/// `0 ≤ o·s + t − pad < len`, as the half-open range `lo..hi` (clamped to `0..out`).
fn valid_range(t: usize, pad: usize, s: usize, len: usize, out: usize) -> (usize, usize) {
    let lo = if t >= pad { 0 } else { (pad - t).div_ceil(s) };
    let hi = if len + pad > t { (len + pad - t).div_ceil(s) } else { 0 };
    let hi = hi.min(out);
    (lo.min(hi), hi)
}

/// Fills `col` (`c_in·kh·kw × oh·ow`, row `(ci·kh + a)·kw + b`) with the receptive fields of one
/// sample `x` (`c_in × h × w`); taps that fall in the padding become zeros.
fn im2col(g: &Conv2dGeom, x: &[f32], col: &mut [f32]) {
    let (h, w, s, pad) = (g.h, g.w, g.stride, g.pad);
    let (oh, ow) = (g.oh(), g.ow());
    let mut rows = col.chunks_exact_mut(oh * ow);
    for plane in x.chunks_exact(h * w).take(g.c_in) {
        for a in 0..g.kh {
            let (oy_lo, oy_hi) = valid_range(a, pad, s, h, oh);
            for b in 0..g.kw {
                let row = rows.next().expect("im2col: col too short");
                let (ox_lo, ox_hi) = valid_range(b, pad, s, w, ow);
                if oy_lo == oy_hi || ox_lo == ox_hi {
                    // The tap reads only padding (and `ox_lo + b − pad` may underflow).
                    row.fill(0.0);
                    continue;
                }
                row[..oy_lo * ow].fill(0.0);
                row[oy_hi * ow..].fill(0.0);
                if s == 1 && ow == w {
                    // "Same" convolution: source and destination rows have the same stride, so
                    // the whole tap is one contiguous copy. Cells past a row's valid columns
                    // pick up the neighbouring row's values and are zeroed after. (Per-row
                    // copies of 16 floats spent more time in call overhead than the GEMM.)
                    let (start, end) = (oy_lo * ow + ox_lo, (oy_hi - 1) * ow + ox_hi);
                    let src = (oy_lo + a - pad) * w + ox_lo + b - pad;
                    row[start..end].copy_from_slice(&plane[src..src + (end - start)]);
                    // The cells from one row's last valid column to the next row's first.
                    for oy in oy_lo..oy_hi - 1 {
                        row[oy * ow + ox_hi..(oy + 1) * ow + ox_lo].fill(0.0);
                    }
                    row[oy_lo * ow..start].fill(0.0);
                    row[end..oy_hi * ow].fill(0.0);
                    continue;
                }
                for oy in oy_lo..oy_hi {
                    let src = &plane[(oy * s + a - pad) * w..][..w];
                    let out = &mut row[oy * ow..][..ow];
                    out[..ox_lo].fill(0.0);
                    out[ox_hi..].fill(0.0);
                    if s == 1 {
                        out[ox_lo..ox_hi].copy_from_slice(&src[ox_lo + b - pad..ox_hi + b - pad]);
                    } else {
                        for (ox, o) in (ox_lo..ox_hi).zip(&mut out[ox_lo..ox_hi]) {
                            *o = src[ox * s + b - pad];
                        }
                    }
                }
            }
        }
    }
}

/// The adjoint of `im2col`: overwrites `x` (`c_in × h × w`) with the sum, for every cell, of the
/// `col` entries that were copied from it. Cells no window covers get zero.
fn col2im(g: &Conv2dGeom, col: &[f32], x: &mut [f32]) {
    let (h, w, s, pad) = (g.h, g.w, g.stride, g.pad);
    let (oh, ow) = (g.oh(), g.ow());
    x.fill(0.0);
    let mut rows = col.chunks_exact(oh * ow);
    for plane in x.chunks_exact_mut(h * w).take(g.c_in) {
        for a in 0..g.kh {
            let (oy_lo, oy_hi) = valid_range(a, pad, s, h, oh);
            for b in 0..g.kw {
                let row = rows.next().expect("col2im: col too short");
                let (ox_lo, ox_hi) = valid_range(b, pad, s, w, ow);
                if ox_lo == ox_hi {
                    continue; // this tap reads only padding (and `ox_lo + b − pad` may underflow)
                }
                for oy in oy_lo..oy_hi {
                    let dst = &mut plane[(oy * s + a - pad) * w..][..w];
                    let src = &row[oy * ow..][ox_lo..ox_hi];
                    if s == 1 {
                        for (d, v) in dst[ox_lo + b - pad..ox_hi + b - pad].iter_mut().zip(src) {
                            *d += v;
                        }
                    } else {
                        for (ox, v) in (ox_lo..ox_hi).zip(src) {
                            dst[ox * s + b - pad] += v;
                        }
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Batched path: one GEMM over a group of samples instead of one per sample.
//
// With few output positions per sample (`P = oh·ow`), the per-sample GEMMs are slivers — the
// DCGAN generator's first layer is a GEMV per sample (`P = 1`), and its weight gradient a rank-1
// update per sample into 16 partial copies of a 2.4 MiB weight — and the weight is re-packed for
// every sample. Stacking the group's receptive fields as rows ("im2row": `G·P × K`, sample `i`
// owning rows `i·P ..`, each sample's block contiguous so it is filled in parallel) turns the
// three kernels into one well-shaped GEMM each:
//   forward          Yᵀ (G·P × c_out) = ROWS (G·P × K) · Wᵀ
//   input gradient   dROWS (G·P × K)  = dYᵀ (G·P × c_out) · W
//   weight gradient  dW (c_out × K)  += dYᵀᵀ · ROWS, groups added in order (beta = 1)
// The per-sample `P × c_out` ↔ `c_out × P` transposes cost `O(G·P·c_out)`, small next to the
// GEMMs. Group sizes depend on the geometry alone, so results never depend on the thread count.
// ---------------------------------------------------------------------------------------------

/// Below this many output positions per sample the batched path is used. The per-sample GEMMs
/// have `P` as one of their sides and re-pack the weight for every sample, so small `P` wastes
/// most of each call. Measured on the throughput bench (2-core Ice Lake): batching the DCGAN's
/// `P = 1` and `P = 49` layers wins (`P = 1`: ~3×), batching the CIFAR LeNet's `P = 64` third
/// layer loses ~15 % (its per-sample GEMMs, 128 × 64 × 1600, are already well shaped).
const BATCH_MAX_POSITIONS: usize = 64;
/// Scratch floats one group may use (im2row matrix plus the transposed output): 8 MiB, so the
/// group's operands stay near L3 and the scratch stays small.
const BATCH_SCRATCH_FLOATS: usize = 1 << 21;

thread_local! {
    /// The batched path's scratch, kept between calls so big activations are not freshly
    /// allocated (and page-faulted in) every step. Taken out while in use, so a re-entrant call
    /// (rayon work stealing) just allocates its own.
    static BATCH_SCRATCH: std::cell::Cell<Vec<f32>> = const { std::cell::Cell::new(Vec::new()) };
}

fn with_scratch<R>(len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    let mut buf = BATCH_SCRATCH.with(std::cell::Cell::take);
    if buf.len() < len {
        buf.resize(len, 0.0);
    }
    let out = f(&mut buf[..len]);
    BATCH_SCRATCH.with(|cell| cell.set(buf));
    out
}

impl Conv2dGeom {
    fn batched(&self) -> bool {
        self.positions() < BATCH_MAX_POSITIONS
            && self.positions() > 0
            && self.c_out > 0
            && self.c_in * self.h * self.w > 0
    }
    /// Samples per group: equal groups whose scratch (`G·P·(K + c_out)` floats) fits `budget`.
    fn group_size(&self, budget: usize) -> usize {
        let per_sample = self.positions() * (self.col_rows() + self.c_out);
        let groups = (self.n * per_sample).div_ceil(budget.max(1)).clamp(1, self.n.max(1));
        self.n.div_ceil(groups).max(1)
    }
}

/// `dst (cols × rows) = srcᵀ` for a row-major `rows × cols` `src`.
fn transpose(src: &[f32], rows: usize, cols: usize, dst: &mut [f32]) {
    debug_assert!(src.len() == rows * cols && dst.len() == rows * cols);
    if rows == 1 || cols == 1 {
        dst.copy_from_slice(src);
        return;
    }
    // 8×8 blocks: both sides touch whole cache lines.
    const B: usize = 8;
    for r0 in (0..rows).step_by(B) {
        for c0 in (0..cols).step_by(B) {
            for r in r0..(r0 + B).min(rows) {
                for c in c0..(c0 + B).min(cols) {
                    dst[c * rows + r] = src[r * cols + c];
                }
            }
        }
    }
}

/// One sample's receptive fields as rows: `rows (P × K)`, the transpose of its im2col matrix.
fn im2row(g: &Conv2dGeom, x_n: &[f32], col: &mut Vec<f32>, rows: &mut [f32]) {
    let (k, p) = (g.col_rows(), g.positions());
    if g.is_pointwise() {
        transpose(x_n, k, p, rows);
        return;
    }
    col.resize(k * p, 0.0);
    im2col(g, x_n, col);
    transpose(col, k, p, rows);
}

/// The adjoint of `im2row`: overwrites `x_n` with the sums of the `rows (P × K)` entries.
fn row2im(g: &Conv2dGeom, rows: &[f32], col: &mut Vec<f32>, x_n: &mut [f32]) {
    let (k, p) = (g.col_rows(), g.positions());
    if g.is_pointwise() {
        transpose(rows, p, k, x_n);
        return;
    }
    col.resize(k * p, 0.0);
    transpose(rows, p, k, col);
    col2im(g, col, x_n);
}

/// Fills `rows` (`m·P × K`) from the `m` samples of `x`.
fn im2row_group(g: &Conv2dGeom, x: &[f32], rows: &mut [f32]) {
    let (k, p, xs) = (g.col_rows(), g.positions(), g.c_in * g.h * g.w);
    rows.par_chunks_mut(p * k).zip(x.par_chunks(xs)).for_each_init(Vec::new, |col, (r, x_n)| im2row(g, x_n, col, r));
}

/// `t` (`m·P × c_out`) = each sample's `dy_n (c_out × P)` transposed.
fn transpose_out_group(g: &Conv2dGeom, dy: &[f32], t: &mut [f32]) {
    let (p, co) = (g.positions(), g.c_out);
    t.par_chunks_mut(p * co).zip(dy.par_chunks(co * p)).for_each(|(t, d)| transpose(d, co, p, t));
}

fn conv2d_forward_batched(g: &Conv2dGeom, x: &[f32], w: &[f32], y: &mut [f32], budget: usize) {
    let (k, p, co) = (g.col_rows(), g.positions(), g.c_out);
    let (xs, ys, gs) = (g.c_in * g.h * g.w, co * p, g.group_size(budget));
    with_scratch(gs * p * (k + co), |buf| {
        for (xg, yg) in x.chunks(gs * xs).zip(y.chunks_mut(gs * ys)) {
            let m = yg.len() / ys;
            let (rows, yt) = buf.split_at_mut(gs * p * k);
            let (rows, yt) = (&mut rows[..m * p * k], &mut yt[..m * p * co]);
            im2row_group(g, xg, rows);
            gemm(false, true, m * p, co, k, 1.0, rows, w, 0.0, yt);
            yg.par_chunks_mut(ys).zip(yt.par_chunks(p * co)).for_each(|(y_n, t)| transpose(t, p, co, y_n));
        }
    })
}

fn conv2d_backward_input_batched(g: &Conv2dGeom, dy: &[f32], w: &[f32], dx: &mut [f32], budget: usize) {
    let (k, p, co) = (g.col_rows(), g.positions(), g.c_out);
    let (xs, ys, gs) = (g.c_in * g.h * g.w, co * p, g.group_size(budget));
    with_scratch(gs * p * (k + co), |buf| {
        for (dyg, dxg) in dy.chunks(gs * ys).zip(dx.chunks_mut(gs * xs)) {
            let m = dyg.len() / ys;
            let (drows, dyt) = buf.split_at_mut(gs * p * k);
            let (drows, dyt) = (&mut drows[..m * p * k], &mut dyt[..m * p * co]);
            transpose_out_group(g, dyg, dyt);
            gemm(false, false, m * p, k, co, 1.0, dyt, w, 0.0, drows);
            dxg.par_chunks_mut(xs)
                .zip(drows.par_chunks(p * k))
                .for_each_init(Vec::new, |col, (dx_n, r)| row2im(g, r, col, dx_n));
        }
    })
}

fn conv2d_backward_weight_batched(g: &Conv2dGeom, x: &[f32], dy: &[f32], dw: &mut [f32], budget: usize) {
    let (k, p, co) = (g.col_rows(), g.positions(), g.c_out);
    let (xs, ys, gs) = (g.c_in * g.h * g.w, co * p, g.group_size(budget));
    with_scratch(gs * p * (k + co), |buf| {
        for (i, (xg, dyg)) in x.chunks(gs * xs).zip(dy.chunks(gs * ys)).enumerate() {
            let m = dyg.len() / ys;
            let (rows, dyt) = buf.split_at_mut(gs * p * k);
            let (rows, dyt) = (&mut rows[..m * p * k], &mut dyt[..m * p * co]);
            rayon::join(|| im2row_group(g, xg, rows), || transpose_out_group(g, dyg, dyt));
            let beta = if i == 0 { 0.0 } else { 1.0 };
            gemm(true, false, co, k, m * p, 1.0, dyt, rows, beta, dw);
        }
    })
}

/// `y = conv2d(x, w)`; `y` is `n × c_out × oh × ow`, overwritten.
pub fn conv2d_forward(g: &Conv2dGeom, x: &[f32], w: &[f32], y: &mut [f32]) {
    g.check("conv2d_forward", x.len(), w.len(), y.len());
    let (k, p) = (g.col_rows(), g.positions());
    let (xs, ys) = (g.c_in * g.h * g.w, g.c_out * p);
    if ys == 0 {
        return;
    }
    if g.batched() {
        return conv2d_forward_batched(g, x, w, y, BATCH_SCRATCH_FLOATS);
    }
    // Per sample: y_n (c_out × P) = W (c_out × K) · col_n (K × P).
    // One im2col buffer per rayon job, reused across the samples that job runs.
    let gemm = inner_gemm(g.n);
    y.par_chunks_mut(ys).enumerate().for_each_init(
        || if g.is_pointwise() { Vec::new() } else { vec![0.0f32; k * p] },
        |col, (i, y_n)| {
            let x_n = &x[i * xs..(i + 1) * xs];
            let col: &[f32] = if g.is_pointwise() {
                x_n
            } else {
                im2col(g, x_n, col);
                col
            };
            gemm(false, false, g.c_out, p, k, 1.0, w, col, 0.0, y_n);
        },
    );
}

/// `dx = ∂L/∂x` from `dy`; overwritten.
pub fn conv2d_backward_input(g: &Conv2dGeom, dy: &[f32], w: &[f32], dx: &mut [f32]) {
    g.check("conv2d_backward_input", dx.len(), w.len(), dy.len());
    let (k, p) = (g.col_rows(), g.positions());
    let (xs, ys) = (g.c_in * g.h * g.w, g.c_out * p);
    if xs == 0 {
        return;
    }
    if g.batched() {
        return conv2d_backward_input_batched(g, dy, w, dx, BATCH_SCRATCH_FLOATS);
    }
    // Per sample: dcol (K × P) = Wᵀ (K × c_out) · dy_n (c_out × P), then col2im scatters it back.
    let gemm = inner_gemm(g.n);
    dx.par_chunks_mut(xs).enumerate().for_each_init(
        || if g.is_pointwise() { Vec::new() } else { vec![0.0f32; k * p] },
        |dcol, (i, dx_n)| {
            let dy_n = &dy[i * ys..(i + 1) * ys];
            if g.is_pointwise() {
                gemm(true, false, k, p, g.c_out, 1.0, w, dy_n, 0.0, dx_n);
            } else {
                gemm(true, false, k, p, g.c_out, 1.0, w, dy_n, 0.0, dcol);
                col2im(g, dcol, dx_n);
            }
        },
    );
}

/// At most this many partial weight gradients are summed. The batch is cut into that many
/// contiguous chunks (a function of `n` alone, never of the thread count), each chunk is summed
/// sample by sample in order, and the chunks are added in order: the result is bit-for-bit the
/// same on any number of threads. 16 keeps 2–16 cores busy while the partials stay small
/// (16 scratch copies of `dw`).
const DW_MAX_PARTIALS: usize = 16;

/// `dw = ∂L/∂w` from `x` and `dy`, summed over the batch; overwritten.
pub fn conv2d_backward_weight(g: &Conv2dGeom, x: &[f32], dy: &[f32], dw: &mut [f32]) {
    g.check("conv2d_backward_weight", x.len(), dw.len(), dy.len());
    let (k, p) = (g.col_rows(), g.positions());
    let (xs, ys, wl) = (g.c_in * g.h * g.w, g.c_out * p, g.w_len());
    if wl == 0 {
        return;
    }
    if g.n == 0 {
        dw.fill(0.0);
        return;
    }
    if g.batched() {
        return conv2d_backward_weight_batched(g, x, dy, dw, BATCH_SCRATCH_FLOATS);
    }
    let chunk = g.n.div_ceil(g.n.min(DW_MAX_PARTIALS));
    let n_chunks = g.n.div_ceil(chunk);
    // Each chunk accumulates dwᵀ (K × c_out) += col_n (K × P) · dy_nᵀ (P × c_out): with col as
    // the untransposed A operand the GEMM packs it along its rows, measured cheaper than
    // dw += dy_n · col_nᵀ, which packs col transposed.
    let mut partials = vec![0.0f32; n_chunks * wl];
    let gemm = inner_gemm(n_chunks);
    partials.par_chunks_mut(wl).enumerate().for_each_init(
        || if g.is_pointwise() { Vec::new() } else { vec![0.0f32; k * p] },
        |col, (c, part)| {
            for (j, i) in (c * chunk..((c + 1) * chunk).min(g.n)).enumerate() {
                let x_n = &x[i * xs..(i + 1) * xs];
                let col: &[f32] = if g.is_pointwise() {
                    x_n
                } else {
                    im2col(g, x_n, col);
                    col
                };
                let beta = if j == 0 { 0.0 } else { 1.0 };
                gemm(false, true, k, g.c_out, p, 1.0, col, &dy[i * ys..(i + 1) * ys], beta, part);
            }
        },
    );
    // dw[co, r] = Σ_chunks dwᵀ_chunk[r, co], the chunks added in order.
    let partials = &partials;
    dw.par_chunks_mut(k).enumerate().for_each(|(co, dw_row)| {
        for (r, d) in dw_row.iter_mut().enumerate() {
            let mut acc = partials[r * g.c_out + co];
            for part in partials.chunks_exact(wl).skip(1) {
                acc += part[r * g.c_out + co];
            }
            *d = acc;
        }
    });
}

/// Plain-loop forward, the reference `conv2d_forward` is checked against.
pub fn conv2d_forward_reference(g: &Conv2dGeom, x: &[f32], w: &[f32], y: &mut [f32]) {
    g.check("conv2d_forward_reference", x.len(), w.len(), y.len());
    let (oh, ow) = (g.oh(), g.ow());
    for n in 0..g.n {
        for co in 0..g.c_out {
            for oy in 0..oh {
                for ox in 0..ow {
                    let mut acc = 0.0f32;
                    for ci in 0..g.c_in {
                        for a in 0..g.kh {
                            for b in 0..g.kw {
                                let iy = (oy * g.stride + a) as isize - g.pad as isize;
                                let ix = (ox * g.stride + b) as isize - g.pad as isize;
                                if iy < 0 || ix < 0 || iy >= g.h as isize || ix >= g.w as isize {
                                    continue;
                                }
                                let (iy, ix) = (iy as usize, ix as usize);
                                acc += x[((n * g.c_in + ci) * g.h + iy) * g.w + ix]
                                    * w[((co * g.c_in + ci) * g.kh + a) * g.kw + b];
                            }
                        }
                    }
                    y[((n * g.c_out + co) * oh + oy) * ow + ox] = acc;
                }
            }
        }
    }
}

/// Plain-loop input gradient: every `dy` entry is scattered back through the weights onto the
/// input cells its window read. Cells no window covers get zero.
pub fn conv2d_backward_input_reference(g: &Conv2dGeom, dy: &[f32], w: &[f32], dx: &mut [f32]) {
    g.check("conv2d_backward_input_reference", dx.len(), w.len(), dy.len());
    let (oh, ow) = (g.oh(), g.ow());
    dx.fill(0.0);
    for n in 0..g.n {
        for co in 0..g.c_out {
            for oy in 0..oh {
                for ox in 0..ow {
                    let d = dy[((n * g.c_out + co) * oh + oy) * ow + ox];
                    for ci in 0..g.c_in {
                        for a in 0..g.kh {
                            for b in 0..g.kw {
                                let iy = (oy * g.stride + a) as isize - g.pad as isize;
                                let ix = (ox * g.stride + b) as isize - g.pad as isize;
                                if iy < 0 || ix < 0 || iy >= g.h as isize || ix >= g.w as isize {
                                    continue;
                                }
                                let (iy, ix) = (iy as usize, ix as usize);
                                dx[((n * g.c_in + ci) * g.h + iy) * g.w + ix] +=
                                    d * w[((co * g.c_in + ci) * g.kh + a) * g.kw + b];
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Plain-loop weight gradient, summed over the batch.
pub fn conv2d_backward_weight_reference(g: &Conv2dGeom, x: &[f32], dy: &[f32], dw: &mut [f32]) {
    g.check("conv2d_backward_weight_reference", x.len(), dw.len(), dy.len());
    let (oh, ow) = (g.oh(), g.ow());
    for co in 0..g.c_out {
        for ci in 0..g.c_in {
            for a in 0..g.kh {
                for b in 0..g.kw {
                    let mut acc = 0.0f32;
                    for n in 0..g.n {
                        for oy in 0..oh {
                            for ox in 0..ow {
                                let iy = (oy * g.stride + a) as isize - g.pad as isize;
                                let ix = (ox * g.stride + b) as isize - g.pad as isize;
                                if iy < 0 || ix < 0 || iy >= g.h as isize || ix >= g.w as isize {
                                    continue;
                                }
                                let (iy, ix) = (iy as usize, ix as usize);
                                acc += x[((n * g.c_in + ci) * g.h + iy) * g.w + ix]
                                    * dy[((n * g.c_out + co) * oh + oy) * ow + ox];
                            }
                        }
                    }
                    dw[((co * g.c_in + ci) * g.kh + a) * g.kw + b] = acc;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// SplitMix64 → values uniform in ±[0.1, 1): random and never zero.
    fn values(seed: u64, len: usize) -> Vec<f32> {
        let mut s = seed;
        (0..len)
            .map(|_| {
                s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
                let mut z = s;
                z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                z ^= z >> 31;
                let u = (z >> 40) as f32 / (1u64 << 24) as f32; // [0, 1)
                let mag = 0.1 + 0.9 * u;
                if z & 1 == 0 {
                    mag
                } else {
                    -mag
                }
            })
            .collect()
    }

    fn abs(v: &[f32]) -> Vec<f32> {
        v.iter().map(|a| a.abs()).collect()
    }

    /// Tolerance: `|fast − ref| ≤ 1e-5 · Σ|terms|`, where `Σ|terms|` is the same reduction run on
    /// absolute values (`scale`), so cancellation cannot make the bound vacuous or too strict.
    /// f32 summation of ≤ 250 terms errs by far less. NaN (an unwritten element) always fails.
    fn assert_close(what: &str, fast: &[f32], reference: &[f32], scale: &[f32]) {
        assert_eq!(fast.len(), reference.len());
        for (i, ((f, r), s)) in fast.iter().zip(reference).zip(scale).enumerate() {
            let tol = 1e-5 * s + 1e-30;
            assert!((f - r).abs() <= tol, "{what}[{i}]: fast {f} vs reference {r} (tol {tol})");
        }
    }

    fn geom() -> impl Strategy<Value = Conv2dGeom> {
        (1usize..=3, 1usize..=7, 1usize..=7, 1usize..=5, 1usize..=5, 1usize..=3, 0usize..=2).prop_flat_map(
            |(n, c_in, c_out, kh, kw, stride, pad)| {
                let min_h = kh.saturating_sub(2 * pad).max(1);
                let min_w = kw.saturating_sub(2 * pad).max(1);
                (min_h..min_h + 9, min_w..min_w + 9).prop_map(move |(h, w)| Conv2dGeom {
                    n,
                    c_in,
                    h,
                    w,
                    c_out,
                    kh,
                    kw,
                    stride,
                    pad,
                })
            },
        )
    }

    fn check_all(g: &Conv2dGeom, seed: u64) {
        let x = values(seed, g.x_len());
        let w = values(seed ^ 1, g.w_len());
        let dy = values(seed ^ 2, g.y_len());

        let (mut y, mut y_ref, mut y_abs) = (vec![f32::NAN; g.y_len()], vec![0.0; g.y_len()], vec![0.0; g.y_len()]);
        conv2d_forward(g, &x, &w, &mut y);
        conv2d_forward_reference(g, &x, &w, &mut y_ref);
        conv2d_forward_reference(g, &abs(&x), &abs(&w), &mut y_abs);
        assert_close("y", &y, &y_ref, &y_abs);

        let (mut dx, mut dx_ref, mut dx_abs) =
            (vec![f32::NAN; g.x_len()], vec![f32::NAN; g.x_len()], vec![f32::NAN; g.x_len()]);
        conv2d_backward_input(g, &dy, &w, &mut dx);
        conv2d_backward_input_reference(g, &dy, &w, &mut dx_ref);
        conv2d_backward_input_reference(g, &abs(&dy), &abs(&w), &mut dx_abs);
        assert_close("dx", &dx, &dx_ref, &dx_abs);

        let (mut dw, mut dw_ref, mut dw_abs) =
            (vec![f32::NAN; g.w_len()], vec![f32::NAN; g.w_len()], vec![f32::NAN; g.w_len()]);
        conv2d_backward_weight(g, &x, &dy, &mut dw);
        conv2d_backward_weight_reference(g, &x, &dy, &mut dw_ref);
        conv2d_backward_weight_reference(g, &abs(&x), &abs(&dy), &mut dw_abs);
        assert_close("dw", &dw, &dw_ref, &dw_abs);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn fast_matches_reference(g in geom(), seed in any::<u64>()) {
            check_all(&g, seed);
        }
    }

    /// The batched path against the references, on geometries the dispatcher sends elsewhere
    /// too, with scratch budgets that force one sample per group, uneven groups and one group.
    #[test]
    fn batched_path_matches_reference() {
        let geoms = [
            Conv2dGeom { n: 7, c_in: 3, h: 7, w: 6, c_out: 4, kh: 3, kw: 3, stride: 2, pad: 1 },
            Conv2dGeom { n: 5, c_in: 4, h: 1, w: 1, c_out: 6, kh: 3, kw: 3, stride: 1, pad: 1 },
            // The DCGAN generator's first layer (as the adjoint convolution), scaled down: P = 1.
            Conv2dGeom { n: 6, c_in: 8, h: 7, w: 7, c_out: 10, kh: 7, kw: 7, stride: 1, pad: 0 },
            Conv2dGeom { n: 9, c_in: 5, h: 4, w: 3, c_out: 2, kh: 1, kw: 1, stride: 1, pad: 0 },
            Conv2dGeom { n: 3, c_in: 2, h: 20, w: 18, c_out: 3, kh: 5, kw: 5, stride: 1, pad: 2 },
        ];
        for (gi, g) in geoms.iter().enumerate() {
            let per_sample = g.positions() * (g.col_rows() + g.c_out);
            for budget in [1, 2 * per_sample + 1, usize::MAX / 2] {
                let seed = gi as u64 * 10;
                let x = values(seed, g.x_len());
                let w = values(seed ^ 1, g.w_len());
                let dy = values(seed ^ 2, g.y_len());
                let (mut y, mut y_ref, mut y_abs) =
                    (vec![f32::NAN; g.y_len()], vec![0.0; g.y_len()], vec![0.0; g.y_len()]);
                conv2d_forward_batched(g, &x, &w, &mut y, budget);
                conv2d_forward_reference(g, &x, &w, &mut y_ref);
                conv2d_forward_reference(g, &abs(&x), &abs(&w), &mut y_abs);
                assert_close("batched y", &y, &y_ref, &y_abs);
                let (mut dx, mut dx_ref, mut dx_abs) =
                    (vec![f32::NAN; g.x_len()], vec![0.0; g.x_len()], vec![0.0; g.x_len()]);
                conv2d_backward_input_batched(g, &dy, &w, &mut dx, budget);
                conv2d_backward_input_reference(g, &dy, &w, &mut dx_ref);
                conv2d_backward_input_reference(g, &abs(&dy), &abs(&w), &mut dx_abs);
                assert_close("batched dx", &dx, &dx_ref, &dx_abs);
                let (mut dw, mut dw_ref, mut dw_abs) =
                    (vec![f32::NAN; g.w_len()], vec![0.0; g.w_len()], vec![0.0; g.w_len()]);
                conv2d_backward_weight_batched(g, &x, &dy, &mut dw, budget);
                conv2d_backward_weight_reference(g, &x, &dy, &mut dw_ref);
                conv2d_backward_weight_reference(g, &abs(&x), &abs(&dy), &mut dw_abs);
                assert_close("batched dw", &dw, &dw_ref, &dw_abs);
            }
        }
    }

    #[test]
    fn batched_weight_gradient_is_thread_count_independent() {
        let g = Conv2dGeom { n: 37, c_in: 6, h: 7, w: 5, c_out: 5, kh: 3, kw: 3, stride: 1, pad: 1 };
        assert!(g.batched());
        let (x, dy) = (values(5, g.x_len()), values(6, g.y_len()));
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| {
                let mut dw = vec![f32::NAN; g.w_len()];
                conv2d_backward_weight_batched(&g, &x, &dy, &mut dw, 3000);
                dw
            })
        };
        let (one, three) = (run(1), run(3));
        assert!(one.iter().zip(&three).all(|(a, b)| a.to_bits() == b.to_bits()));
    }

    #[test]
    fn larger_batches_use_several_partials() {
        // n above DW_MAX_PARTIALS and not a multiple of the chunk: uneven last chunk.
        for n in [17, 33, 40] {
            let g = Conv2dGeom { n, c_in: 3, h: 7, w: 6, c_out: 4, kh: 3, kw: 3, stride: 2, pad: 1 };
            check_all(&g, n as u64);
        }
        let g = Conv2dGeom { n: 19, c_in: 5, h: 4, w: 3, c_out: 2, kh: 1, kw: 1, stride: 1, pad: 0 };
        check_all(&g, 7);
    }

    #[test]
    fn taps_that_only_see_padding() {
        // w = 1 with pad 2: taps b = 0, 1, 3, 4 never touch the input (found by proptest).
        for (h, w, kh, kw, stride, pad) in
            [(1, 1, 1, 5, 1, 2), (1, 1, 5, 5, 3, 2), (2, 1, 3, 5, 2, 2), (1, 3, 5, 1, 1, 2)]
        {
            let g = Conv2dGeom { n: 2, c_in: 2, h, w, c_out: 3, kh, kw, stride, pad };
            check_all(&g, 3);
        }
    }

    #[test]
    fn hand_computed_example() {
        // x = [[1,2,3],[4,5,6],[7,8,9]], w = [[1,0],[0,-1]], pad 1, stride 2 → 2×2 output:
        // windows start at (-1,-1), (-1,1), (1,-1), (1,1).
        let g = Conv2dGeom { n: 1, c_in: 1, h: 3, w: 3, c_out: 1, kh: 2, kw: 2, stride: 2, pad: 1 };
        let x: Vec<f32> = (1..=9).map(|v| v as f32).collect();
        let w = [1.0, 0.0, 0.0, -1.0];
        let expect = [-1.0, -3.0, -7.0, 5.0 - 9.0];
        let mut y = [f32::NAN; 4];
        conv2d_forward_reference(&g, &x, &w, &mut y);
        assert_eq!(y, expect);
        conv2d_forward(&g, &x, &w, &mut y);
        assert_eq!(y, expect);
    }

    /// `⟨conv(x, w), dy⟩ = ⟨x, dx⟩ = ⟨w, dw⟩`: the backward references are the adjoints of the
    /// forward one.
    #[test]
    fn references_are_adjoint() {
        let g = Conv2dGeom { n: 2, c_in: 3, h: 8, w: 7, c_out: 4, kh: 3, kw: 2, stride: 3, pad: 1 };
        let (x, w, dy) = (values(1, g.x_len()), values(2, g.w_len()), values(3, g.y_len()));
        let mut y = vec![0.0; g.y_len()];
        let mut dx = vec![0.0; g.x_len()];
        let mut dw = vec![0.0; g.w_len()];
        conv2d_forward_reference(&g, &x, &w, &mut y);
        conv2d_backward_input_reference(&g, &dy, &w, &mut dx);
        conv2d_backward_weight_reference(&g, &x, &dy, &mut dw);
        let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(a, b)| *a as f64 * *b as f64).sum::<f64>();
        let (a, b, c) = (dot(&y, &dy), dot(&x, &dx), dot(&w, &dw));
        assert!((a - b).abs() < 1e-4 * a.abs().max(1.0), "{a} vs {b}");
        assert!((a - c).abs() < 1e-4 * a.abs().max(1.0), "{a} vs {c}");
    }

    /// PyTorch's `conv_transpose2d` by its definition (scatter each input cell through the
    /// kernel), with `output_padding`, against `conv2d_backward_input` as the module doc maps it.
    #[test]
    fn transposed_conv_via_backward_input() {
        for (h_t, w_t, k, s, p, op) in
            [(3, 4, 3, 2, 1, 1), (4, 3, 5, 3, 2, 2), (2, 2, 2, 2, 0, 1), (3, 3, 3, 1, 1, 0), (5, 2, 4, 3, 0, 1)]
        {
            let (n, ci_t, co_t) = (2, 3, 2);
            let (hh, ww) = ((h_t - 1) * s + k + op - 2 * p, (w_t - 1) * s + k + op - 2 * p);
            let x_t = values(11, n * ci_t * h_t * w_t);
            let w_t_ = values(12, ci_t * co_t * k * k);
            let mut y_def = vec![0.0f32; n * co_t * hh * ww];
            for b in 0..n {
                for ci in 0..ci_t {
                    for i in 0..h_t {
                        for j in 0..w_t {
                            for co in 0..co_t {
                                for a in 0..k {
                                    for c in 0..k {
                                        let (oy, ox) =
                                            ((i * s + a) as isize - p as isize, (j * s + c) as isize - p as isize);
                                        if oy < 0 || ox < 0 || oy >= hh as isize || ox >= ww as isize {
                                            continue;
                                        }
                                        y_def[((b * co_t + co) * hh + oy as usize) * ww + ox as usize] += x_t
                                            [((b * ci_t + ci) * h_t + i) * w_t + j]
                                            * w_t_[((ci * co_t + co) * k + a) * k + c];
                                    }
                                }
                            }
                        }
                    }
                }
            }
            let g = Conv2dGeom { n, c_in: co_t, h: hh, w: ww, c_out: ci_t, kh: k, kw: k, stride: s, pad: p };
            assert_eq!((g.oh(), g.ow()), (h_t, w_t));
            let mut y = vec![f32::NAN; g.x_len()];
            conv2d_backward_input(&g, &x_t, &w_t_, &mut y);
            let scale = vec![30.0; y.len()];
            assert_close("conv_transpose2d", &y, &y_def, &scale);
        }
    }

    #[test]
    fn weight_gradient_is_thread_count_independent() {
        let g = Conv2dGeom { n: 37, c_in: 6, h: 11, w: 9, c_out: 5, kh: 3, kw: 5, stride: 1, pad: 2 };
        let (x, dy) = (values(5, g.x_len()), values(6, g.y_len()));
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| {
                let mut dw = vec![f32::NAN; g.w_len()];
                conv2d_backward_weight(&g, &x, &dy, &mut dw);
                dw
            })
        };
        let (one, two, three) = (run(1), run(2), run(3));
        assert!(one.iter().zip(&two).all(|(a, b)| a.to_bits() == b.to_bits()));
        assert!(one.iter().zip(&three).all(|(a, b)| a.to_bits() == b.to_bits()));
    }
}
