//! A group's im2col matrix handed to the GEMM as packed panels gathered straight from the input
//! ("implicit im2col"): the matrix (`K × m·P`, see [`super::im2col`]) is never written out.
//!
//! Written out, the DCGAN's 14 × 14 → 7 × 7 layer's matrix is 12.8 MB at batch 64: the gather
//! wrote it to L3, then the forward GEMM read it back to pack it and the weight gradient read it
//! again to pack its transpose — three passes over a matrix no cache holds. Here each GEMM's
//! packer reads the input planes (zero-padded once, so no window needs an edge test) and writes
//! the L1-sized panel the micro-kernel reads next. The panels hold the values packing the
//! matrix would, so the products are bit-identical to the explicit path's.

use std::borrow::Cow;
use std::ops::Range;

use super::Conv2dGeom;
use crate::cpu::gemm::BPanels;

/// `m` samples of `x` with every plane zero-padded by `pad` cells on each side, into `out`
/// (`m · c_in · (h + 2·pad) · (w + 2·pad)` floats, overwritten).
pub(super) fn pad_planes(g: &Conv2dGeom, x: &[f32], m: usize, out: &mut [f32]) {
    let (hp, wp, p) = (g.h + 2 * g.pad, g.w + 2 * g.pad, g.pad);
    let planes = out.chunks_exact_mut(hp * wp).zip(x.chunks_exact(g.h * g.w)).take(m * g.c_in);
    for (dst, src) in planes {
        dst[..p * wp].fill(0.0);
        dst[(p + g.h) * wp..].fill(0.0);
        for (d, s) in dst[p * wp..].chunks_exact_mut(wp).zip(src.chunks_exact(g.w)) {
            d[..p].fill(0.0);
            d[p..p + g.w].copy_from_slice(s);
            d[p + g.w..].fill(0.0);
        }
    }
}

/// Floats [`pad_planes`] writes for `m` samples.
pub(super) fn padded_len(g: &Conv2dGeom, m: usize) -> usize {
    m * g.c_in * (g.h + 2 * g.pad) * (g.w + 2 * g.pad)
}

/// The tap and window offsets of [`Im2colPanels::new`] for `m` padded samples, to build the
/// panels of many samples' matrices with [`Im2colPanels::from_offsets`].
pub(super) fn offsets(g: &Conv2dGeom, m: usize) -> (Vec<usize>, Vec<usize>) {
    let (hp, wp, ow) = (g.h + 2 * g.pad, g.w + 2 * g.pad, g.ow());
    let taps = g.kh * g.kw;
    let tap: Vec<usize> = (0..g.col_rows()).map(|r| (r / taps) * hp * wp + (r % taps / g.kw) * wp + r % g.kw).collect();
    let (s, sample) = (g.stride, g.c_in * hp * wp);
    let window: Vec<usize> = (0..m * g.positions())
        .map(|q| {
            let (i, o) = (q / g.positions(), q % g.positions());
            i * sample + (o / ow) * s * wp + (o % ow) * s
        })
        .collect();
    (tap, window)
}

/// `op(B)` = the im2col matrix of `m` samples (`K × m·P`), read from their padded planes
/// ([`pad_planes`]): the forward's `Y = W · COL`. `COL[r][q] = xp[window[q] + tap[r]]`.
pub(super) struct Im2colPanels<'a> {
    xp: &'a [f32],
    /// Per matrix row, the offset of its cell from a window's anchor: for [`Self::new`], row
    /// `r = (ci·kh + a)·kw + b` → cell `(a, b)` of plane `ci` from the window's top-left cell.
    tap: Cow<'a, [usize]>,
    /// Per matrix column, the offset of its window's anchor: for [`Self::new`], column
    /// `q = i·P + oy·ow + ox` → that window's top-left cell in the padded planes.
    window: Cow<'a, [usize]>,
}

impl<'a> Im2colPanels<'a> {
    /// `xp`: the `m` samples as [`pad_planes`] wrote them.
    pub(super) fn new(g: &Conv2dGeom, xp: &'a [f32], m: usize) -> Self {
        assert!(xp.len() >= padded_len(g, m), "Im2colPanels: {} floats for {m} padded samples", xp.len());
        let (tap, window) = offsets(g, m);
        Self::checked(xp, Cow::Owned(tap), Cow::Owned(window))
    }

    /// The matrix with row `r`, column `q` at `x[window[q] + tap[r]]`: any list of taps and
    /// windows, such as a region's that skip padding ([`super::regions`]) on unpadded planes.
    pub(super) fn from_offsets(x: &'a [f32], tap: &'a [usize], window: &'a [usize]) -> Self {
        Self::checked(x, Cow::Borrowed(tap), Cow::Borrowed(window))
    }

