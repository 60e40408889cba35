//! Every kind of bad input gives a typed error whose message is `<file>: <what is wrong>`.

mod common;

use std::path::Path;

use common::*;
use datasets::{
    parse_cifar_batch, parse_csv, parse_idx, parse_npy, parse_npz, split, DataError, Dataset, Header, LabelColumn,
    Loaded, Origin, ProtocolConfig, Source, Values,
};

/// The message starts with the file and names the problem.
fn says(e: &DataError, file: &str, what: &str) {
    let m = e.to_string();
    assert!(m.starts_with(&format!("{file}: ")), "{m:?} should start with {file:?}");
    assert!(m.contains(what), "{m:?} should mention {what:?}");
}

#[test]
fn missing_path() {
    let e = Source::Mnist("/no/such/folder".into()).load().unwrap_err();
    assert!(matches!(e, DataError::Io { .. }));
    says(&e, "/no/such/folder", "No such file");
    let e = Source::Npz("/no/such.npz".into()).load().unwrap_err();
    says(&e, "/no/such.npz", "cannot read");
    let e =
        Source::Csv { path: "/no/such.csv".into(), label: LabelColumn::Last, header: Header::Auto }.load().unwrap_err();
    assert!(matches!(e, DataError::Io { .. }));
}

#[test]
fn folder_with_a_missing_file() {
    let d = temp_dir("missing-file");
    std::fs::write(d.join("train-images-idx3-ubyte.gz"), gzip(&idx_images(1, 2, 2, |_| 0))).unwrap();
    let e = Source::Mnist(d.clone()).load().unwrap_err();
    says(&e, &d.display().to_string(), "missing train-labels-idx1-ubyte.gz (or train-labels-idx1-ubyte uncompressed)");
    let e = Source::Cifar10(d.clone()).load().unwrap_err();
    says(&e, &d.join("data_batch_1.bin").display().to_string(), "cannot read");
}

#[test]
fn test_images_of_another_size_than_the_training_images() {
    let d = temp_dir("size-mismatch");
    std::fs::write(d.join("train-images-idx3-ubyte.gz"), gzip(&idx_images(2, 3, 3, |_| 0))).unwrap();
    std::fs::write(d.join("t10k-images-idx3-ubyte.gz"), gzip(&idx_images(2, 2, 2, |_| 0))).unwrap();
    for prefix in ["train", "t10k"] {
        std::fs::write(d.join(format!("{prefix}-labels-idx1-ubyte.gz")), gzip(&idx_labels(&[0, 1]))).unwrap();
    }
    let e = Source::Mnist(d.clone()).load().unwrap_err();
    says(
        &e,
        &d.join("t10k-images-idx3-ubyte.gz").display().to_string(),
        "images of shape [1, 2, 2], the training images [1, 3, 3]",
    );
}

#[test]
fn truncated_idx() {
    let img = idx_images(3, 4, 4, |i| i as u8);
    let lab = idx_labels(&[1, 2, 3]);
    for cut in [2, 10, img.len() - 1] {
        let e = parse_idx(&img[..cut], &lab, "m", 10).unwrap_err();
        assert!(matches!(e, DataError::Truncated { .. }), "{e}");
        says(&e, "m (images)", "truncated");
    }
    // The same, gzipped whole after the cut: still a clean truncation.
    let e = parse_idx(&gzip(&img[..20]), &lab, "m", 10).unwrap_err();
    assert!(matches!(e, DataError::Truncated { .. }), "{e}");
}

#[test]
fn truncated_and_corrupt_gzip() {
    let img = gzip(&idx_images(30, 8, 8, |i| (i * 7) as u8));
    let lab = idx_labels(&[0; 30]);
    let e = parse_idx(&img[..img.len() / 2], &lab, "m", 10).unwrap_err();
    assert!(matches!(e, DataError::Truncated { .. } | DataError::Compressed { .. }), "{e}");
    says(&e, "m (images)", "");
    // Damage inside the deflate data, and a damaged CRC trailer.
    let mut bad = img.clone();
    for b in &mut bad[12..30] {
        *b ^= 0x5a;
    }
    let e = parse_idx(&bad, &lab, "m", 10).unwrap_err();
    assert!(matches!(e, DataError::Compressed { .. } | DataError::Truncated { .. } | DataError::Format { .. }), "{e}");
    let mut bad = img.clone();
    let n = bad.len();
    bad[n - 6] ^= 1;
    let e = parse_idx(&bad, &lab, "m", 10).unwrap_err();
    assert!(matches!(e, DataError::Compressed { .. }), "{e}");
    says(&e, "m (images)", "corrupt compressed data");
}

