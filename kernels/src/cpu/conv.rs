//! 2-D convolution (cross-correlation, as in PyTorch) through im2col + GEMM.
//! Transposed convolution needs no kernels of its own: its forward is `conv2d_backward_input`,
//! its input gradient is `conv2d_forward` and its weight gradient is `conv2d_backward_weight`
//! with the roles of input and output swapped (the engine composes them).

/// Shape of one convolution: input `n × c_in × h × w`, weight `c_out × c_in × kh × kw`,
/// the same stride and zero padding on both axes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2dGeom {
    pub n: usize,
    pub c_in: usize,
    pub h: usize,
    pub w: usize,
    pub c_out: usize,
    pub kh: usize,
    pub kw: usize,
    pub stride: usize,
    pub pad: usize,
}

impl Conv2dGeom {
    /// Output height; the caller guarantees `h + 2·pad ≥ kh`.
    pub fn oh(&self) -> usize {
        (self.h + 2 * self.pad - self.kh) / self.stride + 1
    }
    pub fn ow(&self) -> usize {
        (self.w + 2 * self.pad - self.kw) / self.stride + 1
    }
    pub fn x_len(&self) -> usize {
        self.n * self.c_in * self.h * self.w
    }
    pub fn w_len(&self) -> usize {
        self.c_out * self.c_in * self.kh * self.kw
    }
    pub fn y_len(&self) -> usize {
        self.n * self.c_out * self.oh() * self.ow()
    }
}

/// `y = conv2d(x, w)`; `y` is `n × c_out × oh × ow`, overwritten.
pub fn conv2d_forward(g: &Conv2dGeom, x: &[f32], w: &[f32], y: &mut [f32]) {
    let _ = (g, x, w, y);
    todo!("conv helper")
}

/// `dx = ∂L/∂x` from `dy`; overwritten.
pub fn conv2d_backward_input(g: &Conv2dGeom, dy: &[f32], w: &[f32], dx: &mut [f32]) {
    let _ = (g, dy, w, dx);
    todo!("conv helper")
}

/// `dw = ∂L/∂w` from `x` and `dy`, summed over the batch; overwritten.
pub fn conv2d_backward_weight(g: &Conv2dGeom, x: &[f32], dy: &[f32], dw: &mut [f32]) {
    let _ = (g, x, dy, dw);
    todo!("conv helper")
}
