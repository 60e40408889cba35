//! Max pooling with the argmax kept for the backward pass.

/// Input `n × c × h × w`, square window `k`, `stride`, zero... (padded cells never win).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pool2dGeom {
    pub n: usize,
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub k: usize,
    pub stride: usize,
    pub pad: usize,
}

impl Pool2dGeom {
    pub fn oh(&self) -> usize {
        (self.h + 2 * self.pad - self.k) / self.stride + 1
    }
    pub fn ow(&self) -> usize {
        (self.w + 2 * self.pad - self.k) / self.stride + 1
    }
}

/// `y[n,c,i,j] = max` over the window; `argmax` gets the winner's index within its `h × w` plane.
pub fn max_pool2d_forward(g: &Pool2dGeom, x: &[f32], y: &mut [f32], argmax: &mut [u32]) {
    let _ = (g, x, y, argmax);
    todo!("pool helper")
}

/// Routes each `dy` to its window's winner; `dx` is overwritten (zeros elsewhere).
pub fn max_pool2d_backward(g: &Pool2dGeom, dy: &[f32], argmax: &[u32], dx: &mut [f32]) {
    let _ = (g, dy, argmax, dx);
    todo!("pool helper")
}
