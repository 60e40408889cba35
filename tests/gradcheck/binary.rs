//! Broadcasting arithmetic (add, sub, mul, div, maximum) on random broadcast-compatible shape
//! pairs of rank 1–4 — size-1 axes on either side, rank mismatch, equal shapes, one-element
//! operands — and the scalar `affine` map. The gradient of a broadcast operand is the sum over
//! the axes it was stretched along, which the projection check covers.

use crate::check::{strides, unravel, Case, Gen};
use proptest::prelude::*;

/// NumPy's broadcast of two shapes (right-aligned; size 1 stretches). Panics if incompatible.
pub fn broadcast_shape(a: &[usize], b: &[usize]) -> Vec<usize> {
    let n = a.len().max(b.len());
    let get = |s: &[usize], i: usize| if i < n - s.len() { 1 } else { s[i - (n - s.len())] };
    (0..n)
        .map(|i| match (get(a, i), get(b, i)) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            (x, y) => panic!("shapes {a:?} and {b:?} do not broadcast ({x} vs {y})"),
        })
        .collect()
}

/// The flat position in an operand of shape `dims` read at output index `idx` under broadcasting.
fn source(idx: &[usize], dims: &[usize]) -> usize {
    let off = idx.len() - dims.len();
    let st = strides(dims);
    dims.iter().enumerate().map(|(d, &size)| if size == 1 { 0 } else { idx[off + d] * st[d] }).sum()
}

/// `f(a, b)` elementwise under broadcasting, by walking every output index.
pub fn ref_broadcast(a: &[f64], ad: &[usize], b: &[f64], bd: &[usize], f: impl Fn(f64, f64) -> f64) -> Vec<f64> {
    let out = broadcast_shape(ad, bd);
    (0..out.iter().product())
        .map(|k| {
            let idx = unravel(k, &out);
            f(a[source(&idx, ad)], b[source(&idx, bd)])
        })
        .collect()
}

/// Two shapes that broadcast: an output shape of rank 1–4 (sizes 1–4); each operand keeps the
/// last 1..=rank of its axes, each either the output's size or (30% of the time) 1.
fn broadcast_pair() -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
    proptest::collection::vec(1usize..=4, 1..=4).prop_flat_map(|out| {
        let r = out.len();
        let operand = move |out: Vec<usize>| {
            (1..=r, proptest::collection::vec(prop::bool::weighted(0.3), r)).prop_map(move |(rank, ones)| {
                out[r - rank..]
                    .iter()
                    .zip(&ones[r - rank..])
                    .map(|(&d, &one)| if one { 1 } else { d })
                    .collect::<Vec<usize>>()
            })
        };
        (operand(out.clone()), operand(out))
    })
}

fn check_binary(
    name: &str,
    (ad, bd): (Vec<usize>, Vec<usize>),
    a: Vec<f32>,
    b: Vec<f32>,
    seed: u64,
    op: impl Fn(&engine::Tensor, &engine::Tensor) -> engine::Result<engine::Tensor>,
    f: impl Fn(f64, f64) -> f64,
) -> Result<(), TestCaseError> {
    Case::new(format!("{name} a {ad:?} b {bd:?}"), seed)
        .input(&ad, a)
        .input(&bd, b)
        .output(&broadcast_shape(&ad, &bd))
        .run(|t| op(&t[0], &t[1]), |x| ref_broadcast(&x[0], &ad, &x[1], &bd, &f))
}

fn numel(d: &[usize]) -> usize {
    d.iter().product()
}

