//! Receptive fields as matrix rows (im2col) and back (col2im), one kernel tap at a time.
//!
//! The im2col matrix of one sample has a row per tap `(ci, a, b)` — `K = c_in·kh·kw` rows, row
//! `(ci·kh + a)·kw + b` — and a column per output position — `P = oh·ow` columns. A group of `m`
//! samples is stored side by side, `K × m·P`: sample `i` owns columns `i·P ..`. Both layouts
//! derive from one description of a tap's valid positions ([`Tap`]); the per-sample path walks
//! it row by row, the grouped path's col2im (small planes) lists its positions once per call.
//! (The grouped path's im2col is never written out: [`super::implicit`].)

use rayon::prelude::*;

use super::Conv2dGeom;

/// Output indices `o` (along one axis) whose tap `t` lands inside the input, i.e.
/// `0 ≤ o·s + t − pad < len`, as the half-open range `lo..hi` (clamped to `0..out`).
fn valid_range(t: usize, pad: usize, s: usize, len: usize, out: usize) -> (usize, usize) {
    let lo = if t >= pad { 0 } else { (pad - t).div_ceil(s) };
    let hi = if len + pad > t { (len + pad - t).div_ceil(s) } else { 0 };
    let hi = hi.min(out);
    (lo.min(hi), hi)
}

/// Where tap `(a, b)` lands: the output rows `oy` and columns `ox` whose input cell lies inside
/// the plane. The same for every plane and sample, so the grouped loops compute it once per row
/// (its integer divisions cost as much as copying a 7 × 7 tap).
#[derive(Clone, Copy)]
struct Tap {
    a: usize,
    b: usize,
    oy: (usize, usize),
    ox: (usize, usize),
}

impl Tap {
    fn new(g: &Conv2dGeom, a: usize, b: usize) -> Tap {
        let oy = valid_range(a, g.pad, g.stride, g.h, g.oh());
        let ox = valid_range(b, g.pad, g.stride, g.w, g.ow());
        Tap { a, b, oy, ox }
    }
    /// The tap reads only padding (and `ox.0 + b − pad` may underflow).
    fn is_empty(&self) -> bool {
        self.oy.0 == self.oy.1 || self.ox.0 == self.ox.1
    }
}

/// `out[oy·ow + ox] = plane[oy·s + a − pad][ox·s + b − pad]` for one input plane (`h × w`) and
/// tap `t`; positions whose tap falls in the padding get zero. `out` is overwritten.
fn im2col_tap(g: &Conv2dGeom, plane: &[f32], t: &Tap, out: &mut [f32]) {
    let (w, s, pad, ow) = (g.w, g.stride, g.pad, g.ow());
    let ((oy_lo, oy_hi), (ox_lo, ox_hi), (a, b)) = (t.oy, t.ox, (t.a, t.b));
    if t.is_empty() {
        out.fill(0.0);
        return;
    }
    out[..oy_lo * ow].fill(0.0);
    out[oy_hi * ow..].fill(0.0);
    if s == 1 && ow == w {
        // "Same" convolution: source and destination rows have the same stride, so the whole
        // tap is one contiguous copy. Cells past a row's valid columns pick up the neighbouring
        // row's values and are zeroed after. (Per-row copies of 16 floats spent more time in
        // call overhead than the GEMM.)
        let (start, end) = (oy_lo * ow + ox_lo, (oy_hi - 1) * ow + ox_hi);
        let src = (oy_lo + a - pad) * w + ox_lo + b - pad;
        out[start..end].copy_from_slice(&plane[src..src + (end - start)]);
        // Each valid row's invalid columns, a column at a time: they are |b − pad| cells per
        // row, and a `fill` per row compiles to a `memset` call per row (10–13 % of the MNIST
        // LeNet's convolutions in perf).
        for col in (0..ox_lo).chain(ox_hi..ow) {
            out[oy_lo * ow + col..].iter_mut().step_by(ow).take(oy_hi - oy_lo).for_each(|o| *o = 0.0);
        }
        return;
    }
    let x0 = ox_lo * s + b - pad;
    for (oy, row) in out.chunks_exact_mut(ow).enumerate().take(oy_hi).skip(oy_lo) {
        let src = &plane[(oy * s + a - pad) * w + x0..][..(ox_hi - ox_lo - 1) * s + 1];
        // Element-wise zeroing: the edges are a cell or two, less than a `memset` call costs.
        row[..ox_lo].iter_mut().for_each(|o| *o = 0.0);
        row[ox_hi..].iter_mut().for_each(|o| *o = 0.0);
        if s == 1 {
            row[ox_lo..ox_hi].copy_from_slice(src);
        } else {
            for (o, &v) in row[ox_lo..ox_hi].iter_mut().zip(src.iter().step_by(s)) {
                *o = v;
            }
        }
    }
}

