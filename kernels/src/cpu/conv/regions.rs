//! Padding-free path: the output positions cut into rectangles ("regions") whose windows all
//! keep the same taps inside the input, one GEMM per region over exactly those taps.
//!
//! With 5 × 5 kernels and padding 2 on small planes, im2col + GEMM multiplies zeros: 7 % of the
//! multiply-adds on a 32 × 32 plane, 14 % on 16 × 16, 28 % on 8 × 8. A window near the border
//! reads padding for whole rows and columns of taps, and every window of a region reads the same
//! ones, so the region's GEMM leaves those taps out of its inner dimension:
//!   forward          Y_r  (c_out × m·P_r) = W_r (c_out × K_r) · COL_r (K_r × m·P_r)
//!   weight gradient  dW_r (c_out × K_r)   = DY_r (c_out × n·P_r) · COL_rᵀ, summed over regions
//! with `K_r = c_in · (taps of the region)` and `COL_r` packed straight from a copy of the input
//! laid out so that each panel line is one contiguous copy ([`Im2colPanels::from_offsets`]).
//!
//! The copies in and out cost about what the skipped zeros save unless the share is large and
//! the channels many: on the CIFAR LeNet's 16 × 16 layer (14 %) both kernels measured level with
//! the per-sample path, on its 8 × 8 layer (28 %, 64 → 128 channels) the forward 6 % and the
//! weight gradient 16 % faster on two threads, the whole training step 4 % (`benches/README.md`).
//! So only such layers come here ([`Conv2dGeom::skips_padding`]). The input gradient, tried as
//! the forward of the adjoint convolution (the flipped kernel, channels swapped), and as
//! `W_rᵀ · DY_r` per group with a batch-innermost col2im, was no faster than the per-sample
//! `Wᵀ · dy` + col2im on two threads, and is not routed here.
//!
//! A region's products are the full GEMM's minus terms that are exactly zero, so results agree
//! with the other paths to rounding (the sums are cut into blocks at different places). Groups,
//! regions, pieces and summation order depend on the geometry alone, never on the thread count.

use std::ops::Range;

use rayon::prelude::*;

use super::grouped::with_scratch;
use super::implicit::Im2colPanels;
use super::Conv2dGeom;
use crate::cpu::gemm::{gemm_b_panels_lda, PackedA};

/// Samples per group of the forward: a multiple of the GEMM's widest panel (32 columns), so in
/// every full group each region's `m·P_r` columns fill whole panels even where `P_r = 1` (the
/// corners); only the batch's last, shorter group leaves a panel part-empty.
const GROUP_SAMPLES: usize = 32;
/// Samples per pass of the forward (whole groups): its scratch holds a pass's input and output,
/// 12 MB on the CIFAR LeNet's third layer, however large the batch.
const PASS_SAMPLES: usize = 8 * GROUP_SAMPLES;

/// Below this share of multiply-adds on padding, or with fewer channels than this on either side,
/// the full GEMM is kept: a region's GEMM needs the input copied and its output scattered, which
/// the skipped zeros must pay for (measured: 14 % did not, 28 % with 64 → 128 channels did).
const MIN_PADDING_SHARE: f64 = 0.20;
const MIN_CHANNELS: usize = 32;

/// Output indices along one axis (`out` of them) cut into bands whose windows read the same
/// taps inside the input: `(outputs, taps)` pairs, in order. Tap `t` of output `o` reads input
/// `o·s + t − pad`, inside when `pad ≤ o·s + t < len + pad`.
fn bands(k: usize, pad: usize, s: usize, len: usize, out: usize) -> Vec<(Range<usize>, Range<usize>)> {
    let mut bands: Vec<(Range<usize>, Range<usize>)> = Vec::new();
    for o in 0..out {
        let lo = pad.saturating_sub(o * s).min(k);
        let hi = (len + pad).saturating_sub(o * s).min(k).max(lo);
        match bands.last_mut() {
            Some((outs, taps)) if *taps == (lo..hi) => outs.end = o + 1,
            _ => bands.push((o..o + 1, lo..hi)),
        }
    }
    bands
}

