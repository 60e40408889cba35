//! NumPy `.npz` archives (a zip of `.npy` members) and the ADBench convention: `X` (n × d
//! features) and `y` (n labels, 1 = anomaly).

use std::path::Path;

use crate::error::{DataError, Origin, Result};
use crate::npy::{parse_npy, NpyArray};
use crate::zip::zip_entries;
use crate::Dataset;

/// Parses every array in an in-memory `.npz`; names lose their `.npy` suffix.
pub fn parse_npz(bytes: &[u8], origin: &Origin) -> Result<Vec<(String, NpyArray)>> {
    let mut out = Vec::new();
    for e in zip_entries(bytes, origin)? {
        let data = e.read(origin)?;
        let name = e.name.strip_suffix(".npy").unwrap_or(&e.name).to_string();
        let member = Origin::new(format!("{origin}[{name}]"));
        out.push((name, parse_npy(&data, &member)?));
    }
    Ok(out)
}

/// Builds a tabular data set from `X` and `y` arrays: `X` must be n × d (a 1-D `X` is n × 1),
/// finite; `y` must have n integral entries.
pub fn tabular_from_npz(mut arrays: Vec<(String, NpyArray)>, origin: &Origin) -> Result<Dataset> {
    // ADBench names them X and y; the other case is accepted, but not both (which is meant?).
    let mut take = |names: [&str; 2]| -> Result<Option<NpyArray>> {
        let found: Vec<usize> = (0..arrays.len()).filter(|&i| names.contains(&arrays[i].0.as_str())).collect();
        match found[..] {
            [] => Ok(None),
            [i] => Ok(Some(arrays.swap_remove(i).1)),
            _ => Err(DataError::format(
                origin,
                format!("both {} and {} arrays: which one holds the data?", names[0], names[1]),
            )),
        }
    };
    let (x, y) = (take(["X", "x"])?, take(["y", "Y"])?);
    let missing =
        |k: &str| DataError::format(origin, format!("no array named {k:?} (expected X and y, as ADBench writes them)"));
    let x = x.ok_or_else(|| missing("X"))?;
    let y = y.ok_or_else(|| missing("y"))?;
    let (n, d) = match x.shape[..] {
        [n, d] => (n, d),
        [n] => (n, 1),
        _ => return Err(DataError::format(origin, format!("X has shape {:?}, expected (n, d)", x.shape))),
    };
    let ny = match y.shape[..] {
        [n] | [n, 1] => n,
        _ => return Err(DataError::format(origin, format!("y has shape {:?}, expected (n,)", y.shape))),
    };
    if ny != n {
        return Err(DataError::Mismatch {
            origin: origin.clone(),
            msg: format!("X has {n} rows but y has {ny} labels"),
        });
    }
    if d == 0 {
        return Err(DataError::format(origin, "X has no columns"));
    }
    let xs = finite_f32(&x, d, origin)?;
    let labels = integer_labels(&y, origin)?;
    Ok(Dataset { x: xs, labels, shape: vec![d] })
}

/// `a`'s elements as `f32`, each finite; `d` values per row (to name a bad value's row and column).
pub(crate) fn finite_f32(a: &NpyArray, d: usize, origin: &Origin) -> Result<Vec<f32>> {
    let mut xs = Vec::with_capacity(a.data.len());
    for (i, &v) in a.data.iter().enumerate() {
        let f = v as f32;
        if !f.is_finite() {
            return Err(DataError::NonFinite { origin: origin.clone(), row: i / d, col: i % d, value: v });
        }
        xs.push(f);
    }
    Ok(xs)
}

/// `y`'s elements as integer labels.
pub(crate) fn integer_labels(y: &NpyArray, origin: &Origin) -> Result<Vec<i64>> {
    let mut labels = Vec::with_capacity(y.data.len());
    for (index, &v) in y.data.iter().enumerate() {
        if v.fract() != 0.0 || !v.is_finite() || v.abs() > (1u64 << 53) as f64 {
            // Plain digits where they are short (0.5, not 5e-1); exponents only for huge values.
            let shown = if v.abs() < 1e9 { format!("{v}") } else { format!("{v:e}") };
            let msg = format!("label {shown} of sample {index} (counting from 0) is not an integer (within ±2^53)");
            return Err(DataError::format(origin, msg));
        }
        labels.push(v as i64);
    }
    Ok(labels)
}

/// Loads an ADBench-style `.npz` file (`X`, `y`).
pub fn load_npz(path: &Path) -> Result<Dataset> {
    let origin = Origin::new(path);
    let bytes = crate::stream::read_file(path)?;
    tabular_from_npz(parse_npz(&bytes, &origin)?, &origin)
}
