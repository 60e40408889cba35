//! Property tests: every parser gets truncated, mutated, header-forged and random bytes, and
//! must return (never panic), and never make an allocation sized by an unchecked header field.
//! The second property is checked by a counting global allocator: no single allocation may
//! exceed `LIMIT`, while the inputs here are a few kilobytes but their headers claim up to
//! 2^32 × 2^32 × 2^32 elements.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use common::*;
use datasets::{parse_cifar_batch, parse_csv, parse_idx, parse_npy, parse_npz, zip_entries, LabelColumn, Origin};
use proptest::prelude::*;

struct Counting;
static LARGEST: AtomicUsize = AtomicUsize::new(0);
const LIMIT: usize = 64 << 20;

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LARGEST.fetch_max(l.size(), Ordering::Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        LARGEST.fetch_max(l.size(), Ordering::Relaxed);
        unsafe { System.alloc_zeroed(l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        LARGEST.fetch_max(new, Ordering::Relaxed);
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn check_alloc() {
    let m = LARGEST.load(Ordering::Relaxed);
    assert!(m <= LIMIT, "an allocation of {m} bytes");
}

fn o() -> Origin {
    Origin::new("p")
}

/// Every parser on the same bytes (as each kind of file).
fn all_parsers(b: &[u8]) {
    let img = idx_images(2, 2, 2, |i| i as u8);
    let lab = idx_labels(&[0, 1]);
    let _ = parse_idx(b, &lab, "p", 10);
    let _ = parse_idx(&img, b, "p", 10);
    let _ = parse_cifar_batch(b, "p");
    let _ = parse_npy(b, &o());
    let _ = parse_npz(b, &o());
    if let Ok(es) = zip_entries(b, &o()) {
        for e in es {
            let _ = e.read(&o());
        }
    }
    for l in [LabelColumn::Last, LabelColumn::Index(1), LabelColumn::Name("y".into())] {
        let _ = parse_csv(b, &l, &o());
    }
    check_alloc();
}

/// One valid file of each format.
fn fixtures() -> Vec<Vec<u8>> {
    let img = idx_images(3, 5, 5, |i| (i * 31) as u8);
    let x: Vec<u8> = (0..6).flat_map(|v| (v as f64).to_le_bytes()).collect();
    let y: Vec<u8> = [0i64, 1, 0].iter().flat_map(|v| v.to_le_bytes()).collect();
    let (xn, yn) = (npy(1, "<f8", true, &[3, 2], &x), npy(3, "<i8", false, &[3], &y));
    vec![
        img.clone(),
        gzip(&img),
        gzip(&idx_labels(&[1, 2, 3])),
        cifar_batch(&[3, 4]),
        xn.clone(),
        zip(&[("X.npy", &xn, false), ("y.npy", &yn, false)]),
        zip(&[("X.npy", &xn, true), ("y.npy", &yn, true)]),
        b"a,b,y\n1,2,0\n3,4,1\n".to_vec(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes(b in proptest::collection::vec(any::<u8>(), 0..2048)) {
        all_parsers(&b);
    }

    #[test]
    fn truncated_files(which in 0usize..8, cut in 0.0f64..1.0) {
        let f = &fixtures()[which];
        all_parsers(&f[..(cut * f.len() as f64) as usize]);
    }

    #[test]
    fn mutated_files(which in 0usize..8, flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6)) {
        let mut f = fixtures()[which].clone();
        for (i, v) in flips {
            let i = i.index(f.len());
            f[i] = v;
        }
        all_parsers(&f);
    }

    #[test]
    fn forged_idx_headers(dims in proptest::collection::vec(any::<u32>(), 3), body in proptest::collection::vec(any::<u8>(), 0..64), gz in any::<bool>()) {
        let mut img = vec![0, 0, 8, 3];
        for d in &dims {
            img.extend(d.to_be_bytes());
        }
        img.extend(&body);
        let mut lab = vec![0, 0, 8, 1];
        lab.extend(dims[0].to_be_bytes());
        lab.extend(&body);
        let (img, lab) = if gz { (gzip(&img), gzip(&lab)) } else { (img, lab) };
        let need = dims.iter().try_fold(1u64, |a, &d| a.checked_mul(d as u64));
        let ok = parse_idx(&img, &lab, "p", 10).is_ok();
        prop_assert_eq!(ok, need == Some(body.len() as u64) && dims[0] as usize == body.len());
        check_alloc();
    }

    #[test]
    fn forged_npy_shapes(shape in proptest::collection::vec(any::<u64>(), 0..4), descr in prop::sample::select(vec!["<f8", "<i4", "|u1", "|b1"]), fortran in any::<bool>(), body in proptest::collection::vec(any::<u8>(), 0..64)) {
        let dims = shape.iter().map(|&d| d as usize).collect::<Vec<_>>();
        let file = npy(1, descr, fortran, &dims, &body);
        let _ = parse_npy(&file, &o());
        let _ = parse_npz(&zip(&[("X.npy", &file, true)]), &o());
        check_alloc();
    }

    #[test]
    fn forged_zip_sizes(usize_ in any::<u32>(), csize in any::<u32>(), offset in any::<u32>(), deflate in any::<bool>()) {
        // A valid one-member archive whose central directory entry then lies about sizes/offset.
        let mut z = zip(&[("y.npy", b"0123456789abcdef", deflate)]);
        let cd = z.windows(4).position(|w| w == [0x50, 0x4b, 0x01, 0x02]).unwrap();
        z[cd + 20..cd + 24].copy_from_slice(&csize.to_le_bytes());
        z[cd + 24..cd + 28].copy_from_slice(&usize_.to_le_bytes());
        if offset % 2 == 0 {
            z[cd + 42..cd + 46].copy_from_slice(&offset.to_le_bytes());
        }
        if let Ok(es) = zip_entries(&z, &o()) {
            for e in es {
                let _ = e.read(&o());
            }
        }
        check_alloc();
    }
}
