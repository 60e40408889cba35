//! Weight initialisation and random tensors, all drawn from a seeded [`Rng`].

use crate::{Device, Result, Rng, Tensor};

/// `(fan_in, fan_out)` of a weight: `out × in` for dense layers, `out × in × kh × kw` for
/// convolutions (PyTorch's convention; a transposed conv's weight is `in × out × kh × kw`, and
/// PyTorch computes its fans from the same positions, which we follow).
pub fn fans(dims: &[usize]) -> (usize, usize) {
    let receptive: usize = dims.iter().skip(2).product();
    match dims {
        [] => (1, 1),
        [n] => (*n, *n),
        [o, i, ..] => (i * receptive, o * receptive),
    }
}

impl Tensor {
    pub fn rand_uniform(dims: &[usize], lo: f32, hi: f32, rng: &mut Rng, device: Device) -> Result<Tensor> {
        let n = dims.iter().product();
        Tensor::from_vec((0..n).map(|_| rng.uniform_range(lo, hi)).collect(), dims, device)
    }
    pub fn randn(dims: &[usize], mean: f32, std: f32, rng: &mut Rng, device: Device) -> Result<Tensor> {
        let n = dims.iter().product();
        Tensor::from_vec((0..n).map(|_| mean + std * rng.normal()).collect(), dims, device)
    }
}

/// Glorot/Xavier uniform: U(±√(6/(fan_in+fan_out))), scaled by `gain`.
pub fn glorot_uniform(dims: &[usize], gain: f32, rng: &mut Rng, device: Device) -> Result<Tensor> {
    let (fi, fo) = fans(dims);
    let b = gain * (6.0 / (fi + fo) as f32).sqrt();
    param_uniform(dims, b, rng, device)
}

/// Kaiming/He uniform for leaky ReLU with negative slope `a`: U(±√(6/((1+a²)·fan_in))).
/// With `a = √5` this is PyTorch's default for `Linear` and `Conv2d` (bound 1/√fan_in).
pub fn kaiming_uniform(dims: &[usize], a: f32, rng: &mut Rng, device: Device) -> Result<Tensor> {
    let (fi, _) = fans(dims);
    let b = (6.0 / ((1.0 + a * a) * fi as f32)).sqrt();
    param_uniform(dims, b, rng, device)
}

/// A trainable tensor drawn from N(mean, std²) (DCGAN's N(0, 0.02²) initialisation).
pub fn normal(dims: &[usize], mean: f32, std: f32, rng: &mut Rng, device: Device) -> Result<Tensor> {
    let n = dims.iter().product();
    Tensor::param((0..n).map(|_| mean + std * rng.normal()).collect(), dims, device)
}

/// A trainable tensor from N(0, std²) truncated at ±2·std (values beyond are drawn again), as
/// TensorFlow's `truncated_normal` and Keras' `TruncatedNormal` initialiser draw.
pub fn truncated_normal(dims: &[usize], std: f32, rng: &mut Rng, device: Device) -> Result<Tensor> {
    let n = dims.iter().product();
    let draw = |rng: &mut Rng| loop {
        let z = rng.normal();
        if z.abs() <= 2.0 {
            return std * z;
        }
    };
    Tensor::param((0..n).map(|_| draw(rng)).collect(), dims, device)
}

fn param_uniform(dims: &[usize], bound: f32, rng: &mut Rng, device: Device) -> Result<Tensor> {
    let n = dims.iter().product();
    Tensor::param((0..n).map(|_| rng.uniform_range(-bound, bound)).collect(), dims, device)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_truncated_normal_stays_within_two_std_with_the_truncated_spread() {
        let t = truncated_normal(&[200, 100], 0.01, &mut Rng::new(4), Device::Cpu).unwrap().to_vec();
        assert!(t.iter().all(|v| v.abs() <= 0.02));
        let mean = t.iter().sum::<f32>() / t.len() as f32;
        let sd = (t.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / t.len() as f32).sqrt();
        // A normal cut at ±2σ keeps 0.8796·σ of its spread.
        assert!(mean.abs() < 2e-4 && (sd / 0.01 - 0.8796).abs() < 0.01, "mean {mean}, sd {sd}");
    }
}
