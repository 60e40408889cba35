//! Deep convolutional autoencoder: the reconstruction-error baseline of the Deep SVDD paper and
//! the pretraining of Deep SVDD and OC-NN.

use super::Detector;
use crate::batch::map_in_chunks;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::nets::{Decoder, Encoder, InputKind};
use crate::nn::{dictionary, Mode, Scope, Vars};
use crate::report::image_grid;
use crate::run::Run;
use datasets::Dataset;
use engine::optim::{Adam, AdamConfig, MultiStepLr};
use engine::{no_grad, Device, Rng, Tensor};
use std::collections::BTreeMap;

/// Encoder under `encoder.*`, decoder under `decoder.*`, so the encoder's weights copy by name
/// into the detectors that start from it.
pub struct Autoencoder {
    pub vars: Vars,
    pub encoder: Encoder,
    pub decoder: Decoder,
    /// With `Config::dictionary_init`: the seed of the dictionary that [`Autoencoder::train`]
    /// sets the first convolution from (it needs the training data, which `new` has not seen).
    dictionary_seed: Option<u64>,
}

impl Autoencoder {
    /// The networks for `input`, with `cfg`'s leaky ReLU slope and initial weights.
    pub fn new(input: InputKind, rng: &mut Rng, device: Device, cfg: &Config) -> Result<Self> {
        let vars = Vars::new();
        let s = Scope::new(&vars, device).with_init(cfg.weight_init);
        let encoder = Encoder::new(&s.sub("encoder"), rng, input, cfg.leaky_slope)?;
        let decoder = Decoder::new(&s.sub("decoder"), rng, input, cfg.leaky_slope)?;
        let ae = Autoencoder { vars, encoder, decoder, dictionary_seed: None };
        if !cfg.dictionary_init {
            return Ok(ae);
        }
        if ae.first_filters().is_none() {
            return Err(Error::config("--dictionary-init on needs image data: the tabular encoder has no convolution"));
        }
        Ok(Autoencoder { dictionary_seed: Some(rng.next_u64()), ..ae })
    }

    /// The encoder's first convolution kernel, if it has one.
    fn first_filters(&self) -> Option<Tensor> {
        self.vars.entries().into_iter().find(|(n, t, _)| n.starts_with("encoder.") && t.dims().len() == 4).map(|e| e.1)
    }

    pub fn reconstruct(&self, x: &Tensor, mode: Mode) -> engine::Result<Tensor> {
        self.decoder.forward(&self.encoder.forward(x, mode)?, mode)
    }

    /// Per-sample squared reconstruction error ‖x − x̂‖², summed over the sample's values.
    pub fn errors(&self, x: &Tensor) -> engine::Result<Tensor> {
        let n = x.dims()[0];
        let d = x.numel() / n.max(1);
        let e = self.reconstruct(x, Mode::Eval)?.sub(x)?.sqr()?.reshape(&[n, d])?;
        e.sum(&[1], false)
    }

    /// [`Autoencoder::errors`] over a whole data set, the DCAE anomaly score.
    pub fn scores(&self, x: &Dataset) -> Result<Vec<f32>> {
        let dev = self.vars.params()[0].device();
        Ok(no_grad(|| map_in_chunks(x, 500, dev, |b| Ok(self.errors(b)?.to_vec())))?)
    }

    /// Trains with the batch mean of ‖x − x̂‖² (the reference implementation's loss: summed
    /// over values, averaged over samples), Adam, and a 10× learning-rate drop at the milestone.
    /// With a dictionary seed, the first convolution starts from a dictionary of the data's
    /// patches (a resumed run's checkpoint then overwrites it, as it does every weight), drawn
    /// to `dictionary.png` in the run's folder.
    pub fn train(&self, cfg: &Config, data: &Dataset, run: &mut Run) -> Result<()> {
        if let (Some(seed), Some(filters)) = (self.dictionary_seed, self.first_filters()) {
            dictionary::init_filters(&filters, data, &mut Rng::new(seed))?;
            if let Some(out) = &run.out {
                let (path, dims) = (out.join("dictionary.png"), filters.dims().to_vec());
                let title = format!("first filters from the patch dictionary ({} atoms)", dims[0]);
                image_grid(&path, &filters.to_vec(), &dims[1..], dims[0], 8, &title)
                    .map_err(|e| Error::file(&path, e))?;
            }
        }
        let mut opt = Adam::new(
            self.vars.params(),
            AdamConfig { lr: cfg.pretrain_lr, weight_decay: cfg.pretrain_weight_decay, ..Default::default() },
        );
        let schedule = MultiStepLr { base: cfg.pretrain_lr, milestones: vec![cfg.pretrain_lr_milestone], gamma: 0.1 };
        let d = data.sample_len() as f32;
        run.train_epochs(
            "pretrain",
            data,
            cfg.pretrain_epochs,
            cfg.batch_size,
            &[&self.vars],
            &mut opt,
            &schedule,
            |x| self.reconstruct(x, Mode::Train)?.mse(x)?.mul_scalar(d),
            |_, _, _| Ok(()),
        )
    }
}

