//! Fused optimiser steps on the GPU vs `kernels::cpu::optim`: several steps in a row, the
//! state (w, m, v or the momentum buffer) compared after each.

use crate::{assert_close, down, gpu, up, Rng, TOL};
use kernels::{cpu, gpu};

const SIZES: [usize; 3] = [1, 300, 1025];

#[test]
fn gpu_parity_adam() {
    let ctx = gpu!();
    let mut rng = Rng::new(70);
    for n in SIZES {
        // The last case is RMSprop's form: β₁ = 0, no bias correction.
        for (lr, wd, b1, corrected) in
            [(1e-3f32, 0.0f32, 0.9f32, true), (1e-2, 1e-2, 0.9, true), (1e-3, 0.0, 0.0, false)]
        {
            let mut w = rng.vec(n, -1.0, 1.0);
            let (mut m, mut v) = (vec![0.0; n], vec![0.0; n]);
            let (gw, gm, gv) = (up(ctx, &w), up(ctx, &m), up(ctx, &v));
            for t in 1..=3u64 {
                let g = rng.vec(n, -1.0, 1.0);
                let t = corrected.then_some(t);
                cpu::optim::adam_step(&mut w, &g, &mut m, &mut v, lr, b1, 0.999, 1e-8, wd, t);
                gpu::optim::adam_step(&gw, &up(ctx, &g), &gm, &gv, lr, b1, 0.999, 1e-8, wd, t).unwrap();
                let what = format!("adam n={n} lr={lr} wd={wd} β₁={b1} t={t:?}");
                assert_close(&format!("{what}: w"), &down(&gw), &w, TOL);
                assert_close(&format!("{what}: m"), &down(&gm), &m, TOL);
                assert_close(&format!("{what}: v"), &down(&gv), &v, TOL);
            }
        }
    }
}

#[test]
fn gpu_parity_sgd() {
    let ctx = gpu!();
    let mut rng = Rng::new(71);
    for n in SIZES {
        for (momentum, wd) in [(0.0f32, 0.0f32), (0.9, 1e-3)] {
            let mut w = rng.vec(n, -1.0, 1.0);
            let mut buf = vec![0.0; n];
            let (gw, gbuf) = (up(ctx, &w), up(ctx, &buf));
            for step in 0..3 {
                let g = rng.vec(n, -1.0, 1.0);
                cpu::optim::sgd_step(&mut w, &g, &mut buf, 0.05, momentum, wd);
                gpu::optim::sgd_step(&gw, &up(ctx, &g), &gbuf, 0.05, momentum, wd).unwrap();
                let what = format!("sgd n={n} momentum={momentum} wd={wd} step={step}");
                assert_close(&format!("{what}: w"), &down(&gw), &w, TOL);
                assert_close(&format!("{what}: buf"), &down(&gbuf), &buf, TOL);
            }
        }
    }
}
