//! Each loader on small files written in its format.

mod common;

use common::*;
use datasets::{
    csv_layout, load_npz, load_samples, parse_csv, parse_csv_table, parse_npy, parse_npz, DType, Header, LabelColumn,
    Origin, Source,
};

fn o() -> Origin {
    Origin::new("t")
}

#[test]
fn cifar_folder_layout() {
    let d = temp_dir("cifar");
    for i in 1..=5u8 {
        std::fs::write(d.join(format!("data_batch_{i}.bin")), cifar_batch(&[i, 0, 9])).unwrap();
    }
    std::fs::write(d.join("test_batch.bin"), cifar_batch(&[7, 3])).unwrap();
    let l = Source::Cifar10(d.clone()).load().unwrap();
    let test = l.test.as_ref().unwrap();
    assert_eq!(l.train.shape, [3, 32, 32]);
    assert_eq!(l.train.labels, [1, 0, 9, 2, 0, 9, 3, 0, 9, 4, 0, 9, 5, 0, 9]);
    assert_eq!(test.labels, [7, 3]);
    // Record 1 of the test batch: pixel p (CHW) is ((1 + p) mod 251) / 255.
    let s = test.sample(1);
    assert_eq!(s.len(), 3072);
    assert_eq!((s[0], s[1024], s[3071]), (1.0 / 255.0, (1025 % 251) as f32 / 255.0, (3072 % 251) as f32 / 255.0));
    // The official archive's subfolder is found too.
    let parent = temp_dir("cifar-parent");
    std::fs::rename(&d, parent.join("cifar-10-batches-bin")).unwrap();
    let again = Source::Cifar10(parent).load().unwrap();
    assert!(again.train == l.train && again.test == l.test);
}

#[test]
fn idx_raw_and_gzip_agree() {
    let img = idx_images(2, 3, 3, |i| (i * 13) as u8);
    let lab = idx_labels(&[4, 2]);
    let a = datasets::parse_idx(&img, &lab, "raw", 10).unwrap();
    let b = datasets::parse_idx(&gzip(&img), &gzip(&lab), "gz", 10).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.shape, [1, 3, 3]);
    assert_eq!(a.x.as_u8().unwrap()[5], 65);
    assert_eq!(a.x.get(5), 65.0 / 255.0);
    assert_eq!(a.sample(0)[5], 65.0 / 255.0);
    // A folder of raw (not gzipped) files loads as well.
    let d = temp_dir("idx-raw");
    for (name, bytes) in [
        ("train-images-idx3-ubyte", &img),
        ("train-labels-idx1-ubyte", &lab),
        ("t10k-images-idx3-ubyte", &img),
        ("t10k-labels-idx1-ubyte", &lab),
    ] {
        std::fs::write(d.join(name), bytes).unwrap();
    }
    let l = Source::FashionMnist(d).load().unwrap();
    assert!(l.train == a && l.test == Some(a));
}

#[test]
fn npy_versions_dtypes_and_byte_orders() {
    let vals = [1.0f64, -2.0, 3.0, 0.0, 5.0, 6.0];
    let cases: Vec<(&str, DType, Vec<u8>)> = vec![
        ("<f8", DType::F64, vals.iter().flat_map(|v| v.to_le_bytes()).collect()),
        (">f8", DType::F64, vals.iter().flat_map(|v| v.to_be_bytes()).collect()),
        ("<f4", DType::F32, vals.iter().flat_map(|&v| (v as f32).to_le_bytes()).collect()),
        ("<i8", DType::I64, vals.iter().flat_map(|&v| (v as i64).to_le_bytes()).collect()),
        ("<i4", DType::I32, vals.iter().flat_map(|&v| (v as i32).to_le_bytes()).collect()),
        ("<i2", DType::I16, vals.iter().flat_map(|&v| (v as i16).to_le_bytes()).collect()),
        (">i2", DType::I16, vals.iter().flat_map(|&v| (v as i16).to_be_bytes()).collect()),
    ];
    for version in 1..=3 {
        for (descr, dtype, data) in &cases {
            let a = parse_npy(&npy(version, descr, false, &[2, 3], data), &o()).unwrap();
            assert_eq!(
                (a.dtype, a.shape.clone(), a.data.clone()),
                (*dtype, vec![2, 3], vals.to_vec()),
                "{descr} v{version}"
            );
        }
    }
    let u8s = parse_npy(&npy(1, "|u1", false, &[3], &[0, 7, 255]), &o()).unwrap();
    assert_eq!(u8s.data, [0.0, 7.0, 255.0]);
    let bools = parse_npy(&npy(1, "|b1", false, &[3], &[1, 0, 1]), &o()).unwrap();
    assert_eq!((bools.dtype, bools.data), (DType::Bool, vec![1.0, 0.0, 1.0]));
    assert!(parse_npy(&npy(1, "|b1", false, &[1], &[2]), &o()).is_err());
}

