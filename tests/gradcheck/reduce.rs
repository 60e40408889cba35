//! Sums and means over random axis sets (empty, some, all; in any order), with and without
//! `keepdim`, and over every element.

use crate::check::{unravel, Case, Gen};
use proptest::prelude::*;

/// Sums `x` (shape `dims`) over the axes where `reduce` is true; returns the output shape
/// (reduced axes kept as 1 or dropped) and values.
pub fn ref_sum(x: &[f64], dims: &[usize], reduce: &[bool], keepdim: bool) -> (Vec<usize>, Vec<f64>) {
    let kept: Vec<usize> = dims.iter().zip(reduce).map(|(&d, &r)| if r { 1 } else { d }).collect();
    let mut y = vec![0.0; kept.iter().product()];
    for (k, &v) in x.iter().enumerate() {
        let idx = unravel(k, dims);
        let out = idx.iter().zip(&kept).fold(0, |acc, (&i, &d)| acc * d + if d == 1 { 0 } else { i });
        y[out] += v;
    }
    let out_dims = if keepdim { kept } else { dims.iter().zip(reduce).filter(|(_, &r)| !r).map(|(&d, _)| d).collect() };
    (out_dims, y)
}

/// An input shape (rank 1–4, sizes 1–5), which axes to reduce, and whether to list them in
/// descending order.
fn reduction() -> impl Strategy<Value = (Vec<usize>, Vec<bool>, bool)> {
    (proptest::collection::vec(1usize..=5, 1..=4), proptest::collection::vec(any::<bool>(), 4), any::<bool>()).prop_map(
        |(dims, mask, descending)| {
            let r = dims.len();
            (dims, mask[..r].to_vec(), descending)
        },
    )
}

fn axes_of(reduce: &[bool], descending: bool) -> Vec<usize> {
    let mut axes: Vec<usize> = (0..reduce.len()).filter(|&d| reduce[d]).collect();
    if descending {
        axes.reverse();
    }
    axes
}

proptest! {
    #![proptest_config(crate::check::config(64))]

    #[test]
    fn gradcheck_sum((dims, reduce, descending) in reduction(), keepdim: bool, seed in any::<u64>()) {
        let axes = axes_of(&reduce, descending);
        let (out, _) = ref_sum(&vec![0.0; dims.iter().product()], &dims, &reduce, keepdim);
        let mut gen = Gen::new(seed);
        Case::new(format!("sum x {dims:?} axes {axes:?} keepdim {keepdim}"), seed)
            .input(&dims, gen.values(dims.iter().product()))
            .output(&out)
            .run(|t| t[0].sum(&axes, keepdim), |x| ref_sum(&x[0], &dims, &reduce, keepdim).1)?;
    }

    #[test]
    fn gradcheck_mean((dims, reduce, descending) in reduction(), keepdim: bool, seed in any::<u64>()) {
        let axes = axes_of(&reduce, descending);
        let count: usize = axes.iter().map(|&a| dims[a]).product();
        let (out, _) = ref_sum(&vec![0.0; dims.iter().product()], &dims, &reduce, keepdim);
        let mut gen = Gen::new(seed);
        Case::new(format!("mean x {dims:?} axes {axes:?} keepdim {keepdim}"), seed)
            .input(&dims, gen.values(dims.iter().product()))
            .output(&out)
            .run(
                |t| t[0].mean(&axes, keepdim),
                |x| ref_sum(&x[0], &dims, &reduce, keepdim).1.iter().map(|s| s / count as f64).collect(),
            )?;
    }

    #[test]
    fn gradcheck_sum_all(dims in proptest::collection::vec(1usize..=6, 0..=4), seed in any::<u64>()) {
        let mut gen = Gen::new(seed);
        Case::new(format!("sum_all x {dims:?}"), seed)
            .input(&dims, gen.values(dims.iter().product()))
            .output(&[])
            .run(|t| t[0].sum_all(), |x| vec![x[0].iter().sum()])?;
    }

    #[test]
    fn gradcheck_mean_all(dims in proptest::collection::vec(1usize..=6, 0..=4), seed in any::<u64>()) {
        let mut gen = Gen::new(seed);
        let n = dims.iter().product::<usize>() as f64;
        Case::new(format!("mean_all x {dims:?}"), seed)
            .input(&dims, gen.values(dims.iter().product()))
            .output(&[])
            .run(|t| t[0].mean_all(), |x| vec![x[0].iter().sum::<f64>() / n])?;
    }
}
