//! Max pooling with the argmax kept for the backward pass.

use rayon::prelude::*;

/// Input `n × c × h × w`, square `k × k` window moved by `stride` on both axes, over the input
/// with `pad` cells of padding on every side. Padded cells never win (they act as −∞, as in
/// PyTorch), so every window must hold at least one real cell: the caller keeps `pad < k`
/// (PyTorch even requires `pad ≤ k/2`) and `h + 2·pad ≥ k`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pool2dGeom {
    pub n: usize,
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub k: usize,
    pub stride: usize,
    pub pad: usize,
}

impl Pool2dGeom {
    pub fn oh(&self) -> usize {
        (self.h + 2 * self.pad - self.k) / self.stride + 1
    }
    pub fn ow(&self) -> usize {
        (self.w + 2 * self.pad - self.k) / self.stride + 1
    }
    pub fn x_len(&self) -> usize {
        self.n * self.c * self.h * self.w
    }
    pub fn y_len(&self) -> usize {
        self.n * self.c * self.oh() * self.ow()
    }

    fn check(&self, what: &str, x: usize, y: usize, argmax: usize) {
        assert!(
            self.stride >= 1 && self.pad < self.k && self.h + 2 * self.pad >= self.k && self.w + 2 * self.pad >= self.k,
            "{what}: invalid pooling geometry {self:?} (need stride ≥ 1, pad < k, k ≤ padded size)"
        );
        assert!(
            (self.h * self.w) as u64 <= u32::MAX as u64,
            "{what}: an {}×{} plane does not fit u32 argmax indices",
            self.h,
            self.w
        );
        assert!(
            x == self.x_len() && y == self.y_len() && argmax == self.y_len(),
            "{what}: slice lengths (x {x}, y {y}, argmax {argmax}) do not match {self:?} \
             (x {}, y {})",
            self.x_len(),
            self.y_len()
        );
    }
}

/// The input cells (along one axis) of the window starting at output index `o`: `lo..hi`.
fn window(o: usize, g: &Pool2dGeom, len: usize) -> (usize, usize) {
    let start = o * g.stride;
    (start.saturating_sub(g.pad), (start + g.k).saturating_sub(g.pad).min(len))
}

/// `v` beats the current best: strictly greater (ties keep the first cell in row-major window
/// order), or the first NaN (NaN propagates, as in PyTorch).
#[inline]
fn beats(v: f32, best: f32) -> bool {
    v > best || (v.is_nan() && !best.is_nan())
}

/// `v` if it [`beats`] `best`, else `best`, with the index to match: a select, no branch.
#[inline(always)]
fn pick(v: f32, i: u32, best: f32, best_i: u32) -> (f32, u32) {
    let take = (v > best) | (v.is_nan() & !best.is_nan());
    (if take { v } else { best }, if take { i } else { best_i })
}

/// The 2 × 2, stride-2, unpadded window of the LeNets, for one plane: two input rows per output
/// row, the four cells compared in row-major order by selects. The general loop's per-window
/// bounds and branches on the data cost ~30 % of the MNIST LeNet's inference; this runs at the
/// speed of reading the plane.
pub(crate) fn max_pool_2x2_plane(w: usize, ow: usize, x: &[f32], y: &mut [f32], am: &mut [u32]) {
    for (oy, (y, am)) in y.chunks_exact_mut(ow).zip(am.chunks_exact_mut(ow)).enumerate() {
        let top = &x[2 * oy * w..][..2 * ow];
        let bottom = &x[(2 * oy + 1) * w..][..2 * ow];
        let row0 = (2 * oy * w) as u32;
        for (ox, ((y, am), (t, b))) in
            y.iter_mut().zip(am.iter_mut()).zip(top.chunks_exact(2).zip(bottom.chunks_exact(2))).enumerate()
        {
            let i = row0 + 2 * ox as u32;
            let (best, best_i) = pick(t[1], i + 1, t[0], i);
            let (best, best_i) = pick(b[0], i + w as u32, best, best_i);
            let (best, best_i) = pick(b[1], i + w as u32 + 1, best, best_i);
            *y = best;
            *am = best_i;
        }
    }
}

