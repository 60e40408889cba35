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

mod grouped;
mod im2col;
mod implicit;
mod regions;

use rayon::prelude::*;

use crate::cpu::gemm::{gemm, gemm_serial, PackedA};
use grouped::{
    conv2d_backward_input_grouped, conv2d_backward_weight_grouped, conv2d_forward_grouped, dense_backward_input,
    dense_backward_weight, dense_forward, GROUP_SCRATCH_FLOATS,
};
use im2col::{col2im, im2col};
use regions::{conv2d_backward_weight_regions, conv2d_forward_regions};

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

/// `C = op(A) · B` (`beta = 0`) with a pre-packed `op(A)`, inside a parallel loop of `tasks`
/// iterations: serial or parallel as [`inner_gemm`] chooses.
fn packed_gemm(a: &PackedA, tasks: usize, n: usize, b: &[f32], c: &mut [f32]) {
    if tasks >= rayon::current_num_threads() {
        a.gemm_serial(false, n, 1.0, b, 0.0, c)
    } else {
        a.gemm(false, n, 1.0, b, 0.0, c)
    }
}

/// Below this many output positions per sample the three kernels use the grouped path
/// ([`grouped`]): the per-sample GEMMs have `P` as one of their sides and re-pack the weight for
/// every sample, so small `P` wastes most of each call. Measured on 2-core Ice Lake: grouping
/// the DCGAN's `P = 49` layer wins (forward ≈ 1.6×, weight gradient ≈ 1.7×); the CIFAR LeNet's
/// `P = 64` third layer's per-sample GEMMs (128 × 64 × 1600) are already well shaped.
const GROUP_MAX_POSITIONS: usize = 64;

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
    /// The per-sample forward packs its GEMM panels from the padded input: stride 1 and output
    /// rows of a multiple of 16 cells, so every panel line is one or two fixed-size copies (the
    /// CIFAR LeNet's 32- and 16-wide layers). With 28-wide rows (the MNIST LeNet's first layer)
    /// the runs' variable-length copies were no faster than im2col.
    fn packs_windows_directly(&self) -> bool {
        self.stride == 1 && self.ow().is_multiple_of(16) && !self.is_pointwise()
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

impl Conv2dGeom {
    /// All three kernels run grouped (dense convolutions aside).
    fn grouped(&self) -> bool {
        self.positions() < GROUP_MAX_POSITIONS
            && self.positions() > 0
            && self.c_out > 0
            && self.c_in * self.h * self.w > 0
    }
}

/// `y = conv2d(x, w)`; `y` is `n × c_out × oh × ow`, overwritten.
pub fn conv2d_forward(g: &Conv2dGeom, x: &[f32], w: &[f32], y: &mut [f32]) {
    g.check("conv2d_forward", x.len(), w.len(), y.len());
    let (k, p) = (g.col_rows(), g.positions());
    let (xs, ys) = (g.c_in * g.h * g.w, g.c_out * p);
    if ys == 0 {
        return;
    }
    if g.is_dense() {
        return dense_forward(g, x, w, y);
    }
    if g.grouped() {
        return conv2d_forward_grouped(g, x, w, y, GROUP_SCRATCH_FLOATS);
    }
    if g.skips_padding() {
        return conv2d_forward_regions(g, x, w, y);
    }
    let w = PackedA::new(false, g.c_out, k, w);
    if g.packs_windows_directly() && g.n >= rayon::current_num_threads() {
        // Per sample, the GEMM's panels packed straight from the zero-padded sample, whose
        // stride-1 windows lie in runs of `ow` consecutive cells: no im2col matrix (the CIFAR
        // LeNet's second layer's is 820 KB, most of a core's L2) written and read back.
        let (tap, window) = implicit::offsets(g, 1);
        y.par_chunks_mut(ys).enumerate().for_each_init(
            || vec![0.0f32; implicit::padded_len(g, 1)],
            |xp, (i, y_n)| {
                implicit::pad_planes(g, &x[i * xs..(i + 1) * xs], 1, xp);
                w.gemm_b_panels_serial(p, 1.0, &implicit::Im2colPanels::from_offsets(xp, &tap, &window), 0.0, y_n);
            },
        );
        return;
    }
    // Per sample: y_n (c_out × P) = W (c_out × K) · col_n (K × P), W packed once for all.
    // One im2col buffer per rayon job, reused across the samples that job runs.
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
            packed_gemm(&w, g.n, p, col, y_n);
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
    if g.is_dense() {
        return dense_backward_input(g, dy, w, dx);
    }
    if g.grouped() {
        return conv2d_backward_input_grouped(g, dy, w, dx, GROUP_SCRATCH_FLOATS);
    }
    // Per sample: dcol (K × P) = Wᵀ (K × c_out) · dy_n (c_out × P), then col2im scatters it back;
    // Wᵀ is packed once for all.
    let wt = PackedA::new(true, k, g.c_out, w);
    dx.par_chunks_mut(xs).enumerate().for_each_init(
        || if g.is_pointwise() { Vec::new() } else { vec![0.0f32; k * p] },
        |dcol, (i, dx_n)| {
            let dy_n = &dy[i * ys..(i + 1) * ys];
            if g.is_pointwise() {
                packed_gemm(&wt, g.n, p, dy_n, dx_n);
            } else {
                packed_gemm(&wt, g.n, p, dy_n, dcol);
                col2im(g, dcol, dx_n);
            }
        },
    );
}

/// At most this many partial weight gradients are summed on the per-sample path. The batch is
/// cut into that many contiguous chunks (a function of `n` alone, never of the thread count),
/// each chunk is summed sample by sample in order, and the chunks are added in order: the result
/// is bit-for-bit the same on any number of threads. 16 keeps 2–16 cores busy while the partials
/// stay small (16 scratch copies of `dw`).
const DW_MAX_PARTIALS: usize = 16;

/// Up to this many output channels the per-sample weight gradient is computed as
/// `dw (c_out × K) += dy_n · col_nᵀ`, with the channels as the GEMM's rows (see
/// [`conv2d_backward_weight`]); the GEMM has 8-row tiles for such products.
const DW_CHANNELS_FIRST_MAX: usize = 8;

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
    if g.is_dense() {
        return dense_backward_weight(g, x, dy, dw);
    }
    if g.grouped() {
        return conv2d_backward_weight_grouped(g, x, dy, dw, GROUP_SCRATCH_FLOATS);
    }
    if g.skips_padding() {
        return conv2d_backward_weight_regions(g, x, dy, dw);
    }
    // Per sample, rather than grouped: with `P ≥ 64` each sample's GEMM is already well shaped,
    // and its im2col matrix (`K × P`) is packed while still in L2; a group's (`K × m·P`) is
    // written out to L3 and read back, measured 15–40 % slower on the LeNets' layers.
    let chunk = g.n.div_ceil(g.n.min(DW_MAX_PARTIALS));
    let n_chunks = g.n.div_ceil(chunk);
    // Each chunk accumulates dwᵀ (K × c_out) += col_n (K × P) · dy_nᵀ (P × c_out): with col as
    // the untransposed A operand the GEMM packs it along its rows, measured cheaper than
    // dw += dy_n · col_nᵀ, which packs col transposed. Except with few output channels: as
    // the product's n, 4 or 8 channels fill an eighth or a quarter of each 32-wide tile, while
    // as its m they get a tile of their own height (the GEMM's short kernels); the MNIST
    // LeNet's weight gradients (8 and 4 channels) spent most of their FMAs on padding.
    let channels_first = g.c_out <= DW_CHANNELS_FIRST_MAX;
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
                let dy_n = &dy[i * ys..(i + 1) * ys];
                if channels_first {
                    gemm(false, true, g.c_out, k, p, 1.0, dy_n, col, beta, part);
                } else {
                    gemm(false, true, k, g.c_out, p, 1.0, col, dy_n, beta, part);
                }
            }
        },
    );
    let partials = &partials;
    if channels_first {
        // dw = Σ_chunks dw_chunk, the chunks added in order.
        dw.par_chunks_mut(k).enumerate().for_each(|(co, dw_row)| {
            dw_row.copy_from_slice(&partials[co * k..][..k]);
            for part in partials.chunks_exact(wl).skip(1) {
                dw_row.iter_mut().zip(&part[co * k..][..k]).for_each(|(d, v)| *d += v);
            }
        });
        return;
    }
    // dwᵀ = Σ_chunks dwᵀ_chunk, the chunks added in order (contiguous, so it vectorises; summing
    // straight into dw's transposed order read the partials with stride c_out and cost 3 % of
    // the CIFAR LeNet's step), then dw[co, r] = dwᵀ[r, co].
    let mut sum = partials[..wl].to_vec();
    crate::cpu::parallel::for_chunks_mut(&mut sum, |offset, out| {
        for part in partials.chunks_exact(wl).skip(1) {
            out.iter_mut().zip(&part[offset..]).for_each(|(d, v)| *d += v);
        }
    });
    dw.par_chunks_mut(k).enumerate().for_each(|(co, dw_row)| {
        for (r, d) in dw_row.iter_mut().enumerate() {
            *d = sum[r * g.c_out + co];
        }
    });
}

