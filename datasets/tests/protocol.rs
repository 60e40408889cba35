//! The one-class protocol and the preprocessing on small synthetic data.

use datasets::{gcn_l1, split, Dataset, Loaded, Preprocessing, ProtocolConfig, Scaling, Values};

fn table(n_normal: usize, n_anom: usize) -> Loaded {
    let n = n_normal + n_anom;
    let x = (0..n * 2).map(|i| (i as f32 * 0.37).sin() * 10.0 + i as f32 * 0.01).collect();
    let labels = (0..n).map(|i| (i >= n_normal) as i64).collect();
    Loaded { name: "table".into(), train: Dataset { x: Values::F32(x), labels, shape: vec![2] }, test: None }
}

#[test]
fn tabular_parts_are_disjoint_and_complete() {
    let l = table(100, 10);
    let cfg = ProtocolConfig { seed: 11, contamination: 0.05, holdout_fraction: 0.1, ..Default::default() };
    let s = split(&l, None, &cfg).unwrap();
    // 80 normals train, of which 8 are held out; 72 / 0.95 · 0.05 ≈ 4 anomalies join training.
    let hold = s.holdout.clone().unwrap();
    assert_eq!(hold.len(), 8);
    assert_eq!(s.train.labels.iter().filter(|&&y| y == 0).count(), 72);
    assert_eq!(s.train.labels.iter().filter(|&&y| y == 1).count(), 4);
    assert_eq!(s.test.len(), 20 + 6);
    // Every row lands in exactly one part (rows are distinct, so compare their values).
    let mut all: Vec<Vec<u32>> = Vec::new();
    for d in [&s.train, &hold, &s.test] {
        all.extend((0..d.len()).map(|i| d.sample(i).iter().map(|v| v.to_bits()).collect()));
    }
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 110);
    assert_eq!(s.test_classes, s.test.labels);
}

#[test]
fn seeds_change_tabular_splits_and_nothing_else() {
    let l = table(50, 5);
    let cfg = |seed| ProtocolConfig { seed, ..Default::default() };
    assert_eq!(split(&l, None, &cfg(1)).unwrap(), split(&l, None, &cfg(1)).unwrap());
    assert_ne!(split(&l, None, &cfg(1)).unwrap().train, split(&l, None, &cfg(2)).unwrap().train);
    // A pinned split: the training rows for seed 42 never change between versions.
    let s = split(&l, None, &cfg(42)).unwrap();
    let first: Vec<usize> =
        (0..3).map(|i| (0..55).find(|&r| l.train.sample(r) == s.train.sample(i)).unwrap()).collect();
    assert_eq!(s.train.len(), 40);
    assert!(first.windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn normal_class_on_multiclass_table() {
    let mut l = table(30, 0);
    l.train.labels = (0..30).map(|i| i % 3).collect();
    let s = split(&l, Some(2), &ProtocolConfig::default()).unwrap();
    assert_eq!(s.train.len(), 8); // round(0.8 · 10)
    assert_eq!(s.test.labels.iter().filter(|&&y| y == 1).count(), 20);
    assert_eq!(s.test_classes.iter().filter(|&&c| c == 2).count(), 2);
}

#[test]
fn gcn_l1_centres_and_scales() {
    let mut v = [0.0, 1.0, 2.0, 5.0];
    gcn_l1(&mut v);
    // mean 2, mean |x − 2| = (2 + 1 + 0 + 3) / 4 = 1.5
    assert_eq!(v, [-2.0 / 1.5, -1.0 / 1.5, 0.0, 3.0 / 1.5]);
    let mut flat = [0.3; 5];
    gcn_l1(&mut flat);
    assert_eq!(flat, [0.0; 5]);
}

#[test]
fn scalings_fit_on_train_and_reapply() {
    let x: Vec<f32> = (0..40).map(|i| ((i * 7) % 11) as f32 / 10.0).collect();
    for (scaling, lo, hi) in [
        (Scaling::GcnMinMax, 0.0, 1.0),
        (Scaling::GcnMinMaxSymmetric, -1.0, 1.0),
        (Scaling::MinMaxSymmetric, -1.0, 1.0),
    ] {
        let p = Preprocessing::fit(scaling, &x, 8);
        let mut y = x.clone();
        p.apply(&mut y, 8).unwrap();
        let (mn, mx) = y.iter().fold((f32::MAX, f32::MIN), |(a, b), &v| (a.min(v), b.max(v)));
        assert!((mn - lo).abs() < 1e-6 && (mx - hi).abs() < 1e-6, "{scaling:?}: {mn} {mx}");
    }
    let p = Preprocessing::fit(Scaling::Standardise, &[1.0, 5.0, 3.0, 5.0], 2);
    assert_eq!(p, Preprocessing::Standardise { mean: vec![2.0, 5.0], std: vec![1.0, 1.0] });
    let mut y = [4.0, 7.0];
    p.apply(&mut y, 2).unwrap();
    assert_eq!(y, [2.0, 2.0]);
    assert!(p.apply(&mut [1.0, 2.0, 3.0], 3).is_err());
    assert_eq!(Preprocessing::fit(Scaling::None, &x, 8), Preprocessing::Identity);
}

#[test]
fn image_bytes_become_unit_floats_in_the_split() {
    let u = |b: u8| b as f32 / 255.0;
    let images = |bytes: Vec<u8>, labels: Vec<i64>| Dataset { x: Values::U8(bytes), labels, shape: vec![1, 1, 2] };
    let l = Loaded {
        name: "bytes".into(),
        train: images(vec![0, 255, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10], vec![0, 1, 0, 1, 0, 1]),
        test: Some(images(vec![51, 102, 0, 0], vec![0, 1])),
    };
    // Loaded data stays bytes; sample, select and to_f32 give byte / 255.
    assert_eq!(l.train.x.as_u8().unwrap()[1], 255);
    assert_eq!((l.train.x.len(), l.train.x.get(1)), (12, 1.0));
    assert_eq!(l.train.sample(1), [u(1), u(2)]);
    assert_eq!(l.train.select(&[2, 0]).x, [u(3), u(4), 0.0, 1.0]);
    assert_eq!(l.test.as_ref().unwrap().to_f32().x, [0.2, 0.4, 0.0, 0.0]);
    let s = split(&l, Some(0), &ProtocolConfig::default()).unwrap();
    assert_eq!(s.train.x, [0.0, 1.0, u(3), u(4), u(7), u(8)]);
    assert_eq!((s.test.x.clone(), s.test.labels.clone()), (vec![0.2, 0.4, 0.0, 0.0], vec![0, 1]));
    // Contamination rows are converted the same way.
    let cfg = ProtocolConfig { contamination: 0.25, ..Default::default() };
    let c = split(&l, Some(0), &cfg).unwrap();
    let anomaly = c.train.labels.iter().position(|&y| y == 1).unwrap();
    assert!([[u(1), u(2)], [u(5), u(6)], [u(9), u(10)]].iter().any(|r| c.train.sample(anomaly) == r));
}
