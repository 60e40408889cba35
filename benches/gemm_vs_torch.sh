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
python3 "$(dirname "$0")/ratio_table.py" "$OUT" GFLOP/s product
rm -r "$OUT"
