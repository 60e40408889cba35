//! Shape and data movement: reshape (free), permute, concat, narrow (slice), row selection.

use crate::autograd::record;
use crate::device::gpu_err;
use crate::{Device, Error, Result, Shape, Storage, Tensor};
use kernels::cpu::layout::{around_axis, copy_from_axis, copy_into_axis, gather_rows, permute};
use kernels::gpu::layout as gk;

fn check_axis(op: &'static str, t: &Tensor, axis: usize) -> Result<()> {
    if axis >= t.shape().rank() {
        return Err(Error::invalid(op, format!("axis {axis} out of range for shape {:?}", t.dims())));
    }
    Ok(())
}

impl Tensor {
    /// Same elements, new shape (shares the data).
    pub fn reshape(&self, dims: &[usize]) -> Result<Tensor> {
        if dims.iter().product::<usize>() != self.numel() {
            return Err(Error::ShapeMismatch { op: "reshape", lhs: self.dims().to_vec(), rhs: dims.to_vec() });
        }
        let from = self.shape().clone();
        record("reshape", self.storage(), Shape::new(dims), &[self], move |g| Ok(vec![Some(g.reshape(from.dims())?)]))
    }

    /// `n × …` → `n × (product of the rest)`.
    pub fn flatten(&self) -> Result<Tensor> {
        let n = *self.dims().first().unwrap_or(&1);
        self.reshape(&[n, self.numel() / n.max(1)])
    }

    /// Reorders axes: the result's axis `d` is this tensor's axis `perm[d]`.
    pub fn permute(&self, perm: &[usize]) -> Result<Tensor> {
        let rank = self.shape().rank();
        let mut seen = vec![false; rank];
        if perm.len() != rank || perm.iter().any(|&p| p >= rank || std::mem::replace(&mut seen[p], true)) {
            return Err(Error::invalid("permute", format!("{perm:?} is not a permutation of {rank} axes")));
        }
        let out: Vec<usize> = perm.iter().map(|&p| self.dims()[p]).collect();
        let sx = self.storage();
        let y = match sx.device() {
            Device::Cpu => {
                let mut y = vec![0.0; self.numel()];
                permute(sx.cpu(), self.dims(), perm, &mut y);
                Storage::Cpu(y)
            }
            Device::Gpu => {
                let y = Storage::gpu_uninit("permute", self.numel())?;
                gk::permute(sx.gpu(), self.dims(), perm, &y).map_err(gpu_err("permute"))?;
                Storage::Gpu(y)
            }
        };
        let mut inverse = vec![0; rank];
        for (d, &p) in perm.iter().enumerate() {
            inverse[p] = d;
        }
        record("permute", y, Shape::new(&out), &[self], move |g| Ok(vec![Some(g.permute(&inverse)?)]))
    }

    /// Matrix transpose of a rank-2 tensor.
    pub fn t(&self) -> Result<Tensor> {
        super::expect_rank("t", self, 2)?;
        self.permute(&[1, 0])
    }

    /// Concatenates along `axis`; all other axes must agree.
    pub fn concat(ts: &[&Tensor], axis: usize) -> Result<Tensor> {
        let first = ts.first().ok_or_else(|| Error::invalid("concat", "no tensors"))?;
        check_axis("concat", first, axis)?;
        let dev = super::same_device("concat", ts)?;
        for t in ts {
            let ok = t.shape().rank() == first.shape().rank()
                && t.dims().iter().zip(first.dims()).enumerate().all(|(d, (a, b))| d == axis || a == b);
            if !ok {
                return Err(Error::ShapeMismatch { op: "concat", lhs: first.dims().to_vec(), rhs: t.dims().to_vec() });
            }
        }
        let total: usize = ts.iter().map(|t| t.dims()[axis]).sum();
        let mut out = first.dims().to_vec();
        out[axis] = total;
        let n = out.iter().product();
        let y = match dev {
            Device::Cpu => {
                let mut y = vec![0.0; n];
                let mut start = 0;
                for t in ts {
                    let (outer, len, inner) = around_axis(t.dims(), axis);
                    copy_into_axis(t.storage().cpu(), outer, len, inner, &mut y, total, start);
                    start += len;
                }
                Storage::Cpu(y)
            }
            Device::Gpu => {
                // The slabs tile the output: every element is written.
                let y = Storage::gpu_uninit("concat", n)?;
                let mut start = 0;
                for t in ts {
                    let (outer, len, inner) = around_axis(t.dims(), axis);
                    let st = t.storage();
                    let src = gk::Slab { buf: st.gpu(), total: len, start: 0 };
                    let dst = gk::Slab { buf: &y, total, start };
                    gk::axis_copy(src, dst, outer, len, inner).map_err(gpu_err("concat"))?;
                    start += len;
                }
                Storage::Gpu(y)
            }
        };
        let lens: Vec<usize> = ts.iter().map(|t| t.dims()[axis]).collect();
        record("concat", y, Shape::new(&out), ts, move |g| {
            let mut start = 0;
            let mut grads = Vec::with_capacity(lens.len());
            for &len in &lens {
                grads.push(Some(g.narrow(axis, start, len)?));
                start += len;
            }
            Ok(grads)
        })
    }

