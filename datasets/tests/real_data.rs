//! Loaders and protocol on the real data in `../shared/data` and on the bundled mnist-mini.

mod common;

use common::shared_data;
use datasets::{one_class_split, split, ProtocolConfig, Scaling, Source, Values};

fn counts(labels: &[i64]) -> Vec<usize> {
    let mut c = vec![0; 10];
    for &l in labels {
        c[l as usize] += 1;
    }
    c
}

#[test]
fn mnist_sizes_and_class_counts() {
    let d = Source::Mnist(shared_data().join("mnist")).load().unwrap();
    let test = d.test.as_ref().unwrap();
    assert_eq!((d.train.len(), test.len()), (60000, 10000));
    assert_eq!(d.train.shape, [1, 28, 28]);
    // Pixels stay bytes after loading: the raw size, not four times it.
    let pixels = d.train.x.as_u8().unwrap();
    assert_eq!(pixels.len(), 60000 * 784);
    assert_eq!(counts(&d.train.labels), [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
    assert_eq!(counts(&test.labels), [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
    assert!(matches!(test.x, Values::U8(_)));
    // The first training image is a 5 whose top-left pixel is black.
    assert_eq!((d.train.labels[0], d.train.x.get(0)), (5, 0.0));
    // Values are byte / 255, in [0, 1]; the maximum byte 255 is exactly 1.
    let max = pixels.iter().position(|&b| b == 255).unwrap();
    assert_eq!(d.train.x.get(max), 1.0);
    assert!(d.train.sample(0).iter().all(|&v| (0.0..=1.0).contains(&v)));
}

#[test]
fn fashion_mnist_has_6000_per_class() {
    let d = Source::FashionMnist(shared_data().join("fashion-mnist")).load().unwrap();
    assert_eq!(counts(&d.train.labels), [6000; 10]);
    assert_eq!(counts(&d.test.unwrap().labels), [1000; 10]);
}

#[test]
fn shuttle_npz_shape_and_anomalies() {
    let d = Source::Npz(shared_data().join("adbench/32_shuttle.npz")).load().unwrap();
    assert!(d.test.is_none());
    assert_eq!((d.train.len(), d.train.shape.clone()), (49097, vec![9]));
    assert_eq!(d.train.labels.iter().filter(|&&l| l == 1).count(), 3511);
    // X is stored in Fortran order: check the first row against NumPy's `X[0]`.
    assert_eq!(d.train.sample(0), [50.0, 21.0, 77.0, 0.0, 28.0, 0.0, 27.0, 48.0, 22.0]);
}

#[test]
fn every_adbench_set_loads() {
    // (file, rows, features, anomalies), from NumPy.
    let expected = [
        ("4_breastw", 683, 9, 239),
        ("6_cardio", 1831, 21, 176),
        ("10_cover", 286048, 10, 2747),
        ("14_glass", 214, 7, 9),
        ("16_http", 567498, 3, 2211),
        ("20_letter", 1600, 32, 100),
        ("23_mammography", 11183, 6, 260),
        ("28_pendigits", 6870, 16, 156),
        ("32_shuttle", 49097, 9, 3511),
        ("35_SpamBase", 4207, 57, 1679),
        ("38_thyroid", 3772, 6, 93),
        ("45_wine", 129, 13, 10),
    ];
    for (name, n, d, a) in expected {
        let l = Source::Npz(shared_data().join(format!("adbench/{name}.npz"))).load().unwrap();
        let anomalies = l.train.labels.iter().filter(|&&y| y == 1).count();
        assert_eq!((l.train.len(), l.train.shape[0], anomalies), (n, d, a), "{name}");
    }
    // A float64 Fortran-order X: row 0 of 6_cardio, as Python's struct module reads it.
    let l = Source::Npz(shared_data().join("adbench/6_cardio.npz")).load().unwrap();
    assert_eq!(
        l.train.sample(0)[..3],
        [0.004912314661768384f64 as f32, 0.6931907749193863f64 as f32, -0.20364048566636067f64 as f32]
    );
}

#[test]
fn gcn_minmax_puts_normal_training_images_in_unit_interval() {
    let cfg = ProtocolConfig { scaling: Scaling::GcnMinMax, ..Default::default() };
    let loaded = Source::Mnist(shared_data().join("mnist")).load().unwrap();
    let s = split(&loaded, Some(0), &cfg).unwrap();
    assert_eq!(s.train.len(), 5923);
    assert!(s.train.labels.iter().all(|&l| l == 0));
    let (min, max) = s.train.x.iter().fold((f32::MAX, f32::MIN), |(a, b), &v| (a.min(v), b.max(v)));
    assert!(min >= 0.0 && max <= 1.0 + 1e-6, "{min} {max}");
    assert!(min < 1e-6 && max > 1.0 - 1e-6);
    assert_eq!(s.test.len(), 10000);
    assert_eq!(s.test.labels.iter().filter(|&&l| l == 0).count(), 980);
    // The returned statistics re-apply to raw data and give the same values.
    let mut again = loaded.train.select(&[1]); // training image 1 is a zero
    s.preprocessing.apply_dataset(&mut again).unwrap();
    assert_eq!(again.x, s.train.sample(0));
}

#[test]
fn tabular_split_is_80_20_and_deterministic() {
    let src = Source::Npz(shared_data().join("adbench/32_shuttle.npz"));
    let loaded = src.load().unwrap();
    let cfg = ProtocolConfig { seed: 7, scaling: Scaling::Standardise, ..Default::default() };
    let a = split(&loaded, None, &cfg).unwrap();
    let b = split(&loaded, None, &cfg).unwrap();
    assert_eq!(a, b);
    let normals = 49097 - 3511;
    let n_train = (0.8 * normals as f64).round() as usize;
    assert_eq!(a.train.len(), n_train);
    assert_eq!(a.test.len(), normals - n_train + 3511);
    assert_eq!(a.test.labels.iter().filter(|&&l| l == 1).count(), 3511);
    // Standardised on the training normals: each feature has mean ≈ 0 there.
    let d = 9;
    for j in 0..d {
        let m: f64 = (0..a.train.len()).map(|i| a.train.x[i * d + j] as f64).sum::<f64>() / a.train.len() as f64;
        assert!(m.abs() < 1e-4, "feature {j}: mean {m}");
    }
    let c = split(&loaded, None, &ProtocolConfig { seed: 8, ..cfg.clone() }).unwrap();
    assert_ne!(a.train.x, c.train.x);
    assert_eq!(one_class_split(&src, None, &cfg).unwrap(), a);
}

#[test]
fn mnist_mini_is_bundled() {
    let d = Source::MnistMini.load().unwrap();
    let test = d.test.as_ref().unwrap();
    assert_eq!(counts(&d.train.labels), [1000; 10]);
    assert_eq!(counts(&test.labels), [200; 10]);
    // It is the first images of each class of the shared MNIST, unchanged.
    let full = Source::Mnist(shared_data().join("mnist")).load().unwrap();
    assert_eq!(d.train.sample(0), full.train.sample(0));
    assert_eq!(d.train.x.as_u8().unwrap()[..784 * 50], full.train.x.as_u8().unwrap()[..784 * 50]);
    assert_eq!(test.sample(1999), full.test.as_ref().unwrap().sample(2318));
}

#[test]
fn contamination_and_holdout_on_mnist_mini() {
    let loaded = Source::MnistMini.load().unwrap();
    let cfg = ProtocolConfig { seed: 3, contamination: 0.1, holdout_fraction: 0.1, ..Default::default() };
    let s = split(&loaded, Some(4), &cfg).unwrap();
    let hold = s.holdout.as_ref().unwrap();
    assert_eq!(hold.len(), 100);
    let anomalies = s.train.labels.iter().filter(|&&l| l == 1).count();
    assert_eq!(s.train.len() - anomalies, 900);
    assert_eq!(anomalies, 100); // 100 / (900 + 100) = 10 %
    assert_eq!(s.test.len(), 2000);
    assert_eq!(split(&loaded, Some(4), &cfg).unwrap(), s);
}
