//! Fused losses: `bce_with_logits` (targets in [0, 1], a constant) and `mse` (gradients to
//! both sides, or only the prediction when the target is a constant).

use crate::check::{Case, Gen};
use proptest::prelude::*;

/// `mean(max(x,0) − x·t + log(1 + e^{−|x|}))`: binary cross-entropy of `sigmoid(x)` against `t`,
/// in the form that neither overflows `exp` nor takes `log 0`.
pub fn ref_bce_with_logits(x: &[f64], t: &[f64]) -> f64 {
    x.iter().zip(t).map(|(&x, &t)| x.max(0.0) - x * t + (-x.abs()).exp().ln_1p()).sum::<f64>() / x.len() as f64
}

/// `mean((a − b)²)`.
pub fn ref_mse(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(a, b)| (a - b) * (a - b)).sum::<f64>() / a.len() as f64
}

fn shape() -> impl Strategy<Value = Vec<usize>> {
    proptest::collection::vec(1usize..=5, 1..=4)
}

proptest! {
    #![proptest_config(crate::check::config(64))]

    /// Logits mostly in ±[0.1, 4], a fifth of them saturated in ±[20, 30] and a few in
    /// ±[100, 1000], where a naive `log(sigmoid(x))` gives −∞ or NaN; targets uniform in [0, 1]
    /// with exact 0s and 1s among them.
    #[test]
    fn gradcheck_bce(dims in shape(), seed in any::<u64>()) {
        let mut gen = Gen::new(seed);
        let n: usize = dims.iter().product();
        let logits = (0..n)
            .map(|_| match gen.below(20) {
                0 => gen.signed(100.0, 1000.0),
                1..=4 => gen.signed(20.0, 30.0),
                _ => gen.signed(0.1, 4.0),
            })
            .collect();
        let targets = (0..n)
            .map(|_| match gen.below(6) {
                0 => 0.0,
                1 => 1.0,
                _ => gen.unit(),
            })
            .collect();
        Case::new(format!("bce_with_logits x {dims:?}"), seed)
            .input(&dims, logits)
            .constant(&dims, targets)
            .output(&[])
            .run(|t| t[0].bce_with_logits(&t[1]), |x| vec![ref_bce_with_logits(&x[0], &x[1])])?;
    }

    #[test]
    fn gradcheck_mse(dims in shape(), target_is_constant: bool, seed in any::<u64>()) {
        let mut gen = Gen::new(seed);
        let n: usize = dims.iter().product();
        let case = Case::new(format!("mse a {dims:?} target constant {target_is_constant}"), seed)
            .input(&dims, gen.values(n));
        let target = gen.values(n);
        let case = if target_is_constant { case.constant(&dims, target) } else { case.input(&dims, target) };
        case.output(&[]).run(|t| t[0].mse(&t[1]), |x| vec![ref_mse(&x[0], &x[1])])?;
    }
}
