//! The fused batch-norm + activation kernels (training mode) on the layers of the papers'
//! networks: microseconds per call, forward and backward, median of 41 after warm-up, and the
//! effective bandwidth (bytes the kernel must read and write once, over its time). The LeNets'
//! layers also run as a whole block tail — batch norm, activation and 2 × 2 max pool — composed
//! (`+pool`: the two kernels and the pool's) and fused (`_pool_fused`, `kernels::cpu::norm_pool`).
//!
//! `cargo bench --bench norm` (threads: `RAYON_NUM_THREADS`). Plain output, no criterion, so that
//! an A/B of two builds can alternate the binaries: `name<TAB>forward µs<TAB>backward µs<TAB>GB/s`.

use std::hint::black_box;
use std::time::Instant;

use kernels::cpu::norm::{batch_norm_act_train_backward, batch_norm_act_train_forward};
use kernels::cpu::norm_pool::{batch_norm_act_pool_train_backward, batch_norm_act_pool_train_forward};
use kernels::cpu::pool::{max_pool2d_backward, max_pool2d_forward, Pool2dGeom};

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
        if !name.contains("lenet") {
            continue;
        }
        // The block tail with the pool: composed, then fused.
        let side = (spatial as f64).sqrt() as usize;
        let g = Pool2dGeom { n, c, h: side, w: side, k: 2, stride: 2, pad: 0 };
        let pooled = n * c * g.oh() * g.ow();
        let (mut yp, mut am, dyp) = (vec![0.0; pooled], vec![0u32; pooled], filled(pooled, 5));
        let mut dfull = vec![0.0; len];
        let fwd = median_us(|| {
            batch_norm_act_train_forward(
                n,
                c,
                spatial,
                black_box(&x),
                1e-4,
                None,
                slope,
                &mut xhat,
                &mut y,
                &mut mean,
                &mut var,
            );
            max_pool2d_forward(&g, &y, &mut yp, &mut am);
        });
        let bwd = median_us(|| {
            max_pool2d_backward(&g, black_box(&dyp), &am, &mut dfull);
            batch_norm_act_train_backward(n, c, spatial, &xhat, &var, 1e-4, None, slope, &dfull, &mut dx, None, None);
        });
        // Reads x and writes x̂ and the pooled output; reads x̂ and the pooled gradient, writes dx.
        let bytes = (3 * len + 2 * pooled) * 4 + (2 * len + 2 * pooled) * 4;
        println!("{name}+pool\t{fwd:.1}\t{bwd:.1}\t{:.1}", bytes as f64 / (fwd + bwd) / 1e3);
        let fwd = median_us(|| {
            batch_norm_act_pool_train_forward(
                n,
                c,
                side,
                side,
                black_box(&x),
                1e-4,
                slope,
                &mut xhat,
                &mut yp,
                &mut am,
                &mut mean,
                &mut var,
            )
        });
        let bwd = median_us(|| {
            batch_norm_act_pool_train_backward(
                n,
                c,
                side,
                side,
                black_box(&xhat),
                &var,
                1e-4,
                slope,
                &dyp,
                &am,
                &mut dx,
            )
        });
        println!("{name}_pool_fused\t{fwd:.1}\t{bwd:.1}\t{:.1}", bytes as f64 / (fwd + bwd) / 1e3);
    }
}
