//! Structural similarity (SSIM, Wang, Bovik, Sheikh & Simoncelli 2004), the similarity ICS
//! splits its training data by. The standard form, as `tf.image.ssim` computes it (the ICS
//! paper's implementation was TensorFlow):
//!
//!   SSIM(x, y) = mean over windows of  (2μxμy + C1)(2σxy + C2) / ((μx² + μy² + C1)(σx² + σy² + C2))
//!
//! with Gaussian-weighted local statistics (window 11 × 11, σ = 1.5, weights summing to 1,
//! population moments), C1 = (K1·L)², C2 = (K2·L)², K1 = 0.01, K2 = 0.03, L the data range,
//! windows only where they fit inside the image ("valid": 28 × 28 gives an 18 × 18 map), and
//! the mean over channels of the per-channel SSIM for colour images.

/// Window side, Gaussian width and the stabilising constants of Wang et al.
pub const WINDOW: usize = 11;
pub const SIGMA: f64 = 1.5;
pub const K1: f64 = 0.01;
pub const K2: f64 = 0.03;

/// The 1-D Gaussian of the separable window, normalised to sum 1 (the 2-D window is its outer
/// product, so it sums to 1 too).
pub fn gaussian_window() -> [f64; WINDOW] {
    let c = (WINDOW / 2) as f64;
    let mut g = [0.0; WINDOW];
    for (k, w) in g.iter_mut().enumerate() {
        let d = k as f64 - c;
        *w = (-d * d / (2.0 * SIGMA * SIGMA)).exp();
    }
    let s: f64 = g.iter().sum();
    g.iter_mut().for_each(|w| *w /= s);
    g
}

/// Gaussian-weighted local means of `img` (`h × w`, row-major) over every window that fits:
/// `(h − 10) × (w − 10)` values. Separable: rows, then columns.
fn filter(img: &[f64], h: usize, w: usize, g: &[f64; WINDOW]) -> Vec<f64> {
    let (oh, ow) = (h + 1 - WINDOW, w + 1 - WINDOW);
    let mut rows = vec![0.0; h * ow];
    for y in 0..h {
        for x in 0..ow {
            rows[y * ow + x] = (0..WINDOW).map(|k| g[k] * img[y * w + x + k]).sum();
        }
    }
    let mut out = vec![0.0; oh * ow];
    for y in 0..oh {
        for x in 0..ow {
            out[y * ow + x] = (0..WINDOW).map(|k| g[k] * rows[(y + k) * ow + x]).sum();
        }
    }
    out
}

/// SSIM of one channel (`h × w` each), the mean of the SSIM map.
fn ssim_channel(x: &[f64], y: &[f64], h: usize, w: usize, data_range: f64, g: &[f64; WINDOW]) -> f64 {
    let c1 = (K1 * data_range).powi(2);
    let c2 = (K2 * data_range).powi(2);
    let prod = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(p, q)| p * q).collect::<Vec<f64>>();
    let (mx, my) = (filter(x, h, w, g), filter(y, h, w, g));
    let (mxx, myy, mxy) = (filter(&prod(x, x), h, w, g), filter(&prod(y, y), h, w, g), filter(&prod(x, y), h, w, g));
    let n = mx.len();
    let mut sum = 0.0;
    for i in 0..n {
        let (ux, uy) = (mx[i], my[i]);
        // Population (co)variances E[xy] − E[x]E[y] under the window's weights.
        let (vx, vy, cxy) = (mxx[i] - ux * ux, myy[i] - uy * uy, mxy[i] - ux * uy);
        let luminance = (2.0 * ux * uy + c1) / (ux * ux + uy * uy + c1);
        let contrast_structure = (2.0 * cxy + c2) / (vx + vy + c2);
        sum += luminance * contrast_structure;
    }
    sum / n as f64
}