#[test]
fn wrong_idx_magic() {
    let mut img = idx_images(1, 2, 2, |_| 0);
    img[0] = 0x42;
    let e = parse_idx(&img, &idx_labels(&[0]), "m", 10).unwrap_err();
    says(&e, "m (images)", "not an IDX file");
    // A label file where images are expected.
    let e = parse_idx(&idx_labels(&[0]), &idx_labels(&[0]), "m", 10).unwrap_err();
    says(&e, "m (images)", "1 dimensions, expected 3");
    let mut img = idx_images(1, 2, 2, |_| 0);
    img[2] = 0x0d; // float data
    says(&parse_idx(&img, &idx_labels(&[0]), "m", 10).unwrap_err(), "m (images)", "not supported");
}

#[test]
fn image_label_count_mismatch() {
    let e = parse_idx(&idx_images(3, 2, 2, |_| 0), &idx_labels(&[0, 1]), "m", 10).unwrap_err();
    assert!(matches!(e, DataError::Mismatch { .. }));
    says(&e, "m (labels)", "2 labels but m (images) has 3 images");
}

#[test]
fn label_out_of_range() {
    let e = parse_idx(&idx_images(2, 2, 2, |_| 0), &idx_labels(&[3, 10]), "m", 10).unwrap_err();
    assert!(matches!(e, DataError::LabelOutOfRange { index: 1, label: 10, .. }));
    says(&e, "m (labels)", "label 10 of sample 1 is out of range (0..=9)");
    let mut c = cifar_batch(&[1, 2]);
    c[3073] = 200;
    says(&parse_cifar_batch(&c, "c.bin").unwrap_err(), "c.bin", "label 200 of sample 1");
}

#[test]
fn trailing_bytes_after_idx_data() {
    let mut img = idx_images(1, 2, 2, |_| 0);
    img.push(0);
    says(&parse_idx(&img, &idx_labels(&[0]), "m", 10).unwrap_err(), "m (images)", "unexpected bytes after the data");
}

#[test]
fn truncated_cifar_record() {
    let c = cifar_batch(&[1, 2]);
    let e = parse_cifar_batch(&c[..5000], "c.bin").unwrap_err();
    assert!(matches!(e, DataError::Truncated { .. }));
    says(&e, "c.bin", "record 1 has 1927 of 3073 bytes");
    says(&parse_cifar_batch(&[], "c.bin").unwrap_err(), "c.bin", "no records");
}

fn images(labels: &[i64]) -> Dataset<Values> {
    Dataset { x: Values::U8(vec![128; labels.len() * 4]), labels: labels.to_vec(), shape: vec![1, 2, 2] }
}

#[test]
fn normal_class_not_in_data_and_empty_normal_class() {
    let l = Loaded { name: "imgs".into(), train: images(&[0, 1, 2]), test: Some(images(&[0, 1, 3])) };
    let e = split(&l, Some(7), &ProtocolConfig::default()).unwrap_err();
    assert!(matches!(e, DataError::UnknownClass { class: 7, .. }));
    says(&e, "imgs", "normal class 7 is not in the data (classes present: 0, 1, 2, 3)");
    let e = split(&l, Some(3), &ProtocolConfig::default()).unwrap_err();
    assert!(matches!(e, DataError::EmptyNormalClass { class: 3, .. }));
    says(&e, "imgs", "normal class 3 has no training samples (it occurs only in the test split)");
    // Holding out everything leaves nothing to train on.
    let cfg = ProtocolConfig { holdout_fraction: 0.9, ..Default::default() };
    says(&split(&l, Some(0), &cfg).unwrap_err(), "imgs", "no training samples left after holding out 1 of 1");
    // Tabular with labels other than 0/1 and no normal class.
    let t = Loaded { name: "t.csv".into(), train: images(&[0, 1, 2]), test: None };
    says(&split(&t, None, &ProtocolConfig::default()).unwrap_err(), "t.csv", "label 2 of sample 2 is out of range");
    let t = Loaded { name: "t.csv".into(), train: images(&[1, 1]), test: None };
    says(&split(&t, None, &ProtocolConfig::default()).unwrap_err(), "t.csv", "normal class 0 has no training samples");
}

