//! A LeNet block's tail in training mode as one kernel each way: batch norm without affine
//! parameters (batch statistics), ReLU or leaky ReLU, and 2 × 2 max pooling with stride 2.
//! Layout `n × c × h × w`; the pooled output is `n × c × ⌊h/2⌋ × ⌊w/2⌋`.
//!
//! Composed ([`super::norm::batch_norm_act_train_forward`], then [`super::pool`]), the block
//! wrote the full-size activation only for the pool to read it back, and its backward wrote a
//! full-size gradient that is zero in three cells of every four for the batch norm to read
//! twice: six passes over full-size planes each way. Here the forward pools each activated plane
//! while it is in L1 and writes only `x̂` (which the backward needs) and the pooled output; the
//! backward reads the pooled gradient where it lands, at each window's winner. Forward: three
//! reads and one write of the planes; backward: two reads and one write.
//!
//! The results are bit-identical to the composed kernels': the same activation and the same
//! window order pick the same winners, and the backward's per-channel sums add the winners'
//! terms in the order and lanes the composed sums add them (with exact zeros in between).

use rayon::prelude::*;

use super::norm::{act, act_grad, add_row_to_lanes, combine_lanes, normaliser, L};
use super::pool::max_pool_2x2_plane;
use super::vector::{wide, Loop};

fn check(what: &str, n: usize, c: usize, h: usize, w: usize, full: &[usize], pooled: &[usize]) {
    assert!(h >= 2 && w >= 2, "{what}: a 2 × 2 window needs planes of at least 2 × 2, got {h} × {w}");
    assert!(c == 0 || n > 0, "{what}: batch statistics over an empty batch");
    let (f, p) = (n * c * h * w, n * c * (h / 2) * (w / 2));
    assert!(
        full.iter().all(|&l| l == f) && pooled.iter().all(|&l| l == p),
        "{what}: slice lengths {full:?} / {pooled:?} do not match n {n} × c {c} × {h} × {w}"
    );
}

/// Forward: writes `x̂` (full size), the pooled activation `y`, each window's winner `argmax`
/// (index within its `h × w` plane, as [`super::pool::max_pool2d_forward`] gives it) and the
/// batch `mean` and biased `var` per channel.
#[allow(clippy::too_many_arguments)]
pub fn batch_norm_act_pool_train_forward(
    n: usize,
    c: usize,
    h: usize,
    w: usize,
    x: &[f32],
    eps: f32,
    slope: f32,
    xhat: &mut [f32],
    y: &mut [f32],
    argmax: &mut [u32],
    mean: &mut [f32],
    var: &mut [f32],
) {
    let what = "batch_norm_act_pool_train_forward";
    check(what, n, c, h, w, &[x.len(), xhat.len()], &[y.len(), argmax.len()]);
    assert!(mean.len() == c && var.len() == c, "{what}: mean and var need {c} floats");
    let Some(scale) = normaliser(n, c, h * w, x, eps, mean, var) else { return };
    let (hw, pooled) = (h * w, (h / 2) * (w / 2));
    xhat.par_chunks_mut(c * hw)
        .zip(x.par_chunks(c * hw))
        .zip(y.par_chunks_mut(c * pooled).zip(argmax.par_chunks_mut(c * pooled)))
        .for_each_init(
            || vec![0.0f32; hw],
            |a, ((xhat, x), (y, am))| wide(ForwardSample { scale: &scale, slope, w, x, xhat, y, am, a }),
        );
}

/// One sample of the forward, plane by plane: `x̂` and its activation `a` (the pool's input,
/// kept in L1), then the pooled `y` and `argmax`. (A [`wide`] call per plane cost more than the
/// work on the CIFAR LeNet's 8 × 8 planes.)
struct ForwardSample<'a> {
    scale: &'a [(f64, f64)],
    slope: f32,
    w: usize,
    x: &'a [f32],
    xhat: &'a mut [f32],
    y: &'a mut [f32],
    am: &'a mut [u32],
    a: &'a mut [f32],
}

impl Loop for ForwardSample<'_> {
    type Out = ();
    #[inline(always)]
    fn run(self) {
        let ForwardSample { scale, slope, w, x, xhat, y, am, a } = self;
        let (hw, pooled) = (a.len(), y.len() / scale.len());
        let planes = xhat.chunks_exact_mut(hw).zip(x.chunks_exact(hw)).zip(y.chunks_exact_mut(pooled));
        for (((xhat, x), y), (am, &(mu, invstd))) in planes.zip(am.chunks_exact_mut(pooled).zip(scale)) {
            for ((a, h), &x) in a.iter_mut().zip(xhat.iter_mut()).zip(x) {
                *h = ((x as f64 - mu) * invstd) as f32;
                *a = act(*h, slope);
            }
            max_pool_2x2_plane(w, w / 2, a, y, am);
        }
    }
}

