//! `mnist-mini`, the data set bundled in the binary so `train` runs on a fresh clone with no
//! data: the first 1000 training and the first 200 test images of each MNIST digit, in file order
//! (10000 + 2000 images), as gzip IDX files made by `examples/make_mnist_mini.rs`. See
//! `data/mnist-mini/README.md` for provenance and licence (MNIST, CC BY-SA 3.0).

use crate::error::Result;
use crate::idx::parse_idx;
use crate::{Dataset, Values, MNIST_MINI_NAME};

const TRAIN_IMAGES: &[u8] = include_bytes!("../data/mnist-mini/train-images-idx3-ubyte.gz");
const TRAIN_LABELS: &[u8] = include_bytes!("../data/mnist-mini/train-labels-idx1-ubyte.gz");
const TEST_IMAGES: &[u8] = include_bytes!("../data/mnist-mini/t10k-images-idx3-ubyte.gz");
const TEST_LABELS: &[u8] = include_bytes!("../data/mnist-mini/t10k-labels-idx1-ubyte.gz");

/// Decodes the bundled files: (train, test).
pub fn load_mnist_mini() -> Result<(Dataset<Values>, Dataset<Values>)> {
    let train = parse_idx(TRAIN_IMAGES, TRAIN_LABELS, &format!("{MNIST_MINI_NAME} train"), 10)?;
    let test = parse_idx(TEST_IMAGES, TEST_LABELS, &format!("{MNIST_MINI_NAME} test"), 10)?;
    Ok((train, test))
}
