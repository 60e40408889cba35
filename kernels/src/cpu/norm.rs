//! Batch normalisation without affine parameters, and the per-channel affine map `γ·x + β`
//! that the engine applies after it (and uses for evaluation mode): one pass each way instead of
//! a broadcast multiply and add and their reductions.
//! Layout: `n × c × spatial` (spatial = h·w for images, 1 for dense features).
//!
//! The per-channel reductions run in parallel over channels, each one a fixed sequential loop
//! accumulated in f64 (so the result does not depend on the thread count); the elementwise
//! passes run in parallel over samples.

use rayon::prelude::*;

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
    const L: usize = 8;
    let mut lanes = [0.0f64; L];
    for s in 0..n {
        let base = (s * c + ch) * spatial;
        let ra = &a[base..base + spatial];
        let rb = if b.is_empty() { ra } else { &b[base..base + spatial] };
        let (ca, cb) = (ra.chunks_exact(L), rb.chunks_exact(L));
        let (ta, tb) = (ca.remainder(), cb.remainder());
        for (xa, xb) in ca.zip(cb) {
            for j in 0..L {
                lanes[j] += f(xa[j], xb[j]);
            }
        }
        for (j, (&u, &v)) in ta.iter().zip(tb).enumerate() {
            lanes[j] += f(u, v);
        }
    }
    let mut width = L;
    while width > 1 {
        width /= 2;
        for i in 0..width {
            lanes[i] += lanes[i + width];
        }
    }
    lanes[0]
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
    if y.is_empty() {
        mean.fill(0.0);
        var.fill(0.0);
        return;
    }
    let m = (n * spatial) as f64;
    // Two passes in f64: the mean first, then the squared deviations from it. The one-pass
    // E[x²] − E[x]² cancels catastrophically when |mean| ≫ std (e.g. raw pixel values).
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
    let scale: Vec<(f64, f64)> = stats.iter().map(|&(mu, v)| (mu, 1.0 / (v + eps as f64).sqrt())).collect();
    y.par_chunks_mut(c * spatial).zip(x.par_chunks(c * spatial)).for_each(|(y, x)| {
        for ((y, x), &(mu, invstd)) in y.chunks_exact_mut(spatial).zip(x.chunks_exact(spatial)).zip(&scale) {
            for (y, &x) in y.iter_mut().zip(x) {
                *y = ((x as f64 - mu) * invstd) as f32;
            }
        }
    });
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
    dx.par_chunks_mut(c * spatial).zip(dy.par_chunks(c * spatial)).zip(y.par_chunks(c * spatial)).for_each(
        |((dx, dy), y)| {
            for (((dx, dy), y), &(invstd, mdy, mdyy)) in
                dx.chunks_exact_mut(spatial).zip(dy.chunks_exact(spatial)).zip(y.chunks_exact(spatial)).zip(&coef)
            {
                for ((dx, &dy), &y) in dx.iter_mut().zip(dy).zip(y) {
                    *dx = (invstd * (dy as f64 - mdy - y as f64 * mdyy)) as f32;
                }
            }
        },
    );
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
