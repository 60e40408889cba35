//! Average pooling over unpadded windows (the geometry is max pooling's `Pool2dGeom`, pad 0) (Keras' `AveragePooling2D` with `padding='valid'`: a
//! plane of odd size drops its last row or column at stride 2).
//!
//! Each output is the window's sum in row-major order divided by k²; the backward gives every
//! input cell the sum, in row-major output order, of dy / k² over the windows that hold it. The
//! GPU kernels (`shaders/avg_pool.wgsl`) add in the same orders.

pub use super::pool::Pool2dGeom;
use rayon::prelude::*;

/// Whether average pooling takes `g`: no padding (`pad` 0), k and stride ≥ 1, k ≤ h and k ≤ w.
pub fn fits(g: &Pool2dGeom) -> bool {
    g.pad == 0 && g.k >= 1 && g.stride >= 1 && g.k <= g.h && g.k <= g.w
}

fn check(g: &Pool2dGeom, what: &str, x: usize, y: usize) {
    assert!(fits(g), "{what}: invalid pooling geometry {g:?} (need pad 0, k, stride ≥ 1 and k ≤ h, w)");
    assert!(
        x == g.x_len() && y == g.y_len(),
        "{what}: slice lengths (x {x}, y {y}) do not match {g:?} (x {}, y {})",
        g.x_len(),
        g.y_len()
    );
}

/// `y[n,c,i,j]` = the mean of its window.
pub fn avg_pool2d_forward(g: &Pool2dGeom, x: &[f32], y: &mut [f32]) {
    check(g, "avg_pool2d_forward", x.len(), y.len());
    let (w, k, s, oh, ow) = (g.w, g.k, g.stride, g.oh(), g.ow());
    if y.is_empty() {
        return;
    }
    let area = (k * k) as f32;
    y.par_chunks_mut(oh * ow).zip(x.par_chunks(g.h * w)).with_min_len(16).for_each(|(y, x)| {
        for oy in 0..oh {
            for ox in 0..ow {
                let mut sum = 0.0f32;
                for a in 0..k {
                    for &v in &x[(oy * s + a) * w + ox * s..][..k] {
                        sum += v;
                    }
                }
                y[oy * ow + ox] = sum / area;
            }
        }
    });
}

/// `dx` (overwritten) = Σ dy / k² over the windows holding each cell, added in row-major
/// output order; cells no window holds (the dropped edge) get 0.
pub fn avg_pool2d_backward(g: &Pool2dGeom, dy: &[f32], dx: &mut [f32]) {
    check(g, "avg_pool2d_backward", dx.len(), dy.len());
    let (w, k, s, oh, ow) = (g.w, g.k, g.stride, g.oh(), g.ow());
    if dx.is_empty() {
        return;
    }
    let area = (k * k) as f32;
    dx.par_chunks_mut(g.h * w).zip(dy.par_chunks(oh * ow)).with_min_len(16).for_each(|(dx, dy)| {
        dx.fill(0.0);
        for oy in 0..oh {
            for ox in 0..ow {
                let d = dy[oy * ow + ox] / area;
                for a in 0..k {
                    for v in &mut dx[(oy * s + a) * w + ox * s..][..k] {
                        *v += d;
                    }
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// f64 window means, the reference the f32 kernels are held to.
    fn reference(g: &Pool2dGeom, x: &[f32]) -> Vec<f64> {
        let (oh, ow) = (g.oh(), g.ow());
        let mut y = vec![0.0; g.y_len()];
        for nc in 0..g.n * g.c {
            for oy in 0..oh {
                for ox in 0..ow {
                    let mut s = 0.0f64;
                    for a in 0..g.k {
                        for b in 0..g.k {
                            s += x[nc * g.h * g.w + (oy * g.stride + a) * g.w + ox * g.stride + b] as f64;
                        }
                    }
                    y[(nc * oh + oy) * ow + ox] = s / (g.k * g.k) as f64;
                }
            }
        }
        y
    }

    fn geom() -> impl Strategy<Value = Pool2dGeom> {
        (1usize..=3, 1usize..=4, 1usize..=4, 1usize..=3).prop_flat_map(|(n, c, k, stride)| {
            (k..k + 8, k..k + 8).prop_map(move |(h, w)| Pool2dGeom { n, c, h, w, k, stride, pad: 0 })
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        /// The forward is the f64 mean to f32 rounding, and the backward is its transpose:
        /// ⟨dy, pool(x)⟩ = ⟨pool'(dy), x⟩ for every x, the identity that defines the gradient of
        /// a linear map.
        #[test]
        fn forward_is_the_mean_and_backward_its_transpose(
            g in geom(),
            xs in prop::collection::vec(-2.0f32..2.0, 1..=500),
            ds in prop::collection::vec(-1.0f32..1.0, 1..=500),
        ) {
            let x: Vec<f32> = (0..g.x_len()).map(|i| xs[i % xs.len()]).collect();
            let dy: Vec<f32> = (0..g.y_len()).map(|i| ds[i % ds.len()]).collect();
            let mut y = vec![f32::NAN; g.y_len()];
            avg_pool2d_forward(&g, &x, &mut y);
            for (a, b) in y.iter().zip(reference(&g, &x)) {
                prop_assert!((*a as f64 - b).abs() <= 1e-5, "{a} vs {b}");
            }
            let mut dx = vec![f32::NAN; g.x_len()];
            avg_pool2d_backward(&g, &dy, &mut dx);
            let lhs: f64 = dy.iter().zip(&y).map(|(&a, &b)| a as f64 * b as f64).sum();
            let rhs: f64 = dx.iter().zip(&x).map(|(&a, &b)| a as f64 * b as f64).sum();
            prop_assert!((lhs - rhs).abs() <= 1e-4 * (1.0 + lhs.abs()), "{lhs} vs {rhs}");
        }
    }

    #[test]
    fn odd_planes_drop_the_last_row_and_column_and_overlaps_add() {
        // 3 × 3 at k 2, stride 2: one window (the top-left 2 × 2); the last row and column get
        // no gradient.
        let g = Pool2dGeom { n: 1, c: 1, h: 3, w: 3, k: 2, stride: 2, pad: 0 };
        let mut y = [0.0];
        avg_pool2d_forward(&g, &[1.0, 2.0, 100.0, 3.0, 6.0, 100.0, 100.0, 100.0, 100.0], &mut y);
        assert_eq!(y, [3.0]);
        let mut dx = [f32::NAN; 9];
        avg_pool2d_backward(&g, &[4.0], &mut dx);
        assert_eq!(dx, [1.0, 1.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0]);
        // 2 × 3 at k 2, stride 1: the middle column is in both windows.
        let g = Pool2dGeom { n: 1, c: 1, h: 2, w: 3, k: 2, stride: 1, pad: 0 };
        let mut dx = [f32::NAN; 6];
        avg_pool2d_backward(&g, &[4.0, 8.0], &mut dx);
        assert_eq!(dx, [1.0, 3.0, 2.0, 1.0, 3.0, 2.0]);
    }
}