/// One channel's `Σ dz` and `Σ dz·x̂` over the batch, in lanes. Per plane, `dz` — the
/// activation's gradient at each window's winner, zero elsewhere — is laid out in `dz` (L1) and
/// summed cell by cell, as the composed kernel sums the full-size gradient.
struct ChannelSums<'a> {
    c: usize,
    ch: usize,
    slope: f32,
    xhat: &'a [f32],
    dy: &'a [f32],
    argmax: &'a [u32],
    dz: &'a mut [f32],
}

impl Loop for ChannelSums<'_> {
    type Out = ([f64; L], [f64; L]);
    #[inline(always)]
    fn run(self) -> Self::Out {
        let ChannelSums { c, ch, slope, xhat, dy, argmax, dz } = self;
        let (hw, pooled) = (dz.len(), dy.len() / (xhat.len() / dz.len()));
        let (mut l0, mut l1) = ([0.0f64; L], [0.0f64; L]);
        for s in 0..xhat.len() / (c * hw) {
            let (xhat, win) = (&xhat[(s * c + ch) * hw..][..hw], (s * c + ch) * pooled);
            dz.fill(0.0);
            for (&d, &i) in dy[win..][..pooled].iter().zip(&argmax[win..][..pooled]) {
                // `0 + d`: the composed pool backward adds the gradient into a zeroed plane.
                dz[i as usize] = act_grad(xhat[i as usize], 0.0 + d, slope);
            }
            // The lanes and order of the composed kernel's sums, whose gradient is `dz` too.
            add_row_to_lanes(dz, xhat, &|d, h| (d as f64, d as f64 * h as f64), &mut l0, &mut l1);
        }
        (l0, l1)
    }
}

/// Backward: `dx` (full size, overwritten) from `x̂`, the batch `var` and the pooled gradient
/// `dy` with the forward's `argmax`. Only the winners carry a gradient through the pool, so
/// `dz` is zero elsewhere; per plane it is laid out in L1 and summed as the composed kernel sums
/// the full-size gradient (in the same lanes and order, so to the same bits), and
/// `dx = invstd·(dx̂ − Σdz/m − x̂·Σdz·x̂/m)` with `dx̂ = dz` at winners and 0 elsewhere.
#[allow(clippy::too_many_arguments)]
pub fn batch_norm_act_pool_train_backward(
    n: usize,
    c: usize,
    h: usize,
    w: usize,
    xhat: &[f32],
    var: &[f32],
    eps: f32,
    slope: f32,
    dy: &[f32],
    argmax: &[u32],
    dx: &mut [f32],
) {
    let what = "batch_norm_act_pool_train_backward";
    check(what, n, c, h, w, &[xhat.len(), dx.len()], &[dy.len(), argmax.len()]);
    assert_eq!(var.len(), c, "{what}: var needs {c} floats");
    if dx.is_empty() {
        return;
    }
    let (hw, oh, ow) = (h * w, h / 2, w / 2);
    let pooled = oh * ow;
    let m = (n * hw) as f64;
    let coef: Vec<(f64, f64, f64)> = (0..c)
        .into_par_iter()
        .map(|ch| {
            let mut dz = vec![0.0f32; hw];
            let (l0, l1) = wide(ChannelSums { c, ch, slope, xhat, dy, argmax, dz: &mut dz });
            let invstd = 1.0 / (var[ch] as f64 + eps as f64).sqrt();
            (invstd, combine_lanes(l0) / m, combine_lanes(l1) / m)
        })
        .collect();
    dx.par_chunks_mut(c * hw)
        .zip(xhat.par_chunks(c * hw))
        .zip(dy.par_chunks(c * pooled).zip(argmax.par_chunks(c * pooled)))
        .for_each(|((dx, xhat), (dy, am))| wide(GradSample { coef: &coef, slope, xhat, dy, am, dx }));
}

/// One sample's `dx`, plane by plane: every cell as if no gradient arrived (`dx̂ = 0`), then the
/// winners' cells again with theirs.
struct GradSample<'a> {
    coef: &'a [(f64, f64, f64)],
    slope: f32,
    xhat: &'a [f32],
    dy: &'a [f32],
    am: &'a [u32],
    dx: &'a mut [f32],
}