    fn checked(xp: &'a [f32], tap: Cow<'a, [usize]>, window: Cow<'a, [usize]>) -> Self {
        // What makes `get` below sound: every window's every tap lies inside `xp`.
        let last = |v: &[usize]| v.iter().copied().max().unwrap_or(0);
        assert!(
            window.is_empty() || tap.is_empty() || last(&window) + last(&tap) < xp.len(),
            "Im2colPanels: windows reach past the planes"
        );
        Im2colPanels { xp, tap, window }
    }

    /// `xp[at + t]` for a window offset `at` and a tap offset `t` of this matrix.
    #[inline(always)]
    fn get(&self, at: usize, t: usize) -> f32 {
        debug_assert!(at + t < self.xp.len());
        // SAFETY: `at` is one of `self.window` and `t` one of `self.tap`, whose sums `Self::checked`
        // verified to lie inside `xp`. (The bounds check cost a third of the packing time.)
        unsafe { *self.xp.get_unchecked(at + t) }
    }

    /// The matrix's transpose (`m·P × K`): the weight gradient's `dW += DY · COLᵀ`.
    pub(super) fn transposed(&self) -> Im2colPanelsT<'_, 'a> {
        Im2colPanelsT(self)
    }
}

/// `dst[..N] = src[..N]` with `N` known to the compiler.
#[inline(always)]
fn copy_fixed<const N: usize>(src: &[f32], dst: &mut [f32]) {
    let src: &[f32; N] = src[..N].try_into().expect("N floats");
    let dst: &mut [f32; N] = (&mut dst[..N]).try_into().expect("N floats");
    *dst = *src;
}

/// Most runs of consecutive windows a panel is copied by, run by run.
const MAX_RUNS: usize = 4;

/// `windows` as runs `(first column, length)` of consecutive cells, in `runs`; `None` if they
/// need more than [`MAX_RUNS`] (short runs: the element-wise gather).
fn consecutive_runs<'r>(windows: &[usize], runs: &'r mut [(usize, usize); MAX_RUNS]) -> Option<&'r [(usize, usize)]> {
    let mut n = 0;
    for (j, w) in windows.iter().enumerate() {
        if j > 0 && *w == windows[j - 1] + 1 {
            runs[n - 1].1 += 1;
        } else if n == MAX_RUNS {
            return None;
        } else {
            runs[n] = (j, 1);
            n += 1;
        }
    }
    Some(&runs[..n])
}

/// Zero the columns `used ..` of every `width`-wide line of a panel (edge panels).
fn zero_tail(panel: &mut [f32], used: usize, width: usize) {
    if used < width {
        panel.chunks_exact_mut(width).for_each(|line| line[used..].fill(0.0));
    }
}

impl BPanels for Im2colPanels<'_> {
    fn pack(&self, cols: Range<usize>, first: usize, p0: usize, kc: usize, width: usize, dst: &mut [f32]) {
        let taps = &self.tap[p0..p0 + kc];
        for (i, panel) in dst.chunks_exact_mut(kc * width).enumerate() {
            let c0 = cols.start + (first + i) * width;
            let windows = &self.window[c0..(c0 + width).min(cols.end)];
            if windows.windows(2).all(|w| w[1] == w[0] + 1) {
                // Consecutive cells under every tap (the batch-innermost layout of
                // `super::regions`): one slice copy per line instead of a gather.
                let len = windows.len();
                let lines = panel.chunks_exact_mut(width).zip(taps);
                if len == 32 {
                    // A full AVX-512 panel: a fixed-size copy, two vector moves inline (as a
                    // slice copy it was a `memmove` call per line, 12 % of the layer).
                    for (line, &t) in lines {
                        copy_fixed::<32>(&self.xp[windows[0] + t..], line);
                    }
                } else {
                    for (line, &t) in lines {
                        line[..len].copy_from_slice(&self.xp[windows[0] + t..][..len]);
                    }
                }
                zero_tail(panel, len, width);
                continue;
            }
            // Runs of consecutive cells (a stride-1 layer's output rows narrower than the
            // panel: the CIFAR LeNet's 16-wide second layer fills a panel with two): a slice
            // copy per run and line.
            let mut runs = [(0usize, 0usize); MAX_RUNS];
            if let Some(runs) = consecutive_runs(windows, &mut runs) {
                for (line, &t) in panel.chunks_exact_mut(width).zip(taps) {
                    for &(start, len) in runs {
                        let src = &self.xp[windows[start] + t..][..len];
                        if len == 16 {
                            copy_fixed::<16>(src, &mut line[start..]);
                        } else {
                            line[start..start + len].copy_from_slice(src);
                        }
                    }
                }
                zero_tail(panel, windows.len(), width);
                continue;
            }
            // A tap at a time, along the panel's line: the windows' cells under it, `s` apart
            // within an output row. (A window at a time down the panel's columns, with bounds
            // checks, took half as long again; the two changes were measured together.)
            for (line, &t) in panel.chunks_exact_mut(width).zip(taps) {
                for (out, &at) in line.iter_mut().zip(windows) {
                    *out = self.get(at, t);
                }
            }
            zero_tail(panel, windows.len(), width);
        }
    }
}

