//! Differences of row pairs, `z_i − z_j` (ICS's distance subnetwork compares latent codes).

use super::expect_rank;
use crate::autograd::record;
use crate::device::gpu_err;
use crate::{Device, Error, Result, Shape, Storage, Tensor};
use kernels::cpu::pairwise::{pairwise_diff_backward, pairwise_diff_forward};
use kernels::gpu::layout as gk;
use std::sync::Arc;

impl Tensor {
    /// For an `n × d` matrix, the `pairs.len() × d` matrix of `self[i] − self[j]`.
    pub fn pairwise_diff(&self, pairs: &[(usize, usize)]) -> Result<Tensor> {
        expect_rank("pairwise_diff", self, 2)?;
        let (n, d) = (self.dims()[0], self.dims()[1]);
        if let Some(&(i, j)) = pairs.iter().find(|&&(i, j)| i >= n || j >= n) {
            return Err(Error::invalid("pairwise_diff", format!("pair ({i}, {j}) outside {n} rows")));
        }
        let sx = self.storage();
        let y = match sx.device() {
            Device::Cpu => {
                let mut y = vec![0.0; pairs.len() * d];
                pairwise_diff_forward(sx.cpu(), d, pairs, &mut y);
                Storage::Cpu(y)
            }
            Device::Gpu => {
                let y = Storage::gpu_uninit("pairwise_diff", pairs.len() * d)?;
                gk::pairwise_diff_forward(sx.gpu(), d, pairs, &y).map_err(gpu_err("pairwise_diff"))?;
                Storage::Gpu(y)
            }
        };
        let pairs: Arc<[(usize, usize)]> = pairs.into();
        let from = self.shape().clone();
        record("pairwise_diff", y, Shape::new(&[pairs.len(), d]), &[self], move |g| {
            let sg = g.storage();
            let dz = match sg.device() {
                Device::Cpu => {
                    let mut dz = vec![0.0; n * d];
                    pairwise_diff_backward(sg.cpu(), d, &pairs, &mut dz);
                    Storage::Cpu(dz)
                }
                Device::Gpu => {
                    let dz = Storage::gpu_uninit("pairwise_diff backward", n * d)?;
                    gk::pairwise_diff_backward(sg.gpu(), d, &pairs, n, &dz)
                        .map_err(gpu_err("pairwise_diff backward"))?;
                    Storage::Gpu(dz)
                }
            };
            Ok(vec![Some(Tensor::constant(dz, from.clone()))])
        })
    }
}