/// SSIM between two images of shape `[C, H, W]` (values back to back, CHW), with data range
/// `data_range` (the span of values the images can take). Both sides must be at least 11 × 11.
pub fn ssim(x: &[f32], y: &[f32], shape: &[usize], data_range: f32) -> Result<f32, String> {
    let (c, h, w) = match *shape {
        [c, h, w] => (c, h, w),
        [h, w] => (1, h, w),
        _ => return Err(format!("SSIM needs images of shape [C, H, W], got {shape:?}")),
    };
    if h < WINDOW || w < WINDOW {
        return Err(format!("SSIM needs images of at least {WINDOW}×{WINDOW} pixels, got {h}×{w}"));
    }
    if x.len() != c * h * w || y.len() != x.len() {
        return Err(format!("SSIM: {} and {} values for shape {shape:?}", x.len(), y.len()));
    }
    if !(data_range.is_finite() && data_range > 0.0) {
        return Err(format!("SSIM: the data range must be a positive number, got {data_range}"));
    }
    let g = gaussian_window();
    let plane = h * w;
    let mut total = 0.0;
    for ch in 0..c {
        let xs: Vec<f64> = x[ch * plane..(ch + 1) * plane].iter().map(|&v| v as f64).collect();
        let ys: Vec<f64> = y[ch * plane..(ch + 1) * plane].iter().map(|&v| v as f64).collect();
        total += ssim_channel(&xs, &ys, h, w, data_range as f64, &g);
    }
    Ok((total / c as f64) as f32)
}

#[cfg(test)]
mod tests {
    use super::*;

    const L: f32 = 1.0;

    /// A deterministic 28 × 28 test image with structure at several scales, in [0, 1].
    fn pattern(h: usize, w: usize) -> Vec<f32> {
        (0..h * w).map(|i| (((i / w) * 7 + (i % w) * 3) % 11) as f32 / 10.0).collect()
    }

