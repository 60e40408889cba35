"""Reference throughput of PyTorch's CPU kernels, to hold oneclass's own kernels against.

Prints one line per workload, `name<TAB>X GFLOP/s`, the median over repeats after a warm-up.
Run with the same thread count as our benches (2, or `TORCH_THREADS`); the argument `gemm`
times the two matrix products only (`benches/gemm_vs_torch.sh` interleaves them with ours):

    $HOME/torch-ref/bin/python benches/torch_kernels.py [gemm]

Workloads mirror `benches/gemm.rs` (`gemm_512`, `gemm_1024`) and `benches/conv.rs` (the second
convolution of the CIFAR LeNet: batch 200, 32 -> 64 channels, 16x16, 5x5, pad 2, no bias).
"""

import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

THREADS = int(os.environ.get("TORCH_THREADS", "2"))
WARMUP = 3
REPEATS = 15


def median_seconds(fn):
    for _ in range(WARMUP):
        fn()
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def report(name, flops, fn):
    print(f"{name}\t{flops / median_seconds(fn) / 1e9:.1f} GFLOP/s", flush=True)


def bench_matmul(size):
    a = torch.randn(size, size)
    b = torch.randn(size, size)
    report(f"gemm_{size}", 2 * size**3, lambda: torch.matmul(a, b))


def bench_conv():
    batch, cin, cout, hw, ksize, pad = 200, 32, 64, 16, 5, 2
    x = torch.randn(batch, cin, hw, hw)
    w = torch.randn(cout, cin, ksize, ksize)
    grad_out = torch.randn(batch, cout, hw, hw)  # stride 1, "same" padding: output is 16x16 too
    # Each of forward, input-grad and weight-grad is one multiply-add per (output pixel, input
    # channel, kernel tap, output channel).
    flops = 2 * batch * cout * hw * hw * cin * ksize * ksize

    def backward(mask):
        # aten's own backward entry point, so each gradient is timed alone (autograd would
        # compute both, or add bookkeeping).
        return torch.ops.aten.convolution_backward(
            grad_out, x, w, None, [1, 1], [pad, pad], [1, 1], False, [0, 0], 1, mask
        )

    report("conv2d_forward", flops, lambda: F.conv2d(x, w, padding=pad))
    report("conv2d_input_grad", flops, lambda: backward([True, False, False]))
    report("conv2d_weight_grad", flops, lambda: backward([False, True, False]))


def main():
    torch.manual_seed(0)
    torch.set_num_threads(THREADS)
    with torch.no_grad():
        bench_matmul(512)
        bench_matmul(1024)
        if sys.argv[1:] != ["gemm"]:
            bench_conv()


if __name__ == "__main__":
    main()
