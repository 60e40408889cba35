//! One place that decides when elementwise work is worth spreading over rayon's pool.

use rayon::prelude::*;

/// Below this many elements a loop is faster on one core than the cost of waking the pool.
pub const PAR_MIN: usize = 1 << 15;
/// Work is split into chunks of this size, so the split never depends on the thread count.
pub const CHUNK: usize = 1 << 13;

/// `out[i] = f(i, …)` for chunks of `out`, in parallel when large. `f` gets the chunk's offset.
pub fn for_chunks_mut(out: &mut [f32], f: impl Fn(usize, &mut [f32]) + Sync + Send) {
    if out.len() < PAR_MIN {
        f(0, out);
    } else {
        out.par_chunks_mut(CHUNK).enumerate().for_each(|(i, chunk)| f(i * CHUNK, chunk));
    }
}