impl Loop for GradSample<'_> {
    type Out = ();
    #[inline(always)]
    fn run(self) {
        let GradSample { coef, slope, xhat, dy, am, dx } = self;
        let (hw, pooled) = (xhat.len() / coef.len(), dy.len() / coef.len());
        let planes = dx.chunks_exact_mut(hw).zip(xhat.chunks_exact(hw));
        for ((dx, xhat), ((dy, am), &(invstd, mdy, mdyy))) in
            planes.zip(dy.chunks_exact(pooled).zip(am.chunks_exact(pooled)).zip(coef))
        {
            for (dx, &hv) in dx.iter_mut().zip(xhat) {
                // `0 − mdy` is `−mdy` exactly: the composed kernel's expression with `dx̂ = 0`.
                *dx = (invstd * (0.0 - mdy - hv as f64 * mdyy)) as f32;
            }
            for (&d, &i) in dy.iter().zip(am) {
                let (i, hv) = (i as usize, xhat[i as usize]);
                let dxhat = act_grad(hv, 0.0 + d, slope) as f64;
                dx[i] = (invstd * (dxhat - mdy - hv as f64 * mdyy)) as f32;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::norm::{batch_norm_act_train_backward, batch_norm_act_train_forward};
    use super::super::pool::{max_pool2d_backward, max_pool2d_forward, Pool2dGeom};
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        /// Bit for bit the composed kernels' results, odd plane sides (an unpooled last row or
        /// column) and ties (repeated values) included.
        #[test]
        fn fused_block_equals_the_composed_kernels(
            n in 1usize..4, c in 1usize..4, h in 2usize..9, w in 2usize..9,
            slope in prop::sample::select(vec![0.0f32, 0.1, 0.01]),
            seed in 0u32..1000,
            ties in any::<bool>(),
        ) {
            let len = n * c * h * w;
            let value = |i: usize, k: u32| {
                let v = ((i as u32).wrapping_mul(2654435761).wrapping_add(seed.wrapping_mul(k)) % 1000) as f32 / 100.0 - 5.0;
                if ties { v.round() } else { v }
            };
            let x: Vec<f32> = (0..len).map(|i| value(i, 7)).collect();
            let g = Pool2dGeom { n, c, h, w, k: 2, stride: 2, pad: 0 };
            let pooled = n * c * g.oh() * g.ow();
            let dy: Vec<f32> = (0..pooled).map(|i| value(i, 13)).collect();
            let eps = 1e-4;

            let (mut xh0, mut a0, mut m0, mut v0) = (vec![0.0; len], vec![0.0; len], vec![0.0; c], vec![0.0; c]);
            batch_norm_act_train_forward(n, c, h * w, &x, eps, None, slope, &mut xh0, &mut a0, &mut m0, &mut v0);
            let (mut y0, mut am0) = (vec![0.0; pooled], vec![0u32; pooled]);
            max_pool2d_forward(&g, &a0, &mut y0, &mut am0);
            let mut da0 = vec![0.0; len];
            max_pool2d_backward(&g, &dy, &am0, &mut da0);
            let mut dx0 = vec![0.0; len];
            batch_norm_act_train_backward(n, c, h * w, &xh0, &v0, eps, None, slope, &da0, &mut dx0, None, None);

            let (mut xh, mut y, mut am) = (vec![f32::NAN; len], vec![f32::NAN; pooled], vec![u32::MAX; pooled]);
            let (mut m, mut v) = (vec![f32::NAN; c], vec![f32::NAN; c]);
            batch_norm_act_pool_train_forward(n, c, h, w, &x, eps, slope, &mut xh, &mut y, &mut am, &mut m, &mut v);
            let mut dx = vec![f32::NAN; len];
            batch_norm_act_pool_train_backward(n, c, h, w, &xh, &v, eps, slope, &dy, &am, &mut dx);

            let bits = |a: &[f32]| a.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            prop_assert_eq!(bits(&xh), bits(&xh0));
            prop_assert_eq!(bits(&y), bits(&y0));
            prop_assert_eq!(&am, &am0);
            prop_assert_eq!(bits(&m), bits(&m0));
            prop_assert_eq!(bits(&v), bits(&v0));
            prop_assert_eq!(bits(&dx), bits(&dx0));
        }
    }
}
