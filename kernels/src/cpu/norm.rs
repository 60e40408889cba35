//! Batch normalisation without affine parameters, and the per-channel affine map `γ·x + β`
//! that the engine applies after it (and uses for evaluation mode): one pass each way instead of
//! a broadcast multiply and add and their reductions.
//! Layout: `n × c × spatial` (spatial = h·w for images, 1 for dense features).
//!
//! The per-channel reductions run in parallel over channels, each one a fixed sequential loop
//! accumulated in f64 (so the result does not depend on the thread count); the elementwise
//! passes run in parallel over samples.

use rayon::prelude::*;

use crate::cpu::vector::{wide, Loop};

/// `full`: lengths of the `n × c × spatial` slices; `per_channel`: lengths of the `c` ones.
fn check(what: &str, n: usize, c: usize, spatial: usize, full: &[usize], per_channel: &[usize]) {
    assert!(c == 0 || n * spatial > 0, "{what}: batch statistics over an empty batch (n {n}, spatial {spatial})");
    assert!(
        full.iter().all(|&l| l == n * c * spatial) && per_channel.iter().all(|&l| l == c),
        "{what}: slice lengths {full:?} (per channel {per_channel:?}) do not match \
         n {n} × c {c} × spatial {spatial}"
    );
}

/// `Σ f(a[i], b[i])` over the batch and spatial positions of channel `ch` (`b` may be empty when
/// `f` ignores it), in f64, in a fixed order: 8 running lanes (element `j` of each spatial row
/// goes to lane `j mod 8`), combined pairwise at the end. A single running sum is bound by the
/// f64 add latency (4 cycles per element); the lanes vectorise.
#[allow(clippy::too_many_arguments)]
fn channel_sum(
    n: usize,
    c: usize,
    spatial: usize,
    ch: usize,
    a: &[f32],
    b: &[f32],
    f: impl Fn(f32, f32) -> f64,
) -> f64 {
    let (sum, _) = channel_sum2(n, c, spatial, ch, a, b, |u, v| (f(u, v), 0.0));
    sum
}

/// [`channel_sum`] of two functions at once, in one pass over the data; each sum is added in
/// the same order as by [`channel_sum`].
#[allow(clippy::too_many_arguments)]
fn channel_sum2(
    n: usize,
    c: usize,
    spatial: usize,
    ch: usize,
    a: &[f32],
    b: &[f32],
    f: impl Fn(f32, f32) -> (f64, f64),
) -> (f64, f64) {
    let (l0, l1) = wide(ChannelLanes { n, c, spatial, ch, a, b, f });
    (combine_lanes(l0), combine_lanes(l1))
}

/// Lanes per running sum of [`channel_sum2`].
pub(crate) const L: usize = 8;

/// The running lanes' total, added pairwise in a fixed order.
pub(crate) fn combine_lanes(mut lanes: [f64; L]) -> f64 {
    let mut width = L;
    while width > 1 {
        width /= 2;
        for i in 0..width {
            lanes[i] += lanes[i + width];
        }
    }
    lanes[0]
}

/// Adds `f(a[j], b[j])`'s two terms into lanes `j mod L` of `l0` and `l1`, `j` ascending: one
/// row of the per-channel sums (inlined into a [`wide`] loop).
#[inline(always)]
pub(crate) fn add_row_to_lanes(
    ra: &[f32],
    rb: &[f32],
    f: &impl Fn(f32, f32) -> (f64, f64),
    l0: &mut [f64; L],
    l1: &mut [f64; L],
) {
    let (ca, cb) = (ra.chunks_exact(L), rb.chunks_exact(L));
    let (ta, tb) = (ca.remainder(), cb.remainder());
    for (xa, xb) in ca.zip(cb) {
        // The two sums in separate arrays, then separate adds: computed as pairs, the
        // compiler packed each (first, second) pair into one vector.
        let (mut u, mut v) = ([0.0f64; L], [0.0f64; L]);
        for j in 0..L {
            (u[j], v[j]) = f(xa[j], xb[j]);
        }
        for j in 0..L {
            l0[j] += u[j];
        }
        for j in 0..L {
            l1[j] += v[j];
        }
    }
    for (j, (&x, &y)) in ta.iter().zip(tb).enumerate() {
        let (u, v) = f(x, y);
        l0[j] += u;
        l1[j] += v;
    }
}

/// The running lanes of [`channel_sum2`]'s two sums.
struct ChannelLanes<'a, F> {
    n: usize,
    c: usize,
    spatial: usize,
    ch: usize,
    a: &'a [f32],
    b: &'a [f32],
    f: F,
}

impl<F: Fn(f32, f32) -> (f64, f64)> Loop for ChannelLanes<'_, F> {
    type Out = ([f64; L], [f64; L]);
    #[inline(always)]
    fn run(self) -> Self::Out {
        let ChannelLanes { n, c, spatial, ch, a, b, f } = self;
        let (mut l0, mut l1) = ([0.0f64; L], [0.0f64; L]);
        for s in 0..n {
            let base = (s * c + ch) * spatial;
            let ra = &a[base..base + spatial];
            let rb = if b.is_empty() { ra } else { &b[base..base + spatial] };
            add_row_to_lanes(ra, rb, &f, &mut l0, &mut l1);
        }
        (l0, l1)
    }
}

