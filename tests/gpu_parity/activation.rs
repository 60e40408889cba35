//! The `Unary` ops on the GPU vs `kernels::cpu::activation`, forward and backward.

use crate::{assert_close, down, gpu, poisoned, up, Rng, TOL};
use kernels::cpu::activation::Unary;
use kernels::{cpu, gpu};

const SIZES: [usize; 5] = [1, 255, 257, 1000, 4099];

/// Forward and backward of `op` on inputs uniform in `[lo, hi)`.
fn check(op: Unary, lo: f32, hi: f32, seed: u64) {
    let ctx = gpu!();
    let mut rng = Rng::new(seed);
    let (mut worst_f, mut worst_b) = (0f32, 0f32);
    for n in SIZES {
        let x = rng.vec(n, lo, hi);
        let mut y = vec![f32::NAN; n];
        cpu::activation::unary_forward(op, &x, &mut y);
        let (gx, gy) = (up(ctx, &x), poisoned(ctx, n));
        gpu::activation::unary_forward(op, &gx, &gy).unwrap();
        worst_f = worst_f.max(assert_close(&format!("{op:?} forward n={n}"), &down(&gy), &y, TOL));

        let dy = rng.vec(n, -1.0, 1.0);
        let mut dx = vec![f32::NAN; n];
        cpu::activation::unary_backward(op, &x, &y, &dy, &mut dx);
        let gdx = poisoned(ctx, n);
        // The backward reads the CPU's y, so it is judged on its own.
        gpu::activation::unary_backward(op, &gx, &up(ctx, &y), &up(ctx, &dy), &gdx).unwrap();
        worst_b = worst_b.max(assert_close(&format!("{op:?} backward n={n}"), &down(&gdx), &dx, TOL));
    }
    eprintln!("gpu_parity {op:?}: max error forward {worst_f:e}, backward {worst_b:e}");
}

#[test]
fn gpu_parity_relu() {
    check(Unary::Relu, -3.0, 3.0, 20);
}

#[test]
fn gpu_parity_leaky_relu() {
    check(Unary::LeakyRelu(0.1), -3.0, 3.0, 21);
    check(Unary::LeakyRelu(0.2), -3.0, 3.0, 22);
}

#[test]
fn gpu_parity_sigmoid() {
    check(Unary::Sigmoid, -20.0, 20.0, 23);
}

#[test]
fn gpu_parity_tanh() {
    check(Unary::Tanh, -4.0, 4.0, 24);
    check(Unary::Tanh, -60.0, 60.0, 25); // saturates without inf/inf
}

#[test]
fn gpu_parity_exp() {
    check(Unary::Exp, -10.0, 10.0, 26);
}

#[test]
fn gpu_parity_log() {
    check(Unary::Log, 0.01, 50.0, 27);
}

#[test]
fn gpu_parity_softplus() {
    check(Unary::Softplus, -30.0, 30.0, 28);
}

#[test]
fn gpu_parity_log_sigmoid() {
    check(Unary::LogSigmoid, -30.0, 30.0, 29);
}

#[test]
fn gpu_parity_neg() {
    check(Unary::Neg, -5.0, 5.0, 30);
}

#[test]
fn gpu_parity_sqr() {
    check(Unary::Sqr, -5.0, 5.0, 31);
}

#[test]
fn gpu_parity_sqrt() {
    check(Unary::Sqrt, 0.01, 100.0, 32);
}

#[test]
fn gpu_parity_abs() {
    check(Unary::Abs, -5.0, 5.0, 33);
}

#[test]
fn gpu_parity_affine() {
    let ctx = gpu!();
    let mut rng = Rng::new(34);
    for n in SIZES {
        let x = rng.vec(n, -5.0, 5.0);
        let mut want = vec![f32::NAN; n];
        cpu::activation::affine(&x, -0.75, 2.5, &mut want);
        let y = poisoned(ctx, n);
        gpu::activation::affine(&up(ctx, &x), -0.75, 2.5, &y).unwrap();
        assert_close(&format!("affine n={n}"), &down(&y), &want, TOL);
    }
}

/// More than 65535 · 256 elements: the 2-D grid's second dimension is exercised.
#[test]
fn gpu_parity_leaky_relu_2d_grid() {
    let ctx = gpu!();
    let n = 65_535 * 256 + 1000;
    let mut rng = Rng::new(35);
    let x = rng.vec(n, -1.0, 1.0);
    let mut want = vec![f32::NAN; n];
    cpu::activation::unary_forward(Unary::LeakyRelu(0.1), &x, &mut want);
    let y = poisoned(ctx, n);
    gpu::activation::unary_forward(Unary::LeakyRelu(0.1), &up(ctx, &x), &y).unwrap();
    assert_close("leaky_relu 2-D grid", &down(&y), &want, TOL);
}
