//! Reuse of large host buffers between training steps.
//!
//! A training step allocates the same activation and gradient sizes every time. Fresh
//! `vec![0.0; n]` buffers of megabytes come from `mmap`, so every step paid a page fault and a
//! kernel page clear per 4 KiB, then a memset (measured on the MNIST LeNet step: page faults,
//! `clear_page` and memset together ≈ 10 % of the time). Buffers of dropped tensors are kept here
//! by exact length and handed out again.
//!
//! Results are unaffected: [`take_for_overwrite`] serves only kernels that overwrite their whole
//! output (the convention of `kernels::cpu`, checked there with NaN-poisoned outputs).
//!
//! The pool follows the working set, not the history: every optimiser step calls [`end_step`],
//! which frees buffers that nobody took during the last few steps. Without it the pool filled
//! to its cap with sizes seen once (last batches of an epoch, evaluation chunks): a paper-preset
//! MNIST Deep SVDD run grew to 849 MB of resident memory, most of it idle buffers.

use std::collections::HashMap;
use std::sync::Mutex;

/// Smaller buffers are left to the allocator, which recycles them cheaply itself.
const MIN_LEN: usize = 1 << 14;
/// The pool never holds more than this (bytes); beyond, returned buffers are freed.
const MAX_BYTES: usize = 512 << 20;

/// A buffer unused for more than this many optimiser steps is freed. Several, not one: a
/// training iteration of ICS or a GAN runs several optimisers, each reusing its own sizes.
const IDLE_STEPS: u64 = 4;

#[derive(Default)]
struct Pool {
    /// Free buffers by length, each with the step in which it was given back.
    free: HashMap<usize, Vec<(Vec<f32>, u64)>>,
    bytes: usize,
    step: u64,
}

impl Pool {
    fn take(&mut self, len: usize) -> Option<Vec<f32>> {
        let (v, _) = self.free.get_mut(&len)?.pop()?;
        self.bytes -= len * 4;
        Some(v)
    }

    fn give_back(&mut self, v: Vec<f32>) {
        let len = v.len();
        if self.bytes + len * 4 <= MAX_BYTES {
            self.bytes += len * 4;
            self.free.entry(len).or_default().push((v, self.step));
        }
    }

    fn end_step(&mut self) {
        self.step += 1;
        let oldest = self.step.saturating_sub(IDLE_STEPS);
        let mut freed = 0;
        self.free.retain(|&len, bufs| {
            bufs.retain(|&(_, given)| {
                let keep = given >= oldest;
                if !keep {
                    freed += len * 4;
                }
                keep
            });
            !bufs.is_empty()
        });
        self.bytes -= freed;
    }
}

static POOL: Mutex<Option<Pool>> = Mutex::new(None);

fn with_pool<T>(f: impl FnOnce(&mut Pool) -> T) -> T {
    let mut guard = POOL.lock().unwrap_or_else(|e| e.into_inner());
    f(guard.get_or_insert_with(Pool::default))
}

/// `len` floats with unspecified (finite, stale) contents, for a kernel that overwrites them all.
pub(crate) fn take_for_overwrite(len: usize) -> Vec<f32> {
    let pooled = if len < MIN_LEN { None } else { with_pool(|p| p.take(len)) };
    pooled.unwrap_or_else(|| vec![0.0; len])
}

/// Keeps `v` for reuse (or frees it when it is small or the pool is full).
pub(crate) fn give_back(v: Vec<f32>) {
    if v.len() >= MIN_LEN && v.capacity() == v.len() {
        with_pool(|p| p.give_back(v));
    }
}

/// Marks the end of an optimiser step and frees the buffers idle for more than [`IDLE_STEPS`].
pub(crate) fn end_step() {
    with_pool(Pool::end_step);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(p: &Pool, len: usize) -> usize {
        p.free.get(&len).map_or(0, Vec::len)
    }

    #[test]
    fn a_buffer_idle_for_several_steps_is_freed() {
        let mut p = Pool::default();
        p.give_back(vec![1.0; 100]);
        for _ in 0..IDLE_STEPS {
            p.end_step();
        }
        assert_eq!(held(&p, 100), 1, "freed too early");
        p.end_step();
        assert_eq!((held(&p, 100), p.bytes), (0, 0));
    }

    #[test]
    fn a_buffer_reused_every_step_stays() {
        let mut p = Pool::default();
        p.give_back(vec![1.0; 100]);
        p.give_back(vec![1.0; 200]); // seen once, then never again
        for _ in 0..3 * IDLE_STEPS {
            let v = p.take(100).expect("pooled buffer");
            p.give_back(v);
            p.end_step();
        }
        assert_eq!((held(&p, 100), held(&p, 200), p.bytes), (1, 0, 400));
    }
}
