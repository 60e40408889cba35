//! Renders one of every picture into a folder for a person to look at:
//! `REPORT_DEMO_DIR=/tmp/report-demo cargo test --release -p models report::demo -- --ignored`.
//! Ignored by default: it checks nothing a machine can judge.

use super::canvas::Canvas;
use super::{image_grid, line_plot, line_plot_scaled, roc_plot, Series, YScale};

/// A small deterministic generator (SplitMix64), so the demo needs no `rand`.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.next().max(1e-12), self.next());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

/// Gaussian blobs on a dark background, a stand-in for digits.
fn blobs(rng: &mut Rng, n: usize, c: usize, h: usize, w: usize) -> Vec<f32> {
    let mut out = vec![0f32; n * c * h * w];
    for img in out.chunks_exact_mut(c * h * w) {
        for _ in 0..3 {
            let (cy, cx) = (rng.next() * h as f64, rng.next() * w as f64);
            let r = 2.0 + rng.next() * 4.0;
            let tint: Vec<f64> = (0..c).map(|_| 0.3 + rng.next()).collect();
            for ch in 0..c {
                for y in 0..h {
                    for x in 0..w {
                        let d2 = (y as f64 - cy).powi(2) + (x as f64 - cx).powi(2);
                        img[ch * h * w + y * w + x] += (tint[ch] * (-d2 / (2.0 * r * r)).exp()) as f32;
                    }
                }
            }
        }
    }
    out
}

#[test]
#[ignore]
fn demo() {
    let dir = std::path::PathBuf::from(std::env::var("REPORT_DEMO_DIR").unwrap_or("/tmp/report-demo".into()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut rng = Rng(7);

    // ROC from scores: anomalies shifted by 2.5 standard deviations.
    let (mut scores, mut labels) = (Vec::new(), Vec::new());
    for i in 0..600 {
        let anomalous = i % 5 == 0;
        scores.push((rng.normal() + if anomalous { 2.5 } else { 0.0 }) as f32);
        labels.push(anomalous as u8);
    }
    let pts = crate::metrics::roc_curve(&scores, &labels);
    let auc = crate::metrics::auc_roc(&scores, &labels).unwrap();
    roc_plot(dir.join("roc.png"), &pts, auc).unwrap();

    // Two loss curves over 60 epochs.
    let train: Vec<(f64, f64)> =
        (1..=60).map(|e| (e as f64, 2.3 * (-(e as f64) / 12.0).exp() + 0.08 + 0.03 * rng.normal())).collect();
    let test: Vec<(f64, f64)> =
        (1..=60).map(|e| (e as f64, 2.4 * (-(e as f64) / 15.0).exp() + 0.21 + 0.04 * rng.normal())).collect();
    line_plot(
        dir.join("loss.png"),
        "DCAE pretraining loss",
        "epoch",
        "mean squared error",
        &[Series::new("train", train), Series::new("test", test)],
    )
    .unwrap();

    // A loss over three decades, on a log axis.
    let pretrain: Vec<(f64, f64)> =
        (1..=350).map(|e| (e as f64, 240.0 * (-(e as f64) / 6.0).exp() + 2.0 + 0.3 / e as f64)).collect();
    let svdd: Vec<(f64, f64)> =
        (1..=250).map(|e| (e as f64, 16.0 * (-(e as f64) / 8.0).exp() + 0.05 + 0.02 / e as f64)).collect();
    let losses = [Series::new("pretrain", pretrain), Series::new("dsvdd", svdd)];
    assert_eq!(YScale::for_values(&losses), YScale::Log);
    line_plot_scaled(dir.join("loss_log.png"), "training loss", "epoch", "mean loss (log scale)", &losses, YScale::Log)
        .unwrap();

    // Short series (dots), a NaN, and large values.
    let auc_vs_k: Vec<(f64, f64)> =
        (1..=8).map(|k| (k as f64, 0.9 + 0.08 * (1.0 - (-(k as f64) / 2.0).exp()))).collect();
    line_plot(
        dir.join("ensemble.png"),
        "GANOCC: AUC-ROC vs ensemble size",
        "generators",
        "AUC-ROC",
        &[Series::new("AUC-ROC", auc_vs_k)],
    )
    .unwrap();
    line_plot(
        dir.join("edge.png"),
        "one point, a NaN, big numbers",
        "step",
        "value",
        &[
            Series::new("lonely", vec![(5e5, 2.5e6)]),
            Series::new("with a NaN", vec![(0.0, 1e6), (2e5, f64::NAN), (4e5, 2e6), (6e5, 1.5e6), (1e6, 3e6)]),
            Series::new("constant", vec![(0.0, 2e6), (1e6, 2e6)]),
        ],
    )
    .unwrap();

    line_plot(
        dir.join("single.png"),
        "a single point, and a title that is much too long to fit at the normal text size here",
        "epoch",
        "a y label far too long for the height of this plot area, which must be shrunk",
        &[Series::new("loss", vec![(1.0, 0.25)])],
    )
    .unwrap();

    let digits = blobs(&mut rng, 32, 1, 28, 28);
    image_grid(dir.join("most_anomalous.png"), &digits, &[1, 28, 28], 32, 8, "most anomalous (score high to low)")
        .unwrap();
    let colour = blobs(&mut rng, 32, 3, 32, 32);
    image_grid(dir.join("samples_cifar.png"), &colour, &[3, 32, 32], 32, 8, "generator samples, epoch 40").unwrap();
    image_grid(dir.join("few.png"), &digits, &[1, 28, 28], 3, 8, "three images, a longer title than the grid").unwrap();

    // Every glyph, to check the font by eye.
    let lines = [
        " !\"#$%&'()*+,-./0123456789:;<=>?",
        "@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_",
        "`abcdefghijklmnopqrstuvwxyz{|}~",
        "AUC-ROC = 0.987 ± 0.004 (28×28) 95%",
    ];
    let mut c = Canvas::new(440, 110, [255, 255, 255]);
    for (i, l) in lines.iter().enumerate() {
        c.text(10, 10 + 24 * i as i64, l, 2, [0, 0, 0]);
    }
    c.save_png(dir.join("font.png")).unwrap();
}
