//! `max_pool2d` and `avg_pool2d` against window-by-window loops.
//!
//! `max_pool2d`: The values are distinct (at least 0.006
//! apart), so every window has a unique winner and a step of `H` never changes it: the
//! function is smooth at every tested point and its gradient is the argmax routing.
//! About half the values are negative, so windows that overlap the padding check that padded
//! cells act as −∞ (a zero pad would win there).

use crate::check::{Case, Gen};
use proptest::prelude::*;

/// Max over each `k × k` window of `x` (`n × c × h × w`) moved by `stride`, with `pad` cells of
/// padding that never win.
pub fn ref_max_pool2d(x: &[f64], xs: [usize; 4], k: usize, stride: usize, pad: usize) -> Vec<f64> {
    let [n, c, h, w] = xs;
    let oh = (h + 2 * pad - k) / stride + 1;
    let ow = (w + 2 * pad - k) / stride + 1;
    let mut y = Vec::with_capacity(n * c * oh * ow);
    for plane in x.chunks(h * w) {
        for i in 0..oh {
            for j in 0..ow {
                let mut best = f64::NEG_INFINITY;
                for a in 0..k {
                    for b in 0..k {
                        let (r, q) =
                            ((i * stride + a) as isize - pad as isize, (j * stride + b) as isize - pad as isize);
                        if r >= 0 && q >= 0 && r < h as isize && q < w as isize {
                            best = best.max(plane[r as usize * w + q as usize]);
                        }
                    }
                }
                y.push(best);
            }
        }
    }
    y
}

/// Mean over each unpadded `k × k` window of `x` (`n × c × h × w`) moved by `stride`.
pub fn ref_avg_pool2d(x: &[f64], xs: [usize; 4], k: usize, stride: usize) -> Vec<f64> {
    let [_, _, h, w] = xs;
    let (oh, ow) = ((h - k) / stride + 1, (w - k) / stride + 1);
    let mut y = Vec::new();
    for plane in x.chunks(h * w) {
        for i in 0..oh {
            for j in 0..ow {
                let s: f64 = (0..k * k).map(|t| plane[(i * stride + t / k) * w + j * stride + t % k]).sum();
                y.push(s / (k * k) as f64);
            }
        }
    }
    y
}

proptest! {
    #![proptest_config(crate::check::config(32))]

    #[test]
    fn gradcheck_max_pool2d(
        n in 1usize..=2, c in 1usize..=3, k in 1usize..=4, stride in 1usize..=3, pad in 0usize..=2,
        h in 1usize..=9, w in 1usize..=9, seed in any::<u64>(),
    ) {
        // PyTorch's (and the engine's) rule: padding at most half the window.
        let pad = pad.min(k / 2);
        let (h, w) = (h.max(k.saturating_sub(2 * pad)), w.max(k.saturating_sub(2 * pad)));
        let (oh, ow) = ((h + 2 * pad - k) / stride + 1, (w + 2 * pad - k) / stride + 1);
        let xs = [n, c, h, w];
        let mut gen = Gen::new(seed);
        Case::new(format!("max_pool2d x {xs:?} k {k} stride {stride} pad {pad}"), seed)
            .input(&xs, gen.distinct(n * c * h * w))
            .output(&[n, c, oh, ow])
            .run(|t| t[0].max_pool2d(k, stride, pad), |x| ref_max_pool2d(&x[0], xs, k, stride, pad))?;
    }

    /// Odd sizes at stride 2 leave cells outside every window (their gradient is 0); stride 1
    /// overlaps windows (the gradient adds up).
    #[test]
    fn gradcheck_avg_pool2d(
        n in 1usize..=2, c in 1usize..=3, k in 1usize..=3, stride in 1usize..=3,
        h in 1usize..=9, w in 1usize..=9, seed in any::<u64>(),
    ) {
        let (h, w) = (h.max(k), w.max(k));
        let (oh, ow) = ((h - k) / stride + 1, (w - k) / stride + 1);
        let xs = [n, c, h, w];
        let mut gen = Gen::new(seed);
        Case::new(format!("avg_pool2d x {xs:?} k {k} stride {stride}"), seed)
            .input(&xs, gen.values(n * c * h * w))
            .output(&[n, c, oh, ow])
            .run(|t| t[0].avg_pool2d(k, stride), |x| ref_avg_pool2d(&x[0], xs, k, stride))?;
    }
}
