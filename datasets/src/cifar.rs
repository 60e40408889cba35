//! CIFAR-10 binary batches: records of 1 label byte + 3072 pixel bytes (1024 red, 1024 green,
//! 1024 blue, each a row-major 32×32 plane), i.e. already channel-first. Training data is
//! `data_batch_1.bin` … `data_batch_5.bin`, test data `test_batch.bin`.

use std::path::{Path, PathBuf};

use crate::error::{DataError, Origin, Result};
use crate::stream::Stream;
use crate::{Dataset, Values};

const PIXELS: usize = 3 * 32 * 32;
const RECORD: usize = 1 + PIXELS;

/// Appends every record of one batch to `out`: labels, and pixel bytes as stored.
fn read_batch(s: &mut Stream<'_>, out: &mut Raw) -> Result<()> {
    let mut rec = vec![0u8; RECORD];
    let mut count = 0usize;
    loop {
        let n = s.read_full(&mut rec)?;
        if n == 0 {
            break;
        }
        if n < RECORD {
            return Err(DataError::truncated(
                &s.origin,
                format!("record {count} has {n} of {RECORD} bytes (1 label + 3072 pixels)"),
            ));
        }
        let label = rec[0] as i64;
        if label > 9 {
            return Err(DataError::LabelOutOfRange {
                origin: s.origin.clone(),
                index: count,
                label,
                allowed: "0..=9".into(),
            });
        }
        out.labels.push(label);
        out.pixels.extend_from_slice(&rec[1..]);
        count += 1;
    }
    if count == 0 {
        return Err(DataError::truncated(&s.origin, "no records (the file is empty)"));
    }
    Ok(())
}

/// Records read so far.
#[derive(Default)]
struct Raw {
    pixels: Vec<u8>,
    labels: Vec<i64>,
}

impl Raw {
    fn into_dataset(self) -> Dataset<Values> {
        Dataset { x: Values::U8(self.pixels), labels: self.labels, shape: vec![3, 32, 32] }
    }
}

/// Parses one in-memory CIFAR-10 batch file (raw or gzip). Pixels stay bytes (`Values::U8`).
pub fn parse_cifar_batch(bytes: &[u8], origin: &str) -> Result<Dataset<Values>> {
    let mut d = Raw::default();
    read_batch(&mut Stream::from_bytes(bytes, Origin::new(origin)), &mut d)?;
    Ok(d.into_dataset())
}

fn load_files(files: &[PathBuf]) -> Result<Dataset<Values>> {
    let mut d = Raw::default();
    for f in files {
        read_batch(&mut Stream::open(f)?, &mut d)?;
    }
    Ok(d.into_dataset())
}

/// Loads CIFAR-10 from `dir` or from its `cifar-10-batches-bin` subfolder (as unpacked from the
/// official archive). Returns (train, test).
pub fn load_cifar_dir(dir: &Path) -> Result<(Dataset<Values>, Dataset<Values>)> {
    crate::check_dir(dir)?;
    let sub = dir.join("cifar-10-batches-bin");
    let dir = if !dir.join("test_batch.bin").exists() && sub.is_dir() { sub } else { dir.to_path_buf() };
    let train: Vec<PathBuf> = (1..=5).map(|i| dir.join(format!("data_batch_{i}.bin"))).collect();
    Ok((load_files(&train)?, load_files(&[dir.join("test_batch.bin")])?))
}
