//! Batch normalisation: the fused training-mode kernel (`batch_norm_train`, rank 2 and rank 4,
//! whose backward differentiates through the batch statistics), and the layer form
//! (`batch_norm`) in evaluation mode with given running statistics and in training mode, both
//! with and without the affine `γ·x̂ + β`.

use crate::check::{Case, Gen};
use engine::ops::norm::BatchNormState;
use engine::{Device, Tensor};
use kernels::cpu::activation::Unary;
use proptest::prelude::*;

const EPS: [f32; 3] = [1e-5, 1e-3, 0.1];

/// `(n, c, spatial)` of an `n × c` or `n × c × h × w` shape.
fn layout(dims: &[usize]) -> (usize, usize, usize) {
    (dims[0], dims[1], dims[2..].iter().product())
}

/// Per-channel mean and biased variance (two passes) of `x` laid out `n × c × spatial`.
pub fn ref_batch_stats(x: &[f64], n: usize, c: usize, sp: usize) -> (Vec<f64>, Vec<f64>) {
    let count = (n * sp) as f64;
    let cells = |ch: usize| (0..n).flat_map(move |s| (0..sp).map(move |i| (s * c + ch) * sp + i));
    let mean: Vec<f64> = (0..c).map(|ch| cells(ch).map(|k| x[k]).sum::<f64>() / count).collect();
    let var = (0..c).map(|ch| cells(ch).map(|k| (x[k] - mean[ch]).powi(2)).sum::<f64>() / count).collect();
    (mean, var)
}

/// Training-mode normalisation: `(x − mean_c) / √(var_c + eps)` with this batch's statistics.
pub fn ref_batch_norm_train(x: &[f64], dims: &[usize], eps: f64) -> Vec<f64> {
    let (n, c, sp) = layout(dims);
    let (mean, var) = ref_batch_stats(x, n, c, sp);
    x.iter()
        .enumerate()
        .map(|(k, &v)| {
            let ch = (k / sp) % c;
            (v - mean[ch]) / (var[ch] + eps).sqrt()
        })
        .collect()
}

/// `γ_c·x + β_c` per channel (`gamma`, `beta` of length c).
pub fn ref_affine_channels(x: &[f64], dims: &[usize], gamma: &[f64], beta: &[f64]) -> Vec<f64> {
    let (_, c, sp) = layout(dims);
    x.iter().enumerate().map(|(k, &v)| gamma[(k / sp) % c] * v + beta[(k / sp) % c]).collect()
}

/// Evaluation mode: `(x − running_mean_c) / √(running_var_c + eps)`.
pub fn ref_batch_norm_eval(x: &[f64], dims: &[usize], rmean: &[f64], rvar: &[f64], eps: f64) -> Vec<f64> {
    let (_, c, sp) = layout(dims);
    x.iter()
        .enumerate()
        .map(|(k, &v)| {
            let ch = (k / sp) % c;
            (v - rmean[ch]) / (rvar[ch] + eps).sqrt()
        })
        .collect()
}

/// Checks `batch_norm_train`'s output, and its returned mean and biased variance.
fn check_train(dims: &[usize], eps: f32, seed: u64) -> Result<(), TestCaseError> {
    let mut gen = Gen::new(seed);
    let x = gen.values(dims.iter().product());
    // The statistics it returns (the layer derives the running estimates from them).
    let (n, c, sp) = layout(dims);
    let (mean, var) = ref_batch_stats(&x.iter().map(|&v| v as f64).collect::<Vec<_>>(), n, c, sp);
    let t = Tensor::from_vec(x.clone(), dims, Device::Cpu).unwrap();
    let (_, got_mean, got_var) = t.batch_norm_train(eps).unwrap();
    for ch in 0..c {
        prop_assert!(
            (got_mean[ch] as f64 - mean[ch]).abs() <= 1e-6,
            "{dims:?} channel {ch}: mean {} vs {}",
            got_mean[ch],
            mean[ch]
        );
        prop_assert!(
            (got_var[ch] as f64 - var[ch]).abs() <= 1e-6,
            "{dims:?} channel {ch}: var {} vs {}",
            got_var[ch],
            var[ch]
        );
    }
    let eps64 = eps as f64;
    Case::new(format!("batch_norm_train x {dims:?} eps {eps:e}"), seed)
        .input(dims, x)
        .output(dims)
        .run(|t| Ok(t[0].batch_norm_train(eps)?.0), |x| ref_batch_norm_train(&x[0], dims, eps64))
}