/// `y[n,c,i,j] = max` over the window; `argmax` gets the winner's index within its `h × w` plane.
pub fn max_pool2d_forward(g: &Pool2dGeom, x: &[f32], y: &mut [f32], argmax: &mut [u32]) {
    g.check("max_pool2d_forward", x.len(), y.len(), argmax.len());
    let (h, w, oh, ow) = (g.h, g.w, g.oh(), g.ow());
    if y.is_empty() {
        return;
    }
    let planes = y.par_chunks_mut(oh * ow).zip(argmax.par_chunks_mut(oh * ow)).zip(x.par_chunks(h * w));
    if g.k == 2 && g.stride == 2 && g.pad == 0 {
        // Several planes per task: a 14 × 14 plane is too little work to schedule alone.
        return planes.with_min_len(16).for_each(|((y, am), x)| max_pool_2x2_plane(w, ow, x, y, am));
    }
    planes.for_each(|((y, am), x)| {
        for oy in 0..oh {
            let (y_lo, y_hi) = window(oy, g, h);
            for ox in 0..ow {
                let (x_lo, x_hi) = window(ox, g, w);
                let mut best_i = y_lo * w + x_lo;
                let mut best = x[best_i];
                for iy in y_lo..y_hi {
                    for (ix, &v) in x[iy * w..][x_lo..x_hi].iter().enumerate() {
                        if beats(v, best) {
                            best = v;
                            best_i = iy * w + x_lo + ix;
                        }
                    }
                }
                y[oy * ow + ox] = best;
                am[oy * ow + ox] = best_i as u32;
            }
        }
    });
}

/// Routes each `dy` to its window's winner; `dx` is overwritten (zeros elsewhere).
/// Where windows overlap, a cell that wins several collects the sum, added in row-major `dy` order.
pub fn max_pool2d_backward(g: &Pool2dGeom, dy: &[f32], argmax: &[u32], dx: &mut [f32]) {
    g.check("max_pool2d_backward", dx.len(), dy.len(), argmax.len());
    let (h, w, oh, ow) = (g.h, g.w, g.oh(), g.ow());
    if dx.is_empty() {
        return;
    }
    dx.par_chunks_mut(h * w).zip(dy.par_chunks(oh * ow)).zip(argmax.par_chunks(oh * ow)).for_each(|((dx, dy), am)| {
        dx.fill(0.0);
        for (&d, &i) in dy.iter().zip(am) {
            dx[i as usize] += d;
        }
    });
}

/// Plain-loop forward, the reference `max_pool2d_forward` is checked against: every window cell
/// in row-major order, padded ones skipped.
pub fn max_pool2d_forward_reference(g: &Pool2dGeom, x: &[f32], y: &mut [f32], argmax: &mut [u32]) {
    g.check("max_pool2d_forward_reference", x.len(), y.len(), argmax.len());
    let (h, w, oh, ow) = (g.h, g.w, g.oh(), g.ow());
    for nc in 0..g.n * g.c {
        for oy in 0..oh {
            for ox in 0..ow {
                let mut best: Option<(f32, usize)> = None;
                for a in 0..g.k {
                    for b in 0..g.k {
                        let iy = (oy * g.stride + a) as isize - g.pad as isize;
                        let ix = (ox * g.stride + b) as isize - g.pad as isize;
                        if iy < 0 || ix < 0 || iy >= h as isize || ix >= w as isize {
                            continue;
                        }
                        let i = iy as usize * w + ix as usize;
                        let v = x[nc * h * w + i];
                        if best.is_none_or(|(bv, _)| beats(v, bv)) {
                            best = Some((v, i));
                        }
                    }
                }
                let (v, i) = best.expect("max_pool2d_forward_reference: window without real cells");
                y[(nc * oh + oy) * ow + ox] = v;
                argmax[(nc * oh + oy) * ow + ox] = i as u32;
            }
        }
    }
}

