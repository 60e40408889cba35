//! Training and inference throughput of the papers' networks, with exactly the workloads of
//! `../shared/tools/torch_ref_bench.py` so the two can be compared line by line:
//! `cargo bench --bench throughput` prints `name<TAB>N samples/s` (median of repeats after
//! warm-up, random inputs). Train = forward + backward + Adam step; inference in eval mode.
//!
//! `-- --device gpu` runs the same workloads on the GPU (each timed step ends with a device
//! synchronisation: submissions are asynchronous), plus the fused inference plans in f32 and f16
//! storage (`*_fused_f32`, `*_fused_f16`; f16 where the adapter offers SHADER_F16), which have
//! no PyTorch twin in `torch_ref_bench.py`.

use engine::optim::{Adam, AdamConfig, Optimizer};
use engine::{no_grad, Device, Rng, Tensor};
use kernels::gpu::infer::{Precision, TypedBuffer};
use models::nets::plan::InferencePlan;
use models::nets::{CifarLeNet, DcganGenerator, MnistLeNet};
use models::nn::{Mode, Scope, Vars, LEAKY_SLOPE};
use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Waits for the GPU's queued work (a no-op on the CPU): a step's time ends when its last
/// launch has run, not when it was recorded.
fn sync(dev: Device) {
    if dev == Device::Gpu {
        engine::device::gpu_context().unwrap().synchronize().unwrap();
    }
}

fn bench(name: &str, dev: Device, batch: usize, reps: usize, mut step: impl FnMut()) {
    for _ in 0..3 {
        step();
    }
    sync(dev);
    let times: Vec<f64> = (0..reps)
        .map(|_| {
            let t = Instant::now();
            step();
            sync(dev);
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
    dev: Device,
) -> impl FnMut() {
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
    // `cargo bench` passes `--bench`; `--device cpu|gpu` picks the device; anything else
    // filters workloads by name.
    let mut filter = Vec::new();
    let mut dev = Device::Cpu;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--device" || a.starts_with("--device=") {
            let name = a.strip_prefix("--device=").map(String::from).or_else(|| args.next()).unwrap_or_default();
            dev = Device::parse(&name).unwrap_or_else(|e| {
                eprintln!("error: {e}");
                std::process::exit(2)
            });
        } else if !a.starts_with("--") {
            filter.push(a);
        }
    }
    // As the `train` binary runs: on a pool thread (`kernels::cpu::parallel::in_pool`).
    kernels::cpu::parallel::in_pool(|| workloads(&filter, dev));
}

fn workloads(filter: &[String], dev: Device) {
    let wanted = |n: &str| filter.is_empty() || filter.iter().any(|f| n.contains(f.as_str()));
    if dev == Device::Gpu {
        eprintln!("throughput: GPU {}", engine::device::gpu_context().unwrap().adapter());
    }
    let mut rng = Rng::new(0);

    if wanted("mnist_lenet_svdd_train_b200") {
        let vars = Vars::new();
        let net = MnistLeNet::new(&Scope::new(&vars, dev), &mut rng, LEAKY_SLOPE).unwrap();
        let step = svdd_step(&vars, |x| net.forward(x, Mode::Train), &[200, 1, 28, 28], &mut rng, dev);
        bench("mnist_lenet_svdd_train_b200", dev, 200, 15, step);
    }
    if wanted("cifar_lenet_svdd_train_b200") {
        let vars = Vars::new();
        let net = CifarLeNet::new(&Scope::new(&vars, dev), &mut rng, LEAKY_SLOPE).unwrap();
        let step = svdd_step(&vars, |x| net.forward(x, Mode::Train), &[200, 3, 32, 32], &mut rng, dev);
        bench("cifar_lenet_svdd_train_b200", dev, 200, 7, step);
    }
    if wanted("dcgan_gen28_train_b64") {
        let vars = Vars::new();
        let g = DcganGenerator::new28(&Scope::new(&vars, dev), &mut rng, 100).unwrap();
        let z = Tensor::randn(&[64, 100], 0.0, 1.0, &mut rng, dev).unwrap();
        let mut opt = Adam::new(vars.params(), AdamConfig { lr: 2e-4, ..Default::default() });
        bench("dcgan_gen28_train_b64", dev, 64, 15, || {
            opt.zero_grad();
            let loss = g.forward(&z, Mode::Train).unwrap().sqr().unwrap().mean_all().unwrap();
            loss.backward().unwrap();
            opt.step().unwrap();
        });
    }
    if wanted("mnist_lenet_infer_b1000") {
        let vars = Vars::new();
        let net = MnistLeNet::new(&Scope::new(&vars, dev), &mut rng, LEAKY_SLOPE).unwrap();
        let x = Tensor::rand_uniform(&[1000, 1, 28, 28], 0.0, 1.0, &mut rng, dev).unwrap();
        bench("mnist_lenet_infer_b1000", dev, 1000, 15, || {
            no_grad(|| net.forward(&x, Mode::Eval)).unwrap();
        });
    }
    if dev == Device::Gpu {
        fused_inference(&wanted, &mut rng);
    }
}

/// The fused inference plans (one launch per conv + batch norm + leaky ReLU) of the MNIST and
/// CIFAR-10 LeNets, batch 1000, in each storage precision the adapter runs.
fn fused_inference(wanted: &dyn Fn(&str) -> bool, rng: &mut Rng) {
    let ctx = engine::device::gpu_context().unwrap();
    let mut precisions = vec![Precision::F32];
    if ctx.supports_f16() {
        precisions.push(Precision::F16);
    } else {
        eprintln!("throughput: f16 skipped, the adapter does not offer SHADER_F16");
    }
    let nets: [(&str, &[usize]); 2] = [("mnist", &[1, 28, 28]), ("cifar", &[3, 32, 32])];
    for (name, shape) in nets {
        let vars = Vars::new();
        let scope = Scope::new(&vars, Device::Cpu);
        let specs = if name == "mnist" {
            MnistLeNet::new(&scope, rng, LEAKY_SLOPE).unwrap().layer_specs()
        } else {
            CifarLeNet::new(&scope, rng, LEAKY_SLOPE).unwrap().layer_specs()
        };
        let x = Tensor::rand_uniform(&[1000 * shape.iter().product::<usize>()], 0.0, 1.0, rng, Device::Cpu).unwrap();
        for &p in &precisions {
            let label = format!("{name}_lenet_infer_b1000_fused_{}", p.name());
            if !wanted(&label) {
                continue;
            }
            let plan = InferencePlan::new(ctx, &specs, shape, p).unwrap();
            let xb = TypedBuffer::from_f32(ctx, &x.to_vec(), p).unwrap();
            bench(&label, Device::Gpu, 1000, 15, || {
                plan.forward_device(&xb, 1000).unwrap();
            });
        }
    }
}
