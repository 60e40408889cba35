//! Fused, numerically stable losses (mean over all elements).

use super::reduce::sum_all;

/// Mean binary cross-entropy on logits: `mean(max(x,0) − x·t + log(1 + e^{−|x|}))`,
/// the form that never takes the log of 0 nor overflows exp.
pub fn bce_with_logits_forward(x: &[f32], t: &[f32]) -> f32 {
    assert_eq!(x.len(), t.len());
    let per: Vec<f32> = x.iter().zip(t).map(|(&x, &t)| x.max(0.0) - x * t + (-x.abs()).exp().ln_1p()).collect();
    sum_all(&per) / x.len() as f32
}

/// `dx = g · (σ(x) − t) / n`, with `g` the upstream gradient of the mean.
pub fn bce_with_logits_backward(x: &[f32], t: &[f32], g: f32, dx: &mut [f32]) {
    let s = g / x.len() as f32;
    for ((o, &x), &t) in dx.iter_mut().zip(x).zip(t) {
        let sig = super::activation::Unary::Sigmoid.apply(x);
        *o = s * (sig - t);
    }
}

/// Mean squared error `mean((a − b)²)`.
pub fn mse_forward(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    let per: Vec<f32> = a.iter().zip(b).map(|(&a, &b)| (a - b) * (a - b)).collect();
    sum_all(&per) / a.len() as f32
}

/// `da = 2g(a − b)/n`; the gradient for `b` is its negation.
pub fn mse_backward(a: &[f32], b: &[f32], g: f32, da: &mut [f32]) {
    let s = 2.0 * g / a.len() as f32;
    for ((o, &a), &b) in da.iter_mut().zip(a).zip(b) {
        *o = s * (a - b);
    }
}
