//! Max and average pooling on the GPU vs `kernels::cpu::pool` and `kernels::cpu::avg_pool`.

use crate::{assert_close, down, gpu, poisoned, up, Rng};
use kernels::cpu::pool::Pool2dGeom;
use kernels::gpu::GpuBuffer;
use kernels::{cpu, gpu};

fn geometries() -> Vec<Pool2dGeom> {
    let g = |n, c, h, w, k, stride, pad| Pool2dGeom { n, c, h, w, k, stride, pad };
    vec![
        g(2, 3, 8, 8, 2, 2, 0),
        g(1, 2, 7, 9, 3, 2, 1), // overlapping windows, padding
        g(2, 1, 5, 5, 3, 1, 1),
        g(3, 5, 28, 28, 2, 2, 0),
        g(1, 3, 9, 7, 2, 2, 0), // odd sizes: the last row and column are dropped
        g(2, 2, 4, 6, 4, 3, 2), // windows mostly padding
    ]
}

#[test]
fn gpu_parity_max_pool2d() {
    let ctx = gpu!();
    let mut rng = Rng::new(6);
    for geom in geometries() {
        let x = rng.vec(geom.x_len(), -1.0, 1.0);
        let mut want_y = vec![f32::NAN; geom.y_len()];
        let mut want_am = vec![u32::MAX; geom.y_len()];
        cpu::pool::max_pool2d_forward(&geom, &x, &mut want_y, &mut want_am);
        let y = poisoned(ctx, geom.y_len());
        let am = GpuBuffer::from_slice_u32(ctx, &vec![u32::MAX; geom.y_len()]).unwrap();
        gpu::pool::max_pool2d_forward(&geom, &up(ctx, &x), &y, &am).unwrap();
        // A maximum is a copy: exact.
        assert_close(&format!("max_pool2d_forward {geom:?}"), &down(&y), &want_y, 0.0);
        assert_eq!(am.to_vec_u32().unwrap(), want_am, "argmax {geom:?}");
    }
}

#[test]
fn gpu_parity_max_pool2d_backward() {
    let ctx = gpu!();
    let mut rng = Rng::new(7);
    for geom in geometries() {
        let x = rng.vec(geom.x_len(), -1.0, 1.0);
        let mut y = vec![f32::NAN; geom.y_len()];
        let mut am = vec![u32::MAX; geom.y_len()];
        cpu::pool::max_pool2d_forward(&geom, &x, &mut y, &mut am);
        let dy = rng.vec(geom.y_len(), -1.0, 1.0);
        let mut want = vec![f32::NAN; geom.x_len()];
        cpu::pool::max_pool2d_backward(&geom, &dy, &am, &mut want);
        let dx = poisoned(ctx, geom.x_len());
        let gam = GpuBuffer::from_slice_u32(ctx, &am).unwrap();
        gpu::pool::max_pool2d_backward(&geom, &up(ctx, &dy), &gam, &dx).unwrap();
        // Same additions in the same order as the CPU: the tolerance only covers fma.
        assert_close(&format!("max_pool2d_backward {geom:?}"), &down(&dx), &want, 1e-6);
    }
}

fn avg_geometries() -> Vec<Pool2dGeom> {
    let g = |n, c, h, w, k, stride| Pool2dGeom { n, c, h, w, k, stride, pad: 0 };
    vec![
        g(2, 3, 8, 8, 2, 2),
        g(1, 2, 7, 9, 3, 2), // overlapping windows
        g(2, 1, 5, 5, 3, 1),
        g(3, 5, 28, 28, 2, 2),
        g(1, 3, 9, 7, 2, 2), // odd sizes: the last row and column are dropped
        g(2, 2, 4, 6, 4, 3),
    ]
}

#[test]
fn gpu_parity_avg_pool2d_forward_and_backward() {
    let ctx = gpu!();
    let mut rng = Rng::new(8);
    for geom in avg_geometries() {
        let x = rng.vec(geom.x_len(), -1.0, 1.0);
        let mut want_y = vec![f32::NAN; geom.y_len()];
        cpu::avg_pool::avg_pool2d_forward(&geom, &x, &mut want_y);
        let y = poisoned(ctx, geom.y_len());
        gpu::avg_pool::avg_pool2d_forward(&geom, &up(ctx, &x), &y).unwrap();
        // The same additions in the same order, then one division: the tolerance only covers fma.
        assert_close(&format!("avg_pool2d_forward {geom:?}"), &down(&y), &want_y, 1e-6);
        let dy = rng.vec(geom.y_len(), -1.0, 1.0);
        let mut want = vec![f32::NAN; geom.x_len()];
        cpu::avg_pool::avg_pool2d_backward(&geom, &dy, &mut want);
        let dx = poisoned(ctx, geom.x_len());
        gpu::avg_pool::avg_pool2d_backward(&geom, &up(ctx, &dy), &dx).unwrap();
        assert_close(&format!("avg_pool2d_backward {geom:?}"), &down(&dx), &want, 1e-6);
    }
}
