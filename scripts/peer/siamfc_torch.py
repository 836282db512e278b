#!/usr/bin/env python3
"""The PyTorch peer of `npm run bench:peer` (scripts/bench-peer.ts): SiamFC as siamfc-pytorch
(github.com/huanglianghua/siamfc-pytorch) runs it, on our exported weights (scripts/peer/peer-weights.ts).

- Network: Conv2d -> BatchNorm2d -> ReLU -> MaxPool2d as the exported layer list says (BN not folded, eval mode for
  tracking, batch statistics for training), the xcorr head `F.conv2d(x, z) * out_scale` (`_fast_xcorr`).
- Per frame (`TrackerSiamFC.update`): `scale_num` search crops (`crop_and_resize`: round size and corners, pad with the
  image's average colour, bilinear resize), one forward pass over the scales, responses upsampled x response_up
  bicubic, scale penalty, (r - min) / sum, Hann window blend, displacement, damped scale update. siamfc-pytorch crops
  and upsamples with cv2; Debian's python3-torch has no cv2, so those are the equivalent torch ops
  (F.interpolate bilinear / bicubic, align_corners=False: cv2's half-pixel mapping, a = -0.75 cubic).
- Training step (`TrackerSiamFC.train_step`): batch of exemplar and search crops, balanced logistic loss,
  SGD momentum 0.9, weight decay 5e-4, backward, step.

A worker: reads one JSON command per line on stdin, answers one JSON line on stdout.
  python3 siamfc_torch.py --weights net.json --threads 2
Commands: info, respond {z, x, k, out}, track {frames, count, width, height, box, n}, train {batch, n}, rss, quit.
Exit code 3 with a JSON line {"ok": false, "missing": ...} when torch or numpy cannot be imported.
"""
import json
import math
import sys
import time


def memory_mb():
    """VmRSS and VmHWM (peak) of this process in MB (Linux), else zeros."""
    out = {"rssMb": 0.0, "peakMb": 0.0}
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    out["rssMb"] = int(line.split()[1]) / 1024
                elif line.startswith("VmHWM:"):
                    out["peakMb"] = int(line.split()[1]) / 1024
    except OSError:
        pass
    return out


try:
    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as e:  # the bench reports this and exits 0
    print(json.dumps({"ok": False, "missing": str(e)}), flush=True)
    sys.exit(3)


def load_net(path):
    """The exported network as an nn.Sequential (eval mode) and its manifest."""
    with open(path) as f:
        m = json.load(f)
    if m.get("format") != "rot-track/peer-weights@1":
        raise ValueError(f"{path}: format {m.get('format')!r}, expected 'rot-track/peer-weights@1'")
    data = np.fromfile(path[: -len(".json")] + ".f32", dtype="<f4")
    if data.size != m["values"]:
        raise ValueError(f"{path}: the .f32 file holds {data.size} values, the manifest says {m['values']}")

    def tensor(ref):
        n = math.prod(ref["shape"])
        return torch.from_numpy(data[ref["offset"]: ref["offset"] + n].reshape(ref["shape"]).copy())

    layers = []
    for l in m["layers"]:
        if l["type"] == "conv":
            c = nn.Conv2d(l["in"], l["out"], l["kernel"], l["stride"], groups=l["groups"], bias=l["bias"] is not None)
            with torch.no_grad():
                c.weight.copy_(tensor(l["weight"]))
                if l["bias"] is not None:
                    c.bias.copy_(tensor(l["bias"]))
            layers.append(c)
            if l["bn"] is not None:
                b = nn.BatchNorm2d(l["out"], eps=m["bnEps"], momentum=m["bnMomentum"])
                with torch.no_grad():
                    b.weight.copy_(tensor(l["bn"]["gamma"]))
                    b.bias.copy_(tensor(l["bn"]["beta"]))
                    b.running_mean.copy_(tensor(l["bn"]["mean"]))
                    b.running_var.copy_(tensor(l["bn"]["var"]))
                layers.append(b)
            if l["act"] == "relu":
                layers.append(nn.ReLU(inplace=True))
            elif l["act"] == "elu":
                layers.append(nn.ELU(inplace=True))
        elif l["type"] == "maxpool":
            layers.append(nn.MaxPool2d(l["size"], l["stride"]))
        elif l["type"] == "avgpool":
            layers.append(nn.AvgPool2d(l["size"], l["stride"]))
        else:
            raise ValueError(f"{path}: layer type {l['type']!r} not implemented")
    return m, nn.Sequential(*layers).eval()


