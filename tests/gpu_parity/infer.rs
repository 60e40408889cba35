//! The fused inference kernels (`kernels::gpu::infer`) in f32 and f16 storage against the CPU,
//! and whole inference plans of the papers' encoders against the engine's eval-mode forward.
//!
//! Tolerances:
//! - f32 storage: as the rest of the suite, `max|gpu − cpu| ≤ 1e-4 · max|cpu|`;
//! - f16 storage, one kernel: the CPU computes on the f16-rounded inputs, so only the f16
//!   rounding of the output (≤ 2⁻¹¹ relative) separates the two: `≤ 1e-3` norm-wise;
//! - f16 storage, a whole encoder (every layer's output rounded to f16 in turn): `≤ 3e-3`
//!   norm-wise (measured: ≈ 5e-4); the README gives what this does to AUC.
//!
//! The f16 tests need `SHADER_F16`; an adapter without it skips them with a printed reason,
//! unless `ONECLASS_REQUIRE_F16=1` (CI: lavapipe offers it), when they fail.

use crate::{assert_close_norm, gpu, Rng, TOL};
use engine::{Device, Tensor};
use half::f16;
use kernels::cpu;
use kernels::gpu::infer::{conv_block, max_pool, Conv2dGeom, Epilogue, Pool2dGeom, Precision, TypedBuffer};
use kernels::gpu::{Context, GpuBuffer};
use models::nets::plan::InferencePlan;
use models::nets::Encoder;
use models::nn::{Mode, Scope, Vars};

const TOL_F16_KERNEL: f32 = 1e-3;
const TOL_F16_NETWORK: f32 = 3e-3;

/// The precisions to test on this adapter (f16 only with SHADER_F16).
fn precisions(ctx: &Context) -> Vec<Precision> {
    if ctx.supports_f16() {
        return vec![Precision::F32, Precision::F16];
    }
    assert!(
        std::env::var("ONECLASS_REQUIRE_F16").map_or(true, |v| v != "1"),
        "ONECLASS_REQUIRE_F16=1, but {} does not offer SHADER_F16",
        ctx.adapter().name
    );
    eprintln!("gpu_parity (infer): f16 skipped, {} does not offer SHADER_F16", ctx.adapter().name);
    vec![Precision::F32]
}

/// `v` as the device will hold it: rounded to f16 for f16 storage.
fn rounded(v: &[f32], p: Precision) -> Vec<f32> {
    match p {
        Precision::F32 => v.to_vec(),
        Precision::F16 => v.iter().map(|&x| f16::from_f32(x).to_f32()).collect(),
    }
}

/// An output filled with NaN (f16 NaN for f16 storage): an unwritten element fails.
fn poisoned(ctx: &Context, n: usize, p: Precision) -> TypedBuffer {
    TypedBuffer::from_f32(ctx, &vec![f32::NAN; n], p).unwrap()
}

fn tol(p: Precision) -> f32 {
    match p {
        Precision::F32 => TOL,
        Precision::F16 => TOL_F16_KERNEL,
    }
}

#[allow(clippy::too_many_arguments)]
fn geom(n: usize, c_in: usize, h: usize, w: usize, c_out: usize, k: usize, stride: usize, pad: usize) -> Conv2dGeom {
    Conv2dGeom { n, c_in, h, w, c_out, kh: k, kw: k, stride, pad }
}

#[test]
fn gpu_parity_infer_conv_block() {
    let ctx = gpu!();
    let mut rng = Rng::new(60);
    let cases = [
        geom(2, 3, 9, 7, 5, 3, 1, 1),
        geom(3, 1, 28, 28, 8, 5, 1, 2), // the MNIST LeNet's first layer
        geom(2, 65, 3, 3, 67, 3, 1, 1), // channel counts past one 64-tile
        geom(5, 37, 1, 1, 11, 1, 1, 0), // a dense layer, 5 × 37 → 5 × 11
        geom(1, 2, 7, 5, 3, 2, 3, 0),   // stride > kernel
    ];
    for p in precisions(ctx) {
        let mut worst = 0f32;
        for g in cases {
            let x = rounded(&rng.vec(g.x_len(), -1.0, 1.0), p);
            let w = rounded(&rng.vec(g.w_len(), -1.0, 1.0), p);
            let scale = rng.signed_vec(g.c_out, 0.5, 2.0);
            let shift = rng.vec(g.c_out, -0.5, 0.5);
            let mut conv = vec![f32::NAN; g.y_len()];
            cpu::conv::conv2d_forward(&g, &x, &w, &mut conv);
            let pos = g.oh() * g.ow();
            for (fused, slope) in [(false, None), (true, Some(0.1f32))] {
                let want: Vec<f32> = conv
                    .iter()
                    .enumerate()
                    .map(|(i, &v)| {
                        let co = (i / pos) % g.c_out;
                        let v = if fused { scale[co] * v + shift[co] } else { v };
                        match slope {
                            Some(s) if v < 0.0 => v * s,
                            _ => v,
                        }
                    })
                    .collect();
                let ss = GpuBuffer::from_slice(ctx, &[scale.clone(), shift.clone()].concat()).unwrap();
                let y = poisoned(ctx, g.y_len(), p);
                let epi = Epilogue { scale_shift: fused.then_some(&ss), leaky_slope: slope };
                let (xb, wb) = (TypedBuffer::from_f32(ctx, &x, p).unwrap(), TypedBuffer::from_f32(ctx, &w, p).unwrap());
                conv_block(&g, &xb, &wb, epi, &y).unwrap();
                let what = format!("conv_block {} {g:?} fused {fused}", p.name());
                worst = worst.max(assert_close_norm(&what, &y.to_vec().unwrap(), &want, tol(p)));
            }
        }
        eprintln!("gpu_parity_infer_conv_block ({}): max relative error {worst:e}", p.name());
    }
}