#[test]
fn impossible_protocol_settings() {
    let l = Loaded {
        name: "imgs".into(),
        train: images(&[0; 20].iter().chain(&[1]).copied().collect::<Vec<_>>()),
        test: Some(images(&[0, 1])),
    };
    let cfg = ProtocolConfig { contamination: 0.5, ..Default::default() };
    says(
        &split(&l, Some(0), &cfg).unwrap_err(),
        "imgs",
        "contamination 0.5 needs 20 anomalies in training, only 1 available",
    );
    for bad in [
        ProtocolConfig { contamination: 1.0, ..Default::default() },
        ProtocolConfig { train_fraction: 0.0, ..Default::default() },
        ProtocolConfig { holdout_fraction: f64::NAN, ..Default::default() },
    ] {
        assert!(matches!(split(&l, Some(0), &bad).unwrap_err(), DataError::Config { .. }));
    }
}

#[test]
fn non_finite_tabular_values() {
    // Located as every other CSV error is: the file's line and the column as it stands there.
    let e = parse_csv(b"a,y,b\n1,0,2\n3,1,nan\n", &LabelColumn::Index(1), &Origin::new("t.csv")).unwrap_err();
    assert!(matches!(e, DataError::Parse { line: 3, .. }));
    says(&e, "t.csv", "line 3: column 2 (\"b\"): \"nan\" is non-finite");
    says(&parse_csv(b"1,inf,0\n", &LabelColumn::Last, &Origin::new("t.csv")).unwrap_err(), "t.csv", "line 1: column 1");
    says(
        &parse_csv(b"1,1e39,0\n", &LabelColumn::Last, &Origin::new("t.csv")).unwrap_err(),
        "t.csv",
        "non-finite as f32",
    );
    // In an npz: an f64 X with an infinity.
    let x: Vec<u8> = [1.0f64, f64::INFINITY].iter().flat_map(|v| v.to_le_bytes()).collect();
    let y: Vec<u8> = [0i64, 1].iter().flat_map(|v| v.to_le_bytes()).collect();
    let z =
        zip(&[("X.npy", &npy(1, "<f8", false, &[2, 1], &x), false), ("y.npy", &npy(1, "<i8", false, &[2], &y), true)]);
    let o = Origin::new("t.npz");
    let e = datasets::tabular_from_npz(parse_npz(&z, &o).unwrap(), &o).unwrap_err();
    says(&e, "t.npz", "value inf of sample 1, column 0 (both counting from 0) is non-finite as f32");
    // Both X and x: refused rather than one picked by archive order; a fractional label named.
    let xs: Vec<u8> = [1.0f64, 2.0].iter().flat_map(|v| v.to_le_bytes()).collect();
    let member = |name| (name, npy(1, "<f8", false, &[2, 1], &xs), false);
    let (a, b) = (member("X.npy"), member("x.npy"));
    let z = zip(&[(a.0, &a.1, a.2), (b.0, &b.1, b.2), ("y.npy", &npy(1, "<i8", false, &[2], &y), true)]);
    let e = datasets::tabular_from_npz(parse_npz(&z, &o).unwrap(), &o).unwrap_err();
    says(&e, "t.npz", "both X and x arrays");
    let half: Vec<u8> = [0.0f64, 1.5].iter().flat_map(|v| v.to_le_bytes()).collect();
    let z = zip(&[(a.0, &a.1, a.2), ("y.npy", &npy(1, "<f8", false, &[2], &half), true)]);
    let e = datasets::tabular_from_npz(parse_npz(&z, &o).unwrap(), &o).unwrap_err();
    says(&e, "t.npz", "label 1.5 of sample 1 (counting from 0) is not an integer");
}

