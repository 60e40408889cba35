//! The fused batch-norm + activation kernels (training mode) on the layers of the papers'
//! networks: microseconds per call, forward and backward, median of 41 after warm-up, and the
//! effective bandwidth (bytes the kernel must read and write once, over its time).
//!
//! `cargo bench --bench norm` (threads: `RAYON_NUM_THREADS`). Plain output, no criterion, so that
//! an A/B of two builds can alternate the binaries: `name<TAB>forward µs<TAB>backward µs<TAB>GB/s`.

use std::hint::black_box;
use std::time::Instant;

use kernels::cpu::norm::{batch_norm_act_train_backward, batch_norm_act_train_forward};

fn filled(len: usize, seed: u32) -> Vec<f32> {
    (0..len)
        .map(|i| ((i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) >> 8) as f32 / (1u32 << 24) as f32 - 0.5)
        .collect()
}

fn median_us(mut f: impl FnMut()) -> f64 {
    for _ in 0..5 {
        f();
    }
    let mut t: Vec<f64> = (0..41)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[t.len() / 2]
}

fn main() {
    // (name, n, c, spatial, affine, slope): the layers as the throughput workloads run them.
    let layers = [
        ("mnist_lenet_bn1", 200, 8, 28 * 28, false, 0.1),
        ("cifar_lenet_bn1", 200, 32, 32 * 32, false, 0.1),
        ("cifar_lenet_bn2", 200, 64, 16 * 16, false, 0.1),
        ("cifar_lenet_bn3", 200, 128, 8 * 8, false, 0.1),
        ("dcgan_gen28_bn1", 64, 128, 7 * 7, true, 0.0),
        ("dcgan_gen28_bn2", 64, 64, 14 * 14, true, 0.0),
    ];
    println!("layer\tforward µs\tbackward µs\tGB/s (forward + backward)");
    for (name, n, c, spatial, affine, slope) in layers {
        let len = n * c * spatial;
        let (x, dy) = (filled(len, 1), filled(len, 2));
        let (gamma, beta) = (filled(c, 3), filled(c, 4));
        let aff = affine.then_some((gamma.as_slice(), beta.as_slice()));
        let (mut xhat, mut y, mut dx) = (vec![0.0; len], vec![0.0; len], vec![0.0; len]);
        let (mut mean, mut var, mut dg, mut db) = (vec![0.0; c], vec![0.0; c], vec![0.0; c], vec![0.0; c]);
        let fwd = median_us(|| {
            batch_norm_act_train_forward(
                n,
                c,
                spatial,
                black_box(&x),
                1e-4,
                aff,
                slope,
                &mut xhat,
                &mut y,
                &mut mean,
                &mut var,
            )
        });
        let bwd = median_us(|| {
            let (g, b) = if affine { (Some(dg.as_mut_slice()), Some(db.as_mut_slice())) } else { (None, None) };
            batch_norm_act_train_backward(n, c, spatial, black_box(&xhat), &var, 1e-4, aff, slope, &dy, &mut dx, g, b)
        });
        // Once each: forward reads x, writes x̂ and y; backward reads x̂ and dy, writes dx.
        let bytes = (3 + 3) * len * 4;
        println!("{name}\t{fwd:.1}\t{bwd:.1}\t{:.1}", bytes as f64 / (fwd + bwd) / 1e3);
    }
}