#[test]
fn fortran_order_becomes_c_order() {
    // The 2×3 matrix [[1,2,3],[4,5,6]] stored column-major: 1,4,2,5,3,6.
    let f: Vec<u8> = [1i16, 4, 2, 5, 3, 6].iter().flat_map(|v| v.to_le_bytes()).collect();
    let a = parse_npy(&npy(1, "<i2", true, &[2, 3], &f), &o()).unwrap();
    assert_eq!(a.data, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    // 3-D: element (i,j,k) of a 2×2×2 array stored at i + 2j + 4k, value 100i + 10j + k.
    let mut col = vec![0u8; 8];
    for i in 0..2 {
        for j in 0..2 {
            for k in 0..2 {
                col[i + 2 * j + 4 * k] = (100 * i + 10 * j + k) as u8;
            }
        }
    }
    let a = parse_npy(&npy(2, "|u1", true, &[2, 2, 2], &col), &o()).unwrap();
    assert_eq!(a.data, [0.0, 1.0, 10.0, 11.0, 100.0, 101.0, 110.0, 111.0]);
}

#[test]
fn npz_stored_and_deflated_members() {
    let x: Vec<u8> = (0..12).map(|v| v as u8).collect();
    let y: Vec<u8> = [0i32, 1, 0, 0].iter().flat_map(|v| v.to_le_bytes()).collect();
    let (xn, yn) = (npy(1, "|u1", false, &[4, 3], &x), npy(1, "<i4", false, &[4], &y));
    let stored = zip(&[("X.npy", &xn, false), ("y.npy", &yn, false)]);
    let deflated = zip(&[("X.npy", &xn, true), ("y.npy", &yn, true)]);
    let a = parse_npz(&stored, &o()).unwrap();
    assert_eq!(a, parse_npz(&deflated, &o()).unwrap());
    assert_eq!(a.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), ["X", "y"]);
    let d = temp_dir("npz");
    std::fs::write(d.join("s.npz"), &stored).unwrap();
    let t = load_npz(&d.join("s.npz")).unwrap();
    assert_eq!((t.shape.clone(), t.labels.clone()), (vec![3], vec![0, 1, 0, 0]));
    assert_eq!(t.sample(3), [9.0, 10.0, 11.0]);
}

#[test]
fn csv_header_detection_and_label_columns() {
    let with = b"f1, f2 ,\"label\",f3\n1.5,2,0,3\n4,5e-1,1,6\n\n";
    let without = b"1.5,2,0,3\r\n4,5e-1,1,6\r\n";
    for (text, label) in [
        (&with[..], LabelColumn::Name("label".into())),
        (&with[..], LabelColumn::Index(2)),
        (&without[..], LabelColumn::Index(2)),
        (&without[..], "2".parse().unwrap()),
    ] {
        let d = parse_csv(text, &label, &o()).unwrap();
        assert_eq!(
            (d.x.clone(), d.labels.clone(), d.shape.clone()),
            (vec![1.5, 2.0, 3.0, 4.0, 0.5, 6.0], vec![0, 1], vec![3]),
            "{label:?}"
        );
    }
    // A byte-order mark before a headerless first row does not turn it into a header.
    let d = parse_csv("\u{feff}1.5,2,0,3\n4,5e-1,1,6\n".as_bytes(), &LabelColumn::Index(2), &o()).unwrap();
    assert_eq!(d.labels, [0, 1]);
    let d = parse_csv(b"1,2,1.0\n", &LabelColumn::Last, &o()).unwrap();
    assert_eq!(d.labels, [1]);
    // pandas' header for an unnamed frame, the column numbers, is a header, not a sample.
    let d = parse_csv(b"0,1,2,3\n1.5,2,0,3\n4,5e-1,1,6\n", &LabelColumn::Index(2), &o()).unwrap();
    assert_eq!((d.labels, d.x.len()), (vec![0, 1], 6));
    assert_eq!("label".parse::<LabelColumn>().unwrap(), LabelColumn::Name("label".into()));
    assert_eq!("last".parse::<LabelColumn>().unwrap(), LabelColumn::Last);
}

