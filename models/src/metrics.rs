//! Detection metrics. Convention: higher score = more anomalous; label 1 = anomaly (positive).

/// Area under the ROC curve via the Mann–Whitney statistic, with tied scores counted as half
/// (the same value scikit-learn's `roc_auc_score` gives). `None` when a class is missing.
pub fn auc_roc(scores: &[f32], labels: &[u8]) -> Option<f64> {
    assert_eq!(scores.len(), labels.len());
    let pos = labels.iter().filter(|&&l| l == 1).count();
    let neg = labels.len() - pos;
    if pos == 0 || neg == 0 {
        return None;
    }
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    // Sum of the positives' ranks, ties given their average rank.
    let mut rank_sum = 0.0f64;
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && scores[idx[j + 1]] == scores[idx[i]] {
            j += 1;
        }
        let avg_rank = (i + j) as f64 / 2.0 + 1.0;
        rank_sum += avg_rank * idx[i..=j].iter().filter(|&&k| labels[k] == 1).count() as f64;
        i = j + 1;
    }
    let (p, n) = (pos as f64, neg as f64);
    Some((rank_sum - p * (p + 1.0) / 2.0) / (p * n))
}

/// Average precision (area under the precision–recall curve, step-wise as scikit-learn's
/// `average_precision_score`): Σ over thresholds of (recall increase) × precision.
pub fn auc_pr(scores: &[f32], labels: &[u8]) -> Option<f64> {
    let pos = labels.iter().filter(|&&l| l == 1).count();
    if pos == 0 {
        return None;
    }
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let (mut tp, mut fp, mut ap, mut last_recall) = (0usize, 0usize, 0.0f64, 0.0f64);
    let mut i = 0;
    while i < idx.len() {
        // All samples sharing a score cross the threshold together.
        let mut j = i;
        while j < idx.len() && scores[idx[j]] == scores[idx[i]] {
            if labels[idx[j]] == 1 {
                tp += 1;
            } else {
                fp += 1;
            }
            j += 1;
        }
        let recall = tp as f64 / pos as f64;
        let precision = tp as f64 / (tp + fp) as f64;
        ap += (recall - last_recall) * precision;
        last_recall = recall;
        i = j;
    }
    Some(ap)
}

/// ROC curve points `(false-positive rate, true-positive rate)` from the highest threshold down.
pub fn roc_curve(scores: &[f32], labels: &[u8]) -> Vec<(f64, f64)> {
    let pos = labels.iter().filter(|&&l| l == 1).count().max(1) as f64;
    let neg = labels.iter().filter(|&&l| l != 1).count().max(1) as f64;
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let mut pts = vec![(0.0, 0.0)];
    let (mut tp, mut fp) = (0.0, 0.0);
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j < idx.len() && scores[idx[j]] == scores[idx[i]] {
            if labels[idx[j]] == 1 {
                tp += 1.0;
            } else {
                fp += 1.0;
            }
            j += 1;
        }
        pts.push((fp / neg, tp / pos));
        i = j;
    }
    pts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_of_perfect_reversed_and_tied_rankings() {
        let labels = [0, 0, 1, 1];
        assert_eq!(auc_roc(&[0.1, 0.2, 0.3, 0.4], &labels), Some(1.0));
        assert_eq!(auc_roc(&[0.4, 0.3, 0.2, 0.1], &labels), Some(0.0));
        assert_eq!(auc_roc(&[0.5, 0.5, 0.5, 0.5], &labels), Some(0.5));
        assert_eq!(auc_roc(&[0.5, 0.5], &[1, 1]), None);
    }

    #[test]
    fn auc_matches_a_hand_count() {
        // Pairs (pos, neg): pos scores 0.8, 0.4; neg 0.5, 0.1, 0.4.
        // 0.8 beats all 3; 0.4 beats 0.1, ties 0.4 (½), loses to 0.5: (3 + 1.5) / 6.
        let s = [0.8, 0.4, 0.5, 0.1, 0.4];
        let l = [1, 1, 0, 0, 0];
        assert!((auc_roc(&s, &l).unwrap() - 4.5 / 6.0).abs() < 1e-12);
    }

    #[test]
    fn average_precision_matches_a_hand_count() {
        // Ranked: 0.9 (1), 0.8 (0), 0.7 (1): AP = ½·1 + ½·⅔.
        let ap = auc_pr(&[0.9, 0.8, 0.7], &[1, 0, 1]).unwrap();
        assert!((ap - (0.5 + 1.0 / 3.0)).abs() < 1e-12);
    }

    #[test]
    fn roc_curve_runs_from_origin_to_one_one() {
        let pts = roc_curve(&[0.3, 0.1, 0.7, 0.7], &[1, 0, 0, 1]);
        assert_eq!(pts.first(), Some(&(0.0, 0.0)));
        assert_eq!(pts.last(), Some(&(1.0, 1.0)));
    }
}