/// A rectangle of output positions (`oy × ox`) whose windows all read the taps `ty × tx`
/// (kernel rows × columns) inside the input and no others.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Region {
    oy: Range<usize>,
    ox: Range<usize>,
    ty: Range<usize>,
    tx: Range<usize>,
}

impl Region {
    fn positions(&self) -> usize {
        self.oy.len() * self.ox.len()
    }
    fn taps(&self) -> usize {
        self.ty.len() * self.tx.len()
    }
}

/// The regions of `g`, row bands outer: they tile the `oh × ow` output exactly once.
pub(super) fn regions(g: &Conv2dGeom) -> Vec<Region> {
    let rows = bands(g.kh, g.pad, g.stride, g.h, g.oh());
    let cols = bands(g.kw, g.pad, g.stride, g.w, g.ow());
    rows.iter()
        .flat_map(|(oy, ty)| {
            cols.iter().map(move |(ox, tx)| Region { oy: oy.clone(), ox: ox.clone(), ty: ty.clone(), tx: tx.clone() })
        })
        .collect()
}

/// The share of the full im2col GEMM's multiply-adds that multiply padding.
pub(super) fn padding_share(g: &Conv2dGeom) -> f64 {
    let full = g.positions() * g.kh * g.kw;
    if full == 0 {
        return 0.0;
    }
    let inside: usize = regions(g).iter().map(|r| r.positions() * r.taps()).sum();
    1.0 - inside as f64 / full as f64
}

impl Conv2dGeom {
    /// The forward and weight gradient run by regions: a stride-1 convolution on the per-sample
    /// path (`P ≥ 64`; smaller outputs run grouped) with many channels and much padding. With
    /// `pad < k` every window keeps at least one tap inside, so no region is empty.
    pub(super) fn skips_padding(&self) -> bool {
        self.stride == 1
            && self.pad > 0
            && self.pad < self.kh.min(self.kw)
            && self.n > 0
            && self.c_in >= MIN_CHANNELS
            && self.c_out >= MIN_CHANNELS
            && !self.grouped()
            && padding_share(self) >= MIN_PADDING_SHARE
    }
}

/// The region's `W_r` (`c_out × K_r`): the weight's columns for its taps, `(ci, a, b)` in order.
fn region_weight(g: &Conv2dGeom, r: &Region, w: &[f32]) -> Vec<f32> {
    let mut out = Vec::with_capacity(g.c_out * g.c_in * r.taps());
    for co in 0..g.c_out {
        for ci in 0..g.c_in {
            for a in r.ty.clone() {
                let row = &w[((co * g.c_in + ci) * g.kh + a) * g.kw..][..g.kw];
                out.extend_from_slice(&row[r.tx.clone()]);
            }
        }
    }
    out
}

/// The region's im2col offsets in a group of `m` samples laid out batch-innermost
/// (`c_in × h × w × m`, see [`conv2d_forward_regions`]): per row `(ci, a, b)`, the offset of its
/// cell from a window's first inside cell; per column `j·m + i` (position `j` of the region,
/// row-major, sample `i`), the offset of that window's first inside cell. Row `r`, column `q`
/// of `COL_r` is `xt[window[q] + tap[r]]`.
fn region_offsets(g: &Conv2dGeom, r: &Region, m: usize) -> (Vec<usize>, Vec<usize>) {
    let mut tap = Vec::with_capacity(g.c_in * r.taps());
    for ci in 0..g.c_in {
        for a in r.ty.clone() {
            for b in r.tx.clone() {
                tap.push(((ci * g.h + a - r.ty.start) * g.w + b - r.tx.start) * m);
            }
        }
    }
    let mut window = Vec::with_capacity(r.positions() * m);
    for oy in r.oy.clone() {
        // `oy·s + ty.start ≥ pad`: the region's first tap row lies inside (and likewise columns).
        let iy = oy * g.stride + r.ty.start - g.pad;
        for ox in r.ox.clone() {
            let ix = ox * g.stride + r.tx.start - g.pad;
            window.extend((0..m).map(|i| (iy * g.w + ix) * m + i));
        }
    }
    (tap, window)
}

