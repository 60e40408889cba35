//! The engine on `Device::Gpu` against `Device::Cpu`: single ops with their backward, and a
//! whole MNIST LeNet training run (forward, backward, Adam) with the same loss trajectory.
//!
//! These use the engine's own process-wide context (`engine::device::gpu_context`), which accepts
//! a software adapter (lavapipe). Without an adapter each test prints why and passes, unless
//! `ONECLASS_REQUIRE_GPU=1`, when it fails.
//!
//! Tolerances: single ops as the kernel suite (`max|gpu − cpu| ≤ 1e-4 · max|cpu|` per output
//! and per gradient); the LeNet loss trajectory `|gpu − cpu| ≤ 1e-3 · |cpu|` at each of the 20
//! steps, and the trained parameters `≤ 1e-3` norm-wise.

use crate::{assert_close_norm, Rng, TOL};
use engine::ops::norm::BatchNormState;
use engine::optim::{Adam, AdamConfig, Optimizer};
use engine::{Device, Result, Tensor};
use kernels::gpu::gpu_required;
use models::nets::MnistLeNet;
use models::nn::{Mode, Scope, Vars};

/// True when the engine can open a GPU; otherwise prints why (and fails when it is required).
fn engine_gpu() -> bool {
    match engine::device::gpu_context() {
        Ok(c) => {
            eprintln!("gpu_parity (engine): adapter {}", c.adapter());
            true
        }
        Err(e) if gpu_required() => panic!("ONECLASS_REQUIRE_GPU=1, but: {e}"),
        Err(e) => {
            eprintln!("gpu_parity (engine): skipped, {e}");
            false
        }
    }
}

/// Runs `f` on `inputs` (as parameters) on `dev`; returns the output and each input's gradient
/// of `Σ y·r` for a fixed random `r`.
fn run_on(
    dev: Device,
    inputs: &[(Vec<f32>, Vec<usize>)],
    seed: u64,
    f: &dyn Fn(&[Tensor]) -> Result<Tensor>,
) -> (Vec<f32>, Vec<Vec<f32>>) {
    let ts: Vec<Tensor> = inputs.iter().map(|(v, d)| Tensor::param(v.clone(), d, dev).unwrap()).collect();
    let y = f(&ts).unwrap();
    assert_eq!(y.device(), dev);
    let r = Tensor::from_vec(Rng::new(seed).vec(y.numel(), -1.0, 1.0), y.dims(), dev).unwrap();
    y.mul(&r).unwrap().sum_all().unwrap().backward().unwrap();
    let grads = ts.iter().map(|t| t.grad().expect("a gradient").to_vec()).collect();
    (y.to_vec(), grads)
}

/// `f` on both devices: outputs and gradients agree within `TOL` (norm-wise).
fn check(name: &str, inputs: &[(Vec<f32>, Vec<usize>)], f: impl Fn(&[Tensor]) -> Result<Tensor>) {
    let (y_cpu, g_cpu) = run_on(Device::Cpu, inputs, 99, &f);
    let (y_gpu, g_gpu) = run_on(Device::Gpu, inputs, 99, &f);
    assert_close_norm(&format!("{name}: output"), &y_gpu, &y_cpu, TOL);
    for (i, (g, c)) in g_gpu.iter().zip(&g_cpu).enumerate() {
        assert_close_norm(&format!("{name}: gradient of input {i}"), g, c, TOL);
    }
}

fn input(rng: &mut Rng, dims: &[usize]) -> (Vec<f32>, Vec<usize>) {
    (rng.vec(dims.iter().product(), -1.0, 1.0), dims.to_vec())
}

