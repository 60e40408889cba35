//! Parameter updates on the GPU (`shaders/optim.wgsl`), in place, same formulas as
//! [`crate::cpu::optim`].

use super::context::Shader;
use super::{check_lens, grid_elems, u32_of, GpuBuffer, Result};

pub(crate) const SHADER: Shader = Shader { name: "optim", source: include_str!("../../shaders/optim.wgsl") };

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n: u32,
    _pad0: u32,
    lr: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    weight_decay: f32,
    bc1: f32,
    bc2: f32,
    _pad: [u32; 3],
}

/// One Adam step (PyTorch's L2-style weight decay; `t = None`: no bias correction, RMSprop with
/// β₁ = 0): see [`crate::cpu::optim::adam_step`].
#[allow(clippy::too_many_arguments)]
pub fn adam_step(
    w: &GpuBuffer,
    g: &GpuBuffer,
    m: &GpuBuffer,
    v: &GpuBuffer,
    lr: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    weight_decay: f32,
    t: Option<u64>,
) -> Result<()> {
    let n = w.len();
    check_lens("adam_step", &[("g", g.len(), n), ("m", m.len(), n), ("v", v.len(), n)])?;
    // The same f32 expressions as the CPU, so both divide by identical corrections.
    let (bc1, bc2) = crate::cpu::optim::bias_corrections(beta1, beta2, t);
    let p =
        Params { n: u32_of(n, "parameters")?, _pad0: 0, lr, beta1, beta2, eps, weight_decay, bc1, bc2, _pad: [0; 3] };
    w.context().launch(&SHADER, "adam", &[], &p, &[w, g, m, v], grid_elems(n)?)
}

/// One SGD step with optional momentum (`b ← μb + g; w ← w − lr·b`) and L2 weight decay.
/// `buf` is unused when `momentum == 0` (pass any buffer of the right length).
pub fn sgd_step(
    w: &GpuBuffer,
    g: &GpuBuffer,
    buf: &GpuBuffer,
    lr: f32,
    momentum: f32,
    weight_decay: f32,
) -> Result<()> {
    let n = w.len();
    check_lens("sgd_step", &[("g", g.len(), n), ("buf", buf.len(), n)])?;
    let p = Params {
        n: u32_of(n, "parameters")?,
        _pad0: 0,
        lr,
        beta1: 0.0,
        beta2: 0.0,
        eps: 0.0,
        weight_decay,
        bc1: momentum,
        bc2: 0.0,
        _pad: [0; 3],
    };
    w.context().launch(&SHADER, "sgd", &[], &p, &[w, g, buf], grid_elems(n)?)
}
