//! The test scores of normals and anomalies as two histograms on one axis: where the classes
//! overlap, and whether the anomalies score higher at all (an AUC below 0.5 shows as the
//! anomalous curve left of the normal one).

use std::path::Path;

use super::error::ReportError;
use super::plot::{line_plot, Series};

/// Bins between the 0.5 % and 99.5 % quantiles of all scores, so one extreme score does not
/// squeeze the rest into a bin or two; scores outside land in the end bins.
const BINS: usize = 40;
const TAIL: f64 = 0.005;

/// Each class's share of its scores per bin, as steps (`(x, share)` at both edges of each bin),
/// over `lo..hi` in `bins` equal bins; shares of a non-empty class sum to 1.
pub fn step_histogram(scores: &[f32], lo: f64, hi: f64, bins: usize) -> Vec<(f64, f64)> {
    let width = (hi - lo) / bins as f64;
    let mut counts = vec![0usize; bins];
    for &s in scores.iter().filter(|s| s.is_finite()) {
        let b = if width > 0.0 { ((s as f64 - lo) / width).floor() } else { 0.0 };
        counts[(b.max(0.0) as usize).min(bins - 1)] += 1;
    }
    let total = counts.iter().sum::<usize>().max(1) as f64;
    let mut steps = Vec::with_capacity(2 * bins);
    for (b, &c) in counts.iter().enumerate() {
        let share = c as f64 / total;
        let left = lo + b as f64 * width;
        steps.push((left, share));
        steps.push((left + width, share));
    }
    steps
}

/// The quantile `q` of the finite values of `v` (nearest rank), or `None` when there are none.
fn quantile(v: &[f32], q: f64) -> Option<f64> {
    let mut s: Vec<f32> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if s.is_empty() {
        return None;
    }
    s.sort_by(f32::total_cmp);
    Some(s[((q * (s.len() - 1) as f64).round() as usize).min(s.len() - 1)] as f64)
}

/// Writes `scores.png`-style histograms of `scores`: split by `labels` (0 normal, 1 anomalous)
/// when there are labels, one curve of all scores when there are none; a class with no sample
/// draws no curve. The title carries the AUC when there is one.
pub fn score_histogram(
    path: impl AsRef<Path>,
    scores: &[f32],
    labels: Option<&[u8]>,
    auc: Option<f64>,
) -> Result<(), ReportError> {
    let (lo, hi) = match (quantile(scores, TAIL), quantile(scores, 1.0 - TAIL)) {
        (Some(lo), Some(hi)) if hi > lo => (lo, hi),
        (Some(v), _) => (v - 0.5, v + 0.5),
        _ => (0.0, 1.0),
    };
    let curve = |name: &str, v: &[f32]| Series::new(format!("{name} ({})", v.len()), step_histogram(v, lo, hi, BINS));
    let series: Vec<Series> = match labels {
        Some(labels) => {
            let class = |want: u8| -> Vec<f32> {
                scores.iter().zip(labels).filter(|(_, &l)| l == want).map(|(&s, _)| s).collect()
            };
            [("normal", class(0)), ("anomalous", class(1))]
                .iter()
                .filter(|(_, v)| !v.is_empty())
                .map(|(name, v)| curve(name, v))
                .collect()
        }
        None => vec![curve("all samples", scores)],
    };
    let title = match (auc, labels) {
        (Some(auc), _) => format!("scores, AUC-ROC = {auc:.4}"),
        (None, Some(_)) => "scores (one class only in the labels: AUC undefined)".to_string(),
        (None, None) => "scores (unlabelled)".to_string(),
    };
    let y = if series.len() == 1 { "share of the samples per bin" } else { "share of the class per bin" };
    line_plot(path, &title, "anomaly score (higher = more anomalous)", y, &series)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_class_sums_to_one_and_outliers_land_in_the_end_bins() {
        let steps = step_histogram(&[-100.0, 0.1, 0.2, 0.6, 0.9, 100.0, f32::NAN], 0.0, 1.0, 4);
        assert_eq!(steps.len(), 8);
        let shares: Vec<f64> = steps.iter().step_by(2).map(|p| p.1).collect();
        // Bins [0, .25) ← −100, .1, .2; [.5, .75) ← .6; [.75, 1] ← .9, 100; the NaN is skipped.
        assert_eq!(shares, vec![3.0 / 6.0, 0.0, 1.0 / 6.0, 2.0 / 6.0]);
        assert_eq!((steps[0].0, steps[7].0), (0.0, 1.0));
        assert_eq!(step_histogram(&[], 0.0, 1.0, 3).iter().map(|p| p.1).sum::<f64>(), 0.0);
    }

    #[test]
    fn the_histogram_is_drawn_even_for_constant_scores() {
        let dir = std::env::temp_dir().join(format!("oneclass-hist-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("scores.png");
        score_histogram(&path, &[1.0, 1.0, 1.0, 1.0], Some(&[0, 0, 1, 1]), Some(0.5)).unwrap();
        assert!(std::fs::metadata(&path).unwrap().len() > 1000);
        // Unlabelled, and labels of one class: one curve, no AUC.
        for (i, labels) in [None, Some(&[1u8, 1, 1][..])].into_iter().enumerate() {
            let path = dir.join(format!("one-{i}.png"));
            score_histogram(&path, &[0.1, 0.5, 0.9], labels, None).unwrap();
            assert!(std::fs::metadata(&path).unwrap().len() > 1000);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