#[test]
fn gpu_parity_engine_ops_with_backward() {
    if !engine_gpu() {
        return;
    }
    let mut rng = Rng::new(40);
    let x = input(&mut rng, &[3, 2, 9, 7]);
    let w = input(&mut rng, &[5, 2, 3, 3]);
    check("conv2d", &[x.clone(), w], |t| t[0].conv2d(&t[1], 2, 1));
    let wt = input(&mut rng, &[2, 3, 5, 5]);
    check("conv_transpose2d", &[x.clone(), wt], |t| t[0].conv_transpose2d(&t[1], 1, 2, 0));
    let a = input(&mut rng, &[13, 17]);
    let b = input(&mut rng, &[17, 11]);
    let bt = input(&mut rng, &[11, 17]);
    check("matmul", &[a.clone(), b], |t| t[0].matmul(&t[1]));
    check("linear", &[a.clone(), bt], |t| t[0].linear(&t[1]));
    check("sum", std::slice::from_ref(&x), |t| t[0].sum(&[0, 2], false));
    check("sum keepdim", std::slice::from_ref(&x), |t| t[0].sum(&[1, 3], true));
    check("mean_all", std::slice::from_ref(&x), |t| t[0].sqr()?.mean_all());
    check("max_pool2d", std::slice::from_ref(&x), |t| t[0].max_pool2d(2, 2, 0));
    check("avg_pool2d", std::slice::from_ref(&x), |t| t[0].avg_pool2d(2, 2));
    check("upsample_nearest", std::slice::from_ref(&x), |t| t[0].upsample_nearest(2));
    check("leaky_relu·sigmoid", std::slice::from_ref(&x), |t| t[0].leaky_relu(0.1)?.sigmoid());
    let bias = input(&mut rng, &[1, 2, 1, 7]);
    check("broadcast add, div", &[x.clone(), bias], |t| t[0].add(&t[1])?.div(&t[1].sqr()?.add_scalar(1.0)?));
    let y2 = input(&mut rng, &[13, 17]);
    check("maximum", &[a.clone(), y2.clone()], |t| t[0].maximum(&t[1]));
    check("mse", &[a.clone(), y2.clone()], |t| t[0].mse(&t[1]));
    let targets: Vec<f32> = y2.0.iter().map(|v| (v + 1.0) / 2.0).collect();
    check("bce_with_logits", std::slice::from_ref(&a), move |t| {
        t[0].bce_with_logits(&Tensor::from_vec(targets.clone(), &[13, 17], t[0].device())?)
    });
    // Layout ops (their own kernels since the layout shader).
    check("permute", std::slice::from_ref(&x), |t| t[0].permute(&[2, 0, 3, 1]));
    check("narrow", std::slice::from_ref(&x), |t| t[0].narrow(2, 3, 4));
    check("concat", &[a.clone(), y2], |t| Tensor::concat(&[&t[0], &t[1]], 1));
    check("select_rows", std::slice::from_ref(&a), |t| t[0].select_rows(&[3, 0, 3, 12]));
    check("pairwise_diff", &[a], |t| t[0].pairwise_diff(&[(0, 1), (5, 2), (12, 12)]));
}

