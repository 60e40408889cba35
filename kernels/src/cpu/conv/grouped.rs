//! Grouped path: one GEMM over a group of samples instead of one per sample.
//!
//! With few output positions per sample (`P = oh·ow`), the per-sample GEMMs are slivers that
//! re-pack the weight for every sample, and the per-sample weight gradients are small GEMMs
//! with a short inner dimension `P`. Laying the group's im2col matrices side by side
//! (`COL`: `K × m·P`, see [`super::im2col`]) and the group's output channels likewise
//! (`DY`: `c_out × m·P`) turns each kernel into one well-shaped GEMM:
//!   forward          Y  (c_out × m·P) = W (c_out × K) · COL
//!   input gradient   dCOL (K × m·P)   = Wᵀ · DY, then col2im
//!   weight gradient  dW (c_out × K)  += DY · COLᵀ, groups added in order
//! `COL` is never written out: the GEMMs pack their panels of it straight from the group's
//! zero-padded input ([`super::implicit`]). `dCOL` is, for col2im to add up.
//! Moving the output between `n × c_out × P` and `c_out × m·P` copies runs of `P` floats,
//! `O(m·P·c_out)`, small next to im2col's `O(m·P·K)`. Group sizes and partial sums depend on
//! the geometry alone, so results never depend on the thread count.
//!
//! A convolution whose window covers the whole unpadded input (`kh = h`, `kw = w`, `pad = 0`,
//! so `P = 1`) is a linear layer on the flattened sample — the DCGAN generator's first layer —
//! and runs as a plain GEMM on the tensors as they are ([`dense_forward`] etc.).

use rayon::prelude::*;

use super::im2col::col2im_group;
use super::implicit::{pad_planes, padded_len, Im2colPanels};
use super::Conv2dGeom;
use crate::cpu::gemm::{gemm, gemm_b_panels};

/// Scratch floats a group's size is reckoned by (`K + c_out` per output position, as if `COL`
/// were written out, which it no longer is): 8 MiB, so the group's operands stay near L3.
pub(super) const GROUP_SCRATCH_FLOATS: usize = 1 << 21;
/// The weight gradient with partial sums (see [`conv2d_backward_weight_grouped`]) gives each
/// partial a smaller group, as the partials run side by side.
const PARTIAL_SCRATCH_FLOATS: usize = 1 << 18;
/// At most this many partial weight gradients are summed when the weight is small. The batch is
/// cut into that many contiguous chunks (a function of `n` alone), each chunk summed group by
/// group in order, and the chunks added in order. 16 keeps 2–16 cores busy.
const DW_MAX_PARTIALS: usize = 16;
/// From this many weight floats on, the weight gradient's GEMM has enough tiles of its own to
/// keep the threads busy (≥ 16 tiles of 14 × 32), and one running sum over the groups is used.
const DW_SINGLE_SUM_MIN: usize = 1 << 13;

thread_local! {
    /// The grouped path's scratch, kept between calls so big activations are not freshly
    /// allocated (and page-faulted in) every step. Taken out while in use, so a re-entrant call
    /// (rayon work stealing) just allocates its own.
    static SCRATCH: std::cell::Cell<Vec<f32>> = const { std::cell::Cell::new(Vec::new()) };
}

pub(super) fn with_scratch<R>(len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    let mut buf = SCRATCH.with(std::cell::Cell::take);
    if buf.len() < len {
        buf.resize(len, 0.0);
    }
    let out = f(&mut buf[..len]);
    SCRATCH.with(|cell| cell.set(buf));
    out
}

impl Conv2dGeom {
    /// The window covers the whole unpadded input: a linear layer from `K` to `c_out`.
    pub(super) fn is_dense(&self) -> bool {
        self.pad == 0 && self.kh == self.h && self.kw == self.w
    }
    /// Samples per group: equal groups of at most `n` samples whose scratch
    /// (`m·P·(K + c_out)` floats) fits `budget`.
    fn group_size(&self, n: usize, budget: usize) -> usize {
        let per_sample = self.positions() * (self.col_rows() + self.c_out);
        let groups = (n * per_sample).div_ceil(budget.max(1)).clamp(1, n.max(1));
        n.div_ceil(groups).max(1)
    }
}

/// `dyg` (`c_out × m·P`) = the `m` samples of `dy` (`m × c_out × P`), channel-major.
fn gather_channels(g: &Conv2dGeom, dy: &[f32], m: usize, dyg: &mut [f32]) {
    let p = g.positions();
    dyg.par_chunks_mut(m * p).enumerate().for_each(|(co, row)| {
        for (i, seg) in row.chunks_exact_mut(p).enumerate() {
            seg.copy_from_slice(&dy[(i * g.c_out + co) * p..][..p]);
        }
    });
}

