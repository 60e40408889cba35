//! The ICS training loop of the authors' Keras code (`--preset authors`;
//! `deep-occ-using-ics/models/train.py`). Every iteration (an "epoch" there) shuffles the
//! typical and the atypical training samples, takes the first 2B of each, pairs sample i of the
//! first B with sample i of the second B, and steps
//! 1. the distance model three times on those pairs: BCE(dist, 0) over the typical pairs plus
//!    BCE(dist, 1) over the atypical ones, dist(z_i, z_j) = σ(dense(z_i − z_j)), the code's
//!    literal subtraction. Each of the four batches goes through the extractor on its own (its
//!    own batch-norm statistics), as Keras calls the shared latent model once per input;
//! 2. the classifier four times, on the 4B samples shuffled into batches of B (half atypical).
//!
//! Every loss carries λ·Σ‖W‖² over the kernels its model holds (Keras' `l2` regulariser: the
//! distance model's are the extractor's and the distance layer's, the classifier's the
//! extractor's and the head's). `--ics-constraints off` skips step 1. The code's Adam instance is
//! shared by its two compiled models, which keep separate moments but one step counter; ours
//! count steps apart, which changes only the bias correction of the first few hundred steps.

use super::ics_snapshots::Snapshot;
use super::{check_split_sizes, Ics, LoopState, PhaseLosses, Split, SplitAutoencoder, PHASE};
use crate::batch::batch;
use crate::config::Config;
use crate::error::Result;
use crate::nets::{IcsAuthorsAutoencoder, IcsAuthorsNet};
use crate::nn::{Mode, Vars};
use crate::run::Run;
use datasets::Dataset;
use engine::optim::{Adam, AdamConfig, MultiStepLr, Optimizer};
use engine::{Rng, Tensor};
use std::time::Instant;

/// Distance steps and classifier steps per iteration.
const DISTANCE_STEPS: usize = 3;
const CLASSIFIER_STEPS: usize = 4;

/// The code's autoencoder training (`train_autoencoder` there): per-pixel MSE plus
/// λ·Σ‖W‖² over its kernels (λ = `pretrain_weight_decay`, Keras' `l2`), RMSprop (ρ 0.9, Keras'
/// ε 1e-7) at a constant learning rate, batches of `batch_size` in a fresh order every epoch.
pub(super) fn train_autoencoder(
    vars: &Vars,
    ae: &IcsAuthorsAutoencoder,
    cfg: &Config,
    data: &Dataset,
    run: &mut Run,
) -> Result<()> {
    let mut opt = Adam::new(vars.params(), AdamConfig::rmsprop(cfg.pretrain_lr, 0.9, 1e-7));
    let constant = MultiStepLr { base: cfg.pretrain_lr, milestones: Vec::new(), gamma: 1.0 };
    let wd = cfg.pretrain_weight_decay;
    run.train_epochs(
        "pretrain",
        data,
        cfg.pretrain_epochs,
        cfg.batch_size,
        &[vars],
        &mut opt,
        &constant,
        |x| ae.reconstruct(x, Mode::Train)?.mse(x)?.add(&ae.l2()?.mul_scalar(wd)?),
        |_, _, _| Ok(()),
    )
}

/// The dropout masks' generator for step `k` of iteration `it` (a function of the seed and the
/// step alone, so a resumed run draws the same masks).
fn dropout_rng(ics: &Ics, it: usize, k: usize) -> Rng {
    let label = 0xa07_0b5 ^ (it as u64 * 8 + k as u64);
    Rng::new(ics.rng.clone().fork(label).next_u64())
}

