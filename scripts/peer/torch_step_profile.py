"""PyTorch's side of a CPU-scale SiamFC training step, for the engines report (issue 15): the shipped CPU-scale
network's shapes (×0.25 AlexNet-style backbone, exemplar 65, search 121, batch 8, BN batch statistics, SGD with
momentum), random weights. Prints the step's median and best wall time, optionally after an idle pause before each
step (--gap, seconds: what bench:peer's pauses between engines cost), and with --profile torch.profiler's per-op table.

    /usr/bin/python3 scripts/peer/torch_step_profile.py [--threads 1] [--gap 0] [--steps 20] [--profile]
"""
import argparse
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
p.add_argument("--threads", type=int, default=1)
p.add_argument("--gap", type=float, default=0.0)
p.add_argument("--steps", type=int, default=20)
p.add_argument("--profile", action="store_true")
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(1)
net = nn.Sequential(
    nn.Conv2d(3, 24, 5, 2), nn.BatchNorm2d(24), nn.ReLU(), nn.MaxPool2d(3, 2),
    nn.Conv2d(24, 64, 5), nn.BatchNorm2d(64), nn.ReLU(),
    nn.Conv2d(64, 96, 3), nn.BatchNorm2d(96), nn.ReLU(),
    nn.Conv2d(96, 64, 3))
z = torch.rand(8, 3, 65, 65) * 255
x = torch.rand(8, 3, 121, 121) * 255
opt = torch.optim.SGD(net.parameters(), lr=1e-3, momentum=0.9, weight_decay=5e-4)


def step():
    fz, fx = net(z), net(x)
    r = F.conv2d(fx.reshape(1, -1, fx.size(2), fx.size(3)), fz, groups=8).reshape(8, 1, fx.size(2) - fz.size(2) + 1, -1)
    loss = F.binary_cross_entropy_with_logits(r, torch.zeros_like(r))
    opt.zero_grad()
    loss.backward()
    opt.step()


for _ in range(3):
    step()
times = []
for _ in range(a.steps):
    if a.gap > 0:
        time.sleep(a.gap)
    t0 = time.perf_counter()
    step()
    times.append((time.perf_counter() - t0) * 1000)
times.sort()
print(f"torch {torch.__version__}, {a.threads} thread(s), gap {a.gap} s: step median {times[len(times) // 2]:.1f} ms, best {times[0]:.1f} ms")
if a.profile:
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(5):
            step()
    print("per-op totals over 5 steps:")
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=14))
