//! GEMM throughput: the square sizes we compare with `torch.matmul`
//! (`benches/torch_kernels.py` prints the reference) and the per-sample GEMMs of the CIFAR
//! LeNet's second convolution (im2col forward, input gradient, weight gradient).
//!
//! Run with the thread count the reference uses: `RAYON_NUM_THREADS=2 cargo bench --bench gemm`.
//!
//! Throughput is declared as `Elements(2·m·n·k)`, so criterion's "Gelem/s" reads as GFLOP/s.
//! After criterion, the same workloads are timed once more by a plain loop and printed as
//! `name<TAB>X GFLOP/s`, the format of the PyTorch script, so the two outputs line up.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kernels::cpu::gemm::{gemm, simd_level};

/// One benchmarked product: `C (m × n) = op(A) · op(B)` with `op(A)` `m × k`.
struct Workload {
    name: &'static str,
    ta: bool,
    tb: bool,
    m: usize,
    n: usize,
    k: usize,
}

impl Workload {
    fn flops(&self) -> u64 {
        2 * (self.m * self.n * self.k) as u64
    }
}

const WORKLOADS: [Workload; 6] = [
    Workload { name: "gemm_512", ta: false, tb: false, m: 512, n: 512, k: 512 },
    Workload { name: "gemm_1024", ta: false, tb: false, m: 1024, n: 1024, k: 1024 },
    // A small product the engine issues (must stay on one thread: no pool wake-up).
    Workload { name: "gemm_200x32x196", ta: false, tb: false, m: 200, n: 32, k: 196 },
    // LeNet conv2, one sample: weight (64 × 800) · im2col (800 × 256) ...
    Workload { name: "gemm_conv_forward_64x256x800", ta: false, tb: false, m: 64, n: 256, k: 800 },
    // ... weightᵀ · dy for the input gradient ...
    Workload { name: "gemm_conv_input_grad_800x256x64", ta: true, tb: false, m: 800, n: 256, k: 64 },
    // ... and dy · im2colᵀ for the weight gradient.
    Workload { name: "gemm_conv_weight_grad_64x800x256", ta: false, tb: true, m: 64, n: 800, k: 256 },
];

fn filled(len: usize, seed: u32) -> Vec<f32> {
    (0..len)
        .map(|i| ((i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) >> 8) as f32 / (1u32 << 24) as f32 - 0.5)
        .collect()
}

struct Operands {
    a: Vec<f32>,
    b: Vec<f32>,
    c: Vec<f32>,
}

impl Workload {
    fn operands(&self) -> Operands {
        Operands { a: filled(self.m * self.k, 1), b: filled(self.k * self.n, 2), c: vec![0.0; self.m * self.n] }
    }

    fn run(&self, o: &mut Operands) {
        gemm(self.ta, self.tb, self.m, self.n, self.k, 1.0, black_box(&o.a), black_box(&o.b), 0.0, &mut o.c);
    }

    /// Median seconds per call over 15 timed batches of about 20 ms each, after a warm-up.
    fn median_seconds(&self, o: &mut Operands) -> f64 {
        let calls = (4e9 / self.flops() as f64).ceil() as usize;
        for _ in 0..calls {
            self.run(o);
        }
        let mut times: Vec<f64> = (0..15)
            .map(|_| {
                let start = Instant::now();
                for _ in 0..calls {
                    self.run(o);
                }
                start.elapsed().as_secs_f64() / calls as f64
            })
            .collect();
        times.sort_by(f64::total_cmp);
        times[times.len() / 2]
    }
}

fn gemm_benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("gemm");
    group.sample_size(20).measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    for w in &WORKLOADS {
        let mut o = w.operands();
        group.throughput(Throughput::Elements(w.flops()));
        group.bench_function(w.name, |b| b.iter(|| w.run(&mut o)));
    }
    group.finish();
}

/// The plain GFLOP/s lines, comparable with `benches/torch_kernels.py`.
fn print_gflops(_: &mut Criterion) {
    println!("\nGEMM ({} micro-kernel, {} rayon threads):", simd_level(), rayon::current_num_threads());
    for w in &WORKLOADS {
        let mut o = w.operands();
        let seconds = w.median_seconds(&mut o);
        println!("{}\t{:.1} GFLOP/s", w.name, w.flops() as f64 / seconds / 1e9);
    }
}

criterion_group!(benches, gemm_benches, print_gflops);
criterion_main!(benches);