/// Per-channel mean and biased variance, two passes in f64: the mean first, then the squared
/// deviations from it. The one-pass E[x²] − E[x]² cancels catastrophically when |mean| ≫ std
/// (e.g. raw pixel values).
fn batch_stats(n: usize, c: usize, spatial: usize, x: &[f32], mean: &mut [f32], var: &mut [f32]) -> Vec<(f64, f64)> {
    let m = (n * spatial) as f64;
    let stats: Vec<(f64, f64)> = (0..c)
        .into_par_iter()
        .map(|ch| {
            let mu = channel_sum(n, c, spatial, ch, x, &[], |u, _| u as f64) / m;
            let var = channel_sum(n, c, spatial, ch, x, &[], |u, _| {
                let d = u as f64 - mu;
                d * d
            }) / m;
            (mu, var)
        })
        .collect();
    for ((mo, vo), &(mu, v)) in mean.iter_mut().zip(var.iter_mut()).zip(&stats) {
        *mo = mu as f32;
        *vo = v as f32;
    }
    stats
}

/// The batch statistics of `x` into `mean` and `var`, and per channel `(mean, 1/√(var + eps))`
/// to normalise with; `None`, with the statistics zeroed, for an empty batch.
#[allow(clippy::too_many_arguments)]
pub(crate) fn normaliser(
    n: usize,
    c: usize,
    spatial: usize,
    x: &[f32],
    eps: f32,
    mean: &mut [f32],
    var: &mut [f32],
) -> Option<Vec<(f64, f64)>> {
    if x.is_empty() {
        mean.fill(0.0);
        var.fill(0.0);
        return None;
    }
    let stats = batch_stats(n, c, spatial, x, mean, var);
    Some(stats.iter().map(|&(mu, v)| (mu, 1.0 / (v + eps as f64).sqrt())).collect())
}

/// Training mode: normalises with the batch statistics of each channel.
/// Writes `y`, the per-channel `mean` and the biased variance `var` (what PyTorch normalises
/// with; the running estimate wants the unbiased one, which the engine derives).
#[allow(clippy::too_many_arguments)]
pub fn batch_norm_train_forward(
    n: usize,
    c: usize,
    spatial: usize,
    x: &[f32],
    eps: f32,
    y: &mut [f32],
    mean: &mut [f32],
    var: &mut [f32],
) {
    check("batch_norm_train_forward", n, c, spatial, &[x.len(), y.len()], &[mean.len(), var.len()]);
    let Some(scale) = normaliser(n, c, spatial, x, eps, mean, var) else { return };
    y.par_chunks_mut(c * spatial)
        .zip(x.par_chunks(c * spatial))
        .for_each(|(y, x)| wide(NormaliseSample { spatial, scale: &scale, x, y }));
}

/// One sample of [`batch_norm_train_forward`]'s output.
struct NormaliseSample<'a> {
    spatial: usize,
    scale: &'a [(f64, f64)],
    x: &'a [f32],
    y: &'a mut [f32],
}

impl Loop for NormaliseSample<'_> {
    type Out = ();
    #[inline(always)]
    fn run(self) {
        let NormaliseSample { spatial, scale, x, y } = self;
        for ((y, x), &(mu, invstd)) in y.chunks_exact_mut(spatial).zip(x.chunks_exact(spatial)).zip(scale) {
            for (y, &x) in y.iter_mut().zip(x) {
                *y = ((x as f64 - mu) * invstd) as f32;
            }
        }
    }
}

/// Gradient of the training-mode normalisation: with `x̂ = y` (the forward output) and
/// `invstd = 1/√(var+eps)`, `dx = invstd · (dy − mean(dy) − x̂ · mean(dy · x̂))` per channel.
#[allow(clippy::too_many_arguments)]
pub fn batch_norm_train_backward(
    n: usize,
    c: usize,
    spatial: usize,
    y: &[f32],
    var: &[f32],
    eps: f32,
    dy: &[f32],
    dx: &mut [f32],
) {
    check("batch_norm_train_backward", n, c, spatial, &[y.len(), dy.len(), dx.len()], &[var.len()]);
    if dx.is_empty() {
        return;
    }
    let m = (n * spatial) as f64;
    let coef: Vec<(f64, f64, f64)> = (0..c)
        .into_par_iter()
        .map(|ch| {
            let mean_dy = channel_sum(n, c, spatial, ch, dy, &[], |u, _| u as f64) / m;
            let mean_dy_y = channel_sum(n, c, spatial, ch, dy, y, |u, v| u as f64 * v as f64) / m;
            (1.0 / (var[ch] as f64 + eps as f64).sqrt(), mean_dy, mean_dy_y)
        })
        .collect();
    dx.par_chunks_mut(c * spatial)
        .zip(dy.par_chunks(c * spatial))
        .zip(y.par_chunks(c * spatial))
        .for_each(|((dx, dy), y)| wide(NormaliseGradSample { spatial, coef: &coef, y, dy, dx }));
}