/// `batch_norm_act` (the fused CPU kernels in training) against `batch_norm` then the
/// activation, whose gradients the checks above and `unary.rs` hold against references: the
/// same output, the same gradients for x, γ and β, the same running statistics. (A direct
/// finite-difference check would step across the activation's kink wherever `z` lands near 0.)
fn check_fused_act(dims: &[usize], affine: bool, act: Unary, training: bool, seed: u64) -> Result<(), TestCaseError> {
    let (_, c, _) = layout(dims);
    let mut gen = Gen::new(seed);
    let x = gen.values(dims.iter().product());
    let (gamma, beta) = (gen.values(c), gen.values(c));
    let weights = gen.values(x.len());
    let run = |fused: bool| {
        let state = BatchNormState::new(c, 0.1, 1e-4, Device::Cpu);
        let xt = Tensor::param(x.clone(), dims, Device::Cpu).unwrap();
        let g = Tensor::param(gamma.clone(), &[c], Device::Cpu).unwrap();
        let b = Tensor::param(beta.clone(), &[c], Device::Cpu).unwrap();
        let aff = if affine { Some((&g, &b)) } else { None };
        let y = if fused {
            xt.batch_norm_act(&state, training, aff, act).unwrap()
        } else {
            xt.batch_norm(&state, training, aff).unwrap().unary(act).unwrap()
        };
        let w = Tensor::from_vec(weights.clone(), dims, Device::Cpu).unwrap();
        y.mul(&w).unwrap().sum_all().unwrap().backward().unwrap();
        let grad = |t: &Tensor| t.grad().map(|g| g.to_vec()).unwrap_or_default();
        let stats = [state.running_mean.to_vec(), state.running_var.to_vec()];
        (y.to_vec(), [grad(&xt), grad(&g), grad(&b)], stats)
    };
    let (fused, composed) = (run(true), run(false));
    let close = |what: &str, a: &[f32], b: &[f32]| -> Result<(), TestCaseError> {
        prop_assert_eq!(a.len(), b.len(), "{}", what);
        for (i, (u, v)) in a.iter().zip(b).enumerate() {
            prop_assert!(
                (u - v).abs() <= 1e-5 * (1.0 + v.abs()),
                "{dims:?} {act:?} affine {affine}: {what}[{i}] fused {u} vs composed {v}"
            );
        }
        Ok(())
    };
    close("y", &fused.0, &composed.0)?;
    for (name, (a, b)) in ["dx", "dγ", "dβ"].iter().zip(fused.1.iter().zip(&composed.1)) {
        close(name, a, b)?;
    }
    close("running mean", &fused.2[0], &composed.2[0])?;
    close("running var", &fused.2[1], &composed.2[1])
}

/// `batch_norm_act_pool` (fused CPU kernels in training) against `batch_norm`, the activation
/// and `max_pool2d(2, 2, 0)`, each checked against references elsewhere: the same output, input
/// gradient and running statistics. Odd sides leave a last row or column out of every window.
fn check_fused_act_pool(dims: &[usize], act: Unary, training: bool, seed: u64) -> Result<(), TestCaseError> {
    let c = dims[1];
    let mut gen = Gen::new(seed);
    let x = gen.values(dims.iter().product());
    let pooled = [dims[0], c, dims[2] / 2, dims[3] / 2];
    let weights = gen.values(pooled.iter().product());
    let run = |fused: bool| {
        let state = BatchNormState::new(c, 0.1, 1e-4, Device::Cpu);
        let xt = Tensor::param(x.clone(), dims, Device::Cpu).unwrap();
        let y = if fused {
            xt.batch_norm_act_pool(&state, training, act).unwrap()
        } else {
            xt.batch_norm(&state, training, None).unwrap().unary(act).unwrap().max_pool2d(2, 2, 0).unwrap()
        };
        let w = Tensor::from_vec(weights.clone(), &pooled, Device::Cpu).unwrap();
        y.mul(&w).unwrap().sum_all().unwrap().backward().unwrap();
        (
            y.dims().to_vec(),
            y.to_vec(),
            xt.grad().unwrap().to_vec(),
            [state.running_mean.to_vec(), state.running_var.to_vec()],
        )
    };
    let (fused, composed) = (run(true), run(false));
    prop_assert_eq!(&fused.0, &composed.0);
    let close = |what: &str, a: &[f32], b: &[f32]| -> Result<(), TestCaseError> {
        prop_assert_eq!(a.len(), b.len(), "{}", what);
        for (i, (u, v)) in a.iter().zip(b).enumerate() {
            prop_assert!(
                (u - v).abs() <= 1e-5 * (1.0 + v.abs()),
                "{dims:?} {act:?}: {what}[{i}] fused {u} vs composed {v}"
            );
        }
        Ok(())
    };
    close("y", &fused.1, &composed.1)?;
    close("dx", &fused.2, &composed.2)?;
    close("running mean", &fused.3[0], &composed.3[0])?;
    close("running var", &fused.3[1], &composed.3[1])
}

