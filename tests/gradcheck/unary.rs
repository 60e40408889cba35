//! Elementwise functions against their f64 formulas, on random shapes of rank 1–4.
//! Each test draws values from the range where the function is smooth and interesting:
//! |x| ≥ 0.01 around the kinks of relu / leaky_relu / abs (a step of `H` never crosses 0),
//! positive inputs for log and sqrt, and magnitudes up to 30 for softplus and log-sigmoid, whose
//! stable forms must neither overflow nor lose the small tail.

use crate::check::{Case, Gen};
use engine::Tensor;
use proptest::prelude::*;

/// Shapes of rank 1–4 with sizes 1–5.
fn shape() -> impl Strategy<Value = Vec<usize>> {
    proptest::collection::vec(1usize..=5, 1..=4)
}

/// Input magnitudes in [lo, hi], with random signs when `signed`.
#[derive(Clone, Copy)]
struct Range {
    lo: f32,
    hi: f32,
    signed: bool,
}

const SIGNED: Range = Range { lo: 0.1, hi: 1.0, signed: true };
const AWAY_FROM_KINK: Range = Range { lo: 0.01, hi: 1.0, signed: true };
const POSITIVE: Range = Range { lo: 0.1, hi: 4.0, signed: false };
/// Far into both tails, where `log(1 + eˣ)` written naively overflows or rounds to 0.
const SATURATING: Range = Range { lo: 0.01, hi: 30.0, signed: true };

fn check_unary(
    name: &str,
    dims: &[usize],
    range: Range,
    seed: u64,
    op: impl Fn(&Tensor) -> engine::Result<Tensor>,
    reference: impl Fn(f64) -> f64,
) -> Result<(), TestCaseError> {
    let mut gen = Gen::new(seed);
    let n = dims.iter().product();
    let x = if range.signed { gen.signed_vec(n, range.lo, range.hi) } else { gen.uniform_vec(n, range.lo, range.hi) };
    Case::new(format!("{name} x {dims:?}"), seed)
        .input(dims, x)
        .output(dims)
        .run(|t| op(&t[0]), |x| x[0].iter().map(|&v| reference(v)).collect())
}

/// `log(1 + eˣ)` without overflow.
pub fn ref_softplus(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

pub fn ref_sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

pub fn ref_leaky_relu(x: f64, slope: f64) -> f64 {
    if x > 0.0 {
        x
    } else {
        slope * x
    }
}

proptest! {
    #![proptest_config(crate::check::config(64))]

    #[test]
    fn gradcheck_relu(dims in shape(), seed in any::<u64>()) {
        check_unary("relu", &dims, AWAY_FROM_KINK, seed, |t| t.relu(), |x| x.max(0.0))?;
    }

    #[test]
    fn gradcheck_leaky_relu(
        dims in shape(), slope in prop_oneof![Just(0.01f32), Just(0.1), Just(0.2), 0.0f32..1.0], seed in any::<u64>()
    ) {
        let slope64 = slope as f64;
        let name = format!("leaky_relu({slope})");
        check_unary(&name, &dims, AWAY_FROM_KINK, seed, |t| t.leaky_relu(slope), |x| ref_leaky_relu(x, slope64))?;
    }

    #[test]
    fn gradcheck_sigmoid(dims in shape(), seed in any::<u64>()) {
        check_unary("sigmoid", &dims, Range { lo: 0.1, hi: 8.0, signed: true }, seed, |t| t.sigmoid(), ref_sigmoid)?;
    }

    #[test]
    fn gradcheck_tanh(dims in shape(), seed in any::<u64>()) {
        check_unary("tanh", &dims, Range { lo: 0.1, hi: 4.0, signed: true }, seed, |t| t.tanh(), f64::tanh)?;
    }

    #[test]
    fn gradcheck_exp(dims in shape(), seed in any::<u64>()) {
        check_unary("exp", &dims, Range { lo: 0.1, hi: 4.0, signed: true }, seed, |t| t.exp(), f64::exp)?;
    }

    #[test]
    fn gradcheck_log(dims in shape(), seed in any::<u64>()) {
        check_unary("log", &dims, POSITIVE, seed, |t| t.log(), f64::ln)?;
    }

    #[test]
    fn gradcheck_softplus(dims in shape(), seed in any::<u64>()) {
        check_unary("softplus", &dims, SATURATING, seed, |t| t.softplus(), ref_softplus)?;
    }

    #[test]
    fn gradcheck_log_sigmoid(dims in shape(), seed in any::<u64>()) {
        check_unary("log_sigmoid", &dims, SATURATING, seed, |t| t.log_sigmoid(), |x| -ref_softplus(-x))?;
    }

    #[test]
    fn gradcheck_sqrt(dims in shape(), seed in any::<u64>()) {
        check_unary("sqrt", &dims, POSITIVE, seed, |t| t.sqrt(), f64::sqrt)?;
    }

    #[test]
    fn gradcheck_sqr(dims in shape(), seed in any::<u64>()) {
        check_unary("sqr", &dims, Range { lo: 0.1, hi: 2.0, signed: true }, seed, |t| t.sqr(), |x| x * x)?;
    }

    #[test]
    fn gradcheck_neg(dims in shape(), seed in any::<u64>()) {
        check_unary("neg", &dims, SIGNED, seed, |t| t.neg(), |x| -x)?;
    }

    #[test]
    fn gradcheck_abs(dims in shape(), seed in any::<u64>()) {
        check_unary("abs", &dims, AWAY_FROM_KINK, seed, |t| t.abs(), f64::abs)?;
    }
}