/// `y = conv2d(x, w)` by regions; `y` overwritten.
///
/// The batch is cut into groups of [`GROUP_SAMPLES`], each copied batch-innermost
/// (`c_in × h × w × m`) so that a GEMM panel of 32 columns — one output position of 32
/// samples — packs as one contiguous copy per tap rather than a gather. Every (group, region)
/// pair is one serial GEMM into its own slice of a scratch buffer, the pairs spread over the
/// threads, and the scratch is scattered back into `y` sample by sample.
pub(super) fn conv2d_forward_regions(g: &Conv2dGeom, x: &[f32], w: &[f32], y: &mut [f32]) {
    let (p, co, xs) = (g.positions(), g.c_out, g.c_in * g.h * g.w);
    let regions = regions(g);
    // Each region's weight packed once for all its groups (packed per GEMM it cost a tenth of
    // the CIFAR LeNet's third layer).
    let weights: Vec<PackedA> =
        regions.par_iter().map(|r| PackedA::new(false, co, g.c_in * r.taps(), &region_weight(g, r, w))).collect();
    // The offsets for a full group and for the last, shorter one.
    let sizes = [GROUP_SAMPLES.min(g.n), (g.n - 1) % GROUP_SAMPLES + 1];
    let offsets: Vec<Vec<(Vec<usize>, Vec<usize>)>> =
        sizes.iter().map(|&m| regions.iter().map(|r| region_offsets(g, r, m)).collect()).collect();
    // A pass at a time, so the scratch stays bounded for large batches (scoring); every pass
    // but the last is whole groups, so the groups and their sums are those of one pass.
    let passes = x.chunks(PASS_SAMPLES * xs).zip(y.chunks_mut(PASS_SAMPLES * co * p));
    for (x, y) in passes {
        forward_pass(g, &regions, &weights, &offsets, sizes[0], x, y);
    }
}

/// One pass of [`conv2d_forward_regions`] over the samples of `x` (at most [`PASS_SAMPLES`]).
fn forward_pass(
    g: &Conv2dGeom,
    regions: &[Region],
    weights: &[PackedA],
    offsets: &[Vec<(Vec<usize>, Vec<usize>)>],
    full: usize,
    x: &[f32],
    y: &mut [f32],
) {
    let (p, co, xs) = (g.positions(), g.c_out, g.c_in * g.h * g.w);
    let (group_x, group_y, n) = (GROUP_SAMPLES * xs, GROUP_SAMPLES * co * p, x.len() / xs);
    with_scratch(n * (xs + co * p), |buf| {
        let (xt, out) = buf.split_at_mut(n * xs);
        xt.par_chunks_mut(group_x).zip(x.par_chunks(group_x)).for_each(|(dst, src)| batch_innermost(src, xs, dst));
        // Tasks: (group, region), each a GEMM into its own `c_out × m·P_r` block of the scratch.
        let mut tasks = Vec::new();
        for (gi, out_g) in out.chunks_mut(group_y).enumerate() {
            let m = out_g.len() / (co * p);
            let mut rest = out_g;
            for (ri, r) in regions.iter().enumerate() {
                let (block, tail) = rest.split_at_mut(co * m * r.positions());
                rest = tail;
                tasks.push((ri, gi, m, block));
            }
        }
        // Region-major, so a thread's consecutive GEMMs share one packed weight (kept in L2;
        // group-major, each GEMM fetched its region's weight from L3 and ran 12 % slower).
        tasks.sort_by_key(|&(ri, gi, _, _)| (ri, gi));
        let xt = &*xt;
        tasks.into_par_iter().for_each(|(ri, gi, m, out)| {
            let (tap, window) = &offsets[usize::from(m != full)][ri];
            let cols = Im2colPanels::from_offsets(&xt[gi * group_x..][..m * xs], tap, window);
            weights[ri].gemm_b_panels_serial(window.len(), 1.0, &cols, 0.0, out);
        });
        // out[group][region][c][j·m + i] → y[sample i of the group][c][position j], a group at a
        // time: one channel's block of a region (m·P_r floats) stays in L1 while it is read.
        let out = &*out;
        y.par_chunks_mut(group_y).zip(out.par_chunks(group_y)).for_each(|(y_g, out_g)| {
            let m = y_g.len() / (co * p);
            let mut at = 0;
            for r in regions {
                let n_r = m * r.positions();
                for c in 0..co {
                    let src = &out_g[at + c * n_r..][..n_r];
                    // A destination plane at a time: the m planes of one channel lie `c_out·P`
                    // floats apart, a power of two in these networks, so writing across them
                    // (sample innermost) kept evicting its own lines from one L1 set.
                    for i in 0..m {
                        let plane = &mut y_g[(i * co + c) * p..][..p];
                        let mut j = i;
                        for oy in r.oy.clone() {
                            for v in &mut plane[oy * g.ow() + r.ox.start..][..r.ox.len()] {
                                *v = src[j];
                                j += m;
                            }
                        }
                    }
                }
                at += co * n_r;
            }
        });
    })
}