/// One sample of [`batch_norm_train_backward`]'s `dx`.
struct NormaliseGradSample<'a> {
    spatial: usize,
    coef: &'a [(f64, f64, f64)],
    y: &'a [f32],
    dy: &'a [f32],
    dx: &'a mut [f32],
}

impl Loop for NormaliseGradSample<'_> {
    type Out = ();
    #[inline(always)]
    fn run(self) {
        let NormaliseGradSample { spatial, coef, y, dy, dx } = self;
        for (((dx, dy), y), &(invstd, mdy, mdyy)) in
            dx.chunks_exact_mut(spatial).zip(dy.chunks_exact(spatial)).zip(y.chunks_exact(spatial)).zip(coef)
        {
            for ((dx, &dy), &y) in dx.iter_mut().zip(dy).zip(y) {
                *dx = (invstd * (dy as f64 - mdy - y as f64 * mdyy)) as f32;
            }
        }
    }
}

/// The activation of [`batch_norm_act_train_forward`]: ReLU (`slope` 0) or leaky ReLU, written
/// exactly as the unfused activation kernels compute it, so the fused and composed layers agree.
#[inline(always)]
pub(crate) fn act(z: f32, slope: f32) -> f32 {
    if slope == 0.0 {
        z.max(0.0)
    } else {
        let neg = slope * z;
        if z > 0.0 {
            z
        } else {
            neg
        }
    }
}

/// A batch-norm layer in training mode with its activation, as one kernel each way: `x̂` from
/// the batch statistics, `z = γ·x̂ + β` (per channel; `z = x̂` without `affine`), and
/// `y = max(z, slope·z)` (ReLU for `slope` 0). Writes `x̂` (the backward needs it), `y` and the
/// batch `mean` and biased `var`.
///
/// Composed from [`batch_norm_train_forward`], [`channel_affine_forward`] and the activation,
/// the layer took four passes over the activations forward and five or six backward (the
/// leaky-ReLU backward alone was 7 % of the CIFAR LeNet's training step); fused, three and two.
/// The arithmetic is the composed layer's, element for element.
#[allow(clippy::too_many_arguments)]
pub fn batch_norm_act_train_forward(
    n: usize,
    c: usize,
    spatial: usize,
    x: &[f32],
    eps: f32,
    affine: Option<(&[f32], &[f32])>,
    slope: f32,
    xhat: &mut [f32],
    y: &mut [f32],
    mean: &mut [f32],
    var: &mut [f32],
) {
    check("batch_norm_act_train_forward", n, c, spatial, &[x.len(), xhat.len(), y.len()], &[mean.len(), var.len()]);
    if let Some((gamma, beta)) = affine {
        assert!(gamma.len() == c && beta.len() == c, "batch_norm_act_train_forward: γ, β lengths");
    }
    let Some(scale) = normaliser(n, c, spatial, x, eps, mean, var) else { return };
    let cs = c * spatial;
    y.par_chunks_mut(cs)
        .zip(xhat.par_chunks_mut(cs))
        .zip(x.par_chunks(cs))
        .for_each(|((y, xhat), x)| wide(NormaliseActSample { spatial, scale: &scale, affine, slope, x, xhat, y }));
}

/// One sample of [`batch_norm_act_train_forward`]'s `x̂` and `y`.
struct NormaliseActSample<'a> {
    spatial: usize,
    scale: &'a [(f64, f64)],
    affine: Option<(&'a [f32], &'a [f32])>,
    slope: f32,
    x: &'a [f32],
    xhat: &'a mut [f32],
    y: &'a mut [f32],
}

impl Loop for NormaliseActSample<'_> {
    type Out = ();
    #[inline(always)]
    fn run(self) {
        let NormaliseActSample { spatial, scale, affine, slope, x, xhat, y } = self;
        for (ch, ((y, xhat), x)) in
            y.chunks_exact_mut(spatial).zip(xhat.chunks_exact_mut(spatial)).zip(x.chunks_exact(spatial)).enumerate()
        {
            let (mu, invstd) = scale[ch];
            match affine {
                Some((gamma, beta)) => {
                    let (g, b) = (gamma[ch], beta[ch]);
                    for ((y, h), &x) in y.iter_mut().zip(xhat.iter_mut()).zip(x) {
                        *h = ((x as f64 - mu) * invstd) as f32;
                        *y = act(g * *h + b, slope);
                    }
                }
                None => {
                    for ((y, h), &x) in y.iter_mut().zip(xhat.iter_mut()).zip(x) {
                        *h = ((x as f64 - mu) * invstd) as f32;
                        *y = act(*h, slope);
                    }
                }
            }
        }
    }
}