#[test]
fn ragged_csv() {
    let e = parse_csv(b"1,2,0\n3,4\n", &LabelColumn::Last, &Origin::new("t.csv")).unwrap_err();
    assert!(matches!(e, DataError::Ragged { line: 2, expected: 3, found: 2, .. }));
    says(&e, "t.csv", "line 2 has 2 fields, expected 3");
    let o = Origin::new("t.csv");
    says(
        &parse_csv(b"a,b\n1,x\n", &LabelColumn::Index(1), &o).unwrap_err(),
        "t.csv",
        "line 2: label \"x\" is not an integer",
    );
    says(&parse_csv(b"a,b\n1,2\n", &LabelColumn::Name("z".into()), &o).unwrap_err(), "t.csv", "no column named \"z\"");
    says(&parse_csv(b"", &LabelColumn::Last, &o).unwrap_err(), "t.csv", "no data rows");
    // A first row with a missing value is a data row with a bad cell, not a header.
    says(
        &parse_csv(b"1,NA,0\n2,3,1\n", &LabelColumn::Last, &o).unwrap_err(),
        "t.csv",
        "line 1: column 1 (counting from 0): \"NA\" is not a number",
    );
    says(
        &parse_csv(b"1,,0\n2,3,1\n", &LabelColumn::Last, &o).unwrap_err(),
        "t.csv",
        "line 1: column 1 (counting from 0) is empty",
    );
}

#[test]
fn corrupt_zip() {
    let o = Origin::new("t.npz");
    let y: Vec<u8> = [0i64, 1].iter().flat_map(|v| v.to_le_bytes()).collect();
    let good = zip(&[("y.npy", &npy(1, "<i8", false, &[2], &y), true)]);
    says(&parse_npz(b"PK\x03\x04 not really", &o).unwrap_err(), "t.npz", "corrupt zip archive");
    says(&parse_npz(&good[..good.len() - 30], &o).unwrap_err(), "t.npz", "corrupt zip archive");
    let mut bad = good.clone();
    bad[40] ^= 0xff; // inside the deflated member
    assert!(parse_npz(&bad, &o).is_err());
    // A stored member whose CRC does not match.
    let mut bad = zip(&[("y.npy", &npy(1, "<i8", false, &[2], &y), false)]);
    bad[100] ^= 1;
    says(&parse_npz(&bad, &o).unwrap_err(), "t.npz", "CRC-32");
    // A missing array.
    let e = datasets::tabular_from_npz(parse_npz(&good, &o).unwrap(), &o).unwrap_err();
    says(&e, "t.npz", "no array named \"X\"");
}

#[test]
fn bad_npy() {
    let o = Origin::new("a.npy");
    says(
        &parse_npy(&npy(1, "<c16", false, &[1], &[0; 16]), &o).unwrap_err(),
        "a.npy",
        "dtype \"<c16\" is not supported",
    );
    says(&parse_npy(&npy(1, "<f8", false, &[3], &[0; 16]), &o).unwrap_err(), "a.npy", "truncated: shape [3]");
    let mut v4 = npy(1, "<f8", false, &[1], &[0; 8]);
    v4[6] = 4;
    says(&parse_npy(&v4, &o).unwrap_err(), "a.npy", "format version 4.0 is not supported");
    says(&parse_npy(b"hello world", &o).unwrap_err(), "a.npy", "magic");
}

#[test]
fn cli_source_errors() {
    says(&Source::from_cli("mnist", None, None, None).unwrap_err(), "--data", "needs --data PATH");
    says(&Source::from_cli("imagenet", Some(Path::new("x")), None, None).unwrap_err(), "--dataset", "unknown data set");
    assert_eq!(Source::from_cli("mnist-mini", None, None, None).unwrap(), Source::MnistMini);
    // Flags the data set would not read.
    says(&Source::from_cli("mnist-mini", Some(Path::new("m")), None, None).unwrap_err(), "--data", "reads no --data");
    let label = Some(LabelColumn::Last);
    says(
        &Source::from_cli("npz", Some(Path::new("t.npz")), label, None).unwrap_err(),
        "--label",
        "is for --dataset csv",
    );
    let header = Some(Header::Yes);
    says(
        &Source::from_cli("mnist", Some(Path::new("m")), None, header).unwrap_err(),
        "--csv-header",
        "is for --dataset csv",
    );
}