/// The shape of a rank-2 (`n × c`) or rank-4 (`n × c × h × w`) batch.
fn dims_of(rank4: bool, n: usize, c: usize, h: usize, w: usize) -> Vec<usize> {
    if rank4 {
        vec![n, c, h, w]
    } else {
        vec![n, c]
    }
}

proptest! {
    #![proptest_config(crate::check::config(32))]

    #[test]
    fn gradcheck_batch_norm_train_rank2(n in 2usize..=8, c in 1usize..=4, eps in 0usize..3, seed in any::<u64>()) {
        check_train(&[n, c], EPS[eps], seed)?;
    }

    #[test]
    fn gradcheck_batch_norm_train_rank4(
        n in 1usize..=3, c in 1usize..=3, h in 1usize..=4, w in 1usize..=4, eps in 0usize..3, seed in any::<u64>(),
    ) {
        // Training needs at least two values per channel.
        let w = if n * h * w < 2 { 2 } else { w };
        check_train(&[n, c, h, w], EPS[eps], seed)?;
    }

    #[test]
    fn fused_batch_norm_act_matches_composition(
        rank4: bool, affine: bool, relu: bool, training: bool, n in 2usize..=6, c in 1usize..=5, h in 1usize..=5,
        w in 1usize..=5, seed in any::<u64>(),
    ) {
        let act = if relu { Unary::Relu } else { Unary::LeakyRelu(0.1) };
        check_fused_act(&dims_of(rank4, n, c, h, w), affine, act, training, seed)?;
    }

    #[test]
    fn fused_batch_norm_act_pool_matches_composition(
        relu: bool, training: bool, n in 1usize..=4, c in 1usize..=4, h in 2usize..=7, w in 2usize..=7,
        seed in any::<u64>(),
    ) {
        let act = if relu { Unary::Relu } else { Unary::LeakyRelu(0.1) };
        check_fused_act_pool(&[n, c, h, w], act, training, seed)?;
    }

    /// Evaluation mode: normalised with given running statistics, then (optionally) `γ·x̂ + β`;
    /// gradients to x, γ and β.
    #[test]
    fn gradcheck_batch_norm_eval(
        rank4: bool, affine: bool, n in 1usize..=3, c in 1usize..=4, h in 1usize..=3, w in 1usize..=3,
        eps in 0usize..3, seed in any::<u64>(),
    ) {
        let dims = dims_of(rank4, n, c, h, w);
        let eps = EPS[eps];
        let mut gen = Gen::new(seed);
        let rmean = gen.signed_vec(c, 0.0, 1.0);
        let rvar = gen.uniform_vec(c, 0.2, 2.0);
        let state = BatchNormState::new(c, 0.1, eps, Device::Cpu);
        state.running_mean.set_data(rmean.clone()).unwrap();
        state.running_var.set_data(rvar.clone()).unwrap();
        let rm64: Vec<f64> = rmean.iter().map(|&v| v as f64).collect();
        let rv64: Vec<f64> = rvar.iter().map(|&v| v as f64).collect();
        let mut case = Case::new(format!("batch_norm eval x {dims:?} affine {affine} eps {eps:e}"), seed)
            .input(&dims, gen.values(dims.iter().product()));
        if affine {
            case = case.input(&[c], gen.values(c)).input(&[c], gen.values(c));
        }
        case.output(&dims).run(
            |t| t[0].batch_norm(&state, false, if affine { Some((&t[1], &t[2])) } else { None }),
            |x| {
                let y = ref_batch_norm_eval(&x[0], &dims, &rm64, &rv64, eps as f64);
                if affine { ref_affine_channels(&y, &dims, &x[1], &x[2]) } else { y }
            },
        )?;
    }

    /// Training mode through the layer: batch statistics, then `γ·x̂ + β`; gradients to x, γ
    /// and β. Afterwards the running estimates must hold one momentum step towards the batch
    /// mean and the *unbiased* batch variance (PyTorch's rule).
    #[test]
    fn gradcheck_batch_norm_layer_train(
        rank4: bool, affine: bool, n in 2usize..=4, c in 1usize..=3, h in 1usize..=3, w in 1usize..=3,
        eps in 0usize..3, seed in any::<u64>(),
    ) {
        let dims = dims_of(rank4, n, c, h, w);
        let eps = EPS[eps];
        let momentum = 0.1f32;
        let mut gen = Gen::new(seed);
        let state = BatchNormState::new(c, momentum, eps, Device::Cpu);
        let x = gen.values(dims.iter().product());
        let x64: Vec<f64> = x.iter().map(|&v| v as f64).collect();
        let mut case =
            Case::new(format!("batch_norm train x {dims:?} affine {affine} eps {eps:e}"), seed).input(&dims, x);
        if affine {
            case = case.input(&[c], gen.values(c)).input(&[c], gen.values(c));
        }
        case.output(&dims).run(
            |t| t[0].batch_norm(&state, true, if affine { Some((&t[1], &t[2])) } else { None }),
            |x| {
                let y = ref_batch_norm_train(&x[0], &dims, eps as f64);
                if affine { ref_affine_channels(&y, &dims, &x[1], &x[2]) } else { y }
            },
        )?;
        // `run` called the layer once, from running statistics (0, 1).
        let (_, _, sp) = layout(&dims);
        let count = (n * sp) as f64;
        let (mean, var) = ref_batch_stats(&x64, n, c, sp);
        let (m, rm, rv) = (momentum as f64, state.running_mean.to_vec(), state.running_var.to_vec());
        for ch in 0..c {
            let want_m = m * mean[ch];
            let want_v = (1.0 - m) + m * var[ch] * count / (count - 1.0);
            let (got_m, got_v) = (rm[ch] as f64, rv[ch] as f64);
            prop_assert!((got_m - want_m).abs() <= 1e-6, "{dims:?} channel {ch}: running mean {got_m} vs {want_m}");
            let msg = format!("{dims:?} channel {ch}: running var {got_v} vs {want_v}");
            prop_assert!((got_v - want_v).abs() <= 1e-6 * want_v, "{}", msg);
        }
    }
}

