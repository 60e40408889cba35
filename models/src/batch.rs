//! From a data set (plain `f32` samples) to tensors: mini-batches, shuffled epochs, and
//! evaluation over a whole set in chunks.

use datasets::Dataset;
use engine::{Device, Result, Rng, Tensor};

/// The samples at `idx` as one tensor `len × sample_shape`.
pub fn batch(ds: &Dataset, idx: &[usize], device: Device) -> Result<Tensor> {
    let d = ds.sample_len();
    let mut x = Vec::with_capacity(idx.len() * d);
    for &i in idx {
        x.extend_from_slice(ds.sample(i));
    }
    let mut dims = vec![idx.len()];
    dims.extend_from_slice(&ds.shape);
    Tensor::from_vec(x, &dims, device)
}

/// A shuffled epoch's mini-batches of indices; the last short batch is kept unless it would
/// hold a single sample (batch norm cannot train on one).
pub fn epoch_batches(n: usize, batch_size: usize, rng: &mut Rng) -> Vec<Vec<usize>> {
    let mut idx: Vec<usize> = (0..n).collect();
    rng.shuffle(&mut idx);
    let mut out: Vec<Vec<usize>> = idx.chunks(batch_size.max(1)).map(|c| c.to_vec()).collect();
    if out.len() > 1 && out.last().is_some_and(|b| b.len() < 2) {
        out.pop();
    }
    out
}

/// Runs `f` over the whole set in order, in chunks of `chunk`, concatenating its per-sample
/// outputs (scores, distances).
pub fn map_in_chunks(
    ds: &Dataset,
    chunk: usize,
    device: Device,
    mut f: impl FnMut(&Tensor) -> Result<Vec<f32>>,
) -> Result<Vec<f32>> {
    let mut out = Vec::with_capacity(ds.len());
    let all: Vec<usize> = (0..ds.len()).collect();
    for idx in all.chunks(chunk.max(1)) {
        out.extend(f(&batch(ds, idx, device)?)?);
        engine::mark_step();
    }
    Ok(out)
}