def xcorr(z, x, out_scale):
    """siamfc-pytorch `_fast_xcorr`: each exemplar's features over its own search maps -> [B*k, 1, r, r]."""
    nz = z.size(0)
    nx, c, h, w = x.size()
    out = F.conv2d(x.view(-1, nz * c, h, w), z, groups=nz)
    return out.view(nx, -1, out.size(-2), out.size(-1)) * out_scale


def nhwc(path, k, size):
    """k crops [k, size, size, 3] float32 (our crop buffer) -> NCHW tensor."""
    a = np.fromfile(path, dtype="<f4").reshape(k, size, size, 3)
    return torch.from_numpy(a).permute(0, 3, 1, 2).contiguous()


def crop_and_resize(img, cy, cx, size, out_size, avg):
    """siamfc-pytorch `ops.crop_and_resize` on a float32 [H, W, 3] tensor: [3, out, out] float32."""
    size = int(np.round(size))
    y0 = int(np.round(cy - (size - 1) / 2))
    x0 = int(np.round(cx - (size - 1) / 2))
    H, W = img.shape[0], img.shape[1]
    ya, yb = max(0, y0), min(H, y0 + size)
    xa, xb = max(0, x0), min(W, x0 + size)
    if ya == y0 and xa == x0 and yb == y0 + size and xb == x0 + size:
        patch = img[y0: y0 + size, x0: x0 + size]
    else:
        patch = avg.expand(size, size, 3).clone()
        if ya < yb and xa < xb:
            patch[ya - y0: yb - y0, xa - x0: xb - x0] = img[ya:yb, xa:xb]
    patch = patch.permute(2, 0, 1).unsqueeze(0)
    return F.interpolate(patch, size=(out_size, out_size), mode="bilinear", align_corners=False)[0]


