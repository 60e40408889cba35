//! The three convolution kernels on the GPU vs `kernels::cpu::conv`; transposed convolution
//! through them, as the engine composes it.

use crate::{assert_close_norm, down, gpu, poisoned, up, Rng, TOL};
use kernels::cpu::conv::Conv2dGeom;
use kernels::{cpu, gpu};

#[allow(clippy::too_many_arguments)]
fn g(
    n: usize,
    c_in: usize,
    h: usize,
    w: usize,
    c_out: usize,
    kh: usize,
    kw: usize,
    stride: usize,
    pad: usize,
) -> Conv2dGeom {
    Conv2dGeom { n, c_in, h, w, c_out, kh, kw, stride, pad }
}

fn geometries() -> Vec<Conv2dGeom> {
    vec![
        g(2, 3, 9, 7, 5, 3, 3, 1, 1),
        g(3, 4, 10, 11, 6, 5, 3, 2, 2),
        g(1, 1, 28, 28, 8, 5, 5, 1, 2), // the MNIST LeNet's first layer
        g(2, 8, 6, 6, 3, 1, 1, 1, 0),   // pointwise
        g(2, 3, 8, 8, 4, 4, 4, 2, 1),   // DCGAN-style down-sampling
        g(1, 2, 7, 5, 3, 2, 2, 3, 0),   // stride > kernel: cells no window covers
        g(2, 65, 3, 3, 67, 3, 3, 1, 1), // channel counts past one 64-tile
        g(4, 2, 30, 30, 3, 5, 5, 1, 2), // weight gradient split over k (3600 = 13 × 272 + 64)
    ]
}

#[test]
fn gpu_parity_conv2d() {
    let ctx = gpu!();
    let mut rng = Rng::new(2);
    let mut worst = 0f32;
    for geom in geometries() {
        let x = rng.vec(geom.x_len(), -1.0, 1.0);
        let w = rng.vec(geom.w_len(), -1.0, 1.0);
        let mut want = vec![f32::NAN; geom.y_len()];
        cpu::conv::conv2d_forward(&geom, &x, &w, &mut want);
        let y = poisoned(ctx, geom.y_len());
        gpu::conv::conv2d_forward(&geom, &up(ctx, &x), &up(ctx, &w), &y).unwrap();
        worst = worst.max(assert_close_norm(&format!("conv2d_forward {geom:?}"), &down(&y), &want, TOL));
    }
    eprintln!("gpu_parity_conv2d: max relative error {worst:e}");
}

#[test]
fn gpu_parity_conv2d_backward_input() {
    let ctx = gpu!();
    let mut rng = Rng::new(3);
    let mut worst = 0f32;
    for geom in geometries() {
        let dy = rng.vec(geom.y_len(), -1.0, 1.0);
        let w = rng.vec(geom.w_len(), -1.0, 1.0);
        let mut want = vec![f32::NAN; geom.x_len()];
        cpu::conv::conv2d_backward_input(&geom, &dy, &w, &mut want);
        let dx = poisoned(ctx, geom.x_len());
        gpu::conv::conv2d_backward_input(&geom, &up(ctx, &dy), &up(ctx, &w), &dx).unwrap();
        worst = worst.max(assert_close_norm(&format!("conv2d_backward_input {geom:?}"), &down(&dx), &want, TOL));
    }
    eprintln!("gpu_parity_conv2d_backward_input: max relative error {worst:e}");
}

#[test]
fn gpu_parity_conv2d_backward_weight() {
    let ctx = gpu!();
    let mut rng = Rng::new(4);
    let mut worst = 0f32;
    for geom in geometries() {
        let x = rng.vec(geom.x_len(), -1.0, 1.0);
        let dy = rng.vec(geom.y_len(), -1.0, 1.0);
        let mut want = vec![f32::NAN; geom.w_len()];
        cpu::conv::conv2d_backward_weight(&geom, &x, &dy, &mut want);
        let dw = poisoned(ctx, geom.w_len());
        gpu::conv::conv2d_backward_weight(&geom, &up(ctx, &x), &up(ctx, &dy), &dw).unwrap();
        worst = worst.max(assert_close_norm(&format!("conv2d_backward_weight {geom:?}"), &down(&dw), &want, TOL));
    }
    eprintln!("gpu_parity_conv2d_backward_weight: max relative error {worst:e}");
}

/// `conv_transpose2d(x_t: 2×5×4×4, w_t: 5×3×4×4, stride 2, padding 1, output_padding 1)`:
/// output 2×3×9×9, composed from the conv kernels as `cpu/conv.rs` spells out.
#[test]
fn gpu_parity_conv_transpose2d() {
    let ctx = gpu!();
    let mut rng = Rng::new(5);
    let (n, c_in_t, h_t, c_out_t, k, s, p, op) = (2, 5, 4, 3, 4, 2, 1, 1);
    let big = (h_t - 1) * s + k + op - 2 * p;
    let geom = g(n, c_out_t, big, big, c_in_t, k, k, s, p);
    assert_eq!(geom.oh(), h_t);
    let x_t = rng.vec(geom.y_len(), -1.0, 1.0);
    let w_t = rng.vec(geom.w_len(), -1.0, 1.0);
    let dy_t = rng.vec(geom.x_len(), -1.0, 1.0);
    let (gx_t, gw_t, gdy_t) = (up(ctx, &x_t), up(ctx, &w_t), up(ctx, &dy_t));

    let mut want = vec![f32::NAN; geom.x_len()];
    cpu::conv::conv2d_backward_input(&geom, &x_t, &w_t, &mut want);
    let y_t = poisoned(ctx, geom.x_len());
    gpu::conv::conv2d_backward_input(&geom, &gx_t, &gw_t, &y_t).unwrap();
    assert_close_norm("conv_transpose2d forward", &down(&y_t), &want, TOL);

    let mut want = vec![f32::NAN; geom.y_len()];
    cpu::conv::conv2d_forward(&geom, &dy_t, &w_t, &mut want);
    let dx_t = poisoned(ctx, geom.y_len());
    gpu::conv::conv2d_forward(&geom, &gdy_t, &gw_t, &dx_t).unwrap();
    assert_close_norm("conv_transpose2d input gradient", &down(&dx_t), &want, TOL);

    let mut want = vec![f32::NAN; geom.w_len()];
    cpu::conv::conv2d_backward_weight(&geom, &dy_t, &x_t, &mut want);
    let dw_t = poisoned(ctx, geom.w_len());
    gpu::conv::conv2d_backward_weight(&geom, &gdy_t, &gx_t, &dw_t).unwrap();
    assert_close_norm("conv_transpose2d weight gradient", &down(&dw_t), &want, TOL);
}
