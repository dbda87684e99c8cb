#!/usr/bin/env python3
"""Roofline model of one CUDA training step (train_gpt2.cu), kernel by kernel.

For GPT-2 d12 at B=64 T=1024 in BF16 (the defaults; other shapes by flag) it lists every kernel
and matmul of one step (forward, backward, grad norm, AdamW) with its FLOPs and its minimum
device-memory bytes (each input read once, each output written once: what a kernel cannot avoid,
assuming tiles reuse through L2 and shared memory), the time each would take at the ceilings of
an H100 and an H200, what limits it (tensor / CUDA-core / SFU arithmetic, or memory), and the
step time and tok/s predicted if every kernel reaches 70% of its bound. Two attention variants:
materialized (-fa 0: cuBLAS batched products + softmax over a (B, NH, T, T) matrix in device
memory) and fused (-fa 1: flash_attention.cuh, no T x T traffic). Also the device memory each
variant needs, computed the way gpt2_memory_needed carves it (dev/test/t_roofline.sh checks the
two agree).

Rows are grouped by the names the trainer's -prof mode prints (profile.cuh); --measured FILE
reads that output (train_gpt2cu -prof N) and adds measured ms and measured/predicted per name.
dev/cuda/check_all.sh does that on a GPU.

Ceilings (--chip picks the one --measured compares against):
  H100: 790 TFLOP/s bf16 dense matmul (measured on an H200, which has the H100's SMs and clocks),
        3.35 TB/s (datasheet; a measured copy would be ~10% lower)
  H200: 790 TFLOP/s, 4.3 TB/s (device-to-device copy, counting bytes read and written, measured)
  both: 67 TFLOP/s fp32 and 34 TFLOP/s fp64 on CUDA cores, and 4.2e12 exp/tanh per second on the
        SFUs (132 SMs x 16 per clock x 1.98 GHz), all from the datasheet
Standard library only.

Usage: dev/cuda/roofline.py [--B 64 --T 1024 --L 12 --C 768 --NH 12 --V 50257 --maxT 1024]
                            [--recompute 1] [--gelu-fusion 0] [--master 1]
                            [--measured prof.log --chip H200|H100] [--names] [--summary]
"""
import argparse
import math
import re
import sys

CHIPS = {
    "H100": {"tensor": 790e12, "bw": 3.35e12, "note": "790 TFLOP/s bf16 (measured on an H200: same SMs), 3.35 TB/s (datasheet)"},
    "H200": {"tensor": 790e12, "bw": 4.3e12, "note": "790 TFLOP/s bf16, 4.3 TB/s copy (both measured on an H200)"},
}
FP32_CORE = 67e12  # CUDA-core fp32 FLOP/s (datasheet, H100/H200 SXM)
FP64_CORE = 34e12  # CUDA-core fp64
SFU = 132 * 16 * 1.98e9  # exp / tanh results per second
EFFICIENCY = 0.7
X = 2  # bytes of floatX (bf16)
F = 4  # fp32
DEVICE_ALIGN = 256
WORKSPACE = 32 << 20  # cuBLASLt workspace (matmul.cuh)
COLSUM_ROWS = 256  # column_sums.cuh
NORM_BLOCKS = 1024  # global_norm.cuh
NUM_PARAMETER_TENSORS = 17
FA_TILE = 64  # flash_attention.cuh: BR = BC = 64


class Kernel:
    """One kernel (or cuBLAS call) of the step: `calls` launches of `flops` / `bytes` each."""

    def __init__(self, op, name, calls, flops=0.0, nbytes=0.0, engine="fp32", sfu=0.0):
        self.op, self.name, self.calls = op, name, calls
        self.flops, self.bytes, self.engine, self.sfu = float(flops), float(nbytes), engine, float(sfu)

    def times(self, chip):
        """(compute s, sfu s, memory s) for all calls on a chip."""
        peak = {"tensor": CHIPS[chip]["tensor"], "fp32": FP32_CORE, "fp64": FP64_CORE}[self.engine]
        return (self.calls * self.flops / peak, self.calls * self.sfu / SFU, self.calls * self.bytes / CHIPS[chip]["bw"])

    def bound(self, chip):
        return max(self.times(chip))

    def limit(self, chip):
        t = self.times(chip)
        i = t.index(max(t))
        if i == 1:
            return "SFU (exp)"
        if i == 2:
            return "memory"
        return {"tensor": "tensor", "fp32": "fp32 ALU", "fp64": "fp64 ALU"}[self.engine]


