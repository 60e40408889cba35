//! The context itself: adapter report, buffer round trips, the pool, errors as values.

use crate::{down, gpu, poisoned, up};
use kernels::cpu::activation::Unary;
use kernels::gpu::{self, GpuBuffer, GpuError};

#[test]
fn gpu_parity_context_round_trip() {
    let ctx = gpu!();
    let a = ctx.adapter();
    assert!(!a.name.is_empty() && !a.backend.is_empty(), "{a:?}");
    eprintln!("adapter: {a}");
    for n in [0usize, 1, 3, 1000, 65_537] {
        let v: Vec<f32> = (0..n).map(|i| i as f32 * 0.5 - 7.0).collect();
        let b = up(ctx, &v);
        assert_eq!(b.len(), n);
        assert_eq!(down(&b), v);
        // Dropped buffers go back to the pool; the next of the same size reuses one, and
        // its old contents never leak into a fresh upload.
        drop(b);
        let w: Vec<f32> = v.iter().map(|x| -x).collect();
        assert_eq!(down(&up(ctx, &w)), w);
        assert_eq!(down(&GpuBuffer::zeros(ctx, n).unwrap()), vec![0.0; n]);
    }
    let idx: Vec<u32> = (0..77).map(|i| i * 3 + 1).collect();
    assert_eq!(GpuBuffer::from_slice_u32(ctx, &idx).unwrap().to_vec_u32().unwrap(), idx);
    ctx.synchronize().unwrap();
}

#[test]
fn gpu_parity_errors_are_values() {
    let ctx = gpu!();
    let x = up(ctx, &[1.0, -2.0, 3.0]);
    // In place is refused before anything is recorded.
    let e = gpu::activation::unary_forward(Unary::Relu, &x, &x).unwrap_err();
    assert!(matches!(e, GpuError::Validation(_)), "{e}");
    // Wrong lengths.
    let short = poisoned(ctx, 2);
    let e = gpu::activation::unary_forward(Unary::Relu, &x, &short).unwrap_err();
    assert!(matches!(e, GpuError::Shape(_)), "{e}");
    // Past the device's storage binding limit: an error, not an abort.
    let e = GpuBuffer::uninit(ctx, usize::MAX / 8).unwrap_err();
    assert!(matches!(e, GpuError::TooLarge(_)), "{e}");
    // The context still works afterwards.
    let y = poisoned(ctx, 3);
    gpu::activation::unary_forward(Unary::Relu, &x, &y).unwrap();
    assert_eq!(down(&y), [1.0, 0.0, 3.0]);
}
