//! `scores.csv`: one row per test sample, so scores can be re-analysed outside oneclass.

use std::fmt::Write;
use std::path::Path;

use super::atomic::write_atomic;
use super::error::ReportError;

/// Writes `index,score,label` rows (the `label` column only when `labels` is given; 1 marks an
/// anomaly) to `path`, atomically. Scores are written in Rust's shortest round-trip form, so
/// reading the file back gives the same `f32` values.
pub fn write_scores_csv(path: impl AsRef<Path>, scores: &[f32], labels: Option<&[u8]>) -> Result<(), ReportError> {
    let path = path.as_ref();
    if let Some(l) = labels {
        if l.len() != scores.len() {
            return Err(ReportError::input(path, format!("{} scores but {} labels", scores.len(), l.len())));
        }
    }
    let mut out = String::with_capacity(16 * (scores.len() + 1));
    out.push_str(if labels.is_some() { "index,score,label\n" } else { "index,score\n" });
    for (i, s) in scores.iter().enumerate() {
        // Writing into a String cannot fail.
        let _ = match labels {
            Some(l) => writeln!(out, "{i},{s},{}", l[i]),
            None => writeln!(out, "{i},{s}"),
        };
    }
    write_atomic(path, out.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::super::canvas::test_dir;
    use super::*;

    #[test]
    fn header_and_rows_with_and_without_labels() {
        let dir = test_dir("csv");
        let p = dir.join("scores.csv");
        write_scores_csv(&p, &[0.5, -1.25, 3e-8], Some(&[0, 1, 0])).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert_eq!(text, "index,score,label\n0,0.5,0\n1,-1.25,1\n2,0.00000003,0\n");
        let back: f32 = text.lines().nth(3).unwrap().split(',').nth(1).unwrap().parse().unwrap();
        assert_eq!(back, 3e-8);
        write_scores_csv(&p, &[0.5, 2.0], None).unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "index,score\n0,0.5\n1,2\n");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn mismatched_labels_and_missing_folders_are_errors_naming_the_path() {
        let err = write_scores_csv("/tmp/x.csv", &[1.0], Some(&[0, 1])).unwrap_err();
        assert_eq!(err.to_string(), "/tmp/x.csv: 1 scores but 2 labels");
        let err = write_scores_csv("/no/such/dir/scores.csv", &[1.0], None).unwrap_err();
        assert!(err.to_string().starts_with("/no/such/dir/scores.csv: "), "{err}");
    }
}