#[test]
fn gpu_parity_engine_batch_norm() {
    if !engine_gpu() {
        return;
    }
    let mut rng = Rng::new(41);
    let x = input(&mut rng, &[6, 3, 5, 4]);
    let x: (Vec<f32>, Vec<usize>) = (x.0.iter().map(|v| v * 2.0 + 0.5).collect(), x.1);
    let states: Vec<BatchNormState> =
        [Device::Cpu, Device::Gpu].iter().map(|&d| BatchNormState::new(3, 0.1, 1e-4, d)).collect();
    let gamma = input(&mut rng, &[3]);
    let beta = input(&mut rng, &[3]);
    // Training mode, twice (the running statistics update twice), with and without affine.
    for step in 0..2 {
        let (y_cpu, g_cpu) =
            run_on(Device::Cpu, std::slice::from_ref(&x), 7, &|t| t[0].batch_norm(&states[0], true, None));
        let (y_gpu, g_gpu) =
            run_on(Device::Gpu, std::slice::from_ref(&x), 7, &|t| t[0].batch_norm(&states[1], true, None));
        assert_close_norm(&format!("batch_norm train {step}: output"), &y_gpu, &y_cpu, TOL);
        assert_close_norm(&format!("batch_norm train {step}: gradient"), &g_gpu[0], &g_cpu[0], TOL);
    }
    assert_eq!(states[1].running_mean.device(), Device::Gpu, "running statistics stay on the device");
    assert_close_norm("running_mean", &states[1].running_mean.to_vec(), &states[0].running_mean.to_vec(), TOL);
    assert_close_norm("running_var", &states[1].running_var.to_vec(), &states[0].running_var.to_vec(), TOL);
    let (s0, s1) = (states[0].clone(), states[1].clone());
    check("batch_norm train affine", &[x.clone(), gamma.clone(), beta.clone()], move |t| {
        let s = if t[0].device() == Device::Cpu { &s0 } else { &s1 };
        t[0].batch_norm(s, true, Some((&t[1], &t[2])))
    });
    let (s0, s1) = (states[0].clone(), states[1].clone());
    check("batch_norm eval affine", &[x, gamma, beta], move |t| {
        let s = if t[0].device() == Device::Cpu { &s0 } else { &s1 };
        t[0].batch_norm(s, false, Some((&t[1], &t[2])))
    });
}

/// 20 Adam steps of the Deep SVDD objective `mean ‖φ(x) − c‖²` on one device; returns the loss
/// at each step and the trained parameters.
fn lenet_run(dev: Device, x: &[f32], c: &[f32], batch: usize) -> (Vec<f32>, Vec<Vec<f32>>) {
    let vars = Vars::new();
    let net = MnistLeNet::new(&Scope::new(&vars, dev), &mut engine::Rng::new(7), models::nn::LEAKY_SLOPE).unwrap();
    let params = vars.params();
    assert!(params.iter().all(|p| p.device() == dev));
    let mut opt = Adam::new(params.clone(), AdamConfig { lr: 1e-3, weight_decay: 1e-6, ..Default::default() });
    let x = Tensor::from_vec(x.to_vec(), &[batch, 1, 28, 28], dev).unwrap();
    let c = Tensor::from_vec(c.to_vec(), &[1, MnistLeNet::REP_DIM], dev).unwrap();
    let mut losses = Vec::new();
    for _ in 0..20 {
        opt.zero_grad();
        let z = net.forward(&x, Mode::Train).unwrap();
        let loss = z.sub(&c).unwrap().sqr().unwrap().sum(&[1], false).unwrap().mean_all().unwrap();
        loss.backward().unwrap();
        opt.step().unwrap();
        // The one scalar read back per step.
        losses.push(loss.to_scalar().unwrap());
    }
    assert!(params.iter().all(|p| p.device() == dev), "parameters stay on {dev}");
    (losses, params.iter().map(|p| p.to_vec()).collect())
}

#[test]
fn gpu_parity_lenet_training_step() {
    if !engine_gpu() {
        return;
    }
    let batch = 16;
    let mut rng = Rng::new(42);
    let x = rng.vec(batch * 28 * 28, 0.0, 1.0);
    let c = rng.vec(MnistLeNet::REP_DIM, -0.5, 0.5);
    let (l_cpu, p_cpu) = lenet_run(Device::Cpu, &x, &c, batch);
    let (l_gpu, p_gpu) = lenet_run(Device::Gpu, &x, &c, batch);
    eprintln!("LeNet loss, cpu: {l_cpu:?}\nLeNet loss, gpu: {l_gpu:?}");
    assert!(l_cpu[19] < l_cpu[0], "the loss decreases: {l_cpu:?}");
    for (i, (g, w)) in l_gpu.iter().zip(&l_cpu).enumerate() {
        assert!((g - w).abs() <= 1e-3 * w.abs(), "step {i}: gpu loss {g} vs cpu {w}");
    }
    for (i, (g, w)) in p_gpu.iter().zip(&p_cpu).enumerate() {
        assert_close_norm(&format!("LeNet parameter {i} after 20 steps"), g, w, 1e-3);
    }
}
