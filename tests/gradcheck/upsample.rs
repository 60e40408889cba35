//! `upsample_nearest` against `y[.., i, j] = x[.., i / k, j / k]`.

use crate::check::{Case, Gen};
use proptest::prelude::*;

/// Nearest-neighbour upsampling of `x` (`n × c × h × w`) by the integer factor `k`.
pub fn ref_upsample_nearest(x: &[f64], xs: [usize; 4], k: usize) -> Vec<f64> {
    let [_, _, h, w] = xs;
    let mut y = Vec::with_capacity(x.len() * k * k);
    for plane in x.chunks(h * w) {
        for i in 0..h * k {
            for j in 0..w * k {
                y.push(plane[(i / k) * w + j / k]);
            }
        }
    }
    y
}

proptest! {
    #![proptest_config(crate::check::config(32))]

    #[test]
    fn gradcheck_upsample(
        n in 1usize..=2, c in 1usize..=3, h in 1usize..=6, w in 1usize..=6, k in 1usize..=4, seed in any::<u64>(),
    ) {
        let xs = [n, c, h, w];
        let mut gen = Gen::new(seed);
        Case::new(format!("upsample_nearest x {xs:?} factor {k}"), seed)
            .input(&xs, gen.values(n * c * h * w))
            .output(&[n, c, h * k, w * k])
            .run(|t| t[0].upsample_nearest(k), |x| ref_upsample_nearest(&x[0], xs, k))?;
    }
}