/// Gradients of [`batch_norm_act_train_forward`] from `x̂`, the batch `var` and `dy`: `dx`, and
/// `dγ = Σ dz·x̂`, `dβ = Σ dz` when `affine` is given, where `dz = dy` where `z > 0` and
/// `slope·dy` elsewhere (`z` is recomputed from `x̂`, bit for bit as in the forward).
///
/// One pass gathers `Σ dz` and `Σ dz·x̂` per channel (f64, fixed order); with
/// `dx̂ = γ·dz` the batch-norm gradient is `dx = invstd·(dx̂ − γ·Σdz/m − x̂·γ·Σdz·x̂/m)`, written
/// in a second pass.
#[allow(clippy::too_many_arguments)]
pub fn batch_norm_act_train_backward(
    n: usize,
    c: usize,
    spatial: usize,
    xhat: &[f32],
    var: &[f32],
    eps: f32,
    affine: Option<(&[f32], &[f32])>,
    slope: f32,
    dy: &[f32],
    dx: &mut [f32],
    dgamma: Option<&mut [f32]>,
    dbeta: Option<&mut [f32]>,
) {
    check("batch_norm_act_train_backward", n, c, spatial, &[xhat.len(), dy.len(), dx.len()], &[var.len()]);
    let (gamma, beta) = match affine {
        Some((g, b)) => {
            assert!(g.len() == c && b.len() == c, "batch_norm_act_train_backward: γ, β lengths");
            (Some(g), Some(b))
        }
        None => (None, None),
    };
    let params = |ch: usize| (gamma.map_or(1.0, |g| g[ch]), beta.map_or(0.0, |b| b[ch]));
    let dz = move |z: f32, d: f32| act_grad(z, d, slope);
    let m = (n * spatial) as f64;
    let sums: Vec<[f64; 2]> = (0..c)
        .into_par_iter()
        .map(|ch| {
            let (g, b) = params(ch);
            let (s0, s1) = if affine.is_some() {
                channel_sum2(n, c, spatial, ch, dy, xhat, |d, h| {
                    let e = dz(g * h + b, d) as f64;
                    (e, e * h as f64)
                })
            } else {
                channel_sum2(n, c, spatial, ch, dy, xhat, |d, h| {
                    let e = dz(h, d) as f64;
                    (e, e * h as f64)
                })
            };
            [s0, s1]
        })
        .collect();
    if let Some(dg) = dgamma {
        assert_eq!(dg.len(), c, "batch_norm_act_train_backward: dγ length");
        dg.iter_mut().zip(&sums).for_each(|(d, s)| *d = s[1] as f32);
    }
    if let Some(db) = dbeta {
        assert_eq!(db.len(), c, "batch_norm_act_train_backward: dβ length");
        db.iter_mut().zip(&sums).for_each(|(d, s)| *d = s[0] as f32);
    }
    if dx.is_empty() {
        return;
    }
    let coef: Vec<(f64, f64, f64)> = (0..c)
        .map(|ch| {
            let g = params(ch).0 as f64;
            (1.0 / (var[ch] as f64 + eps as f64).sqrt(), g * sums[ch][0] / m, g * sums[ch][1] / m)
        })
        .collect();
    let cs = c * spatial;
    dx.par_chunks_mut(cs).zip(dy.par_chunks(cs)).zip(xhat.par_chunks(cs)).for_each(|((dx, dy), xhat)| {
        wide(NormaliseActGradSample { spatial, coef: &coef, affine, slope, xhat, dy, dx })
    });
}

/// `dz` from the activation's input `z` (recomputed from x̂ as the forward computed it).
#[inline(always)]
pub(crate) fn act_grad(z: f32, d: f32, slope: f32) -> f32 {
    let neg = slope * d;
    if z > 0.0 {
        d
    } else {
        neg
    }
}

/// One sample of [`batch_norm_act_train_backward`]'s `dx`.
struct NormaliseActGradSample<'a> {
    spatial: usize,
    coef: &'a [(f64, f64, f64)],
    affine: Option<(&'a [f32], &'a [f32])>,
    slope: f32,
    xhat: &'a [f32],
    dy: &'a [f32],
    dx: &'a mut [f32],
}

impl Loop for NormaliseActGradSample<'_> {
    type Out = ();
    #[inline(always)]
    fn run(self) {
        let NormaliseActGradSample { spatial, coef, affine, slope, xhat, dy, dx } = self;
        for (ch, ((dx, dy), xhat)) in
            dx.chunks_exact_mut(spatial).zip(dy.chunks_exact(spatial)).zip(xhat.chunks_exact(spatial)).enumerate()
        {
            let (invstd, mdy, mdyy) = coef[ch];
            match affine {
                Some((gamma, beta)) => {
                    let (g, b) = (gamma[ch], beta[ch]);
                    for ((dx, &d), &h) in dx.iter_mut().zip(dy).zip(xhat) {
                        let dxhat = (g * act_grad(g * h + b, d, slope)) as f64;
                        *dx = (invstd * (dxhat - mdy - h as f64 * mdyy)) as f32;
                    }
                }
                None => {
                    for ((dx, &d), &h) in dx.iter_mut().zip(dy).zip(xhat) {
                        let dxhat = act_grad(h, d, slope) as f64;
                        *dx = (invstd * (dxhat - mdy - h as f64 * mdyy)) as f32;
                    }
                }
            }
        }
    }
}

