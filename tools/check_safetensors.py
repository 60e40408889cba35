"""Reads a file written by `cargo run -p engine --example write_safetensors` with the reference
`safetensors` library and checks every value, proving our files open with the reference reader."""
import sys
import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file

path = sys.argv[1]
t = load_file(path)
assert t["encoder.conv1.weight"].shape == (2, 3, 4) and t["encoder.conv1.weight"].dtype == np.float32
assert np.array_equal(t["encoder.conv1.weight"].ravel(), np.arange(24, dtype=np.float32) * 0.25 - 3.0)
assert np.array_equal(t["c"], np.array([0.1, -0.1, 0.5], dtype=np.float32))
assert t["R"].shape == () and t["R"] == np.float32(2.5)
with safe_open(path, framework="numpy") as f:
    assert f.metadata() == {"method": "dsvdd"}, f.metadata()
print(f"{path}: read by the reference safetensors reader, all values match")
