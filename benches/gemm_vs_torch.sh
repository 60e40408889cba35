#!/bin/sh
# Interleaved GEMM comparison at 512³ and 1024³: ours (the `gemm` bench's plain-loop lines,
# criterion skipped), `torch.matmul` (`benches/torch_kernels.py`), three times each on THREADS
# threads, then the median of the three ratios.
# Usage: benches/gemm_vs_torch.sh [OURS_BINARY] [THREADS]
#   OURS_BINARY defaults to the bench built by `cargo bench --bench gemm --no-run`;
#   PYTHON defaults to $HOME/torch-ref/bin/python.
set -eu
OURS=${1:-}
THREADS=${2:-2}
PY=${PYTHON:-$HOME/torch-ref/bin/python}
if [ -z "$OURS" ]; then
  OURS=$(cargo bench --bench gemm --no-run --message-format=json 2>/dev/null \
    | sed -n 's/.*"executable":"\([^"]*gemm[^"]*\)".*/\1/p' | tail -1)
fi
OUT=$(mktemp -d)
for i in 1 2 3; do
  # A filter that matches no criterion benchmark leaves only the plain GFLOP/s lines.
  RAYON_NUM_THREADS=$THREADS "$OURS" --bench no-criterion-benchmark > "$OUT/ours.$i"
  TORCH_THREADS=$THREADS "$PY" "$(dirname "$0")/torch_kernels.py" gemm > "$OUT/torch.$i"
done
python3 - "$OUT" <<'PY'
import sys, statistics
d = sys.argv[1]
def read(p):
    return {l.split("\t")[0]: float(l.split("\t")[1].split()[0]) for l in open(p) if "\t" in l}
ours = [read(f"{d}/ours.{i}") for i in (1, 2, 3)]
torch = [read(f"{d}/torch.{i}") for i in (1, 2, 3)]
print("| product | oneclass (GFLOP/s, 3 runs) | torch.matmul (GFLOP/s, 3 runs) | median ratio |")
print("|---|---|---|---|")
for name in torch[0]:
    o = [r[name] for r in ours]; t = [r[name] for r in torch]
    ratio = statistics.median(a / b for a, b in zip(o, t))
    fmt = lambda v: " / ".join(f"{x:.0f}" for x in v)
    print(f"| {name} | {fmt(o)} | {fmt(t)} | {ratio:.2f}× |")
PY
rm -r "$OUT"