/// The adjoint of [`im2col_tap`]: adds every `seg` entry (`oh·ow`) onto the `plane` cell it was
/// copied from (entries whose tap lies in the padding are dropped).
fn col2im_tap_add(g: &Conv2dGeom, seg: &[f32], t: &Tap, plane: &mut [f32]) {
    let (w, s, pad, ow) = (g.w, g.stride, g.pad, g.ow());
    let ((oy_lo, oy_hi), (ox_lo, ox_hi), (a, b)) = (t.oy, t.ox, (t.a, t.b));
    if t.is_empty() {
        return;
    }
    let x0 = ox_lo * s + b - pad;
    for (oy, src) in seg.chunks_exact(ow).enumerate().take(oy_hi).skip(oy_lo) {
        let dst = &mut plane[(oy * s + a - pad) * w + x0..][..(ox_hi - ox_lo - 1) * s + 1];
        // Unit stride gets its own loop: `step_by` keeps the compiler from vectorising it.
        if s == 1 {
            for (d, v) in dst.iter_mut().zip(&src[ox_lo..ox_hi]) {
                *d += v;
            }
        } else {
            for (d, v) in dst.iter_mut().step_by(s).zip(&src[ox_lo..ox_hi]) {
                *d += v;
            }
        }
    }
}

/// [`col2im_tap_add`] for a "same" convolution (stride 1, `ow = w`), whose `seg` rows and plane
/// rows have the same stride: the entries whose tap lies in the padding are zeroed in `seg`
/// (hence `&mut`), then the tap is one contiguous add instead of a short loop per row — the
/// MNIST LeNet's rows are 14 or 28 cells, and the per-row loops were 12 % of its training step.
/// Each cell still receives the same terms in the same order (plus zeros).
fn col2im_tap_add_same(g: &Conv2dGeom, seg: &mut [f32], t: &Tap, plane: &mut [f32]) {
    let (w, pad, ow) = (g.w, g.pad, g.ow());
    debug_assert!(g.stride == 1 && ow == w);
    let ((oy_lo, oy_hi), (ox_lo, ox_hi), (a, b)) = (t.oy, t.ox, (t.a, t.b));
    if t.is_empty() {
        return;
    }
    for col in (0..ox_lo).chain(ox_hi..ow) {
        seg[oy_lo * ow + col..].iter_mut().step_by(ow).take(oy_hi - oy_lo).for_each(|o| *o = 0.0);
    }
    let (start, end) = (oy_lo * ow + ox_lo, (oy_hi - 1) * ow + ox_hi);
    let dst = (oy_lo + a - pad) * w + ox_lo + b - pad;
    for (d, v) in plane[dst..dst + (end - start)].iter_mut().zip(&seg[start..end]) {
        *d += v;
    }
}

/// A stride-1 convolution whose output is larger than its input (`pad` > `(k − 1)/2`, e.g. the
/// MNIST decoder's 5 × 5 transposed convolution from 16 × 16 to 14 × 14, whose adjoint pads by 3)
/// is the "same" convolution of its input zero-padded by `e = pad − (k − 1)/2` cells on every
/// side: `(g', e)`, or `None` for other geometries. Its im2col matrix is the same, but each tap
/// is one contiguous copy instead of a short copy per output row, which made that layer's three
/// kernels 3× slower per FLOP than its neighbours (a third of the autoencoder's training step).
fn padded_same(g: &Conv2dGeom) -> Option<(Conv2dGeom, usize)> {
    let odd_square = g.kh == g.kw && g.kh % 2 == 1;
    if g.stride != 1 || !odd_square || g.pad <= (g.kh - 1) / 2 {
        return None;
    }
    let e = g.pad - (g.kh - 1) / 2;
    let same = Conv2dGeom { h: g.h + 2 * e, w: g.w + 2 * e, pad: g.pad - e, ..*g };
    debug_assert!(same.oh() == g.oh() && same.ow() == g.ow() && same.ow() == same.w);
    Some((same, e))
}

