//! Parameter updates, fused so each parameter is read and written once per step.

/// One Adam step (Kingma & Ba, with PyTorch's L2-style weight decay added to the gradient):
/// `g ← g + λw; m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²; w ← w − lr·m̂/(√v̂ + ε)`,
/// where `m̂ = m/(1−β₁ᵗ)` and `v̂ = v/(1−β₂ᵗ)` for step `t ≥ 1`.
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
    t: u64,
) {
    let bc1 = 1.0 - beta1.powi(t as i32);
    let bc2 = 1.0 - beta2.powi(t as i32);
    for i in 0..w.len() {
        let gi = g[i] + weight_decay * w[i];
        m[i] = beta1 * m[i] + (1.0 - beta1) * gi;
        v[i] = beta2 * v[i] + (1.0 - beta2) * gi * gi;
        let mhat = m[i] / bc1;
        let vhat = v[i] / bc2;
        w[i] -= lr * mhat / (vhat.sqrt() + eps);
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
