//! Broadcasting binary ops and `sum_to_shape` on the GPU vs `kernels::cpu::binary`.

use crate::{assert_close, assert_close_norm, down, gpu, poisoned, up, Rng, TOL};
use kernels::cpu::binary::Binary;
use kernels::{cpu, gpu};

/// (a shape, b shape, output shape).
fn cases() -> Vec<(Vec<usize>, Vec<usize>, Vec<usize>)> {
    vec![
        (vec![7], vec![7], vec![7]),
        (vec![300, 3], vec![300, 3], vec![300, 3]),
        (vec![2, 3], vec![3], vec![2, 3]),
        (vec![4, 1, 5], vec![3, 1], vec![4, 3, 5]),
        (vec![2, 3, 4], vec![1], vec![2, 3, 4]),
        (vec![1], vec![5, 6], vec![5, 6]),
        (vec![3, 1, 2, 1], vec![1, 4, 1, 5], vec![3, 4, 2, 5]),
        (vec![17, 1], vec![1, 19], vec![17, 19]),
        (vec![2, 1, 3, 1, 2, 1, 2, 3], vec![2, 1, 2, 1, 3, 1, 3], vec![2, 2, 3, 2, 2, 3, 2, 3]),
    ]
}

fn check(op: Binary, seed: u64) {
    let ctx = gpu!();
    let mut rng = Rng::new(seed);
    for (sa, sb, so) in cases() {
        let na: usize = sa.iter().product();
        let nb: usize = sb.iter().product();
        let no: usize = so.iter().product();
        let a = rng.signed_vec(na, 0.1, 3.0);
        // Divisors stay away from zero.
        let b = rng.signed_vec(nb, 0.5, 2.0);
        let mut want = vec![f32::NAN; no];
        cpu::binary::binary_forward(op, &a, &sa, &b, &sb, &so, &mut want);
        let y = poisoned(ctx, no);
        gpu::binary::binary_forward(op, &up(ctx, &a), &sa, &up(ctx, &b), &sb, &so, &y).unwrap();
        assert_close(&format!("{op:?} {sa:?} ∘ {sb:?} → {so:?}"), &down(&y), &want, TOL);
    }
}

#[test]
fn gpu_parity_add() {
    check(Binary::Add, 40);
}

#[test]
fn gpu_parity_sub() {
    check(Binary::Sub, 41);
}

#[test]
fn gpu_parity_mul() {
    check(Binary::Mul, 42);
}

#[test]
fn gpu_parity_div() {
    check(Binary::Div, 43);
}

#[test]
fn gpu_parity_max() {
    check(Binary::Max, 44);
}

#[test]
fn gpu_parity_binary_rejects_bad_broadcast() {
    let ctx = gpu!();
    let (a, b, y) = (up(ctx, &[1.0; 6]), up(ctx, &[1.0; 4]), poisoned(ctx, 6));
    assert!(gpu::binary::binary_forward(Binary::Add, &a, &[2, 3], &b, &[4], &[2, 3], &y).is_err());
}

/// The gradient of a broadcast input: both paths (a thread per output for few summands, a
/// workgroup per output for many).
#[test]
fn gpu_parity_sum_to_shape() {
    let ctx = gpu!();
    let mut rng = Rng::new(45);
    let cases: Vec<(Vec<usize>, Vec<usize>)> = vec![
        (vec![2, 3, 4], vec![3, 1]),
        (vec![5, 7], vec![7]),
        (vec![5, 7], vec![5, 1]),
        (vec![300, 3], vec![3]),
        (vec![2, 3, 4], vec![1]),
        (vec![1000], vec![1]),
        (vec![4, 5], vec![4, 5]),
        (vec![3, 4, 2, 5], vec![3, 1, 2, 1]),
        (vec![70, 9, 11], vec![9, 1]),
    ];
    for (xs, ts) in cases {
        let x = rng.vec(xs.iter().product(), -1.0, 1.0);
        let mut want = vec![f32::NAN; ts.iter().product()];
        cpu::binary::sum_to_shape(&x, &xs, &ts, &mut want);
        let out = poisoned(ctx, want.len());
        gpu::binary::sum_to_shape(&up(ctx, &x), &xs, &ts, &out).unwrap();
        assert_close_norm(&format!("sum_to_shape {xs:?} → {ts:?}"), &down(&out), &want, TOL);
    }
}
