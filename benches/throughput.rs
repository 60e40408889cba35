//! Training and inference throughput of the papers' networks, with exactly the workloads of
//! `../shared/tools/torch_ref_bench.py` so the two can be compared line by line:
//! `cargo bench --bench throughput` prints `name<TAB>N samples/s` (median of repeats after
//! warm-up, random inputs). Train = forward + backward + Adam step; inference in eval mode.

use engine::optim::{Adam, AdamConfig, Optimizer};
use engine::{no_grad, Device, Rng, Tensor};
use models::nets::{CifarLeNet, DcganGenerator, MnistLeNet};
use models::nn::{Mode, Scope, Vars};
use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn bench(name: &str, batch: usize, reps: usize, mut step: impl FnMut()) {
    for _ in 0..3 {
        step();
    }
    let times: Vec<f64> = (0..reps)
        .map(|_| {
            let t = Instant::now();
            step();
            t.elapsed().as_secs_f64()
        })
        .collect();
    println!("{name}\t{:.1} samples/s", batch as f64 / median(times));
}

/// Deep SVDD step: loss = mean ‖φ(x) − c‖², Adam(lr 1e-4, weight decay 1e-6).
fn svdd_step<F: Fn(&Tensor) -> engine::Result<Tensor>>(
    vars: &Vars,
    forward: F,
    dims: &[usize],
    rng: &mut Rng,
) -> impl FnMut() {
    let dev = Device::Cpu;
    let x = Tensor::rand_uniform(dims, 0.0, 1.0, rng, dev).unwrap();
    let rep = no_grad(|| forward(&x)).unwrap().dims()[1];
    let c = Tensor::randn(&[1, rep], 0.0, 1.0, rng, dev).unwrap();
    let mut opt = Adam::new(vars.params(), AdamConfig { lr: 1e-4, weight_decay: 1e-6, ..Default::default() });
    move || {
        opt.zero_grad();
        let loss = forward(&x).unwrap().sub(&c).unwrap().sqr().unwrap().sum(&[1], false).unwrap().mean_all().unwrap();
        loss.backward().unwrap();
        opt.step().unwrap();
    }
}

fn main() {
    // `cargo bench` passes `--bench`; anything else filters workloads by name.
    let filter: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let wanted = |n: &str| filter.is_empty() || filter.iter().any(|f| n.contains(f.as_str()));
    let dev = Device::Cpu;
    let mut rng = Rng::new(0);

    if wanted("mnist_lenet_svdd_train_b200") {
        let vars = Vars::new();
        let net = MnistLeNet::new(&Scope::new(&vars, dev), &mut rng).unwrap();
        let step = svdd_step(&vars, |x| net.forward(x, Mode::Train), &[200, 1, 28, 28], &mut rng);
        bench("mnist_lenet_svdd_train_b200", 200, 15, step);
    }
    if wanted("cifar_lenet_svdd_train_b200") {
        let vars = Vars::new();
        let net = CifarLeNet::new(&Scope::new(&vars, dev), &mut rng).unwrap();
        let step = svdd_step(&vars, |x| net.forward(x, Mode::Train), &[200, 3, 32, 32], &mut rng);
        bench("cifar_lenet_svdd_train_b200", 200, 7, step);
    }
    if wanted("dcgan_gen28_train_b64") {
        let vars = Vars::new();
        let g = DcganGenerator::new28(&Scope::new(&vars, dev), &mut rng, 100).unwrap();
        let z = Tensor::randn(&[64, 100], 0.0, 1.0, &mut rng, dev).unwrap();
        let mut opt = Adam::new(vars.params(), AdamConfig { lr: 2e-4, ..Default::default() });
        bench("dcgan_gen28_train_b64", 64, 15, || {
            opt.zero_grad();
            let loss = g.forward(&z, Mode::Train).unwrap().sqr().unwrap().mean_all().unwrap();
            loss.backward().unwrap();
            opt.step().unwrap();
        });
    }
    if wanted("mnist_lenet_infer_b1000") {
        let vars = Vars::new();
        let net = MnistLeNet::new(&Scope::new(&vars, dev), &mut rng).unwrap();
        let x = Tensor::rand_uniform(&[1000, 1, 28, 28], 0.0, 1.0, &mut rng, dev).unwrap();
        bench("mnist_lenet_infer_b1000", 1000, 15, || {
            no_grad(|| net.forward(&x, Mode::Eval)).unwrap();
        });
    }
}
