//! Builds the bundled `mnist-mini` from the full MNIST (run once; the output is committed):
//! the first 1000 training and the first 200 test images of each digit, kept in file order,
//! written as gzip IDX files (level 9, gzip mtime 0, so the bytes are reproducible).
//!
//! cargo run --release -p datasets --example make_mnist_mini -- ../shared/data/mnist datasets/data/mnist-mini

use std::io::{Read, Write};
use std::path::Path;

fn gunzip(path: &Path) -> Vec<u8> {
    let f = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(std::io::BufReader::new(f)).read_to_end(&mut out).expect("gunzip");
    out
}

fn write_gz(path: &Path, bytes: &[u8]) {
    let f = std::fs::File::create(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut enc = flate2::GzBuilder::new().mtime(0).write(f, flate2::Compression::best());
    enc.write_all(bytes).expect("write");
    enc.finish().expect("finish");
}

fn subset(src: &Path, dst: &Path, prefix: &str, per_class: usize) {
    let images = gunzip(&src.join(format!("{prefix}-images-idx3-ubyte.gz")));
    let labels = gunzip(&src.join(format!("{prefix}-labels-idx1-ubyte.gz")));
    let (rows, cols) =
        (u32::from_be_bytes(images[8..12].try_into().unwrap()), u32::from_be_bytes(images[12..16].try_into().unwrap()));
    let px = (rows * cols) as usize;
    let mut taken = [0usize; 10];
    let mut keep = Vec::new();
    for (i, &l) in labels[8..].iter().enumerate() {
        if taken[l as usize] < per_class {
            taken[l as usize] += 1;
            keep.push(i);
        }
    }
    assert!(taken.iter().all(|&t| t == per_class), "{prefix}: {taken:?}");
    let n = keep.len() as u32;
    let mut img = vec![0, 0, 8, 3];
    img.extend(n.to_be_bytes());
    img.extend(rows.to_be_bytes());
    img.extend(cols.to_be_bytes());
    let mut lab = vec![0, 0, 8, 1];
    lab.extend(n.to_be_bytes());
    for &i in &keep {
        img.extend_from_slice(&images[16 + i * px..16 + (i + 1) * px]);
        lab.push(labels[8 + i]);
    }
    write_gz(&dst.join(format!("{prefix}-images-idx3-ubyte.gz")), &img);
    write_gz(&dst.join(format!("{prefix}-labels-idx1-ubyte.gz")), &lab);
    println!("{prefix}: {n} images, last source index {}", keep.last().unwrap());
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (src, dst) = (Path::new(&args[1]), Path::new(&args[2]));
    std::fs::create_dir_all(dst).expect("create output folder");
    subset(src, dst, "train", 1000);
    subset(src, dst, "t10k", 200);
}