#[test]
fn csv_header_said_outright_overrides_detection() {
    // Column names that are numbers (wavelengths): detected as a sample, a header when said so.
    let text = b"400,410,420,9\n1,2,3,0\n4,5,6,1\n";
    let table = |label: Option<&LabelColumn>, header| parse_csv_table(text, label, header, &o());
    let auto = table(Some(&LabelColumn::Last), Header::Auto).unwrap();
    assert_eq!((auto.len(), auto.labels.clone()), (3, vec![9, 0, 1]));
    let yes = table(Some(&LabelColumn::Last), Header::Yes).unwrap();
    assert_eq!((yes.x.clone(), yes.labels.clone()), (vec![1., 2., 3., 4., 5., 6.], vec![0, 1]));
    // With the header on, a numeric name names its column.
    let by_name = table(Some(&LabelColumn::Name("9".into())), Header::Yes).unwrap();
    assert_eq!(by_name.labels, [0, 1]);
    // Without labels too (what `score --input` reads).
    assert_eq!(table(None, Header::Yes).unwrap().shape, [4]);
    // pandas' column numbers read as data when the header is off: a sample labelled 3.
    let numbers = parse_csv_table(b"0,1,2,3\n1,2,3,0\n", Some(&LabelColumn::Last), Header::No, &o()).unwrap();
    assert_eq!(numbers.labels, [3, 0]);
    // A column by name needs the header; a header line with nothing under it is no data.
    let e = table(Some(&LabelColumn::Name("9".into())), Header::No).unwrap_err().to_string();
    assert!(e.contains("needs a header line"), "{e}");
    let e = parse_csv_table(b"a,b\n", None, Header::Yes, &o()).unwrap_err().to_string();
    assert!(e.contains("no data rows"), "{e}");
    // A named header row read as data is an error naming its cell.
    let e = parse_csv_table(b"a,b\n1,0\n", Some(&LabelColumn::Last), Header::No, &o()).unwrap_err().to_string();
    assert!(e.contains("line 1: column 0 (counting from 0): \"a\" is not a number"), "{e}");
    assert_eq!("yes".parse::<Header>(), Ok(Header::Yes));
    assert!("maybe".parse::<Header>().unwrap_err().contains("yes, no, auto"));
}

#[test]
fn csv_layout_resolves_a_label_column_from_the_first_line() {
    let d = temp_dir("csv-layout");
    let named = d.join("named.csv");
    std::fs::write(&named, "\u{feff}\n a , b ,y\n1,2,0\n").unwrap();
    for (label, col) in [("y", 2), ("2", 2), ("last", 2), ("a", 0)] {
        let label = label.parse::<LabelColumn>().unwrap();
        assert_eq!(csv_layout(&named, &label, Header::Auto).unwrap(), (col, true), "{label:?}");
    }
    // Numeric names: a header only when a name or the flag says so, as `load_csv` reads them.
    let numeric = d.join("numeric.csv");
    std::fs::write(&numeric, "400,410,9\n1,2,0\n").unwrap();
    assert_eq!(csv_layout(&numeric, &LabelColumn::Last, Header::Auto).unwrap(), (2, false));
    assert_eq!(csv_layout(&numeric, &LabelColumn::Name("9".into()), Header::Auto).unwrap(), (2, true));
    let e = csv_layout(&numeric, &LabelColumn::Index(3), Header::Auto).unwrap_err().to_string();
    assert!(e.contains("label column 3 does not exist"), "{e}");
    let _ = std::fs::remove_dir_all(&d);
}

