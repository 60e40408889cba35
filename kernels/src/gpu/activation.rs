//! Elementwise unary functions and their derivatives on the GPU (`shaders/activation.wgsl`).

use super::context::Shader;
use super::{check_lens, grid_elems, u32_of, GpuBuffer, Result};
pub use crate::cpu::activation::Unary;

pub(crate) const SHADER: Shader = Shader { name: "activation", source: include_str!("../../shaders/activation.wgsl") };

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n: u32,
    op: u32,
    slope: f32,
    a: f32,
    b: f32,
    _pad: [u32; 3],
}

/// The shader's op code and LeakyRelu slope.
fn code(op: Unary) -> (u32, f32) {
    match op {
        Unary::Relu => (0, 0.0),
        Unary::LeakyRelu(s) => (1, s),
        Unary::Sigmoid => (2, 0.0),
        Unary::Tanh => (3, 0.0),
        Unary::Exp => (4, 0.0),
        Unary::Log => (5, 0.0),
        Unary::Softplus => (6, 0.0),
        Unary::LogSigmoid => (7, 0.0),
        Unary::Neg => (8, 0.0),
        Unary::Sqr => (9, 0.0),
        Unary::Sqrt => (10, 0.0),
        Unary::Abs => (11, 0.0),
    }
}

fn params(n: usize, op: Unary, a: f32, b: f32) -> Result<Params> {
    let (op, slope) = code(op);
    Ok(Params { n: u32_of(n, "elements")?, op, slope, a, b, _pad: [0; 3] })
}

/// `y = op(x)`.
pub fn unary_forward(op: Unary, x: &GpuBuffer, y: &GpuBuffer) -> Result<()> {
    check_lens("unary_forward", &[("y", y.len(), x.len())])?;
    let p = params(x.len(), op, 0.0, 0.0)?;
    y.context().launch(&SHADER, "unary_forward", &[], &p, &[x, y], grid_elems(x.len())?)
}

/// `dx = dy · op'(x)`, using the saved forward output `y`.
pub fn unary_backward(op: Unary, x: &GpuBuffer, y: &GpuBuffer, dy: &GpuBuffer, dx: &GpuBuffer) -> Result<()> {
    let n = dx.len();
    check_lens("unary_backward", &[("x", x.len(), n), ("y", y.len(), n), ("dy", dy.len(), n)])?;
    let p = params(n, op, 0.0, 0.0)?;
    dx.context().launch(&SHADER, "unary_backward", &[], &p, &[x, y, dy, dx], grid_elems(n)?)
}

/// `y = a·x + b` elementwise.
pub fn affine(x: &GpuBuffer, a: f32, b: f32, y: &GpuBuffer) -> Result<()> {
    check_lens("affine", &[("y", y.len(), x.len())])?;
    let p = params(x.len(), Unary::Relu, a, b)?;
    y.context().launch(&SHADER, "affine", &[], &p, &[x, y], grid_elems(x.len())?)
}
