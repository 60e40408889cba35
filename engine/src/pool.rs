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

use std::collections::HashMap;
use std::sync::Mutex;

/// Smaller buffers are left to the allocator, which recycles them cheaply itself.
const MIN_LEN: usize = 1 << 14;
/// The pool never holds more than this (bytes); beyond, returned buffers are freed.
const MAX_BYTES: usize = 512 << 20;

struct Pool {
    free: HashMap<usize, Vec<Vec<f32>>>,
    bytes: usize,
}

static POOL: Mutex<Option<Pool>> = Mutex::new(None);

fn take(len: usize) -> Option<Vec<f32>> {
    if len < MIN_LEN {
        return None;
    }
    let mut guard = POOL.lock().unwrap_or_else(|e| e.into_inner());
    let pool = guard.as_mut()?;
    let v = pool.free.get_mut(&len)?.pop()?;
    pool.bytes -= len * 4;
    Some(v)
}

/// `len` floats with unspecified (finite, stale) contents, for a kernel that overwrites them all.
pub(crate) fn take_for_overwrite(len: usize) -> Vec<f32> {
    take(len).unwrap_or_else(|| vec![0.0; len])
}

/// Keeps `v` for reuse (or frees it when it is small or the pool is full).
pub(crate) fn give_back(v: Vec<f32>) {
    let len = v.len();
    if len < MIN_LEN || v.capacity() != len {
        return;
    }
    let mut guard = POOL.lock().unwrap_or_else(|e| e.into_inner());
    let pool = guard.get_or_insert_with(|| Pool { free: HashMap::new(), bytes: 0 });
    if pool.bytes + len * 4 > MAX_BYTES {
        return;
    }
    pool.bytes += len * 4;
    pool.free.entry(len).or_default().push(v);
}