/// The inverse of [`gather_channels`]: `y` (`m × c_out × P`) from `yg` (`c_out × m·P`).
fn scatter_channels(g: &Conv2dGeom, yg: &[f32], m: usize, y: &mut [f32]) {
    let p = g.positions();
    y.par_chunks_mut(p).enumerate().for_each(|(j, seg)| {
        let (i, co) = (j / g.c_out, j % g.c_out);
        seg.copy_from_slice(&yg[co * m * p + i * p..][..p]);
    });
}

pub(super) fn conv2d_forward_grouped(g: &Conv2dGeom, x: &[f32], w: &[f32], y: &mut [f32], budget: usize) {
    let (k, p, co) = (g.col_rows(), g.positions(), g.c_out);
    let (xs, ys, gs) = (g.c_in * g.h * g.w, co * p, g.group_size(g.n, budget));
    with_scratch(gs * p * co + padded_len(g, gs), |buf| {
        let (out, xp) = buf.split_at_mut(gs * p * co);
        for (xg, yg) in x.chunks(gs * xs).zip(y.chunks_mut(gs * ys)) {
            let m = yg.len() / ys;
            let out = &mut out[..co * m * p];
            pad_planes(g, xg, m, xp);
            gemm_b_panels(true, co, m * p, k, 1.0, w, &Im2colPanels::new(g, xp, m), 0.0, out);
            scatter_channels(g, out, m, yg);
        }
    })
}

pub(super) fn conv2d_backward_input_grouped(g: &Conv2dGeom, dy: &[f32], w: &[f32], dx: &mut [f32], budget: usize) {
    let (k, p, co) = (g.col_rows(), g.positions(), g.c_out);
    let (xs, ys, gs) = (g.c_in * g.h * g.w, co * p, g.group_size(g.n, budget));
    with_scratch(gs * p * (k + co), |buf| {
        for (dyg, dxg) in dy.chunks(gs * ys).zip(dx.chunks_mut(gs * xs)) {
            let m = dyg.len() / ys;
            let (dcols, dyc) = buf.split_at_mut(gs * p * k);
            let (dcols, dyc) = (&mut dcols[..k * m * p], &mut dyc[..co * m * p]);
            gather_channels(g, dyg, m, dyc);
            gemm(true, false, k, m * p, co, 1.0, w, dyc, 0.0, dcols);
            col2im_group(g, dcols, m, dxg);
        }
    })
}

/// `dw` (overwritten) `= Σ` over the `n` samples of `x`/`dy`, in groups of at most `gs`, in
/// order; each group's GEMM on the pool when `parallel` (not inside a parallel loop over partials).
fn weight_sum(g: &Conv2dGeom, x: &[f32], dy: &[f32], gs: usize, parallel: bool, dw: &mut [f32]) {
    let (k, p, co) = (g.col_rows(), g.positions(), g.c_out);
    let (xs, ys) = (g.c_in * g.h * g.w, co * p);
    with_scratch(gs * p * co + padded_len(g, gs), |buf| {
        let (dyc, xp) = buf.split_at_mut(gs * p * co);
        for (i, (xg, dyg)) in x.chunks(gs * xs).zip(dy.chunks(gs * ys)).enumerate() {
            let m = dyg.len() / ys;
            let dyc = &mut dyc[..co * m * p];
            rayon::join(|| pad_planes(g, xg, m, xp), || gather_channels(g, dyg, m, dyc));
            let beta = if i == 0 { 0.0 } else { 1.0 };
            let cols = Im2colPanels::new(g, xp, m);
            gemm_b_panels(parallel, co, k, m * p, 1.0, dyc, &cols.transposed(), beta, dw);
        }
    })
}