class Tracker:
    """`TrackerSiamFC.init` / `update` on the exported network."""

    def __init__(self, net, m):
        self.net, self.m = net, m
        t = m["tracker"]
        self.cfg = t
        n = t["scaleNum"]
        self.scale_factors = t["scaleStep"] ** np.linspace(-(n // 2), n // 2, n)
        self.upscale = t["responseUp"] * m["responseSize"]
        h = np.hanning(self.upscale)
        self.hann = np.outer(h, h)
        self.hann /= self.hann.sum()

    @torch.no_grad()
    def init(self, img, box):
        x, y, w, h = box
        self.center = np.array([y + (h - 1) / 2, x + (w - 1) / 2])
        self.target_sz = np.array([h, w], dtype=np.float64)
        context = self.cfg["context"] * np.sum(self.target_sz)
        self.z_sz = np.sqrt(np.prod(self.target_sz + context))
        self.x_sz = self.z_sz * self.m["instanceSize"] / self.m["exemplarSize"]
        im = torch.from_numpy(img).float()
        self.avg = im.mean(dim=(0, 1))
        z = crop_and_resize(im, self.center[0], self.center[1], self.z_sz, self.m["exemplarSize"], self.avg)
        self.kernel = self.net(z.unsqueeze(0))

    @torch.no_grad()
    def update(self, img):
        im = torch.from_numpy(img).float()
        X = self.m["instanceSize"]
        x = torch.stack([crop_and_resize(im, self.center[0], self.center[1], self.x_sz * f, X, self.avg)
                         for f in self.scale_factors])
        responses = xcorr(self.kernel, self.net(x), self.m["outScale"])
        responses = F.interpolate(responses, size=(self.upscale, self.upscale), mode="bicubic",
                                  align_corners=False)[:, 0].numpy()
        n = len(self.scale_factors)
        responses[: n // 2] *= self.cfg["scalePenalty"]
        responses[n // 2 + 1:] *= self.cfg["scalePenalty"]
        scale_id = int(np.argmax(np.amax(responses, axis=(1, 2))))
        response = responses[scale_id]
        response -= response.min()
        response /= response.sum() + 1e-16
        wi = self.cfg["windowInfluence"]
        response = (1 - wi) * response + wi * self.hann
        loc = np.unravel_index(response.argmax(), response.shape)
        disp = (np.array(loc) - (self.upscale - 1) / 2) * self.m["stride"] / self.cfg["responseUp"]
        disp = disp * self.x_sz * self.scale_factors[scale_id] / X
        self.center += disp
        lr = self.cfg["scaleLr"]
        scale = (1 - lr) * 1.0 + lr * self.scale_factors[scale_id]
        self.target_sz *= scale
        self.z_sz *= scale
        self.x_sz *= scale
        return [self.center[1] + 1 - (self.target_sz[1] + 1) / 2, self.center[0] + 1 - (self.target_sz[0] + 1) / 2,
                self.target_sz[1], self.target_sz[0]]


class TrainStep:
    """One siamfc-pytorch training step on random crops: forward both branches (BN batch statistics), balanced
    logistic loss, backward, SGD(momentum 0.9, weight decay 5e-4) step. A copy of the network (the tracker's stays)."""

    def __init__(self, path, batch):
        m, net = load_net(path)
        self.m, self.net = m, net.train()
        E, s = m["exemplarSize"], m["stride"]
        S = m["instanceSize"] - 2 * s  # siamfc-pytorch: 255 -> 239
        g = torch.Generator().manual_seed(1)
        self.z = torch.rand(batch, 3, E, E, generator=g) * 255
        self.x = torch.rand(batch, 3, S, S, generator=g) * 255
        with torch.no_grad():
            r = xcorr(net(self.z[:1]), net(self.x[:1]), 1).size(-1)
        c = (r - 1) / 2
        ii, jj = np.meshgrid(np.arange(r) - c, np.arange(r) - c, indexing="ij")
        labels = (np.abs(ii) + np.abs(jj) <= 2).astype(np.float32)  # r_pos 16 px / stride 8 = 2 cells (L1)
        self.labels = torch.from_numpy(labels).expand(batch, 1, r, r).contiguous()
        pos, neg = self.labels == 1, self.labels == 0
        w = torch.zeros_like(self.labels)
        w[pos] = 1 / pos.sum()
        w[neg] = 1 / neg.sum()
        self.weight = w / w.sum()
        self.opt = torch.optim.SGD(net.parameters(), lr=1e-3, momentum=0.9, weight_decay=5e-4)
        self.response_size = r

    def step(self):
        responses = xcorr(self.net(self.z), self.net(self.x), self.m["outScale"])
        loss = F.binary_cross_entropy_with_logits(responses, self.labels, self.weight, reduction="sum")
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        return float(loss)


def main():
    import argparse

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--weights", required=True)
    p.add_argument("--threads", type=int, default=0)
    a = p.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    m, net = load_net(a.weights)
    tracker, frames, box, index, train = None, None, None, 0, None
    print(json.dumps({"ok": True, "torch": torch.__version__, "threads": torch.get_num_threads()}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        cmd = json.loads(line)
        c = cmd["cmd"]
        try:
            if c == "respond":
                X, E, k = m["instanceSize"], m["exemplarSize"], cmd["k"]
                with torch.no_grad():
                    z = net(nhwc(cmd["z"], 1, E))
                    r = xcorr(z, net(nhwc(cmd["x"], k, X)), m["outScale"])
                r[:, 0].numpy().astype("<f4").tofile(cmd["out"])
                reply = {"ok": True}
            elif c == "track":
                if frames is None:
                    frames = np.fromfile(cmd["frames"], dtype=np.uint8).reshape(cmd["count"], cmd["height"], cmd["width"], 3)
                    box = cmd["box"]
                    tracker = Tracker(net, m)
                times = []
                for _ in range(cmd["n"]):
                    if index == 0 or index >= len(frames):
                        tracker.init(frames[0], box)  # (re)start the sequence: not timed, as in bench:engines
                        index = 1
                    t0 = time.perf_counter()
                    tracker.update(frames[index])
                    times.append((time.perf_counter() - t0) * 1000)
                    index += 1
                reply = {"ok": True, "times": times}
            elif c == "train":
                if train is None:
                    train = TrainStep(a.weights, cmd["batch"])
                times, losses = [], []
                for _ in range(cmd["n"]):
                    t0 = time.perf_counter()
                    losses.append(train.step())
                    times.append((time.perf_counter() - t0) * 1000)
                reply = {"ok": True, "times": times, "loss": losses[-1], "responseSize": train.response_size}
            elif c == "rss":
                reply = {"ok": True, **memory_mb()}
            elif c == "quit":
                print(json.dumps({"ok": True}), flush=True)
                return
            else:
                reply = {"ok": False, "error": f"unknown command {c!r}"}
        except Exception as e:  # noqa: BLE001 - the bench prints it
            reply = {"ok": False, "error": f"{type(e).__name__}: {e}"}
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
