//! Matrix products: `matmul` and the bias-free linear layer `x · Wᵀ` (PyTorch's weight layout).

use super::{expect_rank, same_device};
use crate::autograd::record;
use crate::device::gpu_err;
use crate::{Device, Error, Result, Shape, Storage, Tensor};
use kernels::cpu::gemm::gemm;

/// `op(a) · op(b)` for rank-2 tensors, `op` transposing where asked.
fn gemm_op(a: &Tensor, ta: bool, b: &Tensor, tb: bool) -> Result<Tensor> {
    expect_rank("matmul", a, 2)?;
    expect_rank("matmul", b, 2)?;
    let dev = same_device("matmul", &[a, b])?;
    let (m, k) = if ta { (a.dims()[1], a.dims()[0]) } else { (a.dims()[0], a.dims()[1]) };
    let (k2, n) = if tb { (b.dims()[1], b.dims()[0]) } else { (b.dims()[0], b.dims()[1]) };
    if k != k2 {
        return Err(Error::ShapeMismatch { op: "matmul", lhs: a.dims().to_vec(), rhs: b.dims().to_vec() });
    }
    let (sa, sb) = (a.storage(), b.storage());
    let y = match dev {
        Device::Cpu => {
            let mut y = crate::pool::take_for_overwrite(m * n);
            gemm(ta, tb, m, n, k, 1.0, sa.cpu(), sb.cpu(), 0.0, &mut y);
            Storage::Cpu(y)
        }
        Device::Gpu => {
            let y = Storage::gpu_uninit("matmul", m * n)?;
            kernels::gpu::gemm::gemm(ta, tb, m, n, k, 1.0, sa.gpu(), sb.gpu(), 0.0, &y).map_err(gpu_err("matmul"))?;
            Storage::Gpu(y)
        }
    };
    let (ac, bc) = (a.clone(), b.clone());
    record("matmul", y, Shape::new(&[m, n]), &[a, b], move |g| {
        // Y = op(A)·op(B):  dop(A) = dY·op(B)ᵀ,  dop(B) = op(A)ᵀ·dY, transposed back to storage.
        let ga = if ta { gemm_op(&bc, tb, g, true)? } else { gemm_op(g, false, &bc, !tb)? };
        let gb = if tb { gemm_op(g, true, &ac, ta)? } else { gemm_op(&ac, !ta, g, false)? };
        Ok(vec![Some(ga), Some(gb)])
    })
}

impl Tensor {
    /// `self · rhs` for `m × k` and `k × n` matrices.
    pub fn matmul(&self, rhs: &Tensor) -> Result<Tensor> {
        gemm_op(self, false, rhs, false)
    }

    /// `self · rhsᵀ`: a bias-free linear layer with weight `out × in` applied to `n × in`.
    pub fn linear(&self, weight: &Tensor) -> Result<Tensor> {
        gemm_op(self, false, weight, true)
    }

    /// `op(self) · op(rhs)` with explicit transposes.
    pub fn matmul_t(&self, transpose_self: bool, rhs: &Tensor, transpose_rhs: bool) -> Result<Tensor> {
        gemm_op(self, transpose_self, rhs, transpose_rhs)
    }
}