/// `f8` little-endian bytes of `values`.
fn f8(values: &[f64]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

#[test]
fn samples_to_score_csv_columns_are_features_unless_a_label_is_named() {
    let d = temp_dir("samples-csv");
    let f = d.join("s.csv");
    std::fs::write(&f, "a,b,c\n1,2,0\n3,4,1\n").unwrap();
    let s = load_samples(&f, None, Header::Auto).unwrap();
    assert_eq!(
        (&s.data.shape[..], &s.data.x[..], &s.data.labels[..], s.labelled),
        (&[3][..], &[1., 2., 0., 3., 4., 1.][..], &[0, 0][..], false)
    );
    let s = load_samples(&f, Some(&LabelColumn::Name("c".into())), Header::Auto).unwrap();
    assert_eq!(
        (&s.data.shape[..], &s.data.x[..], &s.data.labels[..], s.labelled),
        (&[2][..], &[1., 2., 3., 4.][..], &[0, 1][..], true)
    );
    // A header-less file whose every column is a feature.
    std::fs::write(&f, "0.5\n0.25\n").unwrap();
    assert_eq!(load_samples(&f, None, Header::Auto).unwrap().data.x, [0.5, 0.25]);
}

#[test]
fn samples_to_score_lie_along_an_arrays_first_axis() {
    let d = temp_dir("samples-npy");
    let values: Vec<f64> = (0..12).map(f64::from).collect();
    let images = npy(1, "<f8", false, &[3, 2, 2], &f8(&values));
    let f = d.join("images.npy");
    std::fs::write(&f, &images).unwrap();
    let s = load_samples(&f, None, Header::Auto).unwrap();
    assert_eq!((s.data.len(), &s.data.shape[..], &s.shape_in_file[..], s.labelled), (3, &[4][..], &[2, 2][..], false));
    assert_eq!(s.data.sample(2), [8., 9., 10., 11.]);
    // In an archive: labelled by y when it is there.
    let y = npy(1, "<f8", false, &[3], &f8(&[0.0, 1.0, 0.0]));
    let f = d.join("labelled.npz");
    std::fs::write(&f, zip(&[("X.npy", &images, true), ("y.npy", &y, false)])).unwrap();
    let s = load_samples(&f, None, Header::Auto).unwrap();
    assert_eq!(
        (s.data.labels.clone(), s.labelled, s.data.sample(1).to_vec()),
        (vec![0, 1, 0], true, vec![4., 5., 6., 7.])
    );
    let f = d.join("unlabelled.npz");
    std::fs::write(&f, zip(&[("X.npy", &images, false)])).unwrap();
    assert!(!load_samples(&f, None, Header::Auto).unwrap().labelled);
    // y of another length is an error naming both.
    let short = npy(1, "<f8", false, &[2], &f8(&[0.0, 1.0]));
    let f = d.join("short.npz");
    std::fs::write(&f, zip(&[("X.npy", &images, false), ("y.npy", &short, false)])).unwrap();
    let e = load_samples(&f, None, Header::Auto).unwrap_err().to_string();
    assert!(e.contains("X has 3 samples but y has shape [2]"), "{e}");
}

#[test]
fn samples_to_score_refuse_a_label_column_on_arrays_and_unknown_file_types() {
    let d = temp_dir("samples-bad");
    let f = d.join("a.npy");
    std::fs::write(&f, npy(1, "<f8", false, &[2, 1], &f8(&[1.0, 2.0]))).unwrap();
    let e = load_samples(&f, Some(&LabelColumn::Last), Header::Auto).unwrap_err().to_string();
    assert!(e.contains("a label column is for .csv files"), "{e}");
    let e = load_samples(&f, None, Header::Yes).unwrap_err().to_string();
    assert!(e.contains("a header setting is for .csv files"), "{e}");
    let f = d.join("a.txt");
    std::fs::write(&f, "1,2\n").unwrap();
    let e = load_samples(&f, None, Header::Auto).unwrap_err().to_string();
    assert!(e.contains("expected .csv, .npz or .npy"), "{e}");
    let f = d.join("nan.npy");
    std::fs::write(&f, npy(1, "<f8", false, &[2], &f8(&[1.0, f64::NAN]))).unwrap();
    assert!(load_samples(&f, None, Header::Auto).is_err());
}
