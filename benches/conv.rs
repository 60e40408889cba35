//! Convolution kernels on the CIFAR-10 LeNet's second and third conv layers (batch 200,
//! 32 → 64 channels on 16×16 and 64 → 128 on 8×8, 5×5 kernel, pad 2, stride 1), and on the
//! DCGAN generator's first two transposed convolutions.
//!
//! Throughput is declared as `Elements(flops)`, so criterion's "Gelem/s" reads as GFLOP/s.
//! All three kernels do the same 2·n·c_out·oh·ow·c_in·kh·kw multiply-adds (those on the zero
//! padding included).

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kernels::cpu::conv::{conv2d_backward_input, conv2d_backward_weight, conv2d_forward, Conv2dGeom};

fn filled(len: usize, seed: u32) -> Vec<f32> {
    (0..len)
        .map(|i| ((i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) >> 8) as f32 / (1u32 << 24) as f32 - 0.5)
        .collect()
}

fn conv(c: &mut Criterion) {
    for (name, g) in [
        ("lenet_cifar_conv1", Conv2dGeom { n: 200, c_in: 3, h: 32, w: 32, c_out: 32, kh: 5, kw: 5, stride: 1, pad: 2 }),
        (
            "lenet_cifar_conv2",
            Conv2dGeom { n: 200, c_in: 32, h: 16, w: 16, c_out: 64, kh: 5, kw: 5, stride: 1, pad: 2 },
        ),
        ("lenet_cifar_conv3", Conv2dGeom { n: 200, c_in: 64, h: 8, w: 8, c_out: 128, kh: 5, kw: 5, stride: 1, pad: 2 }),
    ] {
        let flops = 2 * g.n * g.c_out * g.oh() * g.ow() * g.c_in * g.kh * g.kw;
        let (x, w, dy) = (filled(g.x_len(), 1), filled(g.w_len(), 2), filled(g.y_len(), 3));
        let (mut y, mut dx, mut dw) = (vec![0.0; g.y_len()], vec![0.0; g.x_len()], vec![0.0; g.w_len()]);

        let mut group = c.benchmark_group(name);
        group.sample_size(10).measurement_time(Duration::from_secs(3)).throughput(Throughput::Elements(flops as u64));
        group.bench_function("conv2d_forward", |b| b.iter(|| conv2d_forward(&g, black_box(&x), black_box(&w), &mut y)));
        group.bench_function("conv2d_backward_input", |b| {
            b.iter(|| conv2d_backward_input(&g, black_box(&dy), black_box(&w), &mut dx))
        });
        group.bench_function("conv2d_backward_weight", |b| {
            b.iter(|| conv2d_backward_weight(&g, black_box(&x), black_box(&dy), &mut dw))
        });
        group.finish();
    }
}

/// The DCGAN generator's transposed convolutions (batch 64), as the adjoint convolutions the
/// engine runs: `deconv1` (100 → 128, 1×1 → 7×7, a dense layer), `deconv2` (128 → 64,
/// 7×7 → 14×14, stride 2, the grouped path) and `deconv3` (64 → 1, 14×14 → 28×28, per sample).
/// Forward of the transposed convolution =
/// `conv2d_backward_input`, its input gradient = `conv2d_forward`.
fn dcgan(c: &mut Criterion) {
    for (name, g) in [
        ("deconv1", Conv2dGeom { n: 64, c_in: 128, h: 7, w: 7, c_out: 100, kh: 7, kw: 7, stride: 1, pad: 0 }),
        ("deconv2", Conv2dGeom { n: 64, c_in: 64, h: 14, w: 14, c_out: 128, kh: 4, kw: 4, stride: 2, pad: 1 }),
        ("deconv3", Conv2dGeom { n: 64, c_in: 1, h: 28, w: 28, c_out: 64, kh: 4, kw: 4, stride: 2, pad: 1 }),
    ] {
        let flops = 2 * g.n * g.c_out * g.oh() * g.ow() * g.c_in * g.kh * g.kw;
        let (x, w, dy) = (filled(g.x_len(), 1), filled(g.w_len(), 2), filled(g.y_len(), 3));
        let (mut y, mut dx, mut dw) = (vec![0.0; g.y_len()], vec![0.0; g.x_len()], vec![0.0; g.w_len()]);
        let mut group = c.benchmark_group(format!("dcgan_gen28_{name}"));
        group.sample_size(10).measurement_time(Duration::from_secs(2)).throughput(Throughput::Elements(flops as u64));
        group.bench_function("conv_transpose2d_forward", |b| {
            b.iter(|| conv2d_backward_input(&g, black_box(&dy), black_box(&w), &mut dx))
        });
        group.bench_function("conv_transpose2d_input_grad", |b| {
            b.iter(|| conv2d_forward(&g, black_box(&x), black_box(&w), &mut y))
        });
        group.bench_function("conv_transpose2d_weight_grad", |b| {
            b.iter(|| conv2d_backward_weight(&g, black_box(&x), black_box(&dy), &mut dw))
        });
        group.finish();
    }
}

criterion_group!(benches, conv, dcgan);
criterion_main!(benches);