/// `y[s, ch, i] = scale[ch]·x[s, ch, i] + shift[ch]`: batch norm's affine part `γ·x̂ + β`, and
/// evaluation-mode batch norm (`scale = 1/√(var + eps)`, `shift = −mean·scale`).
#[allow(clippy::too_many_arguments)]
pub fn channel_affine_forward(
    n: usize,
    c: usize,
    spatial: usize,
    x: &[f32],
    scale: &[f32],
    shift: &[f32],
    y: &mut [f32],
) {
    assert!(
        x.len() == n * c * spatial && y.len() == x.len() && scale.len() == c && shift.len() == c,
        "channel_affine_forward: slice lengths (x {}, y {}, scale {}, shift {}) do not match \
         n {n} × c {c} × spatial {spatial}",
        x.len(),
        y.len(),
        scale.len(),
        shift.len()
    );
    if y.is_empty() {
        return;
    }
    y.par_chunks_mut(c * spatial).zip(x.par_chunks(c * spatial)).for_each(|(y, x)| {
        for ((y, x), (&a, &b)) in y.chunks_exact_mut(spatial).zip(x.chunks_exact(spatial)).zip(scale.iter().zip(shift))
        {
            for (y, &x) in y.iter_mut().zip(x) {
                *y = a * x + b;
            }
        }
    });
}

/// Gradients of [`channel_affine_forward`], each only when asked for: `dx = scale·dy`,
/// `dscale[ch] = Σ dy·x` and `dshift[ch] = Σ dy` over the batch and spatial positions (f64,
/// fixed order).
#[allow(clippy::too_many_arguments)]
pub fn channel_affine_backward(
    n: usize,
    c: usize,
    spatial: usize,
    x: &[f32],
    scale: &[f32],
    dy: &[f32],
    dx: Option<&mut [f32]>,
    dscale: Option<&mut [f32]>,
    dshift: Option<&mut [f32]>,
) {
    assert!(x.len() == n * c * spatial && dy.len() == x.len() && scale.len() == c, "channel_affine_backward: lengths");
    if let Some(dx) = dx {
        assert_eq!(dx.len(), x.len(), "channel_affine_backward: dx length");
        let zero = vec![0.0; c];
        channel_affine_forward(n, c, spatial, dy, scale, &zero, dx);
    }
    if let Some(dscale) = dscale {
        assert_eq!(dscale.len(), c, "channel_affine_backward: dscale length");
        let sums: Vec<f64> = (0..c)
            .into_par_iter()
            .map(|ch| channel_sum(n, c, spatial, ch, dy, x, |g, v| g as f64 * v as f64))
            .collect();
        dscale.iter_mut().zip(sums).for_each(|(d, v)| *d = v as f32);
    }
    if let Some(dshift) = dshift {
        assert_eq!(dshift.len(), c, "channel_affine_backward: dshift length");
        let sums: Vec<f64> =
            (0..c).into_par_iter().map(|ch| channel_sum(n, c, spatial, ch, dy, &[], |g, _| g as f64)).collect();
        dshift.iter_mut().zip(sums).for_each(|(d, v)| *d = v as f32);
    }
}

/// Plain-loop forward: two-pass f64 statistics per channel, then `(x − mean)/√(var + eps)`.
#[allow(clippy::too_many_arguments)]
pub fn batch_norm_train_forward_reference(
    n: usize,
    c: usize,
    spatial: usize,
    x: &[f32],
    eps: f32,
    y: &mut [f32],
    mean: &mut [f32],
    var: &mut [f32],
) {
    check("batch_norm_train_forward_reference", n, c, spatial, &[x.len(), y.len()], &[mean.len(), var.len()]);
    let idx = |s: usize, ch: usize, i: usize| (s * c + ch) * spatial + i;
    for ch in 0..c {
        let m = (n * spatial) as f64;
        let mut sum = 0.0f64;
        for s in 0..n {
            for i in 0..spatial {
                sum += x[idx(s, ch, i)] as f64;
            }
        }
        let mu = sum / m;
        let mut sq = 0.0f64;
        for s in 0..n {
            for i in 0..spatial {
                let d = x[idx(s, ch, i)] as f64 - mu;
                sq += d * d;
            }
        }
        let v = sq / m;
        let invstd = 1.0 / (v + eps as f64).sqrt();
        for s in 0..n {
            for i in 0..spatial {
                y[idx(s, ch, i)] = ((x[idx(s, ch, i)] as f64 - mu) * invstd) as f32;
            }
        }
        mean[ch] = mu as f32;
        var[ch] = v as f32;
    }
}

