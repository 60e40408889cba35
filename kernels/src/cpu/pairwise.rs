//! Differences between pairs of rows, `z_i − z_j` (the input of ICS's distance subnetwork).

/// `y[p] = z[i_p] − z[j_p]` for a `n × d` matrix `z` and pairs `(i_p, j_p)`.
pub fn pairwise_diff_forward(z: &[f32], d: usize, pairs: &[(usize, usize)], y: &mut [f32]) {
    for (p, &(i, j)) in pairs.iter().enumerate() {
        let (zi, zj) = (&z[i * d..(i + 1) * d], &z[j * d..(j + 1) * d]);
        for ((o, &a), &b) in y[p * d..(p + 1) * d].iter_mut().zip(zi).zip(zj) {
            *o = a - b;
        }
    }
}

/// Scatters `dy` back: `dz[i_p] += dy[p]`, `dz[j_p] −= dy[p]`; `dz` is overwritten first.
/// Pairs are visited in order, so repeated rows accumulate deterministically.
pub fn pairwise_diff_backward(dy: &[f32], d: usize, pairs: &[(usize, usize)], dz: &mut [f32]) {
    dz.iter_mut().for_each(|v| *v = 0.0);
    for (p, &(i, j)) in pairs.iter().enumerate() {
        for k in 0..d {
            let g = dy[p * d + k];
            dz[i * d + k] += g;
            dz[j * d + k] -= g;
        }
    }
}

/// All unordered pairs `(i, j)`, `i < j`, of the rows `0..n`.
pub fn all_pairs(n: usize) -> Vec<(usize, usize)> {
    (0..n).flat_map(|i| (i + 1..n).map(move |j| (i, j))).collect()
}
