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

/// Stack of the pool's threads when [`in_pool`] builds the global pool: the code it runs there
/// (a whole training run) was written for a main thread's stack, not a worker's 2 MiB.
const WORKER_STACK: usize = 32 << 20;

/// Runs `f` on a thread of rayon's global pool and returns its result.
///
/// A parallel kernel called from outside the pool hands its work to the pool and sleeps on a
/// latch until a worker wakes it: a round trip of futex wake-ups per kernel, and a training
/// step calls hundreds of kernels. Called from a worker, the kernel forks and joins inside the
/// pool, the calling thread doing its share. Binaries run their whole job through this
/// (measured: DCGAN step +3.6 %, MNIST LeNet step +2.3 % on two threads; `benches/README.md`).
///
/// Builds the global pool first, with a main-thread-sized stack, unless it exists already;
/// the thread count is rayon's default (`RAYON_NUM_THREADS`, else one per core).
pub fn in_pool<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    // Err means the global pool was built before (by an earlier call or a parallel kernel);
    // it is used as it is.
    let _ = rayon::ThreadPoolBuilder::new().stack_size(WORKER_STACK).build_global();
    rayon::scope(|_| f())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_pool_runs_on_a_worker_and_returns_the_result() {
        assert_eq!(rayon::current_thread_index(), None, "the test harness thread is not a worker");
        let (index, sum) = in_pool(|| {
            let sum: u64 = (0..10_000u64).into_par_iter().sum();
            (rayon::current_thread_index(), sum)
        });
        assert!(index.is_some(), "f ran outside the pool");
        assert_eq!(sum, 49_995_000);
    }
}