    /// The slab `[start, start+len)` of `axis`.
    pub fn narrow(&self, axis: usize, start: usize, len: usize) -> Result<Tensor> {
        check_axis("narrow", self, axis)?;
        let total = self.dims()[axis];
        if start + len > total {
            return Err(Error::invalid(
                "narrow",
                format!("[{start}, {}) outside axis {axis} of shape {:?}", start + len, self.dims()),
            ));
        }
        let (outer, _, inner) = around_axis(self.dims(), axis);
        let mut out = self.dims().to_vec();
        out[axis] = len;
        let sx = self.storage();
        let y = match sx.device() {
            Device::Cpu => {
                let mut y = vec![0.0; outer * len * inner];
                copy_from_axis(sx.cpu(), outer, total, inner, start, len, &mut y);
                Storage::Cpu(y)
            }
            Device::Gpu => {
                let y = Storage::gpu_uninit("narrow", outer * len * inner)?;
                let src = gk::Slab { buf: sx.gpu(), total, start };
                gk::axis_copy(src, gk::Slab { buf: &y, total: len, start: 0 }, outer, len, inner)
                    .map_err(gpu_err("narrow"))?;
                Storage::Gpu(y)
            }
        };
        let from = self.shape().clone();
        record("narrow", y, Shape::new(&out), &[self], move |g| {
            // The gradient is zero outside the slab: pad with zeros on both sides.
            let sg = g.storage();
            let dx = match sg.device() {
                Device::Cpu => {
                    let mut dx = vec![0.0; from.numel()];
                    copy_into_axis(sg.cpu(), outer, len, inner, &mut dx, total, start);
                    Storage::Cpu(dx)
                }
                Device::Gpu => {
                    let dx = Storage::zeros(from.numel(), Device::Gpu)?;
                    let dst = gk::Slab { buf: dx.gpu(), total, start };
                    gk::axis_copy(gk::Slab { buf: sg.gpu(), total: len, start: 0 }, dst, outer, len, inner)
                        .map_err(gpu_err("narrow backward"))?;
                    dx
                }
            };
            Ok(vec![Some(Tensor::constant(dx, from.clone()))])
        })
    }

    /// Rows `rows` of the first axis, in that order (rows may repeat).
    pub fn select_rows(&self, rows: &[usize]) -> Result<Tensor> {
        let n = *self.dims().first().ok_or_else(|| Error::invalid("select_rows", "scalar input"))?;
        if let Some(&bad) = rows.iter().find(|&&r| r >= n) {
            return Err(Error::invalid("select_rows", format!("row {bad} of {n}")));
        }
        let d = self.numel() / n.max(1);
        let mut out = self.dims().to_vec();
        out[0] = rows.len();
        let sx = self.storage();
        let y = match sx.device() {
            Device::Cpu => {
                let mut y = vec![0.0; rows.len() * d];
                gather_rows(sx.cpu(), d, rows, &mut y);
                Storage::Cpu(y)
            }
            Device::Gpu => {
                let y = Storage::gpu_uninit("select_rows", rows.len() * d)?;
                gk::gather_rows(sx.gpu(), d, rows, &y).map_err(gpu_err("select_rows"))?;
                Storage::Gpu(y)
            }
        };
        let (from, rows) = (self.shape().clone(), rows.to_vec());
        record("select_rows", y, Shape::new(&out), &[self], move |g| {
            let sg = g.storage();
            let dx = match sg.device() {
                Device::Cpu => {
                    let gv = sg.cpu();
                    let mut dx = vec![0.0; from.numel()];
                    for (i, &r) in rows.iter().enumerate() {
                        for k in 0..d {
                            dx[r * d + k] += gv[i * d + k];
                        }
                    }
                    Storage::Cpu(dx)
                }
                Device::Gpu => {
                    let dx = Storage::gpu_uninit("select_rows backward", from.numel())?;
                    gk::scatter_add_rows(sg.gpu(), d, &rows, n, &dx).map_err(gpu_err("select_rows backward"))?;
                    Storage::Gpu(dx)
                }
            };
            Ok(vec![Some(Tensor::constant(dx, from.clone()))])
        })
    }
}
