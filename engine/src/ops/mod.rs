//! Ops, one family per file. Each file holds the forward (shape checks, kernel dispatch by
//! device) and, beside it, the backward closure recorded on the tape.

pub mod binary;
pub mod conv;
pub mod layout;
pub mod loss;
pub mod matmul;
pub mod norm;
pub mod pairwise;
pub mod pool;
pub mod reduce;
pub mod unary;
pub mod upsample;

use crate::{Device, Error, Result, Tensor};

/// Every input of an op must live on one device.
pub(crate) fn same_device(op: &'static str, ts: &[&Tensor]) -> Result<Device> {
    let d = ts[0].device();
    for t in &ts[1..] {
        if t.device() != d {
            return Err(Error::DeviceMismatch { op, lhs: d.to_string(), rhs: t.device().to_string() });
        }
    }
    Ok(d)
}

/// Checks a tensor's rank, naming the op.
pub(crate) fn expect_rank(op: &'static str, t: &Tensor, rank: usize) -> Result<()> {
    if t.shape().rank() != rank {
        return Err(Error::invalid(op, format!("expected a rank-{rank} tensor, got shape {:?}", t.dims())));
    }
    Ok(())
}
