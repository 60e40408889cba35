//! ICS's classifier along its iterations, for reporting only: the weights at every point of the
//! loss curve, scored on the test split after the run (`iteration_auc.csv` / `.png`).
//!
//! The paper's authors' released code (Keras) picks its checkpoint by AUC on the first 30 % of
//! the *test* normals and anomalies, evaluating every 100 of its 800 training epochs, and reports
//! the AUC on the other 70 % at that checkpoint. That uses test labels to choose the model, which
//! oneclass never does; the columns `auc_first30` / `auc_last70` let a reader compute what that
//! selection would have reported, and the run prints it, next to the AUC of the model it keeps
//! (the last iteration's, scored on the whole test split).

use crate::error::{Error, Result};
use crate::metrics::auc_roc;
use crate::report::{line_plot, Series};
use engine::Tensor;
use std::path::Path;

/// The classifier's weights after `iteration` iterations (the tensors under `net.`, in order).
pub struct Snapshot {
    pub iteration: usize,
    weights: Vec<Vec<f32>>,
}

impl Snapshot {
    pub fn take(iteration: usize, params: &[Tensor]) -> Snapshot {
        Snapshot { iteration, weights: params.iter().map(Tensor::to_vec).collect() }
    }
}

/// Test AUCs of one snapshot: on all test samples, and on the first 30 % / the other 70 % of
/// the normals and of the anomalies, each in the test split's order (the authors' split).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct IterationAuc {
    pub iteration: usize,
    pub auc: f64,
    pub first30: f64,
    pub last70: f64,
}

/// Which test samples fall in the authors' "validation" part: the first ⌊0.3·n⌋ normals and the
/// first ⌊0.3·m⌋ anomalies (labels: 1 = anomaly).
fn first_30_percent(labels: &[u8]) -> Vec<bool> {
    let count = |l: u8| labels.iter().filter(|&&x| x == l).count();
    let cut = [count(0) * 3 / 10, count(1) * 3 / 10];
    let mut seen = [0usize; 2];
    labels
        .iter()
        .map(|&l| {
            let k = (l != 0) as usize;
            seen[k] += 1;
            seen[k] <= cut[k]
        })
        .collect()
}

/// AUCs of `scores` on all samples and on the two parts.
fn aucs(iteration: usize, scores: &[f32], labels: &[u8], first: &[bool]) -> IterationAuc {
    let part = |want: bool| {
        let (s, l): (Vec<f32>, Vec<u8>) =
            scores.iter().zip(labels).zip(first).filter(|(_, &f)| f == want).map(|((&s, &l), _)| (s, l)).unzip();
        auc_roc(&s, &l).unwrap_or(f64::NAN)
    };
    IterationAuc {
        iteration,
        auc: auc_roc(scores, labels).unwrap_or(f64::NAN),
        first30: part(true),
        last70: part(false),
    }
}

/// The snapshot the authors' code would keep (the best AUC on the first 30 %; the earliest on a
/// tie), if any has one.
pub fn authors_selection(rows: &[IterationAuc]) -> Option<IterationAuc> {
    rows.iter().filter(|r| r.first30.is_finite()).fold(None, |best: Option<IterationAuc>, r| match best {
        Some(b) if b.first30 >= r.first30 => Some(b),
        _ => Some(*r),
    })
}

/// Scores every snapshot with `score` (which sees `params` set to that snapshot's weights), then
/// puts the final weights back. Returns one row per snapshot.
pub fn score_snapshots(
    snapshots: &[Snapshot],
    params: &[Tensor],
    labels: &[u8],
    score: impl Fn() -> Result<Vec<f32>>,
) -> Result<Vec<IterationAuc>> {
    let first = first_30_percent(labels);
    let kept: Vec<Vec<f32>> = params.iter().map(Tensor::to_vec).collect();
    let mut rows = Vec::with_capacity(snapshots.len());
    let mut scored = || -> Result<()> {
        for s in snapshots {
            for (p, w) in params.iter().zip(&s.weights) {
                p.set_data(w.clone())?;
            }
            rows.push(aucs(s.iteration, &score()?, labels, &first));
        }
        Ok(())
    };
    let outcome = scored();
    for (p, w) in params.iter().zip(kept) {
        p.set_data(w)?;
    }
    outcome.map(|_| rows)
}

/// `iteration_auc.csv` and `iteration_auc.png`.
pub fn write(out: &Path, rows: &[IterationAuc]) -> Result<()> {
    let mut csv = String::from("iteration,auc,auc_first30,auc_last70\n");
    for r in rows {
        csv.push_str(&format!("{},{:.6},{:.6},{:.6}\n", r.iteration, r.auc, r.first30, r.last70));
    }
    let path = out.join("iteration_auc.csv");
    std::fs::write(&path, csv).map_err(|e| Error::file(&path, e))?;
    let line = |f: fn(&IterationAuc) -> f64| rows.iter().map(|r| (r.iteration as f64, f(r))).collect();
    let series =
        [Series::new("all test samples", line(|r| r.auc)), Series::new("first 30 % of them", line(|r| r.first30))];
    let path = out.join("iteration_auc.png");
    line_plot(&path, "ICS: test AUC along the iterations (reporting only)", "iteration", "AUC-ROC", &series)
        .map_err(|e| Error::file(&path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine::Device;

    #[test]
    fn the_first_30_percent_counts_normals_and_anomalies_apart_in_order() {
        // 10 normals, 4 anomalies: the first 3 normals and the first 1 anomaly.
        let labels = [1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0];
        let first = first_30_percent(&labels);
        let picked: Vec<usize> = (0..labels.len()).filter(|&i| first[i]).collect();
        assert_eq!(picked, vec![0, 1, 2, 4]);
    }

    #[test]
    fn the_selection_takes_the_best_first_part_and_reports_the_rest() {
        let row = |iteration, first30, last70| IterationAuc { iteration, auc: 0.5, first30, last70 };
        let rows = [row(40, 0.8, 0.7), row(80, 0.9, 0.6), row(120, 0.9, 0.95), row(160, f64::NAN, 1.0)];
        assert_eq!(authors_selection(&rows), Some(row(80, 0.9, 0.6)));
        assert_eq!(authors_selection(&[]), None);
    }

    /// Each snapshot is scored with its own weights, and the final weights are back afterwards.
    #[test]
    fn snapshots_are_scored_with_their_weights_and_the_model_is_restored() {
        let w = Tensor::param(vec![1.0, 2.0], &[2], Device::Cpu).unwrap();
        let params = [w.clone()];
        let snaps: Vec<Snapshot> = [[1.0f32, -1.0], [-1.0, 1.0]]
            .iter()
            .enumerate()
            .map(|(i, v)| {
                w.set_data(v.to_vec()).unwrap();
                Snapshot::take(10 * (i + 1), &params)
            })
            .collect();
        w.set_data(vec![1.0, 2.0]).unwrap();
        // Two samples, the second an anomaly; the score is each sample's weight.
        let rows = score_snapshots(&snaps, &params, &[0, 1], || Ok(w.to_vec())).unwrap();
        assert_eq!(rows.iter().map(|r| (r.iteration, r.auc)).collect::<Vec<_>>(), vec![(10, 0.0), (20, 1.0)]);
        assert_eq!(w.to_vec(), vec![1.0, 2.0]);
    }
}
