#!/usr/bin/env python3
"""PyTorch (CPU) twin of Likewise's `tiny` UNet + text encoder, for `pnpm bench train-throughput`.

The same architecture as packages/kto/src/model/{unet,text-encoder,blocks}.ts: conv_in, levels of
ResBlocks (GN -> SiLU -> conv3x3 -> +Dense(SiLU(temb)) -> GN -> SiLU -> conv3x3, 1x1 skip when the
width changes), stride-2 down-convs, mid ResBlock -> GN + cross-attention -> ResBlock, up path with
skip concat and nearest-2x + conv3x3, GN -> SiLU -> conv_out; a 1-layer pre-LN transformer text
encoder with learned token + position embeddings. One training step = forward, MSE on eps, backward,
Adam update, the same as the tfjs step. Prints one JSON line with per-step timings.

usage: train_unet.py --size 32 --batch 16 --steps 8 --warmup 2 --threads 2 [--config JSON]
"""
import argparse
import json
import math
import resource
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class ResBlock(nn.Module):
    def __init__(self, cin, cout, tdim, groups):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, cin, eps=1e-5)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.temb = nn.Linear(tdim, cout)
        self.norm2 = nn.GroupNorm(groups, cout, eps=1e-5)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x, temb_act):
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.temb(temb_act)[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return (self.skip(x) if self.skip is not None else x) + h


class Attention(nn.Module):
    def __init__(self, dq, dk, width, heads):
        super().__init__()
        self.q, self.k, self.v, self.o = nn.Linear(dq, width), nn.Linear(dk, width), nn.Linear(dk, width), nn.Linear(width, width)
        self.heads = heads

    def forward(self, query, context):
        n, lq, _ = query.shape
        lk = context.shape[1]
        w = self.q.out_features
        dh = w // self.heads
        q = self.q(query).reshape(n, lq, self.heads, dh).transpose(1, 2)
        k = self.k(context).reshape(n, lk, self.heads, dh).transpose(1, 2)
        v = self.v(context).reshape(n, lk, self.heads, dh).transpose(1, 2)
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(dh), dim=-1)
        return self.o((att @ v).transpose(1, 2).reshape(n, lq, w))


class CrossAttentionBlock(nn.Module):
    def __init__(self, c, dk, heads, groups):
        super().__init__()
        self.norm = nn.GroupNorm(groups, c, eps=1e-5)
        self.attn = Attention(c, dk, c, heads)

    def forward(self, x, context):
        n, c, h, w = x.shape
        seq = self.norm(x).reshape(n, c, h * w).transpose(1, 2)
        return x + self.attn(seq, context).transpose(1, 2).reshape(n, c, h, w)


class TextEncoder(nn.Module):
    def __init__(self, t):
        super().__init__()
        d = t["dim"]
        self.tok = nn.Embedding(t["vocabSize"], d)
        self.pos = nn.Parameter(torch.randn(t["contextLength"], d) * 0.02)
        self.layers = nn.ModuleList()
        for _ in range(t["layers"]):
            self.layers.append(nn.ModuleDict({
                "ln1": nn.LayerNorm(d), "attn": Attention(d, d, d, t["heads"]), "ln2": nn.LayerNorm(d),
                "fc1": nn.Linear(d, d * t["mlpRatio"]), "fc2": nn.Linear(d * t["mlpRatio"], d),
            }))
        self.ln_final = nn.LayerNorm(d)

    def forward(self, tokens):
        h = self.tok(tokens) + self.pos
        for l in self.layers:
            a = l["ln1"](h)
            h = h + l["attn"](a, a)
            h = h + l["fc2"](F.silu(l["fc1"](l["ln2"](h))))
        return self.ln_final(h)


