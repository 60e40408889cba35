//! `gemm` on the GPU vs `kernels::cpu::gemm::gemm`.

use crate::{assert_close_norm, down, gpu, poisoned, up, Rng, TOL};
use kernels::{cpu, gpu};

#[test]
fn gpu_parity_matmul() {
    let ctx = gpu!();
    let mut rng = Rng::new(1);
    let shapes = [(1, 1, 1), (7, 5, 3), (64, 64, 16), (65, 63, 17), (100, 37, 129), (3, 200, 1), (130, 2, 70)];
    let mut worst = 0f32;
    for &(m, n, k) in &shapes {
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            for (alpha, beta) in [(1.0f32, 0.0f32), (0.5, 1.5)] {
                let a = rng.vec(m * k, -1.0, 1.0);
                let b = rng.vec(k * n, -1.0, 1.0);
                let c0 = rng.vec(m * n, -1.0, 1.0);
                let mut want = c0.clone();
                cpu::gemm::gemm(ta, tb, m, n, k, alpha, &a, &b, beta, &mut want);
                // beta = 0: C must not be read, so it starts as NaN.
                let c = if beta == 0.0 { poisoned(ctx, m * n) } else { up(ctx, &c0) };
                gpu::gemm::gemm(ta, tb, m, n, k, alpha, &up(ctx, &a), &up(ctx, &b), beta, &c).unwrap();
                let what = format!("gemm m={m} n={n} k={k} ta={ta} tb={tb} alpha={alpha} beta={beta}");
                worst = worst.max(assert_close_norm(&what, &down(&c), &want, TOL));
            }
        }
    }
    eprintln!("gpu_parity_matmul: max relative error {worst:e}");
}

#[test]
fn gpu_parity_matmul_rejects_bad_lengths() {
    let ctx = gpu!();
    let a = up(ctx, &[1.0; 6]);
    let b = up(ctx, &[1.0; 6]);
    let c = poisoned(ctx, 4);
    assert!(gpu::gemm::gemm(false, false, 2, 2, 4, 1.0, &a, &b, 0.0, &c).is_err());
}
