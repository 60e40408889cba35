//! Fused losses on the GPU vs `kernels::cpu::loss`.

use crate::{assert_close, assert_close_norm, down, gpu, poisoned, up, Rng, TOL};
use kernels::{cpu, gpu};

const SIZES: [usize; 5] = [1, 17, 1000, 5000, 70_001];

#[test]
fn gpu_parity_bce() {
    let ctx = gpu!();
    let mut rng = Rng::new(60);
    for n in SIZES {
        let x = rng.vec(n, -12.0, 12.0);
        // Hard labels for half the sizes, soft ones for the rest.
        let t: Vec<f32> =
            if n % 2 == 1 { (0..n).map(|_| (rng.next_u64() & 1) as f32).collect() } else { rng.vec(n, 0.0, 1.0) };
        let (gx, gt) = (up(ctx, &x), up(ctx, &t));
        let want = cpu::loss::bce_with_logits_forward(&x, &t);
        let loss = poisoned(ctx, 1);
        gpu::loss::bce_with_logits_forward(&gx, &gt, &loss).unwrap();
        assert_close_norm(&format!("bce forward n={n}"), &down(&loss), &[want], TOL);

        let g = 0.7;
        let mut want = vec![f32::NAN; n];
        cpu::loss::bce_with_logits_backward(&x, &t, g, &mut want);
        let dx = poisoned(ctx, n);
        gpu::loss::bce_with_logits_backward(&gx, &gt, g, &dx).unwrap();
        assert_close(&format!("bce backward n={n}"), &down(&dx), &want, TOL);
    }
}

#[test]
fn gpu_parity_mse() {
    let ctx = gpu!();
    let mut rng = Rng::new(61);
    for n in SIZES {
        let a = rng.vec(n, -2.0, 2.0);
        let b = rng.vec(n, -2.0, 2.0);
        let (ga, gb) = (up(ctx, &a), up(ctx, &b));
        let want = cpu::loss::mse_forward(&a, &b);
        let loss = poisoned(ctx, 1);
        gpu::loss::mse_forward(&ga, &gb, &loss).unwrap();
        assert_close_norm(&format!("mse forward n={n}"), &down(&loss), &[want], TOL);

        let g = 1.3;
        let mut want = vec![f32::NAN; n];
        cpu::loss::mse_backward(&a, &b, g, &mut want);
        let da = poisoned(ctx, n);
        gpu::loss::mse_backward(&ga, &gb, g, &da).unwrap();
        assert_close(&format!("mse backward n={n}"), &down(&da), &want, TOL);
    }
}