class UNet(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        ch, nres, g, tdim = cfg["channels"], cfg["blocksPerLevel"], cfg["groups"], cfg["timeHiddenDim"]
        K = len(ch)
        self.cfg = cfg
        dk, heads = cfg["text"]["dim"], cfg["attentionHeads"]
        self.text = TextEncoder(cfg["text"])
        self.fc1 = nn.Linear(cfg["timeEmbedDim"], tdim)
        self.fc2 = nn.Linear(tdim, tdim)
        self.conv_in = nn.Conv2d(3, ch[0], 3, padding=1)
        self.down = nn.ModuleList()
        cur = ch[0]
        skips = []
        for l in range(K):
            blocks = nn.ModuleList()
            for _ in range(nres):
                blocks.append(ResBlock(cur, ch[l], tdim, g))
                cur = ch[l]
                if l in cfg["attentionLevels"]:
                    blocks.append(CrossAttentionBlock(cur, dk, heads, g))
            skips.append(cur)
            ds = nn.Conv2d(cur, cur, 3, stride=2, padding=1) if l < K - 1 else None
            self.down.append(nn.ModuleDict({"blocks": blocks, **({"ds": ds} if ds is not None else {})}))
        self.mid0 = ResBlock(cur, cur, tdim, g)
        self.mid_attn = CrossAttentionBlock(cur, dk, heads, g) if cfg["midAttention"] else None
        self.mid1 = ResBlock(cur, cur, tdim, g)
        self.up = nn.ModuleList()
        for l in reversed(range(K)):
            cur += skips[l]
            blocks = nn.ModuleList()
            for _ in range(nres):
                blocks.append(ResBlock(cur, ch[l], tdim, g))
                cur = ch[l]
                if l in cfg["attentionLevels"]:
                    blocks.append(CrossAttentionBlock(cur, dk, heads, g))
            us = nn.Conv2d(cur, cur, 3, padding=1) if l > 0 else None
            self.up.append(nn.ModuleDict({"blocks": blocks, **({"us": us} if us is not None else {})}))
        self.out_norm = nn.GroupNorm(g, cur, eps=1e-5)
        self.conv_out = nn.Conv2d(cur, 3, 3, padding=1)

    def timestep_embedding(self, t):
        half = self.cfg["timeEmbedDim"] // 2
        f = torch.exp(-math.log(10000) * torch.arange(half, dtype=torch.float32) / half)
        a = t[:, None] * f[None, :]
        return torch.cat([torch.sin(a), torch.cos(a)], dim=1)

    def forward(self, tokens, x, t):
        ctx = self.text(tokens)
        temb = self.fc2(F.silu(self.fc1(self.timestep_embedding(t))))
        ta = F.silu(temb)
        h = self.conv_in(x)
        skips = []
        for lvl in self.down:
            for b in lvl["blocks"]:
                h = b(h, ta) if isinstance(b, ResBlock) else b(h, ctx)
            skips.append(h)
            if "ds" in lvl:
                h = lvl["ds"](h)
        h = self.mid0(h, ta)
        if self.mid_attn is not None:
            h = self.mid_attn(h, ctx)
        h = self.mid1(h, ta)
        for lvl in self.up:
            h = torch.cat([h, skips.pop()], dim=1)
            for b in lvl["blocks"]:
                h = b(h, ta) if isinstance(b, ResBlock) else b(h, ctx)
            if "us" in lvl:
                h = lvl["us"](F.interpolate(h, scale_factor=2, mode="nearest"))
        return self.conv_out(F.silu(self.out_norm(h)))


DEFAULT = {
    "channels": [32, 64, 64], "blocksPerLevel": 1, "attentionLevels": [], "midAttention": True,
    "attentionHeads": 4, "groups": 8, "timeEmbedDim": 32, "timeHiddenDim": 128,
    "text": {"vocabSize": 64, "contextLength": 8, "dim": 64, "layers": 1, "heads": 4, "mlpRatio": 2},
}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--size", type=int, default=32)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--steps", type=int, default=8)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--config", type=str, default=None)
    a = p.parse_args()
    cfg = {**DEFAULT, **(json.loads(a.config) if a.config else {})}
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = UNet(cfg)
    params = sum(q.numel() for q in model.parameters())
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    L = cfg["text"]["contextLength"]
    times = []
    for i in range(a.warmup + a.steps):
        tokens = torch.randint(0, cfg["text"]["vocabSize"], (a.batch, L))
        x = torch.randn(a.batch, 3, a.size, a.size)
        eps = torch.randn_like(x)
        t = torch.randint(0, 1000, (a.batch,)).float()
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = F.mse_loss(model(tokens, x, t), eps)
        loss.backward()
        opt.step()
        dt = (time.perf_counter() - t0) * 1000
        if i >= a.warmup:
            times.append(dt)
    med = statistics.median(times)
    ru = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({
        "torch": torch.__version__, "threads": torch.get_num_threads(), "params": params,
        "size": a.size, "batch": a.batch, "stepMs": times, "medianStepMs": med, "imagesPerSecond": a.batch * 1000 / med,
        "peakRssMb": ru.ru_maxrss / 1000, "cpuMs": (ru.ru_utime + ru.ru_stime) * 1000,
    }))


if __name__ == "__main__":
    sys.exit(main())
