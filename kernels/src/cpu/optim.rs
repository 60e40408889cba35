//! Parameter updates, fused so each parameter is read and written once per step.

use super::parallel::{CHUNK, PAR_MIN};
use rayon::prelude::*;

/// One Adam step (Kingma & Ba, with PyTorch's L2-style weight decay added to the gradient):
/// `g ← g + λw; m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²; w ← w − lr·m̂/(√v̂ + ε)`,
/// where `m̂ = m/(1−β₁ᵗ)` and `v̂ = v/(1−β₂ᵗ)` for step `t = Some(t ≥ 1)`; with `t = None`
/// there is no bias correction (`m̂ = m`, `v̂ = v`), which with β₁ = 0 is RMSprop exactly as Keras
/// and PyTorch write it: `v ← ρv + (1−ρ)g²; w ← w − lr·g/(√v + ε)` with ρ = β₂.
///
/// Chunks of the parameter run in parallel when it is large (a DCGAN's first layer has 627 k
/// weights: serial, the update was 4 % of a two-thread training step); every element's
/// arithmetic is the same either way, so the result does not depend on the thread count.
#[allow(clippy::too_many_arguments)]
pub fn adam_step(
    w: &mut [f32],
    g: &[f32],
    m: &mut [f32],
    v: &mut [f32],
    lr: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    weight_decay: f32,
    t: Option<u64>,
) {
    assert!(g.len() == w.len() && m.len() == w.len() && v.len() == w.len(), "adam_step: lengths differ");
    let (bc1, bc2) = bias_corrections(beta1, beta2, t);
    // Zipped slices, no indexing: the loop has no bounds checks and vectorises.
    let update = |w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]| {
        for (((w, &g), m), v) in w.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
            let gi = g + weight_decay * *w;
            *m = beta1 * *m + (1.0 - beta1) * gi;
            *v = beta2 * *v + (1.0 - beta2) * gi * gi;
            let mhat = *m / bc1;
            let vhat = *v / bc2;
            *w -= lr * mhat / (vhat.sqrt() + eps);
        }
    };
    if w.len() < PAR_MIN {
        update(w, g, m, v);
    } else {
        w.par_chunks_mut(CHUNK)
            .zip(g.par_chunks(CHUNK))
            .zip(m.par_chunks_mut(CHUNK))
            .zip(v.par_chunks_mut(CHUNK))
            .for_each(|(((w, g), m), v)| update(w, g, m, v));
    }
}

/// Adam's bias corrections `(1 − β₁ᵗ, 1 − β₂ᵗ)`, or `(1, 1)` for none; the GPU uses the same.
pub fn bias_corrections(beta1: f32, beta2: f32, t: Option<u64>) -> (f32, f32) {
    match t {
        Some(t) => (1.0 - beta1.powi(t as i32), 1.0 - beta2.powi(t as i32)),
        None => (1.0, 1.0),
    }
}

/// One SGD step with optional momentum (PyTorch's form: `b ← μb + g; w ← w − lr·b`) and
/// L2 weight decay. `buf` is unused when `momentum == 0`.
pub fn sgd_step(w: &mut [f32], g: &[f32], buf: &mut [f32], lr: f32, momentum: f32, weight_decay: f32) {
    for i in 0..w.len() {
        let gi = g[i] + weight_decay * w[i];
        let step = if momentum != 0.0 {
            buf[i] = momentum * buf[i] + gi;
            buf[i]
        } else {
            gi
        };
        w[i] -= lr * step;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The update as written before it ran in chunks: one indexed loop.
    #[allow(clippy::too_many_arguments)]
    fn reference(w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], lr: f32, wd: f32, t: u64) {
        let (b1, b2, eps) = (0.9f32, 0.999f32, 1e-8f32);
        let (bc1, bc2) = (1.0 - b1.powi(t as i32), 1.0 - b2.powi(t as i32));
        for i in 0..w.len() {
            let gi = g[i] + wd * w[i];
            m[i] = b1 * m[i] + (1.0 - b1) * gi;
            v[i] = b2 * v[i] + (1.0 - b2) * gi * gi;
            w[i] -= lr * (m[i] / bc1) / ((v[i] / bc2).sqrt() + eps);
        }
    }

    #[test]
    fn adam_in_parallel_chunks_is_bit_identical_to_one_loop() {
        // Past PAR_MIN and not a multiple of CHUNK: the parallel path with a ragged last chunk.
        let n = 3 * PAR_MIN + 17;
        let wave = |k: f32| (0..n).map(|i| (i as f32 * k).sin() * 0.5).collect::<Vec<f32>>();
        let (g, w0) = (wave(0.37), wave(0.11));
        let (mut w1, mut m1, mut v1) = (w0.clone(), wave(0.05), wave(0.03).iter().map(|x| x * x).collect::<Vec<_>>());
        let (mut w2, mut m2, mut v2) = (w1.clone(), m1.clone(), v1.clone());
        for t in 1..=3 {
            adam_step(&mut w1, &g, &mut m1, &mut v1, 1e-3, 0.9, 0.999, 1e-8, 1e-6, Some(t));
            reference(&mut w2, &g, &mut m2, &mut v2, 1e-3, 1e-6, t);
        }
        let bits = |x: &[f32]| x.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&w1), bits(&w2));
        assert_eq!(bits(&m1), bits(&m2));
        assert_eq!(bits(&v1), bits(&v2));
        assert_ne!(bits(&w1), bits(&w0), "the step changed nothing");
    }

    #[test]
    fn without_bias_correction_and_beta1_zero_adam_is_rmsprop() {
        let (rho, eps, lr) = (0.9f32, 1e-7f32, 1e-3f32);
        let (mut w, mut m, mut v) = (vec![0.5f32, -0.25, 2.0], vec![0.0; 3], vec![0.0; 3]);
        let (mut w_ref, mut a) = (w.clone(), vec![0.0f32; 3]);
        for step in 0..4 {
            let g: Vec<f32> = (0..3).map(|i| ((i + step) as f32 * 0.7).cos()).collect();
            adam_step(&mut w, &g, &mut m, &mut v, lr, 0.0, rho, eps, 0.0, None);
            for i in 0..3 {
                a[i] = rho * a[i] + (1.0 - rho) * g[i] * g[i];
                w_ref[i] -= lr * g[i] / (a[i].sqrt() + eps);
            }
            assert_eq!(m, g, "with β₁ = 0 the first moment is the gradient");
        }
        assert_eq!(w, w_ref);
        assert_eq!(v, a);
    }
}
