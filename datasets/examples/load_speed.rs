//! Measures how long loading MNIST takes and how much memory it and a one-class split need.
//!
//! cargo run --release -p datasets --example load_speed -- ../shared/data/mnist
//!
//! The target (the issue): the load takes under a second in release mode and at most twice the
//! raw size in memory, where the raw size is the four IDX files' uncompressed bytes (≈ 55 MB).
//! Prints the wall time of `Source::Mnist(dir).load()` (all four files: gunzip, checks), then the
//! growth of the process's peak resident memory (VmHWM from /proc/self/status, Linux) over its
//! value before the load — after the load, and after a one-class split of class 0 with GCN +
//! min-max on top — each as a multiple of the raw size.

use std::time::Instant;

use datasets::{split, ProtocolConfig, Scaling, Source};

/// Peak resident memory of this process so far, in bytes.
fn vm_hwm() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / 1048576.0
}

fn main() {
    let dir = std::env::args().nth(1).unwrap_or_else(|| "../shared/data/mnist".into());
    let before = vm_hwm();
    let t = Instant::now();
    let loaded = Source::Mnist(dir.into()).load().unwrap_or_else(|e| {
        eprintln!("error: {e}");
        std::process::exit(2);
    });
    let load_s = t.elapsed().as_secs_f64();
    let after_load = vm_hwm();

    // The uncompressed IDX files: a 16-byte header + one byte per pixel for images, an 8-byte
    // header + one byte per label for labels.
    let parts = std::iter::once(&loaded.train).chain(&loaded.test);
    let raw: u64 = parts.map(|d| (16 + d.x.len() + 8 + d.len()) as u64).sum();
    let n_test = loaded.test.as_ref().map_or(0, |t| t.len());
    println!(
        "load:  {} train + {n_test} test images in {load_s:.3} s; raw IDX size {:.1} MiB",
        loaded.train.len(),
        mib(raw)
    );

    let t = Instant::now();
    let cfg = ProtocolConfig { scaling: Scaling::GcnMinMax, ..Default::default() };
    let s = split(&loaded, Some(0), &cfg).unwrap_or_else(|e| {
        eprintln!("error: {e}");
        std::process::exit(2);
    });
    let split_s = t.elapsed().as_secs_f64();
    let after_split = vm_hwm();
    println!("split: class 0, GCN + min-max: {} train / {} test in {split_s:.3} s", s.train.len(), s.test.len());

    match (before, after_load, after_split) {
        (Some(b), Some(l), Some(sp)) => {
            let growth = |a: u64| {
                let g = a.saturating_sub(b);
                format!("{:.1} MiB = {:.2} × raw", mib(g), g as f64 / raw as f64)
            };
            println!("peak RSS growth, load:         {}", growth(l));
            println!("peak RSS growth, load + split: {}", growth(sp));
        }
        _ => println!("peak RSS: not available (needs /proc/self/status)"),
    }
}