/// See [`Im2colPanels::transposed`].
pub(super) struct Im2colPanelsT<'p, 'a>(&'p Im2colPanels<'a>);

impl BPanels for Im2colPanelsT<'_, '_> {
    fn pack(&self, cols: Range<usize>, first: usize, p0: usize, kc: usize, width: usize, dst: &mut [f32]) {
        let im = self.0;
        let windows = &im.window[p0..p0 + kc];
        for (i, panel) in dst.chunks_exact_mut(kc * width).enumerate() {
            let r0 = cols.start + (first + i) * width;
            let taps = &im.tap[r0..(r0 + width).min(cols.end)];
            if taps.len() == 32 && taps.windows(2).all(|t| t[1] == t[0] + 1) {
                // Consecutive cells for every window (channels-last input with the taps ordered
                // channel innermost, `super::regions`): one fixed-size copy per line.
                for (line, &at) in panel.chunks_exact_mut(width).zip(windows) {
                    copy_fixed::<32>(&im.xp[at + taps[0]..], line);
                }
                continue;
            }
            // A panel line is one window's taps for `width` consecutive rows.
            for (line, &at) in panel.chunks_exact_mut(width).zip(windows) {
                for (out, &t) in line.iter_mut().zip(taps) {
                    *out = im.get(at, t);
                }
            }
            zero_tail(panel, taps.len(), width);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::im2col::im2col;
    use super::*;
    use crate::cpu::gemm::reference_panels;
    use proptest::prelude::*;

    /// The group's im2col matrix written out (`K × m·P`), sample by sample.
    fn explicit(g: &Conv2dGeom, x: &[f32], m: usize) -> Vec<f32> {
        let (k, p, xs) = (g.col_rows(), g.positions(), g.c_in * g.h * g.w);
        let mut cols = vec![0.0; k * m * p];
        let mut one = vec![0.0; k * p];
        for i in 0..m {
            im2col(g, &x[i * xs..][..xs], &mut one);
            for r in 0..k {
                cols[r * m * p + i * p..][..p].copy_from_slice(&one[r * p..][..p]);
            }
        }
        cols
    }

    fn transpose(b: &[f32], rows: usize, cols: usize) -> Vec<f32> {
        (0..cols).flat_map(|c| (0..rows).map(move |r| b[r * cols + c])).collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Both packers write exactly the panels the explicit matrix and its transpose pack to,
        /// edge panels, padding-only taps and any k-block included.
        #[test]
        fn panels_match_the_explicit_matrix(
            (m, c_in, kh, kw, stride, pad, h, w) in (1usize..=3, 1usize..=3, 1usize..=4, 1usize..=4, 1usize..=3, 0usize..=2)
                .prop_flat_map(|(m, c_in, kh, kw, stride, pad)| {
                    let (min_h, min_w) = (kh.saturating_sub(2 * pad).max(1), kw.saturating_sub(2 * pad).max(1));
                    (Just(m), Just(c_in), Just(kh), Just(kw), Just(stride), Just(pad), min_h..min_h + 6, min_w..min_w + 6)
                }),
            width in prop::sample::select(vec![4usize, 8, 32]),
            split in 0usize..100,
        ) {
            let g = Conv2dGeom { n: m, c_in, h, w, c_out: 1, kh, kw, stride, pad };
            let x: Vec<f32> = (0..m * g.c_in * h * w).map(|i| i as f32 + 1.0).collect();
            let (k, n) = (g.col_rows(), m * g.positions());
            let cols = explicit(&g, &x, m);
            let mut xp = vec![f32::NAN; padded_len(&g, m)];
            pad_planes(&g, &x, m, &mut xp);
            let im = Im2colPanels::new(&g, &xp, m);
            let check = |b: &dyn BPanels, mat: &[f32], rows: usize, ncols: usize| {
                // A k-block starting inside the matrix and panels starting at `first`.
                let p0 = split % rows;
                let kc = rows - p0;
                let first = split % ncols.div_ceil(width);
                let mut want = vec![f32::NAN; ncols.div_ceil(width).saturating_sub(first) * kc * width];
                reference_panels(mat, ncols, 0..ncols, first, p0, kc, width, &mut want);
                let mut got = vec![f32::NAN; want.len()];
                b.pack(0..ncols, first, p0, kc, width, &mut got);
                prop_assert!(got.iter().zip(&want).all(|(a, b)| a.to_bits() == b.to_bits()), "{g:?}");
                Ok(())
            };
            check(&im, &cols, k, n)?;
            check(&im.transposed(), &transpose(&cols, k, n), n, k)?;
        }
    }
}