proptest! {
    #![proptest_config(crate::check::config(64))]

    #[test]
    fn gradcheck_add(shapes in broadcast_pair(), seed in any::<u64>()) {
        let mut gen = Gen::new(seed);
        let (a, b) = (gen.values(numel(&shapes.0)), gen.values(numel(&shapes.1)));
        check_binary("add", shapes, a, b, seed, |a, b| a.add(b), |a, b| a + b)?;
    }

    #[test]
    fn gradcheck_sub(shapes in broadcast_pair(), seed in any::<u64>()) {
        let mut gen = Gen::new(seed);
        let (a, b) = (gen.values(numel(&shapes.0)), gen.values(numel(&shapes.1)));
        check_binary("sub", shapes, a, b, seed, |a, b| a.sub(b), |a, b| a - b)?;
    }

    #[test]
    fn gradcheck_mul(shapes in broadcast_pair(), seed in any::<u64>()) {
        let mut gen = Gen::new(seed);
        let (a, b) = (gen.values(numel(&shapes.0)), gen.values(numel(&shapes.1)));
        check_binary("mul", shapes, a, b, seed, |a, b| a.mul(b), |a, b| a * b)?;
    }

    /// Divisors in ±[0.1, 1]: quotients up to 10, gradients `−a/b²` up to 100.
    #[test]
    fn gradcheck_div(shapes in broadcast_pair(), seed in any::<u64>()) {
        let mut gen = Gen::new(seed);
        let (a, b) = (gen.values(numel(&shapes.0)), gen.values(numel(&shapes.1)));
        check_binary("div", shapes, a, b, seed, |a, b| a.div(b), |a, b| a / b)?;
    }

    /// `a` on the grid 0.02·i + 0.005 and `b` on 0.02·j + 0.015: every pair differs by at least
    /// 0.01, so there are no ties and a step of `H` never changes which side wins.
    #[test]
    fn gradcheck_maximum(shapes in broadcast_pair(), seed in any::<u64>()) {
        let mut gen = Gen::new(seed);
        let mut grid = |n: usize, offset: f32| -> Vec<f32> {
            (0..n).map(|_| (gen.below(100) as f32 - 50.0) * 0.02 + offset).collect()
        };
        let (a, b) = (grid(numel(&shapes.0), 0.005), grid(numel(&shapes.1), 0.015));
        check_binary("maximum", shapes, a, b, seed, |a, b| a.maximum(b), f64::max)?;
    }

    /// `a·x + b` with scalar `a`, `b` (and its wrappers `mul_scalar`, `add_scalar`).
    #[test]
    fn gradcheck_affine(
        dims in proptest::collection::vec(1usize..=5, 1..=4), a in -3.0f32..3.0, b in -2.0f32..2.0, which in 0usize..3,
        seed in any::<u64>(),
    ) {
        let mut gen = Gen::new(seed);
        let (a, b) = match which { 0 => (a, b), 1 => (a, 0.0), _ => (1.0, b) };
        let (a64, b64) = (a as f64, b as f64);
        Case::new(format!("affine({a}, {b}) x {dims:?} via {}", ["affine", "mul_scalar", "add_scalar"][which]), seed)
            .input(&dims, gen.values(numel(&dims)))
            .output(&dims)
            .run(
                |t| match which { 0 => t[0].affine(a, b), 1 => t[0].mul_scalar(a), _ => t[0].add_scalar(b) },
                |x| x[0].iter().map(|&v| a64 * v + b64).collect(),
            )?;
    }

    /// One tensor feeding several ops (`x·x + x/y − y`): the tape must sum the gradients that
    /// reach a leaf along different paths.
    #[test]
    fn gradcheck_mul_shared_operand(dims in proptest::collection::vec(1usize..=5, 1..=3), seed in any::<u64>()) {
        let mut gen = Gen::new(seed);
        Case::new(format!("x·x + x/y − y, x and y {dims:?}"), seed)
            .input(&dims, gen.values(numel(&dims)))
            .input(&dims, gen.values(numel(&dims)))
            .output(&dims)
            .run(
                |t| t[0].mul(&t[0])?.add(&t[0].div(&t[1])?)?.sub(&t[1]),
                |x| x[0].iter().zip(&x[1]).map(|(&a, &b)| a * a + a / b - b).collect(),
            )?;
    }
}
