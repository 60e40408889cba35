//! Writes a small safetensors file, so the reference readers can be pointed at our output:
//! `cargo run -p engine --example write_safetensors -- out.safetensors` and then
//! `python3 tools/check_safetensors.py out.safetensors` (CI does both).

use engine::{safetensors, Device, Tensor};
use std::collections::BTreeMap;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: write_safetensors OUT.safetensors")?;
    let w = Tensor::from_vec((0..24).map(|i| i as f32 * 0.25 - 3.0).collect(), &[2, 3, 4], Device::Cpu)?;
    let c = Tensor::from_vec(vec![0.1, -0.1, 0.5], &[3], Device::Cpu)?;
    let r = Tensor::scalar(2.5, Device::Cpu);
    let mut meta = BTreeMap::new();
    meta.insert("method".to_string(), "dsvdd".to_string());
    safetensors::save(std::path::Path::new(&path), &[("encoder.conv1.weight", &w), ("c", &c), ("R", &r)], &meta)?;
    Ok(())
}
