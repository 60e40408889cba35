#!/bin/sh
# Interleaved throughput comparison: ours, PyTorch, ours, PyTorch, ours, PyTorch (both on
# THREADS threads), then the median of the three ratios per workload.
# Usage: benches/throughput_vs_torch.sh [OURS_BINARY] [THREADS]
#   OURS_BINARY defaults to the bench built by `cargo bench --bench throughput --no-run`;
#   PYTHON defaults to $HOME/torch-ref/bin/python, TORCH_BENCH to ../shared/tools/torch_ref_bench.py.
set -eu
OURS=${1:-}
THREADS=${2:-2}
PY=${PYTHON:-$HOME/torch-ref/bin/python}
REF=${TORCH_BENCH:-$(dirname "$0")/../../shared/tools/torch_ref_bench.py}
if [ -z "$OURS" ]; then
  OURS=$(cargo bench --bench throughput --no-run --message-format=json 2>/dev/null \
    | sed -n 's/.*"executable":"\([^"]*throughput[^"]*\)".*/\1/p' | tail -1)
fi
OUT=$(mktemp -d)
for i in 1 2 3; do
  RAYON_NUM_THREADS=$THREADS "$OURS" > "$OUT/ours.$i"
  "$PY" "$REF" "$THREADS" cpu > "$OUT/torch.$i"
done
python3 - "$OUT" <<'PY'
import sys, statistics
d = sys.argv[1]
def read(p):
    return {l.split("\t")[0]: float(l.split("\t")[1].split()[0]) for l in open(p) if "\t" in l}
ours = [read(f"{d}/ours.{i}") for i in (1, 2, 3)]
torch = [read(f"{d}/torch.{i}") for i in (1, 2, 3)]
print("| workload | oneclass (samples/s, 3 runs) | PyTorch (samples/s, 3 runs) | median ratio |")
print("|---|---|---|---|")
for name in ours[0]:
    o = [r[name] for r in ours]; t = [r[name] for r in torch]
    ratio = statistics.median(a / b for a, b in zip(o, t))
    fmt = lambda v: " / ".join(f"{x:.0f}" for x in v)
    print(f"| {name} | {fmt(o)} | {fmt(t)} | {ratio:.2f}× |")
PY
rm -r "$OUT"
