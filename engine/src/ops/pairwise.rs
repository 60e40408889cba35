//! Differences of row pairs, `z_i − z_j` (ICS's distance subnetwork compares latent codes).

use super::expect_rank;
use crate::autograd::record;
use crate::{Device, Error, Result, Shape, Storage, Tensor};
use kernels::cpu::pairwise::{pairwise_diff_backward, pairwise_diff_forward};
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
            // host round trip: no GPU kernel yet
            Device::Gpu => {
                let mut y = vec![0.0; pairs.len() * d];
                pairwise_diff_forward(&sx.try_to_vec()?, d, pairs, &mut y);
                Storage::from_vec(y, Device::Gpu)?
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
                // host round trip: no GPU kernel yet
                Device::Gpu => {
                    let mut dz = vec![0.0; n * d];
                    pairwise_diff_backward(&sg.try_to_vec()?, d, &pairs, &mut dz);
                    Storage::from_vec(dz, Device::Gpu)?
                }
            };
            Ok(vec![Some(Tensor::constant(dz, from.clone()))])
        })
    }
}