/// The DCAE baseline as a detector: score = reconstruction error.
pub struct Dcae {
    cfg: Config,
    ae: Autoencoder,
}

impl Dcae {
    pub fn new(cfg: Config, input: InputKind, seed: u64, device: Device) -> Result<Self> {
        let ae = Autoencoder::new(input, &mut Rng::new(seed), device, &cfg)?;
        Ok(Dcae { cfg, ae })
    }
}

impl Detector for Dcae {
    fn fit(&mut self, train: &Dataset, _holdout: Option<&Dataset>, run: &mut Run) -> Result<()> {
        self.ae.train(&self.cfg, train, run)
    }

    fn score(&self, x: &Dataset) -> Result<Vec<f32>> {
        self.ae.scores(x)
    }

    fn vars(&self) -> &Vars {
        &self.ae.vars
    }

    fn state(&self) -> BTreeMap<String, String> {
        BTreeMap::new()
    }

    fn set_state(&mut self, _: &BTreeMap<String, String>) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Preset;
    use crate::nn::WeightInit;

    /// `--weight-init` reaches the autoencoder's layers: the MNIST encoder's dense layer
    /// (196 → 32) is drawn within 1/√196 ≈ 0.071 by PyTorch's rule and up to √(6/228) ≈ 0.162
    /// by Glorot's.
    #[test]
    fn the_configured_rule_draws_the_autoencoder() {
        let max_dense = |init| {
            let mut cfg = Config::preset("dcae", Preset::Quick, InputKind::Mnist).unwrap();
            cfg.weight_init = init;
            let ae = Autoencoder::new(InputKind::Mnist, &mut Rng::new(1), Device::Cpu, &cfg).unwrap();
            let w = ae.vars.params_under("encoder.fc1");
            assert_eq!(w.len(), 1);
            w[0].to_vec().iter().fold(0f32, |m, v| m.max(v.abs()))
        };
        assert!(max_dense(WeightInit::Pytorch) <= 1.0 / 196f32.sqrt());
        assert!(max_dense(WeightInit::Glorot) > 0.12);
    }

    /// `--dictionary-init on`: training starts from unit-norm first filters learnt on the data
    /// (random filters have norms near 0.58), the same for the same seed; a tabular encoder has
    /// no convolution to set, so asking for it there is an error.
    #[test]
    fn the_dictionary_sets_the_first_filters_before_training() {
        let mut cfg = Config::preset("dcae", Preset::Quick, InputKind::Mnist).unwrap();
        (cfg.dictionary_init, cfg.pretrain_epochs) = (true, 0);
        let rng = &mut Rng::new(4);
        let data =
            Dataset { x: (0..40 * 784).map(|_| rng.uniform()).collect(), labels: vec![0; 40], shape: vec![1, 28, 28] };
        let filters = |cfg: &Config| {
            let ae = Autoencoder::new(InputKind::Mnist, &mut Rng::new(1), Device::Cpu, cfg).unwrap();
            let mut run = Run::new(Device::Cpu, 1, true);
            let dir = std::env::temp_dir().join(format!("oneclass-dictionary-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            run.out = Some(dir.clone());
            ae.train(cfg, &data, &mut run).unwrap();
            // The picture exactly when the dictionary was used.
            assert_eq!(dir.join("dictionary.png").exists(), cfg.dictionary_init);
            std::fs::remove_dir_all(&dir).unwrap();
            ae.vars.params_under("encoder.conv1")[0].to_vec()
        };
        let norms = |w: &[f32]| w.chunks(25).map(|f| f.iter().map(|v| v * v).sum::<f32>().sqrt()).collect::<Vec<_>>();
        let learnt = filters(&cfg);
        assert!(norms(&learnt).iter().all(|n| (n - 1.0).abs() < 1e-5), "{:?}", norms(&learnt));
        assert_eq!(filters(&cfg), learnt);
        cfg.dictionary_init = false;
        assert!(norms(&filters(&cfg)).iter().all(|&n| n < 0.9));
        cfg.dictionary_init = true;
        assert!(Autoencoder::new(InputKind::Tabular(6), &mut Rng::new(1), Device::Cpu, &cfg).is_err());
    }
}
