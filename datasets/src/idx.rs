//! IDX files (MNIST, Fashion-MNIST), raw or gzip: a 4-byte magic `00 00 <type> <ndims>`, then
//! `ndims` big-endian u32 sizes, then the data. Only unsigned bytes (type 0x08) occur in these
//! sets; images are `[n, rows, cols]`, labels `[n]`.

use std::path::Path;

use crate::error::{DataError, Origin, Result};
use crate::stream::Stream;
use crate::{Dataset, Values};

const UBYTE: u8 = 0x08;

/// Reads the magic and the sizes, and checks the data type and number of dimensions.
fn header(s: &mut Stream<'_>, ndims: usize, what: &str) -> Result<Vec<usize>> {
    let mut magic = [0u8; 4];
    s.read_exact(&mut magic, "IDX magic")?;
    if magic[0] != 0 || magic[1] != 0 {
        return Err(DataError::format(
            &s.origin,
            format!("not an IDX file (magic {:02x}{:02x}{:02x}{:02x})", magic[0], magic[1], magic[2], magic[3]),
        ));
    }
    if magic[2] != UBYTE {
        return Err(DataError::format(
            &s.origin,
            format!("IDX data type 0x{:02x} is not supported (expected 0x08, unsigned bytes)", magic[2]),
        ));
    }
    if magic[3] as usize != ndims {
        return Err(DataError::format(
            &s.origin,
            format!("IDX file has {} dimensions, expected {ndims} for {what}", magic[3]),
        ));
    }
    let mut dims = Vec::with_capacity(ndims);
    for _ in 0..ndims {
        let mut d = [0u8; 4];
        s.read_exact(&mut d, "IDX sizes")?;
        dims.push(u32::from_be_bytes(d) as usize);
    }
    Ok(dims)
}

fn body_len(s: &Stream<'_>, dims: &[usize]) -> Result<usize> {
    dims.iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| DataError::format(&s.origin, format!("IDX sizes {dims:?} overflow")))
}

/// Reads an image file: returns the pixel bytes as stored (the split converts the samples it
/// uses to f32) and the sizes `[n, rows, cols]`.
pub(crate) fn read_images(s: &mut Stream<'_>) -> Result<(Vec<u8>, [usize; 3])> {
    let dims = header(s, 3, "images")?;
    let len = body_len(s, &dims)?;
    // The header's size is unchecked: cap the reservation by what the stream can hold.
    let mut x: Vec<u8> = Vec::with_capacity(len.min(s.bound));
    s.read_chunks(len, "images", |c| x.extend_from_slice(c))?;
    s.expect_end()?;
    Ok((x, [dims[0], dims[1], dims[2]]))
}

/// Reads a label file: one byte per sample.
pub(crate) fn read_labels(s: &mut Stream<'_>) -> Result<Vec<i64>> {
    let dims = header(s, 1, "labels")?;
    let mut y: Vec<i64> = Vec::with_capacity(dims[0].min(s.bound));
    s.read_chunks(dims[0], "labels", |c| y.extend(c.iter().map(|&b| b as i64)))?;
    s.expect_end()?;
    Ok(y)
}

/// Parses an image file and its label file into one data set, checking that the counts agree and
/// that every label is below `n_classes`.
pub(crate) fn read_pair(images: &mut Stream<'_>, labels: &mut Stream<'_>, n_classes: i64) -> Result<Dataset<Values>> {
    let (x, [n, rows, cols]) = read_images(images)?;
    let y = read_labels(labels)?;
    if y.len() != n {
        return Err(DataError::Mismatch {
            origin: labels.origin.clone(),
            msg: format!("{} labels but {} has {n} images", y.len(), images.origin),
        });
    }
    check_labels(&labels.origin, &y, n_classes)?;
    Ok(Dataset { x: Values::U8(x), labels: y, shape: vec![1, rows, cols] })
}

pub(crate) fn check_labels(origin: &Origin, y: &[i64], n_classes: i64) -> Result<()> {
    match y.iter().position(|&l| !(0..n_classes).contains(&l)) {
        Some(index) => Err(DataError::LabelOutOfRange {
            origin: origin.clone(),
            index,
            label: y[index],
            allowed: format!("0..={}", n_classes - 1),
        }),
        None => Ok(()),
    }
}

/// Parses in-memory IDX image + label files (raw or gzip); used for the bundled data and tests.
/// Pixels stay bytes (`Values::U8`).
pub fn parse_idx(images: &[u8], labels: &[u8], origin: &str, n_classes: i64) -> Result<Dataset<Values>> {
    let mut si = Stream::from_bytes(images, Origin::new(format!("{origin} (images)")));
    let mut sl = Stream::from_bytes(labels, Origin::new(format!("{origin} (labels)")));
    read_pair(&mut si, &mut sl, n_classes)
}

/// Finds `name.gz`, else `name`, in `dir`; when neither exists the error names both.
fn find(dir: &Path, name: &str) -> Result<std::path::PathBuf> {
    let gz = dir.join(format!("{name}.gz"));
    let raw = dir.join(name);
    match (gz.exists(), raw.exists()) {
        (false, true) => Ok(raw),
        (false, false) => Err(DataError::format(
            &Origin::new(dir.display().to_string()),
            format!(
                "missing {name}.gz (or {name} uncompressed): the four files of MNIST / Fashion-MNIST go by these names"
            ),
        )),
        _ => Ok(gz),
    }
}

/// Loads the standard four files of MNIST or Fashion-MNIST from `dir`.
pub fn load_idx_dir(dir: &Path) -> Result<(Dataset<Values>, Dataset<Values>)> {
    crate::check_dir(dir)?;
    let part = |prefix: &str| -> Result<Dataset<Values>> {
        let mut si = Stream::open(&find(dir, &format!("{prefix}-images-idx3-ubyte"))?)?;
        let mut sl = Stream::open(&find(dir, &format!("{prefix}-labels-idx1-ubyte"))?)?;
        read_pair(&mut si, &mut sl, 10)
    };
    let (train, test) = (part("train")?, part("t10k")?);
    if test.shape != train.shape {
        let file = find(dir, "t10k-images-idx3-ubyte")?;
        let msg = format!("images of shape {:?}, the training images {:?}", test.shape, train.shape);
        return Err(DataError::Mismatch { origin: Origin::new(file.display().to_string()), msg });
    }
    Ok((train, test))
}