/// `dw = Σ_n ∂L/∂w` by regions; overwritten.
///
/// Per region, `dW_r (c_out × K_r) = DY_r (c_out × n·P_r) · COL_rᵀ` over the whole batch: one
/// long reduction, so each `dW_r` tile is written once per k-block rather than once per sample
/// as on the per-sample path. `COL_rᵀ`'s panels come from the input copied channels-last
/// (`h × w × c_in` per sample) with the region's taps ordered `(a, b, ci)`: a panel line — one
/// window, 32 consecutive taps — is 32 consecutive channels of one cell, one contiguous copy.
pub(super) fn conv2d_backward_weight_regions(g: &Conv2dGeom, x: &[f32], dy: &[f32], dw: &mut [f32]) {
    let (p, co, xs, plane) = (g.positions(), g.c_out, g.c_in * g.h * g.w, g.h * g.w);
    // Regions cut into row pieces of at most an eighth of the work each: the pieces' GEMMs run
    // side by side (one region's parallel GEMM synchronised the pool once per k-block, some
    // hundred times per region), and no piece holds most of the work as the interior did.
    let whole = regions(g);
    let work: usize = whole.iter().map(|r| r.positions() * r.taps()).sum();
    let regions: Vec<Region> = whole
        .into_iter()
        .flat_map(|r| {
            let parts = (8 * r.positions() * r.taps()).div_ceil(work.max(1)).clamp(1, r.oy.len());
            (0..parts).map(move |i| {
                let rows = r.oy.len();
                let oy = r.oy.start + i * rows / parts..r.oy.start + (i + 1) * rows / parts;
                Region { oy, ..r.clone() }
            })
        })
        .collect();
    // Each region's columns within a channel's row of the gathered `dy`: n·P_r floats at n·start.
    let starts: Vec<usize> = regions.iter().scan(0, |s, r| Some(std::mem::replace(s, *s + r.positions()))).collect();
    let row = g.n * p;
    dw.fill(0.0);
    with_scratch(g.n * xs + co * row, |buf| {
        let (xc, dyg) = buf.split_at_mut(g.n * xs);
        // xc[i][cell][c] = x[i][c][cell]
        xc.par_chunks_mut(xs).zip(x.par_chunks(xs)).for_each(|(dst, src)| {
            for (c, src_plane) in src.chunks_exact(plane).enumerate() {
                dst[c..].iter_mut().step_by(g.c_in).zip(src_plane).for_each(|(d, &v)| *d = v);
            }
        });
        // dyg[c][n·start_r + i·P_r + j] = dy[i][c][position j of region r]: every region's DY_r
        // in one pass over dy (a pass per region read it from memory 5 times over).
        dyg.par_chunks_mut(row).enumerate().for_each(|(c, dst)| {
            for i in 0..g.n {
                let src = &dy[(i * co + c) * p..][..p];
                for (r, &start) in regions.iter().zip(&starts) {
                    let seg = &mut dst[g.n * start + i * r.positions()..][..r.positions()];
                    for (line, oy) in seg.chunks_exact_mut(r.ox.len()).zip(r.oy.clone()) {
                        line.copy_from_slice(&src[oy * g.ow() + r.ox.start..][..r.ox.len()]);
                    }
                }
            }
        });
        let (xc, dyg) = (&*xc, &*dyg);
        let parts: Vec<(Vec<usize>, Vec<f32>)> = regions
            .par_iter()
            .zip(&starts)
            .map(|(r, &start)| {
                let n_r = g.n * r.positions();
                let mut tap = Vec::with_capacity(g.c_in * r.taps());
                let mut column = Vec::with_capacity(g.c_in * r.taps());
                for a in r.ty.clone() {
                    for b in r.tx.clone() {
                        for c in 0..g.c_in {
                            tap.push(((a - r.ty.start) * g.w + b - r.tx.start) * g.c_in + c);
                            column.push((c * g.kh + a) * g.kw + b);
                        }
                    }
                }
                let mut window = Vec::with_capacity(n_r);
                for i in 0..g.n {
                    for oy in r.oy.clone() {
                        let iy = oy + r.ty.start - g.pad;
                        window.extend(r.ox.clone().map(|ox| i * xs + (iy * g.w + ox + r.tx.start - g.pad) * g.c_in));
                    }
                }
                let cols = Im2colPanels::from_offsets(xc, &tap, &window);
                let mut dw_r = vec![0.0f32; co * tap.len()];
                let dy_r = &dyg[g.n * start..];
                gemm_b_panels_lda(false, co, tap.len(), n_r, 1.0, dy_r, row, &cols.transposed(), 0.0, &mut dw_r);
                (column, dw_r)
            })
            .collect();
        // The pieces added in their fixed order.
        for (column, dw_r) in &parts {
            for (dw_row, part) in dw.chunks_exact_mut(g.col_rows()).zip(dw_r.chunks_exact(column.len())) {
                column.iter().zip(part).for_each(|(&k, &v)| dw_row[k] += v);
            }
        }
    })
}