/// Fills `col` (`K × P`) with the receptive fields of one sample `x` (`c_in × h × w`).
pub(super) fn im2col(g: &Conv2dGeom, x: &[f32], col: &mut [f32]) {
    if let Some((same, e)) = padded_same(g) {
        let mut padded = vec![0.0f32; g.c_in * same.h * same.w];
        for (dst, src) in padded.chunks_exact_mut(same.h * same.w).zip(x.chunks_exact(g.h * g.w)) {
            for (d, s) in dst.chunks_exact_mut(same.w).skip(e).zip(src.chunks_exact(g.w)) {
                d[e..e + g.w].copy_from_slice(s);
            }
        }
        return im2col(&same, &padded, col);
    }
    let (hw, p) = (g.h * g.w, g.positions());
    // The taps' ranges once, not once per input channel (their divisions showed in perf).
    let taps: Vec<Tap> = (0..g.kh * g.kw).map(|t| Tap::new(g, t / g.kw, t % g.kw)).collect();
    for (r, row) in col.chunks_exact_mut(p).take(g.col_rows()).enumerate() {
        let (ci, t) = (r / taps.len(), r % taps.len());
        im2col_tap(g, &x[ci * hw..][..hw], &taps[t], row);
    }
}

/// The adjoint of [`im2col`]: overwrites `x` (`c_in × h × w`) with the sum, for every cell, of
/// the `col` entries that were copied from it. Cells no window covers get zero.
/// `col` is scratch: entries that no input cell receives may be overwritten.
pub(super) fn col2im(g: &Conv2dGeom, col: &mut [f32], x: &mut [f32]) {
    if let Some((same, e)) = padded_same(g) {
        // Into the padded planes, then their interior: the border cells only collect the terms
        // that fell into the original padding.
        let mut padded = vec![0.0f32; g.c_in * same.h * same.w];
        col2im(&same, col, &mut padded);
        for (dst, src) in x.chunks_exact_mut(g.h * g.w).zip(padded.chunks_exact(same.h * same.w)) {
            for (d, s) in dst.chunks_exact_mut(g.w).zip(src.chunks_exact(same.w).skip(e)) {
                d.copy_from_slice(&s[e..e + g.w]);
            }
        }
        return;
    }
    let (hw, p, taps) = (g.h * g.w, g.positions(), g.kh * g.kw);
    let taps: Vec<Tap> = (0..taps).map(|t| Tap::new(g, t / g.kw, t % g.kw)).collect();
    let same = g.stride == 1 && g.ow() == g.w;
    for (plane, rows) in x.chunks_exact_mut(hw).zip(col.chunks_exact_mut(taps.len() * p)) {
        plane.fill(0.0);
        for (t, seg) in taps.iter().zip(rows.chunks_exact_mut(p)) {
            if same {
                col2im_tap_add_same(g, seg, t, plane);
            } else {
                col2im_tap_add(g, seg, t, plane);
            }
        }
    }
}

/// For every input cell of a plane, where its terms lie in a group's `dCOL` (`K × ld`, taps of
/// one input channel in rows `0..kh·kw`, sample at column 0): offsets `t·ld + q`, `t` ascending,
/// in compressed rows — cell `c` owns `offsets[starts[c]..starts[c + 1]]`.
struct CellTerms {
    starts: Vec<u32>,
    offsets: Vec<u32>,
    /// The largest offset plus one (0 if no cell has a term).
    span: usize,
}

