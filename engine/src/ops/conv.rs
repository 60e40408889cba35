//! Convolutions. `conv2d` has three kernels (forward, input gradient, weight gradient);
//! `conv_transpose2d` is made of the same three with the roles of input and output swapped.

use super::{expect_rank, same_device};
use crate::autograd::record;
use crate::device::gpu_err;
use crate::{Device, Error, Result, Shape, Storage, Tensor};
use kernels::cpu::conv::{
    conv2d_backward_input, conv2d_backward_weight, conv2d_forward, conv2d_forward_and_backward_weight, Conv2dGeom,
};
use kernels::gpu::{self as gk, GpuBuffer};

/// Runs the CPU kernel `f` or the GPU kernel `gf` into a fresh output of `len` elements.
fn run(
    op: &'static str,
    dev: Device,
    len: usize,
    f: impl FnOnce(&mut [f32]),
    gf: impl FnOnce(&GpuBuffer) -> std::result::Result<(), gk::GpuError>,
) -> Result<Storage> {
    match dev {
        Device::Cpu => {
            let mut y = crate::pool::take_for_overwrite(len);
            f(&mut y);
            Ok(Storage::Cpu(y))
        }
        Device::Gpu => {
            let y = Storage::gpu_uninit(op, len)?;
            gf(&y).map_err(gpu_err(op))?;
            Ok(Storage::Gpu(y))
        }
    }
}

fn conv_fwd(g: Conv2dGeom, x: &Tensor, w: &Tensor) -> Result<Storage> {
    let (sx, sw) = (x.storage(), w.storage());
    run(
        "conv2d",
        x.device(),
        g.y_len(),
        |y| conv2d_forward(&g, sx.cpu(), sw.cpu(), y),
        |y| gk::conv::conv2d_forward(&g, sx.gpu(), sw.gpu(), y),
    )
}
fn conv_bwd_input(g: Conv2dGeom, dy: &Tensor, w: &Tensor) -> Result<Storage> {
    let (sd, sw) = (dy.storage(), w.storage());
    run(
        "conv2d_backward_input",
        dy.device(),
        g.x_len(),
        |dx| conv2d_backward_input(&g, sd.cpu(), sw.cpu(), dx),
        |dx| gk::conv::conv2d_backward_input(&g, sd.gpu(), sw.gpu(), dx),
    )
}
fn conv_bwd_weight(g: Conv2dGeom, x: &Tensor, dy: &Tensor) -> Result<Storage> {
    let (sx, sd) = (x.storage(), dy.storage());
    run(
        "conv2d_backward_weight",
        x.device(),
        g.w_len(),
        |dw| conv2d_backward_weight(&g, sx.cpu(), sd.cpu(), dw),
        |dw| gk::conv::conv2d_backward_weight(&g, sx.gpu(), sd.gpu(), dw),
    )
}

impl Tensor {
    /// 2-D cross-correlation of `n × c_in × h × w` with weight `c_out × c_in × kh × kw`, no bias.
    pub fn conv2d(&self, weight: &Tensor, stride: usize, pad: usize) -> Result<Tensor> {
        expect_rank("conv2d", self, 4)?;
        expect_rank("conv2d", weight, 4)?;
        same_device("conv2d", &[self, weight])?;
        let (x, w) = (self.dims(), weight.dims());
        if x[1] != w[1] || stride == 0 || x[2] + 2 * pad < w[2] || x[3] + 2 * pad < w[3] {
            return Err(Error::ShapeMismatch { op: "conv2d", lhs: x.to_vec(), rhs: w.to_vec() });
        }
        let g = Conv2dGeom { n: x[0], c_in: x[1], h: x[2], w: x[3], c_out: w[0], kh: w[2], kw: w[3], stride, pad };
        let y = conv_fwd(g, self, weight)?;
        let (xc, wc) = (self.clone(), weight.clone());
        let shape = Shape::new(&[g.n, g.c_out, g.oh(), g.ow()]);
        record("conv2d", y, shape, &[self, weight], move |dy| {
            let dx = xc
                .requires_grad()
                .then(|| conv_bwd_input(g, dy, &wc).map(|s| Tensor::constant(s, xc.shape().clone())))
                .transpose()?;
            let dw = wc
                .requires_grad()
                .then(|| conv_bwd_weight(g, &xc, dy).map(|s| Tensor::constant(s, wc.shape().clone())))
                .transpose()?;
            Ok(vec![dx, dw])
        })
    }

    /// Transposed convolution (PyTorch's `conv_transpose2d`): input `n × c_in × h × w`, weight
    /// `c_in × c_out × k × k`, output side `(h−1)·stride − 2·pad + k + output_padding`.
    pub fn conv_transpose2d(
        &self,
        weight: &Tensor,
        stride: usize,
        pad: usize,
        output_padding: usize,
    ) -> Result<Tensor> {
        expect_rank("conv_transpose2d", self, 4)?;
        expect_rank("conv_transpose2d", weight, 4)?;
        same_device("conv_transpose2d", &[self, weight])?;
        let (x, w) = (self.dims(), weight.dims());
        let bad = || Error::ShapeMismatch { op: "conv_transpose2d", lhs: x.to_vec(), rhs: w.to_vec() };
        if x[1] != w[0] || stride == 0 || output_padding >= stride {
            return Err(bad());
        }
        let side = |i: usize, k: usize| ((i - 1) * stride + k + output_padding).checked_sub(2 * pad);
        let (Some(oh), Some(ow)) = (side(x[2], w[2]), side(x[3], w[3])) else { return Err(bad()) };
        // The conv2d whose input gradient this is: it maps our output (c_out channels) back to
        // our input (c_in channels) with the same weight tensor read as c_in × c_out × k × k.
        let g = Conv2dGeom { n: x[0], c_in: w[1], h: oh, w: ow, c_out: w[0], kh: w[2], kw: w[3], stride, pad };
        if g.oh() != x[2] || g.ow() != x[3] {
            return Err(bad());
        }
        let y = conv_bwd_input(g, self, weight)?;
        let (xc, wc) = (self.clone(), weight.clone());
        let shape = Shape::new(&[g.n, g.c_in, oh, ow]);
        record("conv_transpose2d", y, shape, &[self, weight], move |dy| {
            if xc.requires_grad() && wc.requires_grad() && dy.device() == Device::Cpu {
                // Both gradients read the im2col of `dy`: build it once.
                let (mut dx, mut dw) =
                    (crate::pool::take_for_overwrite(g.y_len()), crate::pool::take_for_overwrite(g.w_len()));
                let (sd, sw, sx) = (dy.storage(), wc.storage(), xc.storage());
                conv2d_forward_and_backward_weight(&g, sd.cpu(), sw.cpu(), sx.cpu(), &mut dx, &mut dw);
                return Ok(vec![
                    Some(Tensor::constant(Storage::Cpu(dx), xc.shape().clone())),
                    Some(Tensor::constant(Storage::Cpu(dw), wc.shape().clone())),
                ]);
            }
            let dx = xc
                .requires_grad()
                .then(|| conv_fwd(g, dy, &wc).map(|s| Tensor::constant(s, xc.shape().clone())))
                .transpose()?;
            let dw = wc
                .requires_grad()
                .then(|| conv_bwd_weight(g, dy, &xc).map(|s| Tensor::constant(s, wc.shape().clone())))
                .transpose()?;
            Ok(vec![dx, dw])
        })
    }
}