/// `y = conv2d(x, w)` and, for an upstream gradient `dy` (`n × c_out × oh × ow`), the weight
/// gradient `dw`, both overwritten: what a transposed convolution's backward needs (its input
/// gradient is this convolution's forward of its output gradient, its weight gradient this
/// convolution's). Where both run grouped, `x` is padded for both GEMMs' implicit im2col once
/// (the DCGAN's 14 × 14 → 7 × 7 layer); elsewhere it is the two calls.
pub fn conv2d_forward_and_backward_weight(
    g: &Conv2dGeom,
    x: &[f32],
    w: &[f32],
    dy: &[f32],
    y: &mut [f32],
    dw: &mut [f32],
) {
    g.check("conv2d_forward_and_backward_weight", x.len(), w.len(), y.len());
    g.check("conv2d_forward_and_backward_weight", x.len(), dw.len(), dy.len());
    if grouped::shares_im2col(g) {
        return grouped::conv2d_forward_and_weight_grad_grouped(g, x, w, dy, y, dw, GROUP_SCRATCH_FLOATS);
    }
    conv2d_forward(g, x, w, y);
    conv2d_backward_weight(g, x, dy, dw);
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

    /// The padding-free region path ([`regions`]) against the references, on geometries the
    /// dispatcher sends there: the CIFAR LeNet's 8 × 8 layer scaled down, a batch of two groups
    /// with a short last one, unequal sides and an even kernel.
    #[test]
    fn region_path_matches_reference() {
        let geoms = [
            Conv2dGeom { n: 3, c_in: 32, h: 8, w: 8, c_out: 32, kh: 5, kw: 5, stride: 1, pad: 2 },
            Conv2dGeom { n: 35, c_in: 33, h: 8, w: 10, c_out: 40, kh: 5, kw: 5, stride: 1, pad: 2 },
            Conv2dGeom { n: 2, c_in: 32, h: 9, w: 8, c_out: 35, kh: 4, kw: 4, stride: 1, pad: 2 },
        ];
        for (gi, g) in geoms.iter().enumerate() {
            assert!(g.skips_padding(), "geometry {gi} does not take the region path");
            check_all(g, 900 + gi as u64);
        }
        // A batch of more than one pass (256 samples) gives each sample what it gets alone.
        let g = Conv2dGeom { n: 260, c_in: 32, h: 8, w: 8, c_out: 32, kh: 5, kw: 5, stride: 1, pad: 2 };
        let (x, w) = (values(904, g.x_len()), values(905, g.w_len()));
        let mut y = vec![f32::NAN; g.y_len()];
        conv2d_forward(&g, &x, &w, &mut y);
        let (xs, ys) = (g.x_len() / g.n, g.y_len() / g.n);
        for (start, n) in [(0, 256), (256, 4)] {
            let part = Conv2dGeom { n, ..g };
            let mut y_part = vec![f32::NAN; part.y_len()];
            conv2d_forward(&part, &x[start * xs..][..n * xs], &w, &mut y_part);
            assert!(y_part.iter().zip(&y[start * ys..]).all(|(a, b)| a.to_bits() == b.to_bits()), "samples {start}..");
        }
        // Padding as wide as the kernel leaves windows with no tap inside: not this path.
        let wide = Conv2dGeom { n: 1, c_in: 32, h: 8, w: 8, c_out: 32, kh: 3, kw: 3, stride: 1, pad: 3 };
        assert!(!wide.skips_padding());
        check_all(&wide, 903);
    }

    /// The grouped path against the references, on geometries the dispatcher sends elsewhere
    /// too, with scratch budgets that force one sample per group, uneven groups and one group.
    #[test]
    fn grouped_path_matches_reference() {
        let geoms = [
            Conv2dGeom { n: 7, c_in: 3, h: 7, w: 6, c_out: 4, kh: 3, kw: 3, stride: 2, pad: 1 },
            Conv2dGeom { n: 5, c_in: 4, h: 1, w: 1, c_out: 6, kh: 3, kw: 3, stride: 1, pad: 1 },
            // The DCGAN generator's first layer (as the adjoint convolution), scaled down: P = 1.
            Conv2dGeom { n: 6, c_in: 8, h: 7, w: 7, c_out: 10, kh: 7, kw: 7, stride: 1, pad: 0 },
            Conv2dGeom { n: 9, c_in: 5, h: 4, w: 3, c_out: 2, kh: 1, kw: 1, stride: 1, pad: 0 },
            Conv2dGeom { n: 3, c_in: 2, h: 20, w: 18, c_out: 3, kh: 5, kw: 5, stride: 1, pad: 2 },
            // A weight of ≥ DW_SINGLE_SUM_MIN floats: one running sum instead of partials.
            Conv2dGeom { n: 5, c_in: 16, h: 6, w: 5, c_out: 40, kh: 4, kw: 4, stride: 2, pad: 1 },
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
                conv2d_forward_grouped(g, &x, &w, &mut y, budget);
                conv2d_forward_reference(g, &x, &w, &mut y_ref);
                conv2d_forward_reference(g, &abs(&x), &abs(&w), &mut y_abs);
                assert_close("grouped y", &y, &y_ref, &y_abs);
                let (mut dx, mut dx_ref, mut dx_abs) =
                    (vec![f32::NAN; g.x_len()], vec![0.0; g.x_len()], vec![0.0; g.x_len()]);
                conv2d_backward_input_grouped(g, &dy, &w, &mut dx, budget);
                conv2d_backward_input_reference(g, &dy, &w, &mut dx_ref);
                conv2d_backward_input_reference(g, &abs(&dy), &abs(&w), &mut dx_abs);
                assert_close("grouped dx", &dx, &dx_ref, &dx_abs);
                let (mut dw, mut dw_ref, mut dw_abs) =
                    (vec![f32::NAN; g.w_len()], vec![0.0; g.w_len()], vec![0.0; g.w_len()]);
                conv2d_backward_weight_grouped(g, &x, &dy, &mut dw, budget);
                conv2d_backward_weight_reference(g, &x, &dy, &mut dw_ref);
                conv2d_backward_weight_reference(g, &abs(&x), &abs(&dy), &mut dw_abs);
                assert_close("grouped dw", &dw, &dw_ref, &dw_abs);
            }
        }
    }

    /// The shared-im2col pass gives bit-for-bit what the forward and the weight gradient give
    /// separately, with the budgets of `grouped_path_matches_reference`; and the public entry
    /// falls back to the two calls where the weight gradient sums in partials.
    #[test]
    fn forward_and_weight_grad_share_im2col_bit_identically() {
        let geoms = [
            // The DCGAN's 7 × 7 → 14 × 14 layer as its adjoint convolution, fewer samples.
            Conv2dGeom { n: 5, c_in: 64, h: 14, w: 14, c_out: 128, kh: 4, kw: 4, stride: 2, pad: 1 },
            Conv2dGeom { n: 7, c_in: 16, h: 6, w: 5, c_out: 40, kh: 4, kw: 4, stride: 2, pad: 1 },
            // Small weight (partials) and per-sample path: the two separate calls.
            Conv2dGeom { n: 7, c_in: 3, h: 7, w: 6, c_out: 4, kh: 3, kw: 3, stride: 2, pad: 1 },
            Conv2dGeom { n: 3, c_in: 2, h: 20, w: 18, c_out: 3, kh: 5, kw: 5, stride: 1, pad: 2 },
        ];
        assert!(grouped::shares_im2col(&geoms[0]) && grouped::shares_im2col(&geoms[1]));
        assert!(!grouped::shares_im2col(&geoms[2]) && !grouped::shares_im2col(&geoms[3]));
        for (gi, g) in geoms.iter().enumerate() {
            let seed = 100 + gi as u64;
            let (x, w, dy) = (values(seed, g.x_len()), values(seed ^ 1, g.w_len()), values(seed ^ 2, g.y_len()));
            let (mut y_sep, mut dw_sep) = (vec![0.0; g.y_len()], vec![0.0; g.w_len()]);
            conv2d_forward(g, &x, &w, &mut y_sep);
            conv2d_backward_weight(g, &x, &dy, &mut dw_sep);
            let (mut y, mut dw) = (vec![f32::NAN; g.y_len()], vec![f32::NAN; g.w_len()]);
            conv2d_forward_and_backward_weight(g, &x, &w, &dy, &mut y, &mut dw);
            assert_eq!(y, y_sep, "y, geometry {gi}");
            assert_eq!(dw, dw_sep, "dw, geometry {gi}");
            if grouped::shares_im2col(g) {
                let per_sample = g.positions() * (g.col_rows() + g.c_out);
                for budget in [1, 2 * per_sample + 1] {
                    let (mut yb, mut dwb) = (vec![f32::NAN; g.y_len()], vec![f32::NAN; g.w_len()]);
                    let (mut ys, mut dws) = (vec![0.0; g.y_len()], vec![0.0; g.w_len()]);
                    grouped::conv2d_forward_and_weight_grad_grouped(g, &x, &w, &dy, &mut yb, &mut dwb, budget);
                    conv2d_forward_grouped(g, &x, &w, &mut ys, budget);
                    conv2d_backward_weight_grouped(g, &x, &dy, &mut dws, budget);
                    assert_eq!((yb, dwb), (ys, dws), "geometry {gi}, budget {budget}");
                }
            }
        }
    }

    /// The per-sample forward that packs its panels from the padded sample (output rows of 16 or
    /// 32 cells: one or two fixed-size copies per panel line; a 48-wide row, whose panels straddle
    /// rows at 16), including an unpadded layer and an even kernel.
    #[test]
    fn forward_packing_from_the_padded_sample_matches_reference() {
        for g in [
            Conv2dGeom { n: 3, c_in: 3, h: 32, w: 32, c_out: 5, kh: 5, kw: 5, stride: 1, pad: 2 },
            Conv2dGeom { n: 2, c_in: 4, h: 16, w: 16, c_out: 9, kh: 5, kw: 5, stride: 1, pad: 2 },
            Conv2dGeom { n: 2, c_in: 2, h: 6, w: 20, c_out: 3, kh: 3, kw: 5, stride: 1, pad: 0 },
            Conv2dGeom { n: 3, c_in: 1, h: 5, w: 47, c_out: 4, kh: 2, kw: 2, stride: 1, pad: 1 },
        ] {
            assert!(g.packs_windows_directly() && !g.grouped() && !g.skips_padding(), "{g:?}");
            check_all(&g, 29);
        }
    }

    /// Stride-1 convolutions padded by more than `(k − 1)/2`, whose output outgrows the input,
    /// run as "same" convolutions of a padded copy (`im2col::padded_same`): the MNIST decoder's
    /// adjoint 5 × 5 pad-3 layer, a 3 × 3 pad-2 one, a 1 × 1 pad-1 one; per-sample path
    /// (`P ≥ 64`) and grouped path.
    #[test]
    fn outgrowing_stride_one_convolutions_match_reference() {
        for g in [
            Conv2dGeom { n: 3, c_in: 8, h: 14, w: 14, c_out: 4, kh: 5, kw: 5, stride: 1, pad: 3 },
            Conv2dGeom { n: 2, c_in: 3, h: 9, w: 7, c_out: 5, kh: 3, kw: 3, stride: 1, pad: 2 },
            Conv2dGeom { n: 2, c_in: 2, h: 8, w: 9, c_out: 3, kh: 1, kw: 1, stride: 1, pad: 1 },
            Conv2dGeom { n: 4, c_in: 2, h: 3, w: 4, c_out: 3, kh: 5, kw: 5, stride: 1, pad: 4 },
        ] {
            check_all(&g, 23);
        }
    }

    /// Windows covering the whole unpadded input run as a linear layer (`is_dense`).
    #[test]
    fn dense_convolutions_match_reference() {
        for g in [
            Conv2dGeom { n: 6, c_in: 8, h: 7, w: 7, c_out: 10, kh: 7, kw: 7, stride: 1, pad: 0 },
            Conv2dGeom { n: 3, c_in: 2, h: 3, w: 5, c_out: 4, kh: 3, kw: 5, stride: 2, pad: 0 },
            Conv2dGeom { n: 1, c_in: 1, h: 1, w: 1, c_out: 1, kh: 1, kw: 1, stride: 1, pad: 0 },
        ] {
            assert!(g.is_dense());
            check_all(&g, 17);
        }
    }

    #[test]
    fn grouped_weight_gradient_is_thread_count_independent() {
        for g in [
            Conv2dGeom { n: 37, c_in: 6, h: 7, w: 5, c_out: 5, kh: 3, kw: 3, stride: 1, pad: 1 },
            Conv2dGeom { n: 21, c_in: 16, h: 6, w: 5, c_out: 40, kh: 4, kw: 4, stride: 2, pad: 1 },
        ] {
            let (x, dy) = (values(5, g.x_len()), values(6, g.y_len()));
            let run = |threads: usize| {
                let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
                pool.install(|| {
                    let mut dw = vec![f32::NAN; g.w_len()];
                    conv2d_backward_weight_grouped(&g, &x, &dy, &mut dw, 3000);
                    dw
                })
            };
            let (one, three) = (run(1), run(3));
            assert!(one.iter().zip(&three).all(|(a, b)| a.to_bits() == b.to_bits()));
        }
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

    /// The per-sample weight gradient (P ≥ 64) in both orientations: channels as the GEMM's
    /// rows (c_out ≤ DW_CHANNELS_FIRST_MAX) and as its columns, on odd sizes and batches that
    /// split into several partials; pointwise too.
    #[test]
    fn per_sample_weight_gradient_both_orientations() {
        for (n, c_in, c_out, kh, kw, pad) in
            [(3, 1, 8, 5, 5, 2), (19, 3, 4, 3, 5, 1), (5, 2, 9, 3, 3, 1), (2, 5, 1, 1, 1, 0), (17, 2, 13, 5, 3, 2)]
        {
            let g = Conv2dGeom { n, c_in, h: 11, w: 9, c_out, kh, kw, stride: 1, pad };
            assert!(g.positions() >= GROUP_MAX_POSITIONS && !g.is_dense());
            check_all(&g, (n * 100 + c_out) as u64);
        }
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
