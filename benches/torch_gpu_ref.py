"""The GPU's measured peaks (FP32 and fp16 matmul, copy bandwidth, cuDNN conv) and PyTorch CUDA
inference in fp32 and fp16, for the GPU table of benches/README.md.
Usage: python3 benches/torch_gpu_ref.py   (needs CUDA; finds torch_ref_bench.py in ../shared/tools
or beside this file, e.g. when both are carried to a device machine)."""
import os, sys, time, statistics, torch, torch.nn.functional as F
here = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [here, os.path.join(here, '..', '..', 'shared', 'tools')]
import torch_ref_bench as R
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
dev = 'cuda'
def timeit(f, reps=20):
    for _ in range(3): f()
    torch.cuda.synchronize(); ts = []
    for _ in range(reps):
        t = time.perf_counter(); f(); torch.cuda.synchronize(); ts.append(time.perf_counter() - t)
    return statistics.median(ts)
print('device', torch.cuda.get_device_name(), 'torch', torch.__version__)
for n in (512, 1024, 8192):
    a = torch.rand(n, n, device=dev); b = torch.rand(n, n, device=dev)
    t = timeit(lambda: a @ b, 10 if n == 8192 else 50)
    print(f'torch_matmul_fp32_noTF32_{n}\t{2*n**3/t/1e9:.0f} GFLOP/s')
a = torch.rand(8192, 8192, device=dev, dtype=torch.half); b = torch.rand_like(a)
print(f'torch_matmul_fp16_8192\t{2*8192**3/timeit(lambda: a @ b, 10)/1e9:.0f} GFLOP/s')
x = torch.rand(256 * 1024 * 1024, device=dev)
t = timeit(lambda: x.clone(), 10)
print(f'torch_copy_f32_1GiB\t{2*x.numel()*4/t/1e9:.0f} GB/s (read+write)')
x = torch.rand(200, 32, 16, 16, device=dev); w = torch.rand(64, 32, 5, 5, device=dev)
fl = 2 * 200 * 64 * 16 * 16 * 32 * 25
print(f'torch_conv_cifar2_fwd_fp32_noTF32\t{fl/timeit(lambda: F.conv2d(x, w, padding=2))/1e9:.0f} GFLOP/s')
with torch.no_grad():
    for name, net, shape in (('mnist', R.MnistLeNet(), (1, 28, 28)), ('cifar', R.CifarLeNet(), (3, 32, 32))):
        net = net.to(dev).eval(); x = torch.rand(1000, *shape, device=dev)
        print(f'torch_{name}_lenet_infer_b1000_fp32\t{1000/timeit(lambda: net(x)):.1f} samples/s')
        nh = net.half(); xh = x.half()
        print(f'torch_{name}_lenet_infer_b1000_fp16\t{1000/timeit(lambda: nh(xh)):.1f} samples/s')