#[test]
fn batch_norm_act_pool_refuses_other_activations_and_ranks() {
    let state = BatchNormState::new(1, 0.1, 1e-4, Device::Cpu);
    let x = Tensor::from_vec(vec![0.5, -1.0, 2.0, 0.25], &[1, 1, 2, 2], Device::Cpu).unwrap();
    let err = x.batch_norm_act_pool(&state, true, Unary::Sigmoid).unwrap_err();
    assert!(err.to_string().contains("relu"), "{err}");
    let flat = Tensor::from_vec(vec![0.5, -1.0, 2.0, 0.25], &[4, 1], Device::Cpu).unwrap();
    let err = flat.batch_norm_act_pool(&state, true, Unary::Relu).unwrap_err();
    assert!(err.to_string().contains("n×c×h×w"), "{err}");
}

#[test]
fn batch_norm_act_refuses_other_activations() {
    let state = BatchNormState::new(2, 0.1, 1e-4, Device::Cpu);
    let x = Tensor::from_vec(vec![0.5, -1.0, 2.0, 0.25], &[2, 2], Device::Cpu).unwrap();
    for act in [Unary::Sigmoid, Unary::LeakyRelu(-0.5)] {
        let err = x.batch_norm_act(&state, true, None, act).unwrap_err();
        assert!(err.to_string().contains("relu"), "{err}");
    }
}
