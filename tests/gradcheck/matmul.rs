//! `matmul`, `matmul_t` (all four transpose combinations) and `linear` against a triple loop.
//! Sizes cross the GEMM's micro-tile edges (MR, NR ≤ 32) and, in one test, its `KC = 256`
//! blocking of the inner dimension.

use crate::check::{Case, Gen};
use proptest::prelude::*;

/// `op(a) · op(b)` for `a` stored `ad[0] × ad[1]` and `b` stored `bd[0] × bd[1]`, `op`
/// transposing where asked; the `m × n` result row-major.
pub fn ref_matmul(a: &[f64], ad: [usize; 2], ta: bool, b: &[f64], bd: [usize; 2], tb: bool) -> Vec<f64> {
    let (m, k) = if ta { (ad[1], ad[0]) } else { (ad[0], ad[1]) };
    let n = if tb { bd[0] } else { bd[1] };
    let a_at = |i: usize, p: usize| if ta { a[p * ad[1] + i] } else { a[i * ad[1] + p] };
    let b_at = |p: usize, j: usize| if tb { b[j * bd[1] + p] } else { b[p * bd[1] + j] };
    let mut y = vec![0.0; m * n];
    for i in 0..m {
        for j in 0..n {
            y[i * n + j] = (0..k).map(|p| a_at(i, p) * b_at(p, j)).sum();
        }
    }
    y
}

proptest! {
    #![proptest_config(crate::check::config(32))]

    #[test]
    fn gradcheck_matmul(m in 1usize..=20, k in 1usize..=12, n in 1usize..=36, seed in any::<u64>()) {
        let mut gen = Gen::new(seed);
        Case::new(format!("matmul {m}×{k} · {k}×{n}"), seed)
            .input(&[m, k], gen.values(m * k))
            .input(&[k, n], gen.values(k * n))
            .output(&[m, n])
            .run(|t| t[0].matmul(&t[1]), |x| ref_matmul(&x[0], [m, k], false, &x[1], [k, n], false))?;
    }

    #[test]
    fn gradcheck_matmul_t(
        m in 1usize..=20, k in 1usize..=12, n in 1usize..=36, ta: bool, tb: bool, seed in any::<u64>()
    ) {
        let mut gen = Gen::new(seed);
        let ad = if ta { [k, m] } else { [m, k] };
        let bd = if tb { [n, k] } else { [k, n] };
        Case::new(format!("matmul_t a {ad:?} (transposed {ta}) · b {bd:?} (transposed {tb})"), seed)
            .input(&ad, gen.values(m * k))
            .input(&bd, gen.values(k * n))
            .output(&[m, n])
            .run(|t| t[0].matmul_t(ta, &t[1], tb), |x| ref_matmul(&x[0], ad, ta, &x[1], bd, tb))?;
    }

    #[test]
    fn gradcheck_matmul_linear(
        batch in 1usize..=17, fan_in in 1usize..=12, fan_out in 1usize..=33, seed in any::<u64>()
    ) {
        let mut gen = Gen::new(seed);
        Case::new(format!("linear x {batch}×{fan_in}, weight {fan_out}×{fan_in}"), seed)
            .input(&[batch, fan_in], gen.values(batch * fan_in))
            .input(&[fan_out, fan_in], gen.values(fan_out * fan_in))
            .output(&[batch, fan_out])
            .run(
                |t| t[0].linear(&t[1]),
                |x| ref_matmul(&x[0], [batch, fan_in], false, &x[1], [fan_out, fan_in], true),
            )?;
    }
}

proptest! {
    #![proptest_config(crate::check::config(8))]

    /// An inner dimension past `KC = 256`: the product is the sum of two packed k-blocks.
    #[test]
    fn gradcheck_matmul_t_long_inner_dimension(
        m in 1usize..=3, k in 250usize..=300, n in 1usize..=3, ta: bool, tb: bool, seed in any::<u64>()
    ) {
        let mut gen = Gen::new(seed);
        let ad = if ta { [k, m] } else { [m, k] };
        let bd = if tb { [n, k] } else { [k, n] };
        Case::new(format!("matmul_t a {ad:?} (transposed {ta}) · b {bd:?} (transposed {tb})"), seed)
            .input(&ad, gen.values(m * k))
            .input(&bd, gen.values(k * n))
            .output(&[m, n])
            .run(|t| t[0].matmul_t(ta, &t[1], tb), |x| ref_matmul(&x[0], ad, ta, &x[1], bd, tb))?;
    }
}