/// `dw = Σ_n dy_n · col_nᵀ`, overwritten. A large weight is one running sum whose GEMMs split
/// over the threads by tiles of `dw`. A small one has too few tiles for that: the batch is cut
/// into up to [`DW_MAX_PARTIALS`] chunks summed side by side, then added in order.
pub(super) fn conv2d_backward_weight_grouped(g: &Conv2dGeom, x: &[f32], dy: &[f32], dw: &mut [f32], budget: usize) {
    let (xs, ys, wl) = (g.c_in * g.h * g.w, g.c_out * g.positions(), g.w_len());
    if wl >= DW_SINGLE_SUM_MIN {
        return weight_sum(g, x, dy, g.group_size(g.n, budget), true, dw);
    }
    let chunk = g.n.div_ceil(g.n.min(DW_MAX_PARTIALS));
    let n_chunks = g.n.div_ceil(chunk);
    let gs = g.group_size(chunk, budget.min(PARTIAL_SCRATCH_FLOATS));
    let mut partials = vec![0.0f32; (n_chunks - 1) * wl];
    // The first chunk sums straight into `dw`, the others into partials.
    let mut parts: Vec<&mut [f32]> = std::iter::once(&mut *dw).chain(partials.chunks_mut(wl)).collect();
    parts.par_iter_mut().enumerate().for_each(|(c, part)| {
        let (x_c, dy_c) = (&x[c * chunk * xs..], &dy[c * chunk * ys..]);
        let len = chunk.min(g.n - c * chunk);
        weight_sum(g, &x_c[..len * xs], &dy_c[..len * ys], gs, false, part);
    });
    for part in partials.chunks_exact(wl) {
        dw.iter_mut().zip(part).for_each(|(d, v)| *d += v);
    }
}

/// Whether [`conv2d_forward_and_weight_grad_grouped`] applies: the weight gradient is one
/// running sum over the same groups as the forward (a large weight), so the two can share
/// each group's padded input and panel offsets.
pub(super) fn shares_im2col(g: &Conv2dGeom) -> bool {
    g.grouped() && !g.is_dense() && g.n > 0 && g.w_len() >= DW_SINGLE_SUM_MIN
}

/// [`conv2d_forward_grouped`] and [`conv2d_backward_weight_grouped`] (with upstream `dy`) in one
/// pass over the groups, each group's input padded (and its im2col panels' offsets listed) once
/// for both GEMMs. The groups, GEMMs and summation order are theirs, so both results are
/// bit-identical to the separate calls.
pub(super) fn conv2d_forward_and_weight_grad_grouped(
    g: &Conv2dGeom,
    x: &[f32],
    w: &[f32],
    dy: &[f32],
    y: &mut [f32],
    dw: &mut [f32],
    budget: usize,
) {
    let (k, p, co) = (g.col_rows(), g.positions(), g.c_out);
    let (xs, ys, gs) = (g.c_in * g.h * g.w, co * p, g.group_size(g.n, budget));
    with_scratch(gs * p * 2 * co + padded_len(g, gs), |buf| {
        let (out, rest) = buf.split_at_mut(gs * p * co);
        let (dyc, xp) = rest.split_at_mut(gs * p * co);
        let groups = x.chunks(gs * xs).zip(dy.chunks(gs * ys)).zip(y.chunks_mut(gs * ys));
        for (i, ((xg, dyg), yg)) in groups.enumerate() {
            let m = yg.len() / ys;
            let (out, dyc) = (&mut out[..co * m * p], &mut dyc[..co * m * p]);
            rayon::join(|| pad_planes(g, xg, m, xp), || gather_channels(g, dyg, m, dyc));
            let cols = Im2colPanels::new(g, xp, m);
            gemm_b_panels(true, co, m * p, k, 1.0, w, &cols, 0.0, out);
            scatter_channels(g, out, m, yg);
            let beta = if i == 0 { 0.0 } else { 1.0 };
            gemm_b_panels(true, co, k, m * p, 1.0, dyc, &cols.transposed(), beta, dw);
        }
    })
}

/// `y = x · Wᵀ` for a dense convolution: `x` is `n × K`, `y` is `n × c_out × 1 × 1`.
pub(super) fn dense_forward(g: &Conv2dGeom, x: &[f32], w: &[f32], y: &mut [f32]) {
    gemm(false, true, g.n, g.c_out, g.col_rows(), 1.0, x, w, 0.0, y);
}

/// `dx = dy · W` for a dense convolution.
pub(super) fn dense_backward_input(g: &Conv2dGeom, dy: &[f32], w: &[f32], dx: &mut [f32]) {
    gemm(false, false, g.n, g.col_rows(), g.c_out, 1.0, dy, w, 0.0, dx);
}

/// `dw = dyᵀ · x` for a dense convolution.
pub(super) fn dense_backward_weight(g: &Conv2dGeom, x: &[f32], dy: &[f32], dw: &mut [f32]) {
    gemm(true, false, g.c_out, g.col_rows(), g.n, 1.0, dy, x, 0.0, dw);
}