/// `dst` (`xs × m`) = `src` (`m × xs`, `m` samples of `xs` floats) transposed: sample innermost.
/// Blocks of 64 floats per sample, so the `m` destination lines being written stay in L1.
fn batch_innermost(src: &[f32], xs: usize, dst: &mut [f32]) {
    let m = src.len() / xs;
    for e0 in (0..xs).step_by(64) {
        let e1 = (e0 + 64).min(xs);
        for (i, sample) in src.chunks_exact(xs).enumerate() {
            for (e, &v) in (e0..e1).zip(&sample[e0..e1]) {
                dst[e * m + i] = v;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_regions_tile_the_output_and_keep_only_inside_taps() {
        for g in [
            Conv2dGeom { n: 1, c_in: 1, h: 8, w: 8, c_out: 1, kh: 5, kw: 5, stride: 1, pad: 2 },
            Conv2dGeom { n: 1, c_in: 1, h: 7, w: 5, c_out: 1, kh: 3, kw: 4, stride: 2, pad: 1 },
            Conv2dGeom { n: 1, c_in: 1, h: 2, w: 3, c_out: 1, kh: 5, kw: 5, stride: 1, pad: 3 },
        ] {
            let mut seen = vec![0; g.positions()];
            for r in regions(&g) {
                for oy in r.oy.clone() {
                    for ox in r.ox.clone() {
                        seen[oy * g.ow() + ox] += 1;
                        for a in 0..g.kh {
                            for b in 0..g.kw {
                                let iy = (oy * g.stride + a) as isize - g.pad as isize;
                                let ix = (ox * g.stride + b) as isize - g.pad as isize;
                                let inside = (0..g.h as isize).contains(&iy) && (0..g.w as isize).contains(&ix);
                                assert_eq!(inside, r.ty.contains(&a) && r.tx.contains(&b), "{g:?} {r:?} ({a}, {b})");
                            }
                        }
                    }
                }
            }
            assert!(seen.iter().all(|&s| s == 1), "{g:?}: {seen:?}");
        }
    }

    #[test]
    fn the_padding_share_is_the_lenets() {
        let share =
            |h| padding_share(&Conv2dGeom { n: 1, c_in: 1, h, w: h, c_out: 1, kh: 5, kw: 5, stride: 1, pad: 2 });
        // Per axis, 6 of the 5·h taps land in padding: 1 − (1 − 6/(5h))².
        for (h, want) in [(32, 0.0736), (16, 0.1444), (8, 0.2775)] {
            assert!((share(h) - want).abs() < 1e-4, "{h}: {}", share(h));
        }
        assert_eq!(
            padding_share(&Conv2dGeom { n: 1, c_in: 1, h: 8, w: 8, c_out: 1, kh: 3, kw: 3, stride: 1, pad: 0 }),
            0.0
        );
    }
}
