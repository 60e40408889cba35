//! safetensors I/O: the reference writer's files load, our files round-trip, and hostile files
//! are rejected with an error — never a panic or a header-sized allocation.

use engine::safetensors::{from_bytes, load, save, to_bytes, MAX_HEADER_BYTES};
use engine::{Device, Tensor};
use proptest::prelude::*;
use std::collections::BTreeMap;

fn fixture() -> Vec<u8> {
    std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/reference.safetensors")).unwrap()
}

#[test]
fn loads_a_file_written_by_the_reference_implementation() {
    // Written by Python `safetensors.numpy.save_file` (see the README's note on this fixture).
    let l = from_bytes(&fixture(), Device::Cpu).unwrap();
    let w = l.get("weight").unwrap();
    assert_eq!(w.dims(), &[2, 3]);
    assert_eq!(w.to_vec(), vec![-1.0, -0.5, 0.0, 0.5, 1.0, 1.5]);
    assert_eq!(l.get("bias").unwrap().to_vec(), vec![3.25]);
    assert_eq!(l.metadata["method"], "dsvdd");
    assert_eq!(l.metadata["c"], "0.1,0.2");
}

#[test]
fn round_trips_tensors_and_metadata_through_a_file() {
    let dir = std::env::temp_dir().join(format!("oneclass-st-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("m.safetensors");
    let a = Tensor::from_vec(vec![1.5, -2.0, 3.0, 4.25], &[2, 1, 2], Device::Cpu).unwrap();
    let s = Tensor::scalar(7.0, Device::Cpu);
    let mut meta = BTreeMap::new();
    meta.insert("method".to_string(), "ganocc".to_string());
    save(&path, &[("enc.w", &a), ("r", &s)], &meta).unwrap();
    let l = load(&path, Device::Cpu).unwrap();
    assert_eq!(l.get("enc.w").unwrap().dims(), &[2, 1, 2]);
    assert_eq!(l.get("enc.w").unwrap().to_vec(), a.to_vec());
    assert_eq!(l.get("r").unwrap().dims(), &[] as &[usize]);
    assert_eq!(l.metadata, meta);
    // The data starts 8-byte aligned, as the reference writer requires of itself.
    let bytes = std::fs::read(&path).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    assert_eq!((8 + n) % 8, 0);
    assert!(!dir.join("m.safetensors.tmp").exists(), "temporary file left behind");
    std::fs::remove_dir_all(&dir).unwrap();
}

fn with_header(json: &str, data: &[u8]) -> Vec<u8> {
    let mut v = (json.len() as u64).to_le_bytes().to_vec();
    v.extend_from_slice(json.as_bytes());
    v.extend_from_slice(data);
    v
}

fn rejects(bytes: &[u8], needle: &str) {
    let e = from_bytes(bytes, Device::Cpu).expect_err("malformed file accepted").to_string();
    assert!(e.contains(needle), "error {e:?} does not mention {needle:?}");
}

#[test]
fn rejects_malformed_files_with_clear_errors() {
    rejects(&[1, 2, 3], "shorter than");
    rejects(&u64::MAX.to_le_bytes(), "exceeds");
    rejects(&(MAX_HEADER_BYTES + 1).to_le_bytes(), "exceeds");
    rejects(&with_header("{}", &[])[..5], "shorter than");
    let mut short = (1000u64).to_le_bytes().to_vec();
    short.extend_from_slice(b"{}");
    rejects(&short, "only 2 bytes follow");
    rejects(&with_header("not json", &[]), "not valid JSON");
    rejects(&with_header("[1,2]", &[]), "not a JSON object");
    let t = |dtype: &str, shape: &str, offs: &str| {
        format!(r#"{{"a":{{"dtype":"{dtype}","shape":{shape},"data_offsets":{offs}}}}}"#)
    };
    rejects(&with_header(&t("F32", "[2]", "[0,8]"), &[0; 4]), "data buffer holds 4");
    rejects(&with_header(&t("F32", "[2]", "[0,4]"), &[0; 4]), "needs 8 bytes");
    rejects(&with_header(&t("F32", "[1]", "[4,8]"), &[0; 8]), "starts at byte 4");
    rejects(&with_header(&t("F64", "[1]", "[0,8]"), &[0; 8]), "only F32");
    rejects(&with_header(&t("F32", "[4294967296,4294967296,4294967296]", "[0,4]"), &[0; 4]), "overflows");
    rejects(&with_header(&t("F32", "[-1]", "[0,4]"), &[0; 4]), "bad dimension");
    rejects(&with_header(&t("F32", "[1]", "[0]"), &[0; 4]), "data_offsets");
    rejects(&with_header(r#"{"__metadata__":{"k":1}}"#, &[]), "not a string");
    rejects(
        &with_header(
            r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#,
            &[0; 4],
        ),
        "starts at byte 0",
    );
}

#[test]
fn refuses_to_write_duplicate_or_reserved_names() {
    let a = Tensor::zeros(&[1], Device::Cpu);
    assert!(to_bytes(&[("x", &a), ("x", &a)], &BTreeMap::new()).is_err());
    assert!(to_bytes(&[("__metadata__", &a)], &BTreeMap::new()).is_err());
}

#[test]
fn a_missing_file_names_its_path() {
    let e = load(std::path::Path::new("/nonexistent/m.safetensors"), Device::Cpu).unwrap_err().to_string();
    assert!(e.contains("/nonexistent/m.safetensors"), "{e}");
}

proptest! {
    #[test]
    fn truncated_files_never_panic(cut in 0usize..240) {
        let f = fixture();
        let cut = cut.min(f.len());
        let r = from_bytes(&f[..cut], Device::Cpu);
        prop_assert!(cut == f.len() || r.is_err());
    }

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256), len in 0u64..300) {
        let mut v = len.to_le_bytes().to_vec();
        v.extend_from_slice(&bytes);
        let _ = from_bytes(&v, Device::Cpu);
        let _ = from_bytes(&bytes, Device::Cpu);
    }

    #[test]
    fn corrupted_bytes_never_panic(pos in 0usize..204, val in any::<u8>()) {
        let mut f = fixture();
        let p = pos % f.len();
        f[p] = val;
        let _ = from_bytes(&f, Device::Cpu);
    }
}