#[allow(clippy::too_many_arguments)]
pub(super) fn train_classifier(
    ics: &Ics,
    net: &IcsAuthorsNet,
    train: &Dataset,
    split: &Split,
    ae: &SplitAutoencoder,
    st: &mut LoopState,
    resumed_at: Option<usize>,
    run: &mut Run,
) -> Result<Vec<Snapshot>> {
    let cfg = &ics.cfg;
    check_split_sizes(train.len(), cfg.rho, cfg.ics_constraints)?;
    let (typical, atypical) = (split.typical_indices(), split.atypical_indices());
    let dev = ics.device();
    let b = cfg.batch_size;
    // B pairs of each kind; fewer where a subset has fewer than 2B samples.
    let (bt, ba) = ((typical.len() / 2).min(b), (atypical.len() / 2).min(b));
    let (p, wd) = (cfg.dropout, cfg.weight_decay);
    let drop = |rng: &mut Rng| if p > 0.0 { Some((p, Rng::new(rng.next_u64()))) } else { None };
    let features = |x: &Tensor, rng: &mut Rng| -> engine::Result<Tensor> {
        match drop(rng) {
            Some((p, mut r)) => net.features_with(x, Mode::Train, Some((p, &mut r))),
            None => net.features_with(x, Mode::Train, None),
        }
    };

    let iters = cfg.iterations;
    let log_every = (iters / 25).max(1);
    let start = resumed_at.unwrap_or(0).min(iters);
    let pb = run.bar(PHASE, iters as u64);
    pb.set_position(start as u64);
    const PHASES: &[&str] = &["ics-distance", "ics-intra-class"];
    let classifier = ics.classifier_tensors();
    let mut snapshots = Vec::new();
    let mut losses = PhaseLosses::new(PHASES);
    for it in start..iters {
        let [opt_dist, opt_ic] = &mut st.opts;
        let (mut ty, mut aty) = (typical.clone(), atypical.clone());
        run.rng.shuffle(&mut ty);
        run.rng.shuffle(&mut aty);
        let groups = [&ty[..bt], &ty[bt..2 * bt], &aty[..ba], &aty[ba..2 * ba]];
        let xs = groups.iter().map(|g| batch(train, g, dev)).collect::<engine::Result<Vec<_>>>()?;

        let distance_steps = if cfg.ics_constraints { DISTANCE_STEPS } else { 0 };
        for k in 0..distance_steps {
            let t0 = Instant::now();
            let mrng = &mut dropout_rng(ics, it, k);
            let z = xs.iter().map(|x| features(x, mrng)).collect::<engine::Result<Vec<_>>>()?;
            let a_typ = ics.dist.forward(&z[0].sub(&z[1])?)?.reshape(&[bt])?;
            let a_atyp = ics.dist.forward(&z[2].sub(&z[3])?)?.reshape(&[ba])?;
            // BCE(σ(a), 0) = softplus(a); BCE(σ(a), 1) = softplus(−a).
            let loss = a_typ.softplus()?.mean_all()?.add(&a_atyp.neg()?.softplus()?.mean_all()?)?;
            let value = Run::check_finite(PHASES[0], it + 1, k + 1, loss.to_scalar()?).inspect_err(|_| pb.abandon())?;
            let l2 = net.features_l2()?.add(&ics.dist.weight.sqr()?.sum_all()?)?;
            let loss = loss.add(&l2.mul_scalar(wd)?)?;
            opt_dist.zero_grad();
            loss.backward()?;
            opt_dist.step()?;
            losses.add(0, value, 2 * (bt + ba), t0);
        }

        let mut all: Vec<usize> = groups.concat();
        run.rng.shuffle(&mut all);
        for (k, idx) in all.chunks(b).take(CLASSIFIER_STEPS).enumerate() {
            let t0 = Instant::now();
            let mrng = &mut dropout_rng(ics, it, DISTANCE_STEPS + k);
            let z = features(&batch(train, idx, dev)?, mrng)?;
            let z = match drop(mrng) {
                Some((p, mut r)) => crate::nets::dropout(&z, p, &mut r)?,
                None => z,
            };
            let y = idx.iter().map(|&i| if split.atypical[i] { 1.0 } else { 0.0 }).collect();
            let loss = net.head(&z)?.bce_with_logits(&Tensor::from_vec(y, &[idx.len()], dev)?)?;
            let value = Run::check_finite(PHASES[1], it + 1, k + 1, loss.to_scalar()?).inspect_err(|_| pb.abandon())?;
            let loss = loss.add(&net.features_l2()?.add(&net.head_l2()?)?.mul_scalar(wd)?)?;
            opt_ic.zero_grad();
            loss.backward()?;
            opt_ic.step()?;
            losses.add(1, value, idx.len(), t0);
        }
        pb.inc(1);

        if (it + 1) % log_every == 0 || it + 1 == iters {
            losses.close(run, &pb, it + 1, iters);
            snapshots.push(Snapshot::take(it + 1, &classifier));
            if run.checkpoint.is_some() {
                let [a, b] = &st.opts;
                run.save_checkpoint(PHASE, it + 1, &[&ics.vars, ae.vars(), &st.vars], &[a, b], &run.rng)?;
            }
        }
    }
    pb.finish_and_clear();
    run.completed.push(PHASE.to_string());
    Ok(snapshots)
}
