//! GPU kernels (wgpu): GEMM 512³ and 1024³, and the CIFAR-10 LeNet's second convolution
//! (batch 200, 32 → 64 channels, 16×16, 5×5, pad 2) forward and backward.
//!
//! Throughput is declared as `Elements(flops)`, so criterion's "Gelem/s" reads as GFLOP/s.
//! Each sample records its launches, then waits for the device (`Context::synchronize`)
//! before the clock stops: wgpu submissions are asynchronous. Every kernel runs once before
//! timing (pipeline compilation, buffer allocation). Without an adapter the bench prints why
//! and measures nothing. On a software adapter (lavapipe, ~1.5 GFLOP/s on two cores) it only
//! smoke-tests: one timed run per kernel, printed as a table, no criterion statistics (set
//! `ONECLASS_BENCH_SOFTWARE=1` for the full run). `ONECLASS_BENCH_SAMPLES` overrides
//! criterion's sample count (default 10).

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kernels::gpu::{conv, gemm, Context, ContextOptions, GpuBuffer};

fn filled(len: usize, seed: u32) -> Vec<f32> {
    (0..len)
        .map(|i| ((i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) >> 8) as f32 / (1u32 << 24) as f32 - 0.5)
        .collect()
}

fn context() -> Option<Context> {
    match Context::new(ContextOptions { allow_software: true }) {
        Ok(c) => {
            eprintln!("gpu_kernels: adapter {}", c.adapter());
            Some(c)
        }
        Err(e) => {
            eprintln!("gpu_kernels: skipped, {e}");
            None
        }
    }
}

/// Times `iters` runs of `f` up to the end of the GPU work.
fn timed(ctx: &Context, iters: u64, f: &dyn Fn()) -> Duration {
    ctx.synchronize().unwrap();
    let t = Instant::now();
    for _ in 0..iters {
        f();
    }
    ctx.synchronize().unwrap();
    t.elapsed()
}

fn samples() -> usize {
    std::env::var("ONECLASS_BENCH_SAMPLES").ok().and_then(|s| s.parse().ok()).unwrap_or(10)
}

fn gpu_kernels(c: &mut Criterion) {
    let Some(ctx) = context() else { return };
    let up = |v: &[f32]| GpuBuffer::from_slice(&ctx, v).unwrap();
    if ctx.adapter().software && std::env::var("ONECLASS_BENCH_SOFTWARE").as_deref() != Ok("1") {
        return smoke(&ctx);
    }

    let mut group = c.benchmark_group("gpu_gemm");
    group.sample_size(samples()).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    for n in [512usize, 1024] {
        let (a, b) = (up(&filled(n * n, 1)), up(&filled(n * n, 2)));
        let cm = GpuBuffer::uninit(&ctx, n * n).unwrap();
        let run = || gemm::gemm(false, false, n, n, n, 1.0, &a, &b, 0.0, &cm).unwrap();
        run();
        group.throughput(Throughput::Elements(2 * (n * n * n) as u64));
        group.bench_function(format!("gemm_{n}"), |bch| bch.iter_custom(|iters| timed(&ctx, iters, &run)));
    }
    group.finish();

    let g = conv::Conv2dGeom { n: 200, c_in: 32, h: 16, w: 16, c_out: 64, kh: 5, kw: 5, stride: 1, pad: 2 };
    let flops = 2 * g.n * g.c_out * g.oh() * g.ow() * g.c_in * g.kh * g.kw;
    let (x, w, dy) = (up(&filled(g.x_len(), 1)), up(&filled(g.w_len(), 2)), up(&filled(g.y_len(), 3)));
    let (y, dx, dw) = (
        GpuBuffer::uninit(&ctx, g.y_len()).unwrap(),
        GpuBuffer::uninit(&ctx, g.x_len()).unwrap(),
        GpuBuffer::uninit(&ctx, g.w_len()).unwrap(),
    );
    let mut group = c.benchmark_group("gpu_lenet_cifar_conv2");
    group.sample_size(samples()).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    group.throughput(Throughput::Elements(flops as u64));
    let fwd = || conv::conv2d_forward(&g, &x, &w, &y).unwrap();
    let bwd_in = || conv::conv2d_backward_input(&g, &dy, &w, &dx).unwrap();
    let bwd_w = || conv::conv2d_backward_weight(&g, &x, &dy, &dw).unwrap();
    for (name, f) in
        [("conv2d_forward", &fwd as &dyn Fn()), ("conv2d_backward_input", &bwd_in), ("conv2d_backward_weight", &bwd_w)]
    {
        f();
        group.bench_function(name, |bch| bch.iter_custom(|iters| timed(&ctx, iters, f)));
    }
    group.finish();
}

/// One warm-up and one timed run of each kernel, for a software adapter.
fn smoke(ctx: &Context) {
    let up = |v: &[f32]| GpuBuffer::from_slice(ctx, v).unwrap();
    let mut rows = Vec::new();
    let n = 512;
    let (a, b, cm) = (up(&filled(n * n, 1)), up(&filled(n * n, 2)), GpuBuffer::uninit(ctx, n * n).unwrap());
    let run = || gemm::gemm(false, false, n, n, n, 1.0, &a, &b, 0.0, &cm).unwrap();
    run();
    rows.push(("gemm_512", 2.0 * (n * n * n) as f64, timed(ctx, 1, &run)));
    let g = conv::Conv2dGeom { n: 200, c_in: 32, h: 16, w: 16, c_out: 64, kh: 5, kw: 5, stride: 1, pad: 2 };
    let (x, w, y) = (up(&filled(g.x_len(), 1)), up(&filled(g.w_len(), 2)), GpuBuffer::uninit(ctx, g.y_len()).unwrap());
    let fwd = || conv::conv2d_forward(&g, &x, &w, &y).unwrap();
    fwd();
    let flops = 2 * g.n * g.c_out * g.oh() * g.ow() * g.c_in * g.kh * g.kw;
    rows.push(("lenet_cifar_conv2 forward", flops as f64, timed(ctx, 1, &fwd)));
    println!("software adapter: smoke run only (ONECLASS_BENCH_SOFTWARE=1 for criterion)");
    println!("{:<28} {:>10} {:>10}", "kernel", "ms", "GFLOP/s");
    for (name, fl, t) in rows {
        println!("{name:<28} {:>10.1} {:>10.2}", t.as_secs_f64() * 1e3, fl / t.as_secs_f64() / 1e9);
    }
}

criterion_group!(benches, gpu_kernels);
criterion_main!(benches);
