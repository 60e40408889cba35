//! Sums on the GPU vs `kernels::cpu::reduce`.

use crate::{assert_close_norm, down, gpu, poisoned, up, Rng, TOL};
use kernels::{cpu, gpu};

#[test]
fn gpu_parity_sum() {
    let ctx = gpu!();
    let mut rng = Rng::new(50);
    for n in [1, 100, 256 * 8 + 3, 100_003, 3_000_001] {
        // Positive values with an offset: the sum does not cancel, so the relative error is
        // about the summation order alone.
        let x = rng.vec(n, 0.5, 1.5);
        let want = cpu::reduce::sum_all(&x);
        let out = poisoned(ctx, 1);
        gpu::reduce::sum_all(&up(ctx, &x), 1.0, &out).unwrap();
        assert_close_norm(&format!("sum_all n={n}"), &down(&out), &[want], TOL);
        // The mean is the same reduction scaled.
        gpu::reduce::sum_all(&up(ctx, &x), 1.0 / n as f32, &out).unwrap();
        assert_close_norm(&format!("mean n={n}"), &down(&out), &[want / n as f32], TOL);
    }
}

#[test]
fn gpu_parity_sum_axes() {
    let ctx = gpu!();
    let mut rng = Rng::new(51);
    let cases: [(&[usize], &[bool]); 4] = [
        (&[4, 5, 6], &[false, true, false]),
        (&[4, 5, 6], &[true, false, true]),
        (&[33, 300], &[false, true]),
        (&[2, 3, 4, 5], &[true, true, true, true]),
    ];
    for (shape, red) in cases {
        let x = rng.vec(shape.iter().product(), -1.0, 1.0);
        let n_out: usize = shape.iter().zip(red).map(|(&s, &r)| if r { 1 } else { s }).product();
        let mut want = vec![f32::NAN; n_out];
        cpu::reduce::sum_axes(&x, shape, red, &mut want);
        let out = poisoned(ctx, n_out);
        gpu::reduce::sum_axes(&up(ctx, &x), shape, red, &out).unwrap();
        assert_close_norm(&format!("sum_axes {shape:?} {red:?}"), &down(&out), &want, TOL);
    }
}