#[test]
fn gpu_parity_infer_max_pool() {
    let ctx = gpu!();
    let mut rng = Rng::new(61);
    let cases = [
        Pool2dGeom { n: 2, c: 3, h: 28, w: 28, k: 2, stride: 2, pad: 0 },
        Pool2dGeom { n: 3, c: 5, h: 9, w: 7, k: 3, stride: 2, pad: 1 },
        Pool2dGeom { n: 1, c: 257, h: 5, w: 5, k: 2, stride: 2, pad: 0 }, // odd plane count
    ];
    for p in precisions(ctx) {
        for g in cases {
            // The maximum of stored values is itself a stored value: exact in both precisions.
            let x = rounded(&rng.vec(g.x_len(), -1.0, 1.0), p);
            let mut want = vec![f32::NAN; g.y_len()];
            let mut argmax = vec![0u32; g.y_len()];
            cpu::pool::max_pool2d_forward(&g, &x, &mut want, &mut argmax);
            let y = poisoned(ctx, g.y_len(), p);
            max_pool(&g, &TypedBuffer::from_f32(ctx, &x, p).unwrap(), &y).unwrap();
            assert_eq!(y.to_vec().unwrap(), want, "max_pool {} {g:?}", p.name());
        }
    }
}

#[test]
fn gpu_parity_infer_f16_conversion() {
    let ctx = gpu!();
    if !precisions(ctx).contains(&Precision::F16) {
        return;
    }
    let mut rng = Rng::new(62);
    for n in [1usize, 2, 513, 1001] {
        // Values spanning f16's normal range, with its largest finite value.
        let mut x = rng.signed_vec(n, 1e-3, 3e4);
        x[0] = 0.5;
        if n > 2 {
            x[1] = 1e-4;
            x[2] = -65504.0;
        }
        let src = GpuBuffer::from_slice(ctx, &x).unwrap();
        let half = TypedBuffer::convert_from(&src, Precision::F16).unwrap();
        let back = half.to_f32_buffer().unwrap().to_vec().unwrap();
        // Rounding to nearest: within half an f16 ulp (2⁻¹¹ relative) of the input.
        for (i, (&b, &v)) in back.iter().zip(&x).enumerate() {
            assert!((b - v).abs() <= v.abs() * 2f32.powi(-11), "to_half/to_float n = {n}, element {i}: {v} → {b}");
        }
        // Values already in f16 survive both ways exactly, on the device and through the host.
        let exact = rounded(&x, Precision::F16);
        let src = GpuBuffer::from_slice(ctx, &exact).unwrap();
        let again = TypedBuffer::convert_from(&src, Precision::F16).unwrap().to_f32_buffer().unwrap();
        assert_eq!(again.to_vec().unwrap(), exact, "f16 values round trip, n = {n}");
        assert_eq!(TypedBuffer::from_f32(ctx, &x, Precision::F16).unwrap().to_vec().unwrap(), exact);
        assert_eq!(half.bytes(), n.div_ceil(2) * 4);
    }
}

/// Random running statistics so the folded batch norm is not the identity.
fn randomise_batch_norms(vars: &Vars, rng: &mut Rng) {
    for (name, t, _) in vars.entries() {
        let n = t.numel();
        if name.ends_with("running_mean") {
            t.set_data(rng.vec(n, -0.5, 0.5)).unwrap();
        } else if name.ends_with("running_var") {
            t.set_data(rng.vec(n, 0.2, 2.0)).unwrap();
        }
    }
}

#[test]
fn gpu_parity_infer_plan() {
    let ctx = gpu!();
    let mut rng = Rng::new(63);
    let cases: [(&str, Vec<usize>, usize); 3] =
        [("mnist", vec![1, 28, 28], 7), ("cifar", vec![3, 32, 32], 3), ("tabular", vec![21], 9)];
    for (name, shape, n) in cases {
        let vars = Vars::new();
        let kind = models::nets::InputKind::from_shape(&shape).unwrap();
        let mut erng = engine::Rng::new(5);
        let enc = Encoder::new(&Scope::new(&vars, Device::Cpu), &mut erng, kind, 0.01).unwrap();
        randomise_batch_norms(&vars, &mut rng);
        let x = rng.vec(n * shape.iter().product::<usize>(), -1.0, 1.0);
        let mut dims = vec![n];
        dims.extend(&shape);
        let want = enc.forward(&Tensor::from_vec(x.clone(), &dims, Device::Cpu).unwrap(), Mode::Eval).unwrap().to_vec();
        for p in precisions(ctx) {
            let plan = InferencePlan::new(ctx, &enc.layer_specs(), &shape, p).unwrap();
            assert_eq!(plan.output_len(), enc.rep_dim());
            let got = plan.forward(&x, n).unwrap();
            let tol = if p == Precision::F16 { TOL_F16_NETWORK } else { TOL };
            let err = assert_close_norm(&format!("{name} encoder, {} plan", p.name()), &got, &want, tol);
            eprintln!("gpu_parity_infer_plan: {name} {}: max relative error {err:e}", p.name());
        }
    }
}
