//! Samples to score, read from one file as they are: what `score --input` applies a saved model
//! to. No one-class protocol and no split — every sample in file order, with labels where the
//! file has them.

use std::path::Path;

use crate::csv::{parse_csv_table, Header, LabelColumn};
use crate::error::{DataError, Origin, Result};
use crate::npy::{parse_npy, NpyArray};
use crate::npz::{finite_f32, integer_labels, parse_npz};
use crate::stream::read_file;
use crate::Dataset;

/// A file's samples, flattened (`data.shape` is `[values per sample]`), each sample's shape as
/// the file gave it (`[d]` for CSV rows; an array's trailing axes), and whether `labels` came
/// from the file (else they are all zero).
#[derive(Clone, Debug, PartialEq)]
pub struct Samples {
    pub data: Dataset,
    pub shape_in_file: Vec<usize>,
    pub labelled: bool,
}

/// Reads `path` by its extension:
/// - `.csv`: numeric rows, every column a feature, or with `label` that column holds the labels;
///   its first line a header or data as `header` says;
/// - `.npz`: an array `X` (samples along its first axis), labelled by `y` when present;
/// - `.npy`: one array, samples along its first axis, no labels.
pub fn load_samples(path: &Path, label: Option<&LabelColumn>, header: Header) -> Result<Samples> {
    let origin = Origin::new(path);
    let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    let not_csv = |what: &str| {
        DataError::format(&origin, format!("a label column is for .csv files; a {what} file's labels are its array y"))
    };
    if header != Header::Auto && ext.as_deref() != Some("csv") {
        return Err(DataError::format(&origin, "a header setting is for .csv files, not arrays"));
    }
    match ext.as_deref() {
        Some("csv") => {
            let bytes = read_file(path)?;
            let data = parse_csv_table(&bytes, label, header, &origin)?;
            let labelled = label.is_some();
            Ok(Samples { shape_in_file: data.shape.clone(), data, labelled })
        }
        Some("npz") => {
            if label.is_some() {
                return Err(not_csv(".npz"));
            }
            let arrays = parse_npz(&read_file(path)?, &origin)?;
            let find = |names: [&str; 2]| arrays.iter().find(|(n, _)| names.contains(&n.as_str())).map(|(_, a)| a);
            let x = find(["X", "x"]).ok_or_else(|| DataError::format(&origin, "no array named \"X\""))?;
            let mut data = flatten(x, &origin)?;
            let shape_in_file = x.shape[1..].to_vec();
            let labelled = match find(["y", "Y"]) {
                Some(y) => {
                    if y.data.len() != data.len() || y.shape.len() > 2 || y.shape.get(1).is_some_and(|&c| c != 1) {
                        return Err(DataError::Mismatch {
                            origin: origin.clone(),
                            msg: format!("X has {} samples but y has shape {:?}", data.len(), y.shape),
                        });
                    }
                    data.labels = integer_labels(y, &origin)?;
                    true
                }
                None => false,
            };
            Ok(Samples { data, shape_in_file, labelled })
        }
        Some("npy") => {
            if label.is_some() {
                return Err(not_csv(".npy"));
            }
            let x = parse_npy(&read_file(path)?, &origin)?;
            Ok(Samples { data: flatten(&x, &origin)?, shape_in_file: x.shape[1..].to_vec(), labelled: false })
        }
        _ => Err(DataError::format(&origin, "unknown file type: expected .csv, .npz or .npy")),
    }
}

/// `a`'s samples (its first axis) flattened, labels zero.
fn flatten(a: &NpyArray, origin: &Origin) -> Result<Dataset> {
    let Some((&n, rest)) = a.shape.split_first() else {
        return Err(DataError::format(origin, "a 0-dimensional array holds no samples"));
    };
    let d: usize = rest.iter().product();
    if n == 0 || d == 0 {
        return Err(DataError::format(origin, format!("no values: the array has shape {:?}", a.shape)));
    }
    Ok(Dataset { x: finite_f32(a, d, origin)?, labels: vec![0; n], shape: vec![d] })
}