/// Plain-loop backward, the formula of `batch_norm_train_backward` channel by channel.
#[allow(clippy::too_many_arguments, clippy::needless_range_loop)]
pub fn batch_norm_train_backward_reference(
    n: usize,
    c: usize,
    spatial: usize,
    y: &[f32],
    var: &[f32],
    eps: f32,
    dy: &[f32],
    dx: &mut [f32],
) {
    check("batch_norm_train_backward_reference", n, c, spatial, &[y.len(), dy.len(), dx.len()], &[var.len()]);
    let idx = |s: usize, ch: usize, i: usize| (s * c + ch) * spatial + i;
    for ch in 0..c {
        let m = (n * spatial) as f64;
        let (mut sdy, mut sdyy) = (0.0f64, 0.0f64);
        for s in 0..n {
            for i in 0..spatial {
                let j = idx(s, ch, i);
                sdy += dy[j] as f64;
                sdyy += dy[j] as f64 * y[j] as f64;
            }
        }
        let invstd = 1.0 / (var[ch] as f64 + eps as f64).sqrt();
        for s in 0..n {
            for i in 0..spatial {
                let j = idx(s, ch, i);
                dx[j] = (invstd * (dy[j] as f64 - sdy / m - y[j] as f64 * (sdyy / m))) as f32;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// xorshift values in ±[0.1, 1): random, never zero.
    fn values(mut s: u64, len: usize) -> Vec<f32> {
        s |= 1;
        (0..len)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                let mag = 0.1 + 0.9 * ((s >> 40) as f32 / (1u64 << 24) as f32);
                if s & 1 == 0 {
                    mag
                } else {
                    -mag
                }
            })
            .collect()
    }

    /// Channel `ch`'s elements of an `n × c × spatial` tensor.
    fn channel(v: &[f32], n: usize, c: usize, spatial: usize, ch: usize) -> Vec<f64> {
        (0..n).flat_map(|s| (0..spatial).map(move |i| v[(s * c + ch) * spatial + i] as f64)).collect()
    }

    /// Fast vs reference on many shapes with poisoned outputs. Both compute in f64 and round once,
    /// so they agree to within 1e-6 of |y| ≲ a few (absolute 1e-5 stated).
    #[test]
    fn fast_matches_reference() {
        let mut seed = 17u64;
        for n in [1, 2, 5] {
            for c in [1, 3, 7] {
                for spatial in [1, 2, 9, 25] {
                    if n * spatial < 2 {
                        continue; // a single element has zero variance: y = 0, nothing to compare
                    }
                    seed += 1;
                    let len = n * c * spatial;
                    let x: Vec<f32> =
                        values(seed, len).iter().enumerate().map(|(i, v)| v * 3.0 + (i % c) as f32).collect();
                    let dy = values(seed ^ 0xabc, len);
                    let eps = 1e-5;
                    let (mut y, mut mean, mut var) = (vec![f32::NAN; len], vec![f32::NAN; c], vec![f32::NAN; c]);
                    let (mut y_r, mut mean_r, mut var_r) = (vec![f32::NAN; len], vec![f32::NAN; c], vec![f32::NAN; c]);
                    batch_norm_train_forward(n, c, spatial, &x, eps, &mut y, &mut mean, &mut var);
                    batch_norm_train_forward_reference(n, c, spatial, &x, eps, &mut y_r, &mut mean_r, &mut var_r);
                    for (a, b) in y.iter().zip(&y_r).chain(mean.iter().zip(&mean_r)).chain(var.iter().zip(&var_r)) {
                        assert!((a - b).abs() <= 1e-5 * (1.0 + b.abs()), "forward n{n} c{c} s{spatial}: {a} vs {b}");
                    }
                    let (mut dx, mut dx_r) = (vec![f32::NAN; len], vec![f32::NAN; len]);
                    batch_norm_train_backward(n, c, spatial, &y, &var, eps, &dy, &mut dx);
                    batch_norm_train_backward_reference(n, c, spatial, &y_r, &var_r, eps, &dy, &mut dx_r);
                    for (a, b) in dx.iter().zip(&dx_r) {
                        assert!((a - b).abs() <= 1e-5 * (1.0 + b.abs()), "backward n{n} c{c} s{spatial}: {a} vs {b}");
                    }
                }
            }
        }
    }

    /// The per-channel affine map and its gradients against plain index arithmetic in f64.
    /// The fused layer kernels against the three kernels they replace, with every output
    /// poisoned first: bit-identical forward (`x̂`, `y`, statistics); the backward's sums run in
    /// another order, so within rounding.
    #[test]
    fn fused_act_matches_composed_kernels() {
        use crate::cpu::activation::{unary_backward, unary_forward, Unary};
        for (n, c, spatial) in [(2, 1, 1), (3, 4, 49), (5, 3, 1), (2, 2, 37)] {
            for slope in [0.0, 0.1] {
                for affine in [false, true] {
                    let len = n * c * spatial;
                    let (x, dy) = (values(3, len), values(4, len));
                    let (gamma, beta) = (values(5, c), values(6, c));
                    let aff = affine.then_some((gamma.as_slice(), beta.as_slice()));
                    let act = if slope == 0.0 { Unary::Relu } else { Unary::LeakyRelu(slope) };
                    let eps = 1e-4;
                    // Composed: batch norm, the affine map, the activation; and back.
                    let (mut xh, mut m0, mut v0) = (vec![f32::NAN; len], vec![f32::NAN; c], vec![f32::NAN; c]);
                    batch_norm_train_forward(n, c, spatial, &x, eps, &mut xh, &mut m0, &mut v0);
                    let mut z = xh.clone();
                    if affine {
                        channel_affine_forward(n, c, spatial, &xh, &gamma, &beta, &mut z);
                    }
                    let mut y0 = vec![f32::NAN; len];
                    unary_forward(act, &z, &mut y0);
                    let mut dz = vec![f32::NAN; len];
                    unary_backward(act, &z, &y0, &dy, &mut dz);
                    let (mut dxh, mut dg0, mut db0) = (dz.clone(), vec![f32::NAN; c], vec![f32::NAN; c]);
                    if affine {
                        channel_affine_backward(
                            n,
                            c,
                            spatial,
                            &xh,
                            &gamma,
                            &dz,
                            Some(&mut dxh),
                            Some(&mut dg0),
                            Some(&mut db0),
                        );
                    }
                    let mut dx0 = vec![f32::NAN; len];
                    batch_norm_train_backward(n, c, spatial, &xh, &v0, eps, &dxh, &mut dx0);
                    // Fused.
                    let (mut xh1, mut y1, mut m1, mut v1) =
                        (vec![f32::NAN; len], vec![f32::NAN; len], vec![f32::NAN; c], vec![f32::NAN; c]);
                    batch_norm_act_train_forward(
                        n, c, spatial, &x, eps, aff, slope, &mut xh1, &mut y1, &mut m1, &mut v1,
                    );
                    let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(&xh1), bits(&xh));
                    assert_eq!(bits(&y1), bits(&y0), "n {n} c {c} sp {spatial} slope {slope} affine {affine}");
                    assert_eq!((bits(&m1), bits(&v1)), (bits(&m0), bits(&v0)));
                    let (mut dx1, mut dg1, mut db1) = (vec![f32::NAN; len], vec![f32::NAN; c], vec![f32::NAN; c]);
                    let (dg, db) =
                        if affine { (Some(dg1.as_mut_slice()), Some(db1.as_mut_slice())) } else { (None, None) };
                    batch_norm_act_train_backward(n, c, spatial, &xh1, &v1, eps, aff, slope, &dy, &mut dx1, dg, db);
                    let close =
                        |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(u, v)| (u - v).abs() <= 1e-5 * (1.0 + v.abs()));
                    assert!(
                        close(&dx1, &dx0),
                        "dx: n {n} c {c} sp {spatial} slope {slope} affine {affine}: {dx1:?} vs {dx0:?}"
                    );
                    if affine {
                        assert!(close(&dg1, &dg0) && close(&db1, &db0), "dγ/dβ: {dg1:?} {dg0:?} / {db1:?} {db0:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn channel_affine_matches_index_arithmetic() {
        for (n, c, spatial) in [(1, 1, 1), (3, 5, 49), (2, 7, 13), (4, 3, 1), (1, 2, 200)] {
            let len = n * c * spatial;
            let (x, dy) = (values(n as u64 * 31 + spatial as u64, len), values(len as u64 + 7, len));
            let (scale, shift) = (values(c as u64 + 3, c), values(c as u64 + 5, c));
            let ch = |i: usize| (i / spatial) % c;
            let mut y = vec![f32::NAN; len];
            channel_affine_forward(n, c, spatial, &x, &scale, &shift, &mut y);
            for (i, &v) in y.iter().enumerate() {
                let want = scale[ch(i)] as f64 * x[i] as f64 + shift[ch(i)] as f64;
                assert!((v as f64 - want).abs() <= 1e-6, "y[{i}] = {v}, want {want}");
            }
            let (mut dx, mut ds, mut db) = (vec![f32::NAN; len], vec![f32::NAN; c], vec![f32::NAN; c]);
            channel_affine_backward(n, c, spatial, &x, &scale, &dy, Some(&mut dx), Some(&mut ds), Some(&mut db));
            let (mut ds_r, mut db_r) = (vec![0.0f64; c], vec![0.0f64; c]);
            for i in 0..len {
                assert_eq!(dx[i], scale[ch(i)] * dy[i]);
                ds_r[ch(i)] += dy[i] as f64 * x[i] as f64;
                db_r[ch(i)] += dy[i] as f64;
            }
            for k in 0..c {
                assert!((ds[k] as f64 - ds_r[k]).abs() <= 1e-5 * (1.0 + ds_r[k].abs()), "dscale[{k}]");
                assert!((db[k] as f64 - db_r[k]).abs() <= 1e-5 * (1.0 + db_r[k].abs()), "dshift[{k}]");
            }
        }
    }

    /// The output has per-channel mean 0 and variance 1 (up to eps/var), even with a large
    /// offset that a one-pass E[x²] − E[x]² would cancel away.
    #[test]
    #[allow(clippy::needless_range_loop)]
    fn output_is_standardised() {
        let (n, c, spatial, eps) = (8, 3, 50, 1e-5f32);
        let offsets = [0.0f32, 300.0, -2.0e4];
        let raw = values(99, n * c * spatial);
        let x: Vec<f32> = raw.iter().enumerate().map(|(i, v)| v * 2.5 + offsets[(i / spatial) % c]).collect();
        let (mut y, mut mean, mut var) = (vec![f32::NAN; x.len()], vec![f32::NAN; c], vec![f32::NAN; c]);
        batch_norm_train_forward(n, c, spatial, &x, eps, &mut y, &mut mean, &mut var);
        for ch in 0..c {
            let yc = channel(&y, n, c, spatial, ch);
            let m = yc.iter().sum::<f64>() / yc.len() as f64;
            let v = yc.iter().map(|a| (a - m) * (a - m)).sum::<f64>() / yc.len() as f64;
            assert!(m.abs() < 1e-5, "channel {ch}: mean {m}");
            assert!((v - 1.0).abs() < 1e-4, "channel {ch}: var {v}");
            let xc = channel(&x, n, c, spatial, ch);
            let mx = xc.iter().sum::<f64>() / xc.len() as f64;
            assert!(
                (mean[ch] as f64 - mx).abs() <= 1e-6 * mx.abs().max(1.0),
                "channel {ch}: mean {} vs {mx}",
                mean[ch]
            );
        }
    }

    /// f64 batch norm for finite differences.
    fn forward64(n: usize, c: usize, spatial: usize, x: &[f64], eps: f64) -> Vec<f64> {
        let mut y = vec![0.0; x.len()];
        for ch in 0..c {
            let ids: Vec<usize> = (0..n).flat_map(|s| (0..spatial).map(move |i| (s * c + ch) * spatial + i)).collect();
            let m = ids.iter().map(|&j| x[j]).sum::<f64>() / ids.len() as f64;
            let v = ids.iter().map(|&j| (x[j] - m) * (x[j] - m)).sum::<f64>() / ids.len() as f64;
            for &j in &ids {
                y[j] = (x[j] - m) / (v + eps).sqrt();
            }
        }
        y
    }

    /// Backward vs central differences of L(x) = Σ r·bn(x) computed in f64 (step 1e-6), on a
    /// tiny case; agreement within 1e-4 of the largest gradient entry (f32 round-off of the
    /// kernel, the difference quotient's error is ~1e-9).
    #[test]
    fn backward_matches_finite_differences() {
        let (n, c, spatial, eps) = (3, 2, 2, 1e-3f32);
        let x = values(5, n * c * spatial);
        let r = values(6, x.len());
        let (mut y, mut mean, mut var) = (vec![0.0; x.len()], vec![0.0; c], vec![0.0; c]);
        batch_norm_train_forward(n, c, spatial, &x, eps, &mut y, &mut mean, &mut var);
        let mut dx = vec![f32::NAN; x.len()];
        batch_norm_train_backward(n, c, spatial, &y, &var, eps, &r, &mut dx);

        let x64: Vec<f64> = x.iter().map(|&v| v as f64).collect();
        let loss =
            |x: &[f64]| forward64(n, c, spatial, x, eps as f64).iter().zip(&r).map(|(y, &r)| y * r as f64).sum::<f64>();
        let h = 1e-6;
        let fd: Vec<f64> = (0..x.len())
            .map(|i| {
                let (mut xp, mut xm) = (x64.clone(), x64.clone());
                xp[i] += h;
                xm[i] -= h;
                (loss(&xp) - loss(&xm)) / (2.0 * h)
            })
            .collect();
        let scale = fd.iter().fold(0.0f64, |a, b| a.max(b.abs()));
        for (i, (a, b)) in dx.iter().zip(&fd).enumerate() {
            assert!((*a as f64 - b).abs() <= 1e-4 * scale, "dx[{i}] = {a}, finite difference {b}");
        }
    }

    #[test]
    fn thread_count_independent() {
        let (n, c, spatial) = (7, 5, 33);
        let x = values(8, n * c * spatial);
        let run = |threads: usize| {
            rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap().install(|| {
                let (mut y, mut mean, mut var) = (vec![0.0; x.len()], vec![0.0; c], vec![0.0; c]);
                batch_norm_train_forward(n, c, spatial, &x, 1e-5, &mut y, &mut mean, &mut var);
                let mut dx = vec![0.0; x.len()];
                batch_norm_train_backward(n, c, spatial, &y, &var, 1e-5, &x, &mut dx);
                (y, mean, var, dx)
            })
        };
        assert_eq!(run(1), run(2));
    }
}