/// Plain-loop backward: scatter every `dy` onto its recorded winner.
pub fn max_pool2d_backward_reference(g: &Pool2dGeom, dy: &[f32], argmax: &[u32], dx: &mut [f32]) {
    g.check("max_pool2d_backward_reference", dx.len(), dy.len(), argmax.len());
    let (hw, ohw) = (g.h * g.w, g.oh() * g.ow());
    dx.fill(0.0);
    for (o, (&d, &i)) in dy.iter().zip(argmax).enumerate() {
        dx[(o / ohw) * hw + i as usize] += d;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn geom() -> impl Strategy<Value = Pool2dGeom> {
        (1usize..=3, 1usize..=5, 1usize..=5, 1usize..=3).prop_flat_map(|(n, c, k, stride)| {
            let pads = 0..=k / 2;
            (Just((n, c, k, stride)), pads).prop_flat_map(|((n, c, k, stride), pad)| {
                let min = k.saturating_sub(2 * pad).max(1);
                (min..min + 9, min..min + 9).prop_map(move |(h, w)| Pool2dGeom { n, c, h, w, k, stride, pad })
            })
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        /// Small integer values make ties frequent, so the tie rule is exercised too. Max is
        /// exact and the backward adds the same terms in the same order: exact equality.
        #[test]
        fn fast_matches_reference(
            g in geom(),
            xs in prop::collection::vec(-3i8..=3, 1..=2000),
            ds in prop::collection::vec(-1.0f32..1.0, 1..=2000),
        ) {
            let x: Vec<f32> = (0..g.x_len()).map(|i| xs[i % xs.len()] as f32 * 0.5).collect();
            let dy: Vec<f32> = (0..g.y_len()).map(|i| ds[i % ds.len()] + 2.0).collect();
            let (mut y, mut am) = (vec![f32::NAN; g.y_len()], vec![u32::MAX; g.y_len()]);
            let (mut y_ref, mut am_ref) = (vec![f32::NAN; g.y_len()], vec![u32::MAX; g.y_len()]);
            max_pool2d_forward(&g, &x, &mut y, &mut am);
            max_pool2d_forward_reference(&g, &x, &mut y_ref, &mut am_ref);
            prop_assert_eq!(&y, &y_ref);
            prop_assert_eq!(&am, &am_ref);

            let (mut dx, mut dx_ref) = (vec![f32::NAN; g.x_len()], vec![f32::NAN; g.x_len()]);
            max_pool2d_backward(&g, &dy, &am, &mut dx);
            max_pool2d_backward_reference(&g, &dy, &am_ref, &mut dx_ref);
            prop_assert_eq!(&dx, &dx_ref);
            // Nothing is lost or invented: the gradient mass is conserved.
            let (sd, sx) = (dy.iter().map(|&v| v as f64).sum::<f64>(), dx.iter().map(|&v| v as f64).sum::<f64>());
            prop_assert!((sd - sx).abs() <= 1e-5 * sd.abs().max(1.0));
        }
    }

    /// The 2 × 2 fast path on odd and even planes (odd ones drop the last row and column),
    /// ties, NaN and negative values, against the reference; exact equality.
    #[test]
    fn two_by_two_matches_reference() {
        for (n, c, h, w) in [(1, 1, 2, 2), (2, 3, 7, 7), (1, 2, 5, 9), (3, 1, 28, 28), (2, 5, 14, 13), (40, 2, 4, 6)] {
            let g = Pool2dGeom { n, c, h, w, k: 2, stride: 2, pad: 0 };
            let mut x: Vec<f32> = (0..g.x_len()).map(|i| ((i * 7919 % 13) as f32 - 6.0) * 0.5).collect();
            for i in (0..x.len()).step_by(11) {
                x[i] = f32::NAN;
            }
            let (mut y, mut am) = (vec![0.0; g.y_len()], vec![u32::MAX; g.y_len()]);
            let (mut y_ref, mut am_ref) = (vec![0.0; g.y_len()], vec![u32::MAX; g.y_len()]);
            max_pool2d_forward(&g, &x, &mut y, &mut am);
            max_pool2d_forward_reference(&g, &x, &mut y_ref, &mut am_ref);
            assert_eq!(am, am_ref, "{g:?}");
            let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&y), bits(&y_ref), "{g:?}");
        }
    }

    #[test]
    fn padding_never_wins_and_ties_go_first() {
        // All negative: a padded zero would win if padding took part.
        let g = Pool2dGeom { n: 1, c: 1, h: 2, w: 3, k: 2, stride: 1, pad: 1 };
        let x = [-1.0, -1.0, -5.0, -4.0, -2.0, -2.0];
        let (mut y, mut am) = (vec![f32::NAN; g.y_len()], vec![0; g.y_len()]);
        max_pool2d_forward(&g, &x, &mut y, &mut am);
        // 3×4 output; windows at rows -1..1, 0..2, 1..3 and columns -1..1, 0..2, 1..3, 2..4.
        assert_eq!(y, [-1.0, -1.0, -1.0, -5.0, -1.0, -1.0, -1.0, -2.0, -4.0, -2.0, -2.0, -2.0]);
        assert_eq!(am, [0, 0, 1, 2, 0, 0, 1, 5, 3, 4, 4, 5]);
    }

    #[test]
    fn overlapping_windows_sum() {
        // 3×3 window, stride 1 on a 3×4 input: the centre max wins both windows.
        let g = Pool2dGeom { n: 1, c: 1, h: 3, w: 4, k: 3, stride: 1, pad: 0 };
        let x = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 9.0, 0.0, 0.0, 0.0, 0.0, 0.0];
        let (mut y, mut am) = (vec![f32::NAN; 2], vec![0; 2]);
        max_pool2d_forward(&g, &x, &mut y, &mut am);
        assert_eq!(am, [6, 6]);
        let mut dx = vec![f32::NAN; 12];
        max_pool2d_backward(&g, &[1.5, 2.0], &am, &mut dx);
        assert_eq!(dx, [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 3.5, 0.0, 0.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn nan_propagates() {
        let g = Pool2dGeom { n: 1, c: 1, h: 2, w: 2, k: 2, stride: 2, pad: 0 };
        let (mut y, mut am) = (vec![0.0; 1], vec![0; 1]);
        max_pool2d_forward(&g, &[1.0, f32::NAN, 3.0, f32::NAN], &mut y, &mut am);
        assert!(y[0].is_nan());
        assert_eq!(am, [1]);
    }
}