class Config:
    def __init__(self, a):
        self.B, self.T, self.L, self.C, self.NH, self.V, self.maxT = a.B, a.T, a.L, a.C, a.NH, a.V, a.maxT
        self.Vp = (a.V + 127) // 128 * 128
        self.hs = a.C // a.NH
        self.N = a.B * a.T
        self.recompute, self.gelu_fusion, self.master = a.recompute, a.gelu_fusion, a.master

    def params(self):
        """Parameter count as the trainer's table (tied: wte has Vp rows, no lm_head)."""
        C, L = self.C, self.L
        return self.Vp * C + self.maxT * C + L * (12 * C * C + 13 * C) + 2 * C

    def matmul_params(self):
        """Weights that take part in the matmuls: the 4 per layer and the lm_head (wte)."""
        return self.L * 12 * self.C * self.C + self.Vp * self.C


def chunk_rows(N):  # encoder.cuh wte_chunk_rows
    return 256 if N <= 256 * 1024 else 1024


def mask_words(N):
    chunks = -(-N // chunk_rows(N))
    return -(-chunks // 32)


def step_kernels(cfg, flash):
    """Every kernel and matmul of one training step, in order, grouped by -prof name."""
    B, T, C, L, NH, V, Vp, N, hs = cfg.B, cfg.T, cfg.C, cfg.L, cfg.NH, cfg.V, cfg.Vp, cfg.N, cfg.hs
    P = cfg.params()
    NC = N * C
    BNH = B * NH
    TT = BNH * T * T  # elements of one (B, NH, T, T) matrix
    causal = BNH * T * (T + 1) // 2  # its elements at or below the diagonal
    ks = []

    def k(op, name, calls, flops=0, nbytes=0, engine="fp32", sfu=0):
        ks.append(Kernel(op, name, calls, flops, nbytes, engine, sfu))

    def matmul_fwd(op, K, OC, calls, bias=True, gelu_aux=False):
        out = N * OC * X * (2 if gelu_aux else 1)
        k(op, f"cuBLASLt {N}x{K} @ {K}x{OC}" + (" +bias" if bias else "") + (" +GELU aux" if gelu_aux else ""), calls,
          2 * N * K * OC, N * K * X + OC * K * X + (OC * X if bias else 0) + out, "tensor", N * OC * 2 if gelu_aux else 0)

    def matmul_bwd(op, K, OC, calls, bias=True):
        k(op, f"dinp GEMM {N}x{OC} @ {OC}x{K}", calls, 2 * N * K * OC, N * OC * X + OC * K * X + N * K * X, "tensor")
        k(op, f"dweight GEMM {OC}x{N} @ {N}x{K} (fp32 +=)", calls, 2 * N * K * OC, N * OC * X + N * K * X + 2 * OC * K * F, "tensor")
        if bias:
            k(op, "dbias column sums (partials + finish)", calls, N * OC, N * OC * X + 2 * math.ceil(N / COLSUM_ROWS) * OC * F + 2 * OC * F)

    # --- forward ---
    k("zero_grad", "memset fp32 grads", 1, 0, P * F)
    distinct = min(N, V)  # wte rows read at most once each
    k("encoder_fwd", "wte[token] + wpe[t]", 1, NC, distinct * C * X + T * C * X + NC * X)
    k("layernorm_fwd", "layernorm (ln1 of layer 0)", 1, 8 * NC, 2 * NC * X + 2 * N * F + 2 * C * X)
    matmul_fwd("matmul_qkv_fwd", C, 3 * C, L)
    if flash:
        nt = math.ceil(T / FA_TILE)
        pairs = BNH * nt * (nt + 1) // 2  # (query tile, key tile) pairs at or below the diagonal
        tile = FA_TILE * FA_TILE
        k("attention_fwd", "flash fwd: QK^T, PV per causal tile pair (WMMA)", L, pairs * 2 * 2 * tile * hs,
          3 * NC * X + NC * X + BNH * T * F, "tensor", pairs * tile)
    else:
        k("attention_fwd", "permute qkv -> q, k, v", L, 0, 6 * NC * X)
        k("attention_fwd", "QK^T batched (cuBLAS, full TxT)", L, 2 * TT * hs, 2 * NC * X + TT * X, "tensor")
        k("attention_fwd", "softmax (reads causal half, writes TxT)", L, 4 * causal, causal * X + TT * X, "fp32", 2 * causal)
        k("attention_fwd", "att @ V batched (cuBLAS, full TxT)", L, 2 * TT * hs, TT * X + 2 * NC * X, "tensor")
        k("attention_fwd", "unpermute y", L, 0, 2 * NC * X)
    matmul_fwd("matmul_attproj_fwd", C, C, L)
    k("residual_layernorm_fwd", "residual add + layernorm", 2 * L, 9 * NC, 4 * NC * X + 2 * N * F + 2 * C * X)
    if cfg.gelu_fusion:
        matmul_fwd("matmul_fc_fwd", C, 4 * C, L, gelu_aux=True)
    else:
        matmul_fwd("matmul_fc_fwd", C, 4 * C, L)
        k("gelu_fwd", "GELU (tanh)", L, 16 * 4 * NC, 2 * 4 * NC * X, "fp32", 4 * NC * 2)
    matmul_fwd("matmul_fcproj_fwd", 4 * C, C, L)
    matmul_fwd("matmul_lmhead_fwd", C, Vp, 1, bias=False)
    k("classifier_fwd", "log-sum-exp + loss per row", 1, 4 * N * V, N * V * X + 2 * N * F, "fp32", N * V * 9 / 8)
    # --- backward ---
    k("classifier_bwd", "dlogits in place", 1, 4 * N * Vp, 2 * N * Vp * X, "fp32", N * V)
    matmul_bwd("matmul_lmhead_bwd", C, Vp, 1, bias=False)
    colsum = 2 * math.ceil(N / COLSUM_ROWS) * C * F
    k("layernorm_bwd", "memset dresidual", 1, 0, NC * X)
    k("layernorm_bwd", "layernorm dinp (+=)", 2 * L + 1, 12 * NC, 4 * NC * X + 2 * N * F + C * X)
    k("layernorm_bwd", "dweight, dbias column sums + 2 finishes", 2 * L + 1, 5 * NC,
      2 * NC * X + 2 * N * F + 2 * colsum + 4 * C * F)
    if cfg.recompute:
        k("gelu_recompute", "GELU forward again (-r 1)", L, 16 * 4 * NC, 2 * 4 * NC * X, "fp32", 4 * NC * 2)
    matmul_bwd("matmul_fcproj_bwd", 4 * C, C, L)
    k("gelu_bwd", "GELU backward (in place)", L, 20 * 4 * NC, 3 * 4 * NC * X, "fp32", 4 * NC * 2)
    matmul_bwd("matmul_fc_bwd", C, 4 * C, L)
    matmul_bwd("matmul_attproj_bwd", C, C, L)
    if flash:
        k("attention_bwd", "flash bwd: delta = rowsum(dout * out)", L, 2 * NC, 2 * NC * X + BNH * T * F)
        k("attention_bwd", "flash bwd: dK, dV (4 tile products, WMMA)", L, pairs * 4 * 2 * tile * hs,
          4 * NC * X + 2 * BNH * T * F + 2 * NC * X, "tensor", pairs * tile)
        k("attention_bwd", "flash bwd: dQ (3 tile products, WMMA)", L, pairs * 3 * 2 * tile * hs,
          4 * NC * X + 2 * BNH * T * F + NC * X, "tensor", pairs * tile)
    else:
        k("attention_bwd", "permute qkv, dout -> heads", L, 0, 8 * NC * X)
        k("attention_bwd", "dAtt = dY V^T batched (cuBLAS)", L, 2 * TT * hs, 2 * NC * X + TT * X, "tensor")
        k("attention_bwd", "dV = att^T dY batched (cuBLAS)", L, 2 * TT * hs, TT * X + 2 * NC * X, "tensor")
        k("attention_bwd", "softmax backward (causal half in, TxT out)", L, 4 * causal, 2 * causal * X + TT * X)
        k("attention_bwd", "dQ = dS K batched (cuBLAS)", L, 2 * TT * hs, TT * X + 2 * NC * X, "tensor")
        k("attention_bwd", "dK = dS^T Q batched (cuBLAS)", L, 2 * TT * hs, TT * X + 2 * NC * X, "tensor")
        k("attention_bwd", "unpermute dq, dk, dv -> dqkv", L, 0, 6 * NC * X)
    matmul_bwd("matmul_qkv_bwd", C, 3 * C, L)
    k("encoder_bwd", "wpe: column sums over b", 1, NC, NC * X + 2 * T * C * F)
    k("encoder_bwd", "wte masks memset", 1, 0, V * mask_words(N) * 4)
    k("encoder_bwd", "wte chunk sums (partials; worst case)", 1, NC, NC * X + N * 4 + NC * F)
    k("encoder_bwd", "wte combine (partials in chunk order, dwte +=)", 1, NC, NC * F + N * 4 + 2 * distinct * C * F)
    # --- update ---
    k("grad_norm", "sum of squares in fp64 (partials + finish)", 1, 2 * P, P * F + NORM_BLOCKS * 8, "fp64")
    master = cfg.master
    # per parameter: read grad, m, v and the master (or the bf16 weight), write m, v, master and the bf16 copy
    k("adamw", "AdamW (m, v, fp32 master, bf16 copy)" if master else "AdamW (m, v, bf16 weights)", 1, 12 * P,
      P * (7 * F + X if master else 5 * F + 2 * X))
    return ks


def ops_in_order(ks):
    seen = []
    for kk in ks:
        if kk.op not in seen:
            seen.append(kk.op)
    return seen


def memory_bytes(cfg, flash):
    """Device bytes gpt2_build allocates (gpt2_memory_needed), by part."""
    B, T, C, L, NH, V, Vp = cfg.B, cfg.T, cfg.C, cfg.L, cfg.NH, cfg.V, cfg.Vp
    BT = B * T
    P = cfg.params()

    def carve(sizes):
        return sum((n + DEVICE_ALIGN - 1) // DEVICE_ALIGN * DEVICE_ALIGN for n in sizes)

    master = 1 if cfg.master else 0
    params = P * (X + F) + P * (2 + master) * F
    acts = carve([BT * C * X, L * BT * C * X, L * BT * F, L * BT * F, L * BT * 3 * C * X, L * BT * C * X,
                  0 if flash else L * B * NH * T * T * X, L * B * NH * T * F if flash else 0,
                  L * BT * C * X, L * BT * C * X, L * BT * F, L * BT * F, L * BT * 4 * C * X,
                  (1 if cfg.recompute else L) * BT * 4 * C * X, L * BT * C * X, BT * C * X, BT * F, BT * F, BT * C * X,
                  BT * Vp * X, BT * F, BT * F])
    qc = 0 if flash else BT * C * X
    scratch = carve([BT * C * X, BT * C * X, BT * C * X, BT * 3 * C * X, BT * 4 * C * X] + [qc] * 7 +
                    [0 if flash else B * NH * T * T * X, B * NH * T * F if flash else 0,
                     2 * math.ceil(BT / COLSUM_ROWS) * 4 * C * F, NORM_BLOCKS * 8, F, 2 * NUM_PARAMETER_TENSORS * 8])
    io = (2 * BT + V * mask_words(BT)) * 4
    att = 0 if flash else L * B * NH * T * T * X + B * NH * T * T * X
    return {"params+grads+AdamW": params, "activations": acts, "backward scratch": scratch, "io+workspace": io + WORKSPACE,
            "total": params + acts + scratch + io + WORKSPACE, "of which TxT": att}


def fmt_ms(s):
    return f"{s * 1e3:9.3f}"


def print_variant(cfg, flash, measured, chip):
    ks = step_kernels(cfg, flash)
    title = "fused FlashAttention-style (-fa 1): no TxT traffic" if flash else "materialized TxT attention (-fa 0)"
    print(f"\n== {title} ==")
    head = f"{'-prof name / kernel':<52} {'calls':>5} {'GFLOP':>9} {'GB':>8} {'FLOP/B':>7} {'limit':<10} {'H100 ms':>9} {'H200 ms':>9}"
    if measured is not None:
        head += f" {'pred ' + chip:>10} {'measured':>9} {'meas/pred':>9}"
    print(head)
    print("-" * len(head))
    tot = {"H100": 0.0, "H200": 0.0}
    tot_flops = tot_bytes = 0.0
    meas_total = 0.0
    for op in ops_in_order(ks):
        sub = [kk for kk in ks if kk.op == op]
        flops = sum(kk.calls * kk.flops for kk in sub)
        nbytes = sum(kk.calls * kk.bytes for kk in sub)
        b = {c: sum(kk.bound(c) for kk in sub) for c in tot}
        # the op's limit: its slowest kernel's (each kernel's own is on its row below)
        top = max(sub, key=lambda kk: kk.bound(chip)).limit(chip)
        calls = max(kk.calls for kk in sub)
        for c in tot:
            tot[c] += b[c]
        tot_flops += flops
        tot_bytes += nbytes
        line = (f"{op:<52} {calls:>5} {flops / 1e9:9.1f} {nbytes / 1e9:8.3f} {flops / max(nbytes, 1):7.1f} "
                f"{top:<10} {fmt_ms(b['H100'])} {fmt_ms(b['H200'])}")
        if measured is not None:
            pred = b[chip] / EFFICIENCY
            m = measured.get(op)
            line += f" {fmt_ms(pred)}"
            if m is None:
                line += f" {'(none)':>9} {'':>9}"
            else:
                meas_total += m[1]
                line += f" {m[1]:9.3f} {m[1] / 1e3 / pred:9.2f}"
        print(line)
        if len(sub) > 1 or sub[0].name:
            for kk in sub:
                print(f"  . {kk.name:<48} {kk.calls:>5} {kk.calls * kk.flops / 1e9:9.1f} {kk.calls * kk.bytes / 1e9:8.3f} "
                      f"{kk.flops / max(kk.bytes, 1):7.1f} {kk.limit(chip):<10} {fmt_ms(kk.bound('H100'))} {fmt_ms(kk.bound('H200'))}")
    print("-" * len(head))
    line = f"{'sum of the bounds (every kernel at its roofline)':<52} {'':>5} {tot_flops / 1e9:9.1f} {tot_bytes / 1e9:8.3f} {'':>7} {'':<10} {fmt_ms(tot['H100'])} {fmt_ms(tot['H200'])}"
    print(line)
    pred = {c: tot[c] / EFFICIENCY for c in tot}
    line = f"{'predicted step, each kernel at 70% of its bound':<52} {'':>5} {'':>9} {'':>8} {'':>7} {'':<10} {fmt_ms(pred['H100'])} {fmt_ms(pred['H200'])}"
    if measured is not None:
        line += f" {fmt_ms(pred[chip])} {meas_total:9.3f} {meas_total / 1e3 / pred[chip]:9.2f}"
    print(line)
    print(f"{'predicted tok/s':<52} {'':>5} {'':>9} {'':>8} {'':>7} {'':<10} {cfg.N / pred['H100']:9.0f} {cfg.N / pred['H200']:9.0f}")
    if measured is not None:
        missing = [op for op in ops_in_order(ks) if op not in measured]
        extra = [op for op in measured if op not in ops_in_order(ks)]
        if missing or extra:
            print(f"names: not measured {missing or '-'}; measured but not modelled {extra or '-'}")
    mem = memory_bytes(cfg, flash)
    parts = ", ".join(f"{k} {v / 2**30:.2f}" for k, v in mem.items() if k not in ("total", "of which TxT"))
    print(f"device memory (gpt2_memory_needed): {mem['total'] / 2**30:.2f} GiB ({parts} GiB; TxT buffers {mem['of which TxT'] / 2**30:.2f} GiB)")
    return pred


def parse_measured(path):
    """The -prof table: 'prof  NAME CALLS MS PCT' rows -> {name: (calls, ms)}, and the device line."""
    out, device = {}, None
    with open(path) as f:
        for line in f:
            m = re.match(r"^prof\s+(\S+)\s+(\d+)\s+([0-9.]+)\s+([0-9.]+)\s*$", line)
            if m:
                out[m.group(1)] = (int(m.group(2)), float(m.group(3)))
            d = re.match(r"^device: (.*?), \d+ SMs", line)
            if d:
                device = d.group(1)
    return out, device


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for name, default in (("B", 64), ("T", 1024), ("L", 12), ("C", 768), ("NH", 12), ("V", 50257), ("maxT", 1024)):
        ap.add_argument("--" + name, type=int, default=default)
    ap.add_argument("--recompute", type=int, default=1, help="-r: GELU recomputed in backward")
    ap.add_argument("--gelu-fusion", type=int, default=0, help="-ge: GELU in the matmul epilogue")
    ap.add_argument("--master", type=int, default=1, help="-w: fp32 master weights")
    ap.add_argument("--fa", type=int, choices=(0, 1), help="only this attention variant")
    ap.add_argument("--measured", help="train_gpt2cu -prof N output: adds measured vs predicted")
    ap.add_argument("--chip", choices=sorted(CHIPS), help="ceilings to compare --measured against (default: from its device line, else H200)")
    ap.add_argument("--names", action="store_true", help="print the -prof names the model knows with their marks per step, one per line")
    ap.add_argument("--summary", action="store_true", help="key=value totals (for tests)")
    a = ap.parse_args()
    cfg = Config(a)
    # a measured run is one variant: -fa 1 (the trainer's default) unless --fa says
    variants = [a.fa] if a.fa is not None else ([1] if a.measured else [0, 1])
    if a.names:  # one -prof row per name: the marks per step are its kernels' most calls
        rows = {}
        for fa in variants:
            ks = step_kernels(cfg, fa)
            for op in ops_in_order(ks):
                calls = max(kk.calls for kk in ks if kk.op == op)
                if rows.setdefault(op, calls) != calls:
                    print(f"roofline: {op} has {rows[op]} calls in one variant and {calls} in another", file=sys.stderr)
                    return 1
        print("\n".join(f"{op} {calls}" for op, calls in rows.items()))
        return 0
    if a.summary:
        for fa in variants:
            ks = step_kernels(cfg, fa)
            lin = sum(kk.calls * kk.flops for kk in ks if kk.engine == "tensor" and kk.op.startswith("matmul_"))
            att = sum(kk.calls * kk.flops for kk in ks if kk.engine == "tensor" and kk.op.startswith("attention_"))
            mem = memory_bytes(cfg, fa)
            pred = {c: sum(kk.bound(c) for kk in ks) / EFFICIENCY for c in CHIPS}
            print(f"fa{fa} params={cfg.params()} matmul_params={cfg.matmul_params()} tokens={cfg.N} "
                  f"linear_matmul_flops={lin:.0f} attention_tensor_flops={att:.0f} memory_bytes={mem['total']} "
                  f"memory_gib={mem['total'] / 2**30:.2f} memory_mib={mem['total'] / 2**20:.1f} "
                  + " ".join(f"step_ms_{c}={pred[c] * 1e3:.3f} tok_s_{c}={cfg.N / pred[c]:.0f}" for c in sorted(CHIPS)))
        return 0
    measured, device, chip = None, None, a.chip
    if a.measured:
        measured, device = parse_measured(a.measured)
        if not measured:
            print(f"roofline: no 'prof' rows in {a.measured}", file=sys.stderr)
            return 1
        if chip is None:
            chip = next((c for c in CHIPS if device and c in device), "H200")
    chip = chip or "H200"
    print(f"roofline: GPT-2 L={cfg.L} C={cfg.C} NH={cfg.NH} V={cfg.V} (Vp {cfg.Vp}), {cfg.params():,} parameters, "
          f"B={cfg.B} T={cfg.T} ({cfg.N:,} tokens) BF16, one training step "
          f"(-r {cfg.recompute} -ge {cfg.gelu_fusion} -w {cfg.master}, tied)")
    for c in sorted(CHIPS):
        print(f"  {c}: {CHIPS[c]['note']}")
    print(f"  CUDA cores (datasheet): {FP32_CORE / 1e12:.0f} TFLOP/s fp32, {FP64_CORE / 1e12:.0f} fp64; SFU {SFU / 1e12:.1f}e12 exp/s. "
          f"A kernel's bound is the largest of FLOPs/peak, exps/SFU rate and bytes/bandwidth; 'limit' names it "
          f"(limit column on {chip}). GB: minimum device-memory traffic.")
    if measured is not None:
        print(f"measured: {a.measured} ({device or 'device unknown'}), compared with {chip} at {EFFICIENCY:.0%} of each bound")
    for fa in variants:
        print_variant(cfg, fa, measured, chip)
    return 0


if __name__ == "__main__":
    sys.exit(main())
