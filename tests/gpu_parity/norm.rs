//! Batch normalisation (training mode) on the GPU vs `kernels::cpu::norm`.

use crate::{assert_close_norm, down, gpu, poisoned, up, Rng, TOL};
use kernels::{cpu, gpu};

/// (n, c, spatial, offset): offset shifts x far from 0, where a one-pass variance would cancel.
const CASES: [(usize, usize, usize, f32); 6] =
    [(4, 3, 25, 0.0), (7, 5, 1, 0.0), (2, 1, 300, 0.0), (3, 17, 9, 0.0), (16, 2, 49, 10.0), (1, 3, 1000, 0.5)];

#[test]
fn gpu_parity_batch_norm() {
    let ctx = gpu!();
    let mut rng = Rng::new(10);
    let eps = 1e-5;
    for (n, c, s, offset) in CASES {
        let what = format!("batch_norm n={n} c={c} spatial={s} offset={offset}");
        let x: Vec<f32> = rng.vec(n * c * s, -1.0, 1.0).iter().map(|v| v + offset).collect();
        let (mut y, mut mean, mut var) = (vec![f32::NAN; x.len()], vec![f32::NAN; c], vec![f32::NAN; c]);
        cpu::norm::batch_norm_train_forward(n, c, s, &x, eps, &mut y, &mut mean, &mut var);
        let (gy, gm, gv) = (poisoned(ctx, x.len()), poisoned(ctx, c), poisoned(ctx, c));
        gpu::norm::batch_norm_train_forward(n, c, s, &up(ctx, &x), eps, &gy, &gm, &gv).unwrap();
        assert_close_norm(&format!("{what}: y"), &down(&gy), &y, TOL);
        assert_close_norm(&format!("{what}: mean"), &down(&gm), &mean, TOL);
        assert_close_norm(&format!("{what}: var"), &down(&gv), &var, TOL);
    }
}

#[test]
fn gpu_parity_batch_norm_backward() {
    let ctx = gpu!();
    let mut rng = Rng::new(11);
    let eps = 1e-5;
    for (n, c, s, offset) in CASES {
        if n * s == 1 {
            continue;
        }
        let x: Vec<f32> = rng.vec(n * c * s, -1.0, 1.0).iter().map(|v| v + offset).collect();
        let (mut y, mut mean, mut var) = (vec![0.0; x.len()], vec![0.0; c], vec![0.0; c]);
        cpu::norm::batch_norm_train_forward(n, c, s, &x, eps, &mut y, &mut mean, &mut var);
        let dy = rng.vec(x.len(), -1.0, 1.0);
        let mut want = vec![f32::NAN; x.len()];
        cpu::norm::batch_norm_train_backward(n, c, s, &y, &var, eps, &dy, &mut want);
        let dx = poisoned(ctx, x.len());
        gpu::norm::batch_norm_train_backward(n, c, s, &up(ctx, &y), &up(ctx, &var), eps, &up(ctx, &dy), &dx).unwrap();
        assert_close_norm(&format!("batch_norm_backward n={n} c={c} spatial={s}"), &down(&dx), &want, TOL);
    }
}