    #[test]
    fn window_is_normalised_and_symmetric() {
        let g = gaussian_window();
        assert!((g.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        for k in 0..WINDOW {
            assert_eq!(g[k], g[WINDOW - 1 - k]);
        }
        // Hand computation: Σ_{k=−5..5} exp(−k²/4.5) = 1 + 2·(0.800737 + 0.411112 + 0.135335
        // + 0.028566 + 0.003866) = 3.759233, so the centre weight is 1/3.759233 = 0.266011.
        assert!((g[5] - 0.266011).abs() < 1e-6, "{}", g[5]);
    }

    #[test]
    fn identical_images_give_one() {
        let x = pattern(28, 28);
        assert!((ssim(&x, &x, &[1, 28, 28], L).unwrap() - 1.0).abs() < 1e-6);
        let rgb: Vec<f32> = (0..3 * 32 * 32).map(|i| ((i * 37) % 101) as f32 / 100.0).collect();
        assert!((ssim(&rgb, &rgb, &[3, 32, 32], L).unwrap() - 1.0).abs() < 1e-6);
        // Constant images too (zero variance: C1 and C2 keep the ratios at 1).
        let flat = vec![0.3; 28 * 28];
        assert!((ssim(&flat, &flat, &[1, 28, 28], L).unwrap() - 1.0).abs() < 1e-6);
    }

    #[test]
    fn constant_images_follow_the_luminance_formula() {
        // x ≡ 0.5, y ≡ 0.25: no variance, so SSIM is the luminance term alone,
        // (2·0.5·0.25 + C1) / (0.5² + 0.25² + C1) with C1 = 1e-4: 0.2501 / 0.3126.
        let (x, y) = (vec![0.5; 11 * 11], vec![0.25; 11 * 11]);
        let s = ssim(&x, &y, &[1, 11, 11], L).unwrap();
        assert!((s as f64 - 0.2501 / 0.3126).abs() < 1e-6, "{s}");
    }

    #[test]
    fn a_constant_shift_lowers_only_luminance() {
        // y = x + c keeps every local variance and covariance (σy = σx, σxy = σx²), so the
        // contrast-structure term is exactly 1 and SSIM is the luminance term
        // (2μ(μ + c) + C1) / (μ² + (μ + c)² + C1). On an 11 × 11 image there is one window, with
        // μ the Gaussian-weighted mean.
        let x = pattern(11, 11);
        let g = gaussian_window();
        let mu: f64 = (0..121).map(|i| g[i / 11] * g[i % 11] * x[i] as f64).sum();
        let c1 = (K1 * L as f64).powi(2);
        let mut last = 1.0f32;
        for c in [0.05f32, 0.1, 0.2, 0.4] {
            let y: Vec<f32> = x.iter().map(|v| v + c).collect();
            let s = ssim(&x, &y, &[1, 11, 11], L).unwrap();
            let m2 = mu + c as f64;
            let expected = (2.0 * mu * m2 + c1) / (mu * mu + m2 * m2 + c1);
            assert!((s as f64 - expected).abs() < 1e-5, "shift {c}: {s} vs {expected}");
            assert!(s < last, "a larger shift must lower SSIM: {s} ≥ {last}");
            last = s;
        }
        // Over a 28 × 28 image the map averages the luminance terms of all 18 × 18 windows:
        // lower than 1, and still without any structure loss.
        let x = pattern(28, 28);
        let y: Vec<f32> = x.iter().map(|v| v + 0.2).collect();
        let s = ssim(&x, &y, &[1, 28, 28], L).unwrap();
        assert!(s < 0.99 && s > 0.8, "{s}");
    }

    #[test]
    fn a_single_bright_pixel_matches_the_hand_computation() {
        // x = one pixel of value 1 in the centre of an 11 × 11 black image, y = black.
        // With the centre weight w = 0.266011² = 0.0707619 (see the window test):
        //   μx = w, μy = 0, σx² = w − w² = 0.0657548, σy² = σxy = 0,
        //   luminance = C1 / (w² + C1) = 1e-4 / (0.00500725 + 1e-4) = 0.0195799,
        //   contrast-structure = C2 / (σx² + C2) = 9e-4 / (0.0657548 + 9e-4) = 0.0135023,
        //   SSIM = 0.0195799 · 0.0135023 = 2.64374e-4.
        let mut x = vec![0.0f32; 121];
        x[60] = 1.0;
        let y = vec![0.0f32; 121];
        let s = ssim(&x, &y, &[1, 11, 11], L).unwrap();
        assert!((s as f64 - 2.64374e-4).abs() < 1e-8, "{s}");
        // SSIM is symmetric in its arguments.
        assert_eq!(s, ssim(&y, &x, &[1, 11, 11], L).unwrap());
    }

    #[test]
    fn matches_an_independent_reference() {
        // A numpy transcription of tf.image.ssim (Gaussian 11/1.5 window, valid positions,
        // K1 0.01, K2 0.03, max_val 1, float64) gives these values.
        let x = pattern(28, 28);
        // The pattern mixed with another periodic pattern: similar, not equal.
        let y: Vec<f32> = (0..28 * 28).map(|i| 0.7 * x[i] + 0.3 * (((i * 13) % 17) as f32 / 16.0)).collect();
        let s = ssim(&x, &y, &[1, 28, 28], L).unwrap();
        assert!((s - 0.8848029).abs() < 1e-5, "{s}");
        // The pattern against its transpose mirrored: structurally unrelated, SSIM near 0.
        let y: Vec<f32> = (0..28 * 28).map(|i| x[(27 - i % 28) * 28 + i / 28]).collect();
        let s = ssim(&x, &y, &[1, 28, 28], L).unwrap();
        assert!((s - -0.0098698).abs() < 1e-5, "{s}");
    }

    #[test]
    fn data_range_scales_the_constants() {
        // The same images scaled by 2 with L = 2 give the same SSIM (every term scales by 4).
        let x = pattern(28, 28);
        let y: Vec<f32> = x.iter().map(|v| (v * 0.7 + 0.1).min(1.0)).collect();
        let s1 = ssim(&x, &y, &[1, 28, 28], 1.0).unwrap();
        let (x2, y2): (Vec<f32>, Vec<f32>) = (x.iter().map(|v| v * 2.0).collect(), y.iter().map(|v| v * 2.0).collect());
        let s2 = ssim(&x2, &y2, &[1, 28, 28], 2.0).unwrap();
        assert!((s1 - s2).abs() < 1e-6, "{s1} vs {s2}");
    }

    #[test]
    fn bad_shapes_are_errors() {
        assert!(ssim(&[0.0; 100], &[0.0; 100], &[1, 10, 10], 1.0).unwrap_err().contains("11×11"));
        assert!(ssim(&[0.0; 121], &[0.0; 120], &[1, 11, 11], 1.0).is_err());
        assert!(ssim(&[0.0; 121], &[0.0; 121], &[121], 1.0).is_err());
        assert!(ssim(&[0.0; 121], &[0.0; 121], &[11, 11], 0.0).is_err());
    }
}
