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
python3 "$(dirname "$0")/ratio_table.py" "$OUT" samples/s workload
rm -r "$OUT"