impl CellTerms {
    fn new(g: &Conv2dGeom, ld: usize) -> CellTerms {
        let (hw, ow) = (g.h * g.w, g.ow());
        let mut per_cell: Vec<Vec<u32>> = vec![Vec::new(); hw];
        for t in 0..g.kh * g.kw {
            let tap = Tap::new(g, t / g.kw, t % g.kw);
            if tap.is_empty() {
                continue;
            }
            for oy in tap.oy.0..tap.oy.1 {
                for ox in tap.ox.0..tap.ox.1 {
                    let cell = (oy * g.stride + tap.a - g.pad) * g.w + ox * g.stride + tap.b - g.pad;
                    let off = t * ld + oy * ow + ox;
                    per_cell[cell].push(u32::try_from(off).expect("a group's dCOL offsets fit in u32"));
                }
            }
        }
        let mut starts = Vec::with_capacity(hw + 1);
        starts.push(0u32);
        let mut offsets = Vec::new();
        for terms in &per_cell {
            offsets.extend_from_slice(terms);
            starts.push(offsets.len() as u32);
        }
        let span = offsets.iter().map(|&o| o as usize + 1).max().unwrap_or(0);
        CellTerms { starts, offsets, span }
    }
}

/// The adjoint of a group's im2col matrix (which the grouped forward and weight gradient read
/// implicitly, [`super::implicit`]): overwrites `x` (`m` samples) from `cols` (`K × m·P`), one
/// input plane per task. The group's planes are small (`P < 64` outputs; the DCGAN's 7 × 7 from
/// 14 × 14 at stride 2), so per-row slicing would cost more than the adding; instead each cell
/// gathers its terms ([`CellTerms`], listed once per call) into a register and is written once.
/// Each cell sums its terms in tap order starting from zero, as [`col2im`] adds them.
pub(super) fn col2im_group(g: &Conv2dGeom, cols: &[f32], m: usize, x: &mut [f32]) {
    let (hw, p, taps) = (g.h * g.w, g.positions(), g.kh * g.kw);
    let ld = m * p;
    let terms = CellTerms::new(g, ld);
    assert_eq!(cols.len(), g.c_in * taps * ld, "dCOL is K × m·P");
    assert_eq!(x.len(), m * g.c_in * hw, "x holds the group's m samples");
    // Tasks by input channel, each with a run of samples in order: a task then reads its
    // channel's kh·kw rows of `dCOL` front to back (a few streams the prefetcher follows) rather
    // than hopping between channels' rows for every plane. Few channels (the DCGAN's output
    // layer has one) are cut into runs of samples so that there are at least 16 tasks.
    let run = m.div_ceil((16 / g.c_in).max(1)).max(1);
    let mut tasks: Vec<(usize, usize, Vec<&mut [f32]>)> = Vec::new();
    let mut by_channel: Vec<Vec<&mut [f32]>> = (0..g.c_in).map(|_| Vec::with_capacity(m)).collect();
    for (j, plane) in x.chunks_exact_mut(hw).enumerate() {
        by_channel[j % g.c_in].push(plane);
    }
    for (ci, planes) in by_channel.into_iter().enumerate() {
        let mut planes = planes.into_iter();
        for i0 in (0..m).step_by(run) {
            tasks.push((ci, i0, planes.by_ref().take(run).collect()));
        }
    }
    tasks.into_par_iter().for_each(|(ci, i0, planes)| {
        for (i, plane) in (i0..).zip(planes) {
            let base = ci * taps * ld + i * p;
            // Every offset is below `span` ≤ taps·ld − (m − 1)·p (a tap row's last sample
            // starts at (m − 1)·p), so `base + off` stays inside this channel's rows of `cols`.
            assert!(base + terms.span <= cols.len());
            let src = &cols[base..];
            for (c, out) in plane.iter_mut().enumerate() {
                let (lo, hi) = (terms.starts[c] as usize, terms.starts[c + 1] as usize);
                let mut acc = 0.0f32;
                for &off in &terms.offsets[lo..hi] {
                    // SAFETY: off < span and base + span ≤ cols.len() (asserted above).
                    acc += unsafe { *src.get_unchecked(off as usize) };
                }
                *out = acc;
            }
        }
    });
}
