//! `pairwise_diff`: rows `z_i − z_j` for a list of pairs, with repeated rows and pairs (the
//! gradient scatters `+dy` to row i and `−dy` to row j, accumulating where rows repeat).

use crate::check::{Case, Gen};
use proptest::prelude::*;

/// `y[p] = z[i_p] − z[j_p]` for an `n × d` matrix `z`.
pub fn ref_pairwise_diff(z: &[f64], d: usize, pairs: &[(usize, usize)]) -> Vec<f64> {
    pairs.iter().flat_map(|&(i, j)| (0..d).map(move |k| z[i * d + k] - z[j * d + k])).collect()
}

proptest! {
    #![proptest_config(crate::check::config(64))]

    #[test]
    fn gradcheck_pairwise_diff(
        n in 1usize..=6, d in 1usize..=5, picks in proptest::collection::vec((any::<u32>(), any::<u32>()), 1..=10),
        seed in any::<u64>(),
    ) {
        let mut pairs: Vec<(usize, usize)> = picks.iter().map(|&(i, j)| (i as usize % n, j as usize % n)).collect();
        // A repeated pair, so some rows collect several gradients.
        pairs.push(pairs[0]);
        let mut gen = Gen::new(seed);
        Case::new(format!("pairwise_diff z {n}×{d} pairs {pairs:?}"), seed)
            .input(&[n, d], gen.values(n * d))
            .output(&[pairs.len(), d])
            .run(|t| t[0].pairwise_diff(&pairs), |x| ref_pairwise_diff(&x[0], d, &pairs))?;
    }
}
