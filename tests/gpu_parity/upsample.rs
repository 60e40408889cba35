//! Nearest-neighbour upsampling on the GPU vs `kernels::cpu::upsample`.

use crate::{assert_close, down, gpu, poisoned, up, Rng, TOL};
use kernels::{cpu, gpu};

const CASES: [(usize, usize, usize, usize, usize); 4] =
    [(2, 3, 4, 5, 2), (1, 1, 7, 3, 3), (3, 2, 1, 1, 4), (2, 4, 9, 9, 2)];

#[test]
fn gpu_parity_upsample() {
    let ctx = gpu!();
    let mut rng = Rng::new(8);
    for (n, c, h, w, k) in CASES {
        let x = rng.vec(n * c * h * w, -1.0, 1.0);
        let mut want = vec![f32::NAN; x.len() * k * k];
        cpu::upsample::upsample_nearest_forward(n, c, h, w, k, &x, &mut want);
        let y = poisoned(ctx, want.len());
        gpu::upsample::upsample_nearest_forward(n, c, h, w, k, &up(ctx, &x), &y).unwrap();
        assert_close(&format!("upsample forward {:?}", (n, c, h, w, k)), &down(&y), &want, 0.0);
    }
}

#[test]
fn gpu_parity_upsample_backward() {
    let ctx = gpu!();
    let mut rng = Rng::new(9);
    for (n, c, h, w, k) in CASES {
        let dy = rng.vec(n * c * h * w * k * k, -1.0, 1.0);
        let mut want = vec![f32::NAN; n * c * h * w];
        cpu::upsample::upsample_nearest_backward(n, c, h, w, k, &dy, &mut want);
        let dx = poisoned(ctx, want.len());
        gpu::upsample::upsample_nearest_backward(n, c, h, w, k, &up(ctx, &dy), &dx).unwrap();
        assert_close(&format!("upsample backward {:?}", (n, c, h, w, k)), &down(&dx), &want, TOL);
    }
}
