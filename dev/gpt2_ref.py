"""
PyTorch GPT-2 reference for the C++ trainer's tests (our own nanoGPT-style model, functional form).

The parameters are held exactly as llm.c lays them out (per-layer tensors stacked over layers), so
the checkpoint block, the gradient block and the optimizer all see the same 16 tensors:
  wte (V, C) [written padded to (Vp, C)], wpe (maxT, C), ln1w (L, C), ln1b (L, C),
  qkvw (L, 3C, C), qkvb (L, 3C), attprojw (L, C, C), attprojb (L, C), ln2w (L, C), ln2b (L, C),
  fcw (L, 4C, C), fcb (L, 4C), fcprojw (L, C, 4C), fcprojb (L, C), lnfw (C), lnfb (C)
B = batch, T = time, C = channels, V = vocab (50257), Vp = V padded to a multiple of 128 (50304),
L = layers, NH = heads, hs = C / NH. Everything is fp32; the lm_head is wte (tied) unless --untied 1.

Command lines (always Debian's python, which has torch):
  /usr/bin/python3 dev/gpt2_ref.py --out DIR [--L 2 --C 64 --NH 4 --maxT 64 --B 4 --T 64
        --seed 1337 --steps 10 --load MODEL.bin --shard SHARD.bin --untied 0]
      debug state: writes DIR/ref_model.bin (initial weights, version 3) and DIR/ref_debug_state.bin
  /usr/bin/python3 dev/gpt2_ref.py --out DIR --init-only [--init S1,S2 --seeds 1,2 --L --C --NH --maxT --untied]
      seeded init only (schemes as llmc/model/model.h): DIR/ref_model.bin, or DIR/init_<scheme>_<seed>.bin
      for several
  /usr/bin/python3 dev/gpt2_ref.py --bench N [--B 4 --T 64 --threads K --seed S --shard SHARD.bin]
      d12 (L=12, C=768, NH=12, maxT=1024) training-step timing on random data (or the shard's
      batches in order, as the C++ dataloader with -shuffle 0 reads them); constant lr 1e-3,
      wd 0.1, betas 0.9/0.95, clip 1.0; prints
      "step i ms X" per step and "bench: median_ms=.. tok_per_s=.. peak_rss_mb=.. threads=.. blas=.."
  /usr/bin/python3 dev/gpt2_ref.py --generate N --load MODEL.bin [--prompt-ids 50256,15496,11]
      greedy decoding (argmax, the lowest id among equal maxima) of N tokens after the prompt ids
      (default: <|endoftext|> alone), one full forward over the whole prefix per token; prints the
      prompt and generated ids on one line, space-separated, as ./sample_gpt2 -temp 0 -ids 1 does
  /usr/bin/python3 dev/gpt2_ref.py --probe --load MODEL.bin --shard SHARD.bin [--B --T --probe-lr LR
        --probe-wd WD --probe-clip CLIP]
      -init-probe's statistics (llmc/train/init_probe.h) for those weights and the shard's first
      batch, as init_probe.tsv lines on stdout
  /usr/bin/python3 dev/gpt2_ref.py --selfcheck
      prints PASS/FAIL lines for the checkpoint round trip (v3 and v5), attention vs a per-row
      masked-softmax reference, and the tied-gradient decomposition; exits 1 on any FAIL.

Init (--load not given): torch.manual_seed(seed), then one normal_(0, std) per contiguous tensor in
this order: wte (V, C) std 0.02; [lm_head (V, C) std 0.02, untied only]; wpe (maxT, C) std 0.02;
then for l = 0..L-1: qkvw[l] 0.02, attprojw[l] 0.02/sqrt(2L), fcw[l] 0.02, fcprojw[l] 0.02/sqrt(2L).
Biases 0, LayerNorm weights 1 and biases 0, wte padding rows 0.

Batch: with --shard, tokens[0 : B*T+1] of an llm.c shard, x = tokens[0:B*T], y = tokens[1:B*T+1],
both viewed (B, T). Without it, g = torch.Generator().manual_seed(seed + 1);
x = randint(0, V, (B, T), g) then y = randint(0, V, (B, T), g) (independent draws).

Training (debug state): `steps` AdamW steps on that one batch. lr 1e-3, betas (0.9, 0.95), eps 1e-8,
weight decay 0.1 on wte, wpe, qkvw, attprojw, fcw, fcprojw (and lm_head when untied), 0 on all
biases and LayerNorm params; torch.nn.utils.clip_grad_norm_(all params, 1.0) before each step;
lr(step) = lr*(step+1)/warmup for step < warmup (warmup = 3), else with
ratio = (step-warmup)/(steps-warmup), lr_min = lr*final_lr_frac (0.1):
lr(step) = lr_min + 0.5*(1+cos(pi*ratio))*(lr-lr_min).

ref_debug_state.bin, all little-endian, back to back (P = num_params, the checkpoint block size):
  int32   header[256]  [0]=20240327 magic, [1]=2 version, [2]=B, [3]=T, [4]=steps, [5]=V, [6]=Vp,
                       [7]=L, [8]=C, [9]=NH, [10]=maxT, [11]=warmup steps, [12]=schedule (1 cosine),
                       [13]=untied flag (0 tied, 1 untied), rest 0
  float32 hyper[16]    [0]=lr, [1]=beta1, [2]=beta2, [3]=eps, [4]=weight_decay, [5]=grad_clip,
                       [6]=final_lr_frac, rest 0
  int32   x[B*T], int32 y[B*T]
  float32 logits[B*T*V]        the V real columns only, row-major (B, T, V), at the initial weights
  float32 loss                 mean cross-entropy over the B*T positions, at the initial weights
  float32 grads[P]             d loss / d params at the initial weights, in checkpoint layout
                               (wte padded to Vp rows; padding rows' gradient is 0)
  float32 losses[steps]        the loss at the start of each step (losses[0] == loss)
  float32 norms[steps]         global grad L2 norm before clipping (clip_grad_norm_'s return)
  float32 lrs[steps]           the learning rate used at each step
  float32 final_params[P]      the weights after all steps, in checkpoint layout
  file size = 1024 + 64 + 8*B*T + 4*B*T*V + 4 + 8*P + 12*steps
  P = Vp*C + maxT*C + L*(12*C*C + 13*C) + 2*C  (+ Vp*C when untied)

Model checkpoint (docs/FORMATS.md): int32 header[256] [0]=20240326, [1]=3 (fp32) or 5 (bf16, each value
the upper 16 bits of a float32), [2]=maxT, [3]=V, [4]=L, [5]=NH, [6]=C, [7]=Vp, rest 0; then the 16
tensors above in order. write_model writes version 3; read_model reads 3 and 5.
Untied extension (ours, not llm.c's): header[8] = 1 and one more tensor lm_head (Vp, C), padding rows
zero, appended after lnfb. llm.c itself cannot load such a file.
"""
import argparse
import math
import os
import resource
import statistics
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

# ----------------------------------------------------------------------------
# constants and parameter table

MODEL_MAGIC = 20240326
STATE_MAGIC = 20240327
STATE_VERSION = 2
SHARD_MAGIC = 20240520
V_GPT2 = 50257
HEADER_INTS = 256

LR, BETA1, BETA2, EPS, WEIGHT_DECAY, GRAD_CLIP, FINAL_LR_FRAC, WARMUP = 1e-3, 0.9, 0.95, 1e-8, 0.1, 1.0, 0.1, 3
SCHEDULE_COSINE = 1

PARAM_NAMES = ["wte", "wpe", "ln1w", "ln1b", "qkvw", "qkvb", "attprojw", "attprojb",
               "ln2w", "ln2b", "fcw", "fcb", "fcprojw", "fcprojb", "lnfw", "lnfb"]
DECAYED = {"wte", "wpe", "qkvw", "attprojw", "fcw", "fcprojw", "lm_head"}


def padded_vocab(V):
    return (V + 127) // 128 * 128


def param_shapes(V, maxT, L, C, untied=False):
    """Shapes as held in memory (wte and lm_head are (V, C); the checkpoint pads them to Vp)."""
    shapes = {
        "wte": (V, C), "wpe": (maxT, C),
        "ln1w": (L, C), "ln1b": (L, C),
        "qkvw": (L, 3 * C, C), "qkvb": (L, 3 * C),
        "attprojw": (L, C, C), "attprojb": (L, C),
        "ln2w": (L, C), "ln2b": (L, C),
        "fcw": (L, 4 * C, C), "fcb": (L, 4 * C),
        "fcprojw": (L, C, 4 * C), "fcprojb": (L, C),
        "lnfw": (C,), "lnfb": (C,),
    }
    if untied:
        shapes["lm_head"] = (V, C)
    return shapes


def names_of(params):
    return PARAM_NAMES + (["lm_head"] if "lm_head" in params else [])


def num_params_padded(V, maxT, L, C, untied=False):
    Vp = padded_vocab(V)
    n = Vp * C + maxT * C + L * (12 * C * C + 13 * C) + 2 * C
    return n + (Vp * C if untied else 0)

# ----------------------------------------------------------------------------
# init

INIT_SCHEMES = ("nanogpt", "pytorch", "xavier-uniform", "xavier-normal", "kaiming-uniform",
                "kaiming-normal", "uniform:A", "normal:STD", "small-init", "neox", "megatron",
                "olmo-mitchell", "fan-in-trunc", "zero-out", "mup")

# muP (llmc/model/model.h): the base width C0 of the model being built or loaded; 0 = standard
# parametrization. Set by --mup-base (from-scratch models) or by read_model (header[9]).
MUP = {"base": 0, "zero_q": False}


def mup_ratio(C):
    """C0 / C under muP, else 1: the readout multiplier and the hidden weights' lr multiplier."""
    return MUP["base"] / C if MUP["base"] else 1.0


def attention_scale(hs):
    return 1.0 / hs if MUP["base"] else 1.0 / math.sqrt(hs)


def trunc(w, std, k):
    """N(0, std) truncated at +-k std, as the codebases that use it call torch."""
    torch.nn.init.trunc_normal_(w, mean=0.0, std=std, a=-k * std, b=k * std)


def init_embedding(w, scheme, C):
    """wte / wpe: nn.Embedding's N(0, 1) for "pytorch", the scheme's own for the LLM schemes,
    N(0, 0.02) otherwise."""
    if scheme == "pytorch":
        w.normal_(0.0, 1.0)
    elif scheme in ("small-init", "neox"):
        w.normal_(0.0, math.sqrt(2 / (5 * C)))
    elif scheme == "megatron":
        trunc(w, 0.02, 3)
    elif scheme == "olmo-mitchell":
        trunc(w, 1 / math.sqrt(C), 3)
    else:
        w.normal_(0.0, 0.02)


def init_linear(w, scheme, resid, L, l=0, C=None):
    """Draw one Linear-like (out, in) weight with torch.nn.init, as the scheme says (l: its
    layer, C: the model width, for the schemes that use them)."""
    nn_init = torch.nn.init
    fan_in = w.shape[1]
    C = C or fan_in
    if scheme == "mup":  # hidden weights: variance ~ 1/fan_in, nanogpt's at C = C0
        std = 0.02 * math.sqrt(MUP["base"] / C)
        w.normal_(0.0, std / math.sqrt(2 * L) if resid else std)
    elif scheme in ("nanogpt", "zero-out"):
        w.normal_(0.0, 0.02 / math.sqrt(2 * L) if resid else 0.02)
        if scheme == "zero-out" and resid:
            w.zero_()  # drawn first, so the rest of the stream is nanogpt's
    elif scheme == "small-init":
        w.normal_(0.0, math.sqrt(2 / (5 * C)))
    elif scheme == "neox":
        w.normal_(0.0, 2 / (L * math.sqrt(C)) if resid else math.sqrt(2 / (5 * C)))
    elif scheme == "megatron":
        trunc(w, 0.02 / math.sqrt(2 * L) if resid else 0.02, 3)
    elif scheme == "olmo-mitchell":
        trunc(w, 1 / math.sqrt(2 * fan_in * (l + 1)) if resid else 1 / math.sqrt(C), 3)
    elif scheme == "fan-in-trunc":
        # variance_scaling(1.0, "fan_in", "truncated_normal"): cut at +-2 of a normal whose std is
        # sqrt(1/fan_in) / 0.8796..., the std of a unit normal truncated at +-2
        trunc(w, math.sqrt(1.0 / fan_in) / .87962566103423978, 2)
    elif scheme == "pytorch":
        nn_init.kaiming_uniform_(w, a=math.sqrt(5))      # nn.Linear.reset_parameters
    elif scheme == "xavier-uniform":
        nn_init.xavier_uniform_(w)
    elif scheme == "xavier-normal":
        nn_init.xavier_normal_(w)
    elif scheme == "kaiming-uniform":
        nn_init.kaiming_uniform_(w)
    elif scheme == "kaiming-normal":
        nn_init.kaiming_normal_(w)
    elif scheme.startswith("uniform:"):
        a = float(scheme.split(":", 1)[1])
        w.uniform_(-a, a)
    elif scheme.startswith("normal:"):
        w.normal_(0.0, float(scheme.split(":", 1)[1]))
    else:
        sys.exit(f"unknown init scheme {scheme}")


def gpt2_init(V, maxT, L, C, seed, untied=False, scheme="nanogpt"):
    """Seeded init in the C++ trainer's draw order (llmc/model/model.h): wte, [lm_head], wpe, then per
    layer qkvw, [qkvb], attprojw, [attprojb], fcw, [fcb], fcprojw, [fcprojb]; biases drawn only by
    "pytorch" (nn.Linear's bias init, right after its weight). Embeddings: see init_embedding."""
    torch.manual_seed(seed)
    p = {k: torch.zeros(s, dtype=torch.float32) for k, s in param_shapes(V, maxT, L, C, untied).items()}
    init_embedding(p["wte"], scheme, C)
    if untied:
        if scheme == "mup":  # the readout: constant in width (the forward scales the logits)
            p["lm_head"].normal_(0.0, 0.02)
        else:
            init_linear(p["lm_head"], scheme, False, L, 0, C)
    init_embedding(p["wpe"], scheme, C)
    for l in range(L):
        # each per-layer slice of a stacked tensor is contiguous, so this is one draw over a
        # contiguous (3C, C) etc. tensor, exactly as a separate per-layer tensor would be drawn
        for w, b, resid in (("qkvw", "qkvb", False), ("attprojw", "attprojb", True),
                            ("fcw", "fcb", False), ("fcprojw", "fcprojb", True)):
            init_linear(p[w][l], scheme, resid, L, l, C)
            if scheme == "mup" and MUP["zero_q"] and w == "qkvw":
                p[w][l][:C].zero_()  # zero query: drawn, then cleared
            if scheme == "pytorch":
                bound = 1 / math.sqrt(p[w][l].shape[1])
                torch.nn.init.uniform_(p[b][l], -bound, bound)
    for k in ("ln1w", "ln2w", "lnfw"):
        p[k].fill_(1.0)
    return p

# ----------------------------------------------------------------------------
# forward (explicit ops; autograd provides the backward)

def attention_forward(qkv, NH):
    """qkv (B, T, 3C) -> (B, T, C). Explicit causal softmax(q k^T / sqrt(hs)) v (muP: / hs), no SDPA."""
    B, T, C3 = qkv.shape
    C = C3 // 3
    hs = C // NH
    q, k, v = qkv.split(C, dim=2)                       # q, k, v order along the 3C axis
    q = q.view(B, T, NH, hs).transpose(1, 2)            # (B, NH, T, hs); head h = channels h*hs..
    k = k.view(B, T, NH, hs).transpose(1, 2)
    v = v.view(B, T, NH, hs).transpose(1, 2)
    att = (q @ k.transpose(-2, -1)) * attention_scale(hs)     # (B, NH, T, T); muP: 1/hs
    mask = torch.ones(T, T, dtype=torch.bool).triu(1)          # True above the diagonal = future
    att = att.masked_fill(mask, float("-inf"))
    att = torch.softmax(att, dim=-1)
    y = att @ v                                                 # (B, NH, T, hs)
    return y.transpose(1, 2).contiguous().view(B, T, C)


def gpt2_forward(p, idx, NH):
    """idx (B, T) int64 -> logits (B, T, V) over the real vocab (muP: times C0 / C)."""
    B, T = idx.shape
    C = p["wte"].shape[1]
    L = len(p["qkvw"])  # stacked (L, ...) tensor, or a list of per-layer tensors (bench)
    x = F.embedding(idx, p["wte"]) + p["wpe"][:T]
    for l in range(L):
        h = F.layer_norm(x, (C,), p["ln1w"][l], p["ln1b"][l], 1e-5)
        qkv = h @ p["qkvw"][l].t() + p["qkvb"][l]
        y = attention_forward(qkv, NH)
        x = x + (y @ p["attprojw"][l].t() + p["attprojb"][l])
        h = F.layer_norm(x, (C,), p["ln2w"][l], p["ln2b"][l], 1e-5)
        h = h @ p["fcw"][l].t() + p["fcb"][l]
        h = F.gelu(h, approximate="tanh")
        x = x + (h @ p["fcprojw"][l].t() + p["fcprojb"][l])
    x = F.layer_norm(x, (C,), p["lnfw"], p["lnfb"], 1e-5)
    head = p["lm_head"] if "lm_head" in p else p["wte"]
    logits = x @ head.t()
    return logits * mup_ratio(C) if MUP["base"] else logits


def gpt2_loss(logits, targets):
    V = logits.shape[-1]
    return F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1))

# ----------------------------------------------------------------------------
# checkpoint I/O and flattening into the checkpoint layout

def flatten_padded(tensors, names, Vp):
    """Concatenate tensors (dict name -> tensor) in checkpoint order, (V, C) vocab tensors padded."""
    parts = []
    for k in names:
        t = tensors[k].detach().to(torch.float32).contiguous()
        if k in ("wte", "lm_head") and t.shape[0] < Vp:
            t = torch.cat([t, torch.zeros(Vp - t.shape[0], t.shape[1], dtype=torch.float32)], 0)
        parts.append(t.reshape(-1).numpy())
    return np.concatenate(parts).astype("<f4")


def write_model(path, p, maxT, NH):
    V, C = p["wte"].shape
    L = p["qkvw"].shape[0]
    Vp = padded_vocab(V)
    header = np.zeros(HEADER_INTS, dtype="<i4")
    header[:8] = [MODEL_MAGIC, 3, maxT, V, L, NH, C, Vp]
    if "lm_head" in p:
        header[8] = 1
    header[9] = MUP["base"]
    with open(path, "wb") as f:
        f.write(header.tobytes())
        f.write(flatten_padded(p, names_of(p), Vp).tobytes())


def read_model(path):
    """Returns (params dict, config dict). Accepts version 3 (fp32) and 5 (bf16)."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 * HEADER_INTS:
        sys.exit(f"read_model: {path}: {len(raw)} bytes, shorter than the 1024-byte header")
    h = np.frombuffer(raw[:4 * HEADER_INTS], dtype="<i4")
    if h[0] != MODEL_MAGIC:
        sys.exit(f"read_model: {path}: bad magic {h[0]} (expected {MODEL_MAGIC}); not a GPT-2 checkpoint")
    version = int(h[1])
    if version not in (3, 5):
        sys.exit(f"read_model: {path}: version {version} unsupported (3 = fp32, 5 = bf16)")
    maxT, V, L, NH, C, Vp = (int(v) for v in h[2:8])
    untied = int(h[8]) == 1
    MUP["base"] = int(h[9])  # the forward and optimizer rules of this model
    if min(maxT, V, L, NH, C) <= 0 or C % NH != 0:
        sys.exit(f"read_model: {path}: bad config maxT={maxT} V={V} L={L} NH={NH} C={C}")
    if Vp < V:
        sys.exit(f"read_model: {path}: padded vocab Vp={Vp} < V={V}")
    n = Vp * C * (2 if untied else 1) + maxT * C + L * (12 * C * C + 13 * C) + 2 * C
    elem = 4 if version == 3 else 2
    expected = 4 * HEADER_INTS + elem * n
    if len(raw) != expected:
        sys.exit(f"read_model: {path}: size {len(raw)} bytes, expected {expected} for version {version} "
                 f"with maxT={maxT} V={V} Vp={Vp} L={L} NH={NH} C={C} untied={int(untied)}")
    if version == 3:
        flat = np.frombuffer(raw[4 * HEADER_INTS:], dtype="<f4").copy()
    else:
        bf = np.frombuffer(raw[4 * HEADER_INTS:], dtype="<u2").astype(np.uint32) << 16
        flat = bf.view(np.float32).copy()
    shapes = param_shapes(V, maxT, L, C, untied)
    p, off = {}, 0
    for k in PARAM_NAMES + (["lm_head"] if untied else []):
        s = list(shapes[k])
        if k in ("wte", "lm_head"):
            s[0] = Vp
        cnt = int(np.prod(s))
        t = torch.from_numpy(flat[off:off + cnt].reshape(s).copy())
        off += cnt
        if k in ("wte", "lm_head"):
            t = t[:V].contiguous()
        p[k] = t
    cfg = dict(maxT=maxT, V=V, L=L, NH=NH, C=C, Vp=Vp, version=version, untied=untied, mup_base=MUP["base"])
    return p, cfg

# ----------------------------------------------------------------------------
# data

def read_shard_batch(path, B, T, index=0):
    """Batch `index` of a shard read in order: tokens[index*B*T : (index+1)*B*T + 1], as the C++
    dataloader serves them with shuffling off."""
    with open(path, "rb") as f:
        h = np.frombuffer(f.read(4 * HEADER_INTS), dtype="<i4")
        if len(h) != HEADER_INTS or h[0] != SHARD_MAGIC or h[1] != 1:
            sys.exit(f"read_shard_batch: {path}: not an llm.c token shard (magic/version)")
        ntok = int(h[2])
        if ntok < (index + 1) * B * T + 1:
            sys.exit(f"read_shard_batch: {path}: {ntok} tokens, batch {index} needs {(index + 1) * B * T + 1}")
        f.seek(4 * HEADER_INTS + 2 * index * B * T)
        toks = np.frombuffer(f.read(2 * (B * T + 1)), dtype="<u2").astype(np.int64)
    if len(toks) != B * T + 1:
        sys.exit(f"read_shard_batch: {path}: truncated file")
    toks = torch.from_numpy(toks)
    return toks[:B * T].view(B, T).clone(), toks[1:].view(B, T).clone()


def random_batch(B, T, V, seed):
    g = torch.Generator().manual_seed(seed + 1)
    x = torch.randint(0, V, (B, T), generator=g)
    y = torch.randint(0, V, (B, T), generator=g)
    return x, y

# ----------------------------------------------------------------------------
# optimizer

def lr_at(step, steps):
    if step < WARMUP:
        return LR * (step + 1) / WARMUP
    ratio = (step - WARMUP) / (steps - WARMUP)
    lr_min = LR * FINAL_LR_FRAC
    return lr_min + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (LR - lr_min)


def leaves(p, k):
    """The leaf tensors of parameter k: one stacked tensor, or per-layer tensors (bench)."""
    return list(p[k]) if isinstance(p[k], list) else [p[k]]


MUP_HIDDEN = {"qkvw", "attprojw", "fcw", "fcprojw"}  # matrix-like: both dimensions grow with C


def make_optimizer(p):
    """AdamW with groups by weight decay and, under muP, lr multiplier (C0/C for the hidden
    weights); set_lr applies a schedule's lr to every group times its multiplier."""
    names = names_of(p)
    mult = mup_ratio(p["wte"].shape[1])
    groups = []
    for decayed in (True, False):
        for hidden in (True, False):
            ks = [k for k in names if (k in DECAYED) == decayed and (MUP["base"] and k in MUP_HIDDEN) == hidden]
            if ks:
                groups.append({"params": [t for k in ks for t in leaves(p, k)], "weight_decay": WEIGHT_DECAY if decayed else 0.0,
                               "lr_mult": mult if hidden else 1.0})
    return torch.optim.AdamW(groups, lr=LR, betas=(BETA1, BETA2), eps=EPS,
                             foreach=False, maximize=False, capturable=False)


def set_lr(opt, lr):
    for g in opt.param_groups:
        g["lr"] = lr * g["lr_mult"]


def all_params(p):
    return [t for k in names_of(p) for t in leaves(p, k)]

# ----------------------------------------------------------------------------
# modes

def set_deterministic():
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)


def mode_debug_state(a):
    set_deterministic()
    if a.load:
        p, cfg = read_model(a.load)
        maxT, NH = cfg["maxT"], cfg["NH"]
    else:
        p = gpt2_init(V_GPT2, a.maxT, a.L, a.C, a.seed, untied=bool(a.untied), scheme=a.init)
        maxT, NH = a.maxT, a.NH
    V, C = p["wte"].shape
    L = p["qkvw"].shape[0]
    Vp = padded_vocab(V)
    B, T, steps = a.B, a.T, a.steps
    if T > maxT:
        sys.exit(f"T={T} exceeds maxT={maxT}")
    if steps < 1:
        sys.exit("--steps must be >= 1")
    x, y = read_shard_batch(a.shard, B, T) if a.shard else random_batch(B, T, V, a.seed)
    if int(x.max()) >= V or int(y.max()) >= V:
        sys.exit(f"token id >= V={V} in the batch")
    os.makedirs(a.out, exist_ok=True)
    write_model(os.path.join(a.out, "ref_model.bin"), p, maxT, NH)

    for t in p.values():
        t.requires_grad_(True)
    names = names_of(p)
    opt = make_optimizer(p)
    losses, norms, lrs = [], [], []
    logits0 = loss0 = grads0 = None
    for step in range(steps):
        opt.zero_grad(set_to_none=True)
        logits = gpt2_forward(p, x, NH)
        loss = gpt2_loss(logits, y)
        loss.backward()
        if step == 0:
            logits0 = logits.detach().numpy().astype("<f4")
            loss0 = float(loss.item())
            grads0 = flatten_padded({k: p[k].grad for k in names}, names, Vp)
        losses.append(float(loss.item()))
        norm = torch.nn.utils.clip_grad_norm_(all_params(p), GRAD_CLIP)
        norms.append(float(norm))
        lr = lr_at(step, steps)
        set_lr(opt, lr)
        lrs.append(lr)
        opt.step()

    header = np.zeros(HEADER_INTS, dtype="<i4")
    header[:14] = [STATE_MAGIC, STATE_VERSION, B, T, steps, V, Vp, L, C, NH, maxT, WARMUP,
                   SCHEDULE_COSINE, 1 if "lm_head" in p else 0]
    hyper = np.zeros(16, dtype="<f4")
    hyper[:7] = [LR, BETA1, BETA2, EPS, WEIGHT_DECAY, GRAD_CLIP, FINAL_LR_FRAC]
    path = os.path.join(a.out, "ref_debug_state.bin")
    with open(path, "wb") as f:
        for arr in (header, hyper, x.numpy().astype("<i4"), y.numpy().astype("<i4"), logits0,
                    np.array([loss0], dtype="<f4"), grads0,
                    np.array(losses, dtype="<f4"), np.array(norms, dtype="<f4"),
                    np.array(lrs, dtype="<f4"), flatten_padded(p, names, Vp)):
            f.write(np.ascontiguousarray(arr).tobytes())
    P = len(grads0)
    expect = 4 * HEADER_INTS + 64 + 8 * B * T + 4 * B * T * V + 4 + 8 * P + 12 * steps
    assert os.path.getsize(path) == expect, (os.path.getsize(path), expect)
    print(f"wrote {path} ({expect} bytes): B={B} T={T} L={L} C={C} NH={NH} V={V} Vp={Vp} "
          f"P={P} steps={steps} loss={loss0:.6f} final_loss={losses[-1]:.6f}")


def mode_init_only(a):
    """One checkpoint per (scheme, seed): DIR/ref_model.bin for a single pair, else
    DIR/init_<scheme>_<seed>.bin (':' in the scheme written as '_')."""
    schemes, seeds = a.init.split(","), [int(x) for x in str(a.seeds or a.seed).split(",")]
    os.makedirs(a.out, exist_ok=True)
    for scheme in schemes:
        for seed in seeds:
            p = gpt2_init(V_GPT2, a.maxT, a.L, a.C, seed, untied=bool(a.untied), scheme=scheme)
            name = "ref_model.bin" if len(schemes) * len(seeds) == 1 else f"init_{scheme.replace(':', '_')}_{seed}.bin"
            path = os.path.join(a.out, name)
            write_model(path, p, a.maxT, a.NH)
            print(f"wrote {path}")


def blas_word():
    cfg = torch.__config__.show()
    info = "unknown"
    for tok in cfg.replace(",", " ").split():
        if tok.startswith("BLAS_INFO="):
            info = tok.split("=", 1)[1]
    lib = ""
    for cand in ("/usr/lib/x86_64-linux-gnu/libblas.so.3", "/lib/x86_64-linux-gnu/libblas.so.3"):
        if os.path.exists(cand):
            lib = os.path.realpath(cand)
            break
    if info == "generic" and lib:
        low = lib.lower()
        kind = ("openblas" if "openblas" in low else "blis" if "blis" in low else
                "atlas" if "atlas" in low else "mkl" if "mkl" in low else
                "netlib-reference" if "/blas/" in low else os.path.basename(lib))
        return f"generic:{kind}"
    return info


def mode_bench(a):
    if a.threads:
        torch.set_num_threads(a.threads)
    L, C, NH, maxT = 12, 768, 12, 1024
    B, T = a.B, a.T
    p = gpt2_init(V_GPT2, maxT, L, C, a.seed)
    # one leaf tensor per layer and weight, as an nn.Module GPT-2 (nanoGPT) holds them: indexing
    # a stacked (L, ...) leaf would make autograd build a full-size zero gradient per layer use
    per_layer = PARAM_NAMES[2:14]  # ln1w ... fcprojb, stacked (L, ...)
    for k in list(p):
        if k in per_layer:
            p[k] = [t.clone().requires_grad_(True) for t in p[k]]
        else:
            p[k].requires_grad_(True)
    opt = make_optimizer(p)
    x, y = random_batch(B, T, V_GPT2, a.seed)
    times = []
    for step in range(a.bench + 2):
        if a.shard:  # the same batches as ./train_gpt2 -shuffle 0 on this shard
            x, y = read_shard_batch(a.shard, B, T, step)
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = gpt2_loss(gpt2_forward(p, x, NH), y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(all_params(p), GRAD_CLIP)
        for g in opt.param_groups:
            g["lr"] = LR
        opt.step()
        ms = (time.perf_counter() - t0) * 1e3
        times.append(ms)
        print(f"step {step} ms {ms:.1f} loss {loss.item():.4f}", flush=True)
    tail = times[2:] if len(times) > 2 else times
    med = statistics.median(tail)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"bench: median_ms={med:.1f} tok_per_s={B * T / (med / 1e3):.1f} peak_rss_mb={rss:.0f} "
          f"threads={torch.get_num_threads()} blas={blas_word()}")

def mode_generate(a):
    """Greedy tokens for sample_gpt2's test (dev/test/t_sample.sh): the full forward over the
    prefix for every new token (no cache), argmax of the last row."""
    set_deterministic()
    p, cfg = read_model(a.load)
    try:
        ids = [int(x) for x in a.prompt_ids.split(",")]
    except ValueError:
        sys.exit(f"--prompt-ids {a.prompt_ids}: want comma-separated integers")
    if a.generate < 1 or min(ids) < 0 or max(ids) >= cfg["V"]:
        sys.exit(f"--generate must be positive and --prompt-ids in [0, {cfg['V']})")
    if len(ids) + a.generate > cfg["maxT"]:
        sys.exit(f"--generate {a.generate}: prompt ({len(ids)}) + generated exceed maxT={cfg['maxT']}")
    with torch.no_grad():
        for _ in range(a.generate):
            logits = gpt2_forward(p, torch.tensor([ids], dtype=torch.int64), cfg["NH"])
            ids.append(int(torch.argmax(logits[0, -1])))  # the first maximal index
    print(" ".join(str(i) for i in ids))

# ----------------------------------------------------------------------------
# self-checks

def mode_selfcheck(a):
    import tempfile
    set_deterministic()
    ok = True

    def report(name, passed, detail=""):
        nonlocal ok
        ok &= passed
        print(f"{'PASS' if passed else 'FAIL'} {name}{(' ' + detail) if detail else ''}")

    L, C, NH, maxT = 2, 32, 4, 16
    with tempfile.TemporaryDirectory() as d:
        for untied in (False, True):
            p = gpt2_init(V_GPT2, maxT, L, C, 1234, untied)
            path = os.path.join(d, "m.bin")
            write_model(path, p, maxT, NH)
            q, cfg = read_model(path)
            same = all(torch.equal(p[k], q[k]) for k in names_of(p)) and set(p) == set(q)
            size_ok = os.path.getsize(path) == 1024 + 4 * num_params_padded(V_GPT2, maxT, L, C, untied)
            report(f"checkpoint_roundtrip_v3{'_untied' if untied else ''}",
                   same and size_ok and cfg["NH"] == NH and cfg["maxT"] == maxT)
        # version 5: truncate to bf16 by hand, read back, compare with the truncated values
        p = gpt2_init(V_GPT2, maxT, L, C, 1234)
        write_model(path, p, maxT, NH)
        raw = open(path, "rb").read()
        h = np.frombuffer(raw[:1024], dtype="<i4").copy()
        h[1] = 5
        f32 = np.frombuffer(raw[1024:], dtype="<u4")
        with open(path, "wb") as f:
            f.write(h.tobytes())
            f.write((f32 >> 16).astype("<u2").tobytes())
        q, cfg = read_model(path)
        err = max(float((p[k] - q[k]).abs().max()) for k in PARAM_NAMES)
        exact = all(torch.equal(q[k], torch.from_numpy(
            ((p[k].numpy().view(np.uint32) >> 16) << 16).view(np.float32))) for k in PARAM_NAMES)
        report("checkpoint_read_v5_bf16", cfg["version"] == 5 and exact, f"max_abs_trunc_err={err:.2e}")

    # attention vs a per-query masked-softmax reference in float64
    g = torch.Generator().manual_seed(7)
    B, T = 2, 9
    qkv = torch.randn(B, T, 3 * C, generator=g)
    y = attention_forward(qkv, NH).double()
    hs = C // NH
    q, k, v = qkv.double().split(C, dim=2)
    ref = torch.zeros(B, T, C, dtype=torch.float64)
    for b in range(B):
        for h in range(NH):
            sl = slice(h * hs, (h + 1) * hs)
            for t in range(T):
                s = (k[b, :t + 1, sl] @ q[b, t, sl]) / math.sqrt(hs)
                w = torch.exp(s - s.max())
                w = w / w.sum()
                ref[b, t, sl] = w @ v[b, :t + 1, sl]
    err = float((y - ref).abs().max())
    report("attention_vs_masked_softmax", err < 1e-5, f"max_abs_err={err:.2e}")

    # tied gradient = embedding-use gradient + lm_head-use gradient
    p = gpt2_init(V_GPT2, maxT, L, C, 99)
    x, tgt = random_batch(2, 8, V_GPT2, 99)
    for t in p.values():
        t.requires_grad_(True)
    gpt2_loss(gpt2_forward(p, x, NH), tgt).backward()
    pu = {k: t.detach().clone().requires_grad_(True) for k, t in p.items()}
    pu["lm_head"] = p["wte"].detach().clone().requires_grad_(True)
    gpt2_loss(gpt2_forward(pu, x, NH), tgt).backward()
    summed = pu["wte"].grad + pu["lm_head"].grad
    err = float((p["wte"].grad - summed).abs().max())
    scale = float(p["wte"].grad.abs().max())
    emb_rows = torch.zeros(V_GPT2, dtype=torch.bool)
    emb_rows[x.reshape(-1)] = True
    emb_only_ok = bool((pu["wte"].grad[~emb_rows] == 0).all())  # embedding grad only on used rows
    report("tied_grad_decomposition", err <= 1e-6 * max(scale, 1e-30) + 1e-9 and emb_only_ok,
           f"max_abs_err={err:.2e} max_grad={scale:.2e}")
    sys.exit(0 if ok else 1)

# ----------------------------------------------------------------------------

def mode_probe(a):
    """-init-probe's statistics (llmc/train/init_probe.h) for --load's weights on the shard's first
    batch. The functional forward keeps every intermediate it computes (what forward hooks capture
    on a module), and autograd gives the gradients. Prints init_probe.tsv's lines."""
    p, cfg = read_model(a.load)
    NH, L, V, C = cfg["NH"], cfg["L"], cfg["V"], cfg["C"]
    x, y = read_shard_batch(a.shard, a.B, a.T)
    B, T = x.shape
    hs = C // NH
    for t in p.values():
        t.requires_grad_(True)
    rows = []
    rms = lambda t: t.detach().double().pow(2).mean().sqrt().item()  # noqa: E731
    h = F.embedding(x, p["wte"]) + p["wpe"][:T]
    rows.append(("block", "emb", "resid_rms", rms(h)))
    mask = torch.ones(T, T, dtype=torch.bool).triu(1)
    for l in range(L):
        a1 = F.layer_norm(h, (C,), p["ln1w"][l], p["ln1b"][l], 1e-5)
        qkv = a1 @ p["qkvw"][l].t() + p["qkvb"][l]
        q, k, v = (t.view(B, T, NH, hs).transpose(1, 2) for t in qkv.split(C, dim=2))
        s = (q @ k.transpose(-2, -1)) * attention_scale(hs)
        causal = s.detach().double()[..., ~mask]                      # (B, NH, T(T+1)/2)
        pr = torch.softmax(s.masked_fill(mask, float("-inf")), dim=-1)
        pd = pr.detach().double()
        ent = -(pd * torch.where(pd > 0, pd.log(), torch.zeros_like(pd))).sum(-1)
        att = (pr @ v).transpose(1, 2).reshape(B, T, C)
        attn_out = att @ p["attprojw"][l].t() + p["attprojb"][l]
        h = h + attn_out
        a2 = F.layer_norm(h, (C,), p["ln2w"][l], p["ln2b"][l], 1e-5)
        pre = a2 @ p["fcw"][l].t() + p["fcb"][l]
        mlp_out = F.gelu(pre, approximate="tanh") @ p["fcprojw"][l].t() + p["fcprojb"][l]
        h = h + mlp_out
        pre_d = pre.detach()
        rows += [("block", str(l), "resid_rms", rms(h)), ("block", str(l), "attn_rms", rms(attn_out)),
                 ("block", str(l), "mlp_rms", rms(mlp_out)),
                 ("block", str(l), "att_logit_std", causal.std(unbiased=False).item()),
                 ("block", str(l), "att_entropy", ent.mean().item()),
                 ("block", str(l), "att_entropy_max", math.fsum(math.log(t + 1) for t in range(T)) / T),
                 ("block", str(l), "mlp_pre_rms", rms(pre_d)),
                 ("block", str(l), "gelu_below_-3", (pre_d < -3).double().mean().item())]
    hf = F.layer_norm(h, (C,), p["lnfw"], p["lnfb"], 1e-5)
    logits = hf @ (p["lm_head"] if "lm_head" in p else p["wte"]).t() * mup_ratio(C)
    loss = gpt2_loss(logits, y)
    loss.backward()
    names = names_of(p)
    gnorm = math.sqrt(sum(p[k].grad.double().pow(2).sum().item() for k in names))
    rows = [("model", "-", "loss", loss.item()), ("model", "-", "ln_V", math.log(V)),
            ("model", "-", "logits_std", logits.detach().double().std(unbiased=False).item()),
            ("model", "-", "grad_norm", gnorm)] + rows
    for l in range(L):  # grad RMS of the layer's 12 tensors together
        g = torch.cat([p[k].grad[l].reshape(-1).double() for k in names if p[k].dim() >= 2 and p[k].shape[0] == L
                       and k not in ("wte", "wpe", "lm_head")])
        rows.append(("block", str(l), "grad_rms", g.pow(2).mean().sqrt().item()))
    lr, wd, eps, clip = a.probe_lr, a.probe_wd, 1e-8, a.probe_clip
    scale = min(1.0, clip / (gnorm + 1e-6)) if clip > 0 else 1.0
    for k in names:
        g, w = p[k].grad.double() * scale, p[k].detach().double()
        klr = lr * (mup_ratio(C) if MUP["base"] and k in MUP_HIDDEN else 1.0)
        u = klr * (g / (g.abs() + eps) + (wd * w if k in DECAYED else 0.0))
        wn = w.norm().item()
        rows.append(("tensor", k, "grad_rms", p[k].grad.double().pow(2).mean().sqrt().item()))
        rows.append(("tensor", k, "update_ratio", u.norm().item() / wn if wn > 0 else float("inf")))
    print("kind\tindex\tmetric\tvalue")
    for r in rows:
        print(f"{r[0]}\t{r[1]}\t{r[2]}\t{r[3]:.9g}")


def main():
    ap = argparse.ArgumentParser(description="PyTorch GPT-2 reference for the C++ trainer's tests")
    ap.add_argument("--out", help="output directory (debug state / init-only)")
    ap.add_argument("--L", type=int, default=2)
    ap.add_argument("--C", type=int, default=64)
    ap.add_argument("--NH", type=int, default=4)
    ap.add_argument("--maxT", type=int, default=64)
    ap.add_argument("--B", type=int, default=4)
    ap.add_argument("--T", type=int, default=64)
    ap.add_argument("--seed", type=int, default=1337)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--load", help="start from this checkpoint (version 3 or 5) instead of seeded init")
    ap.add_argument("--shard", help="take the batch from the first B*T+1 tokens of this llm.c shard")
    ap.add_argument("--untied", type=int, choices=(0, 1), default=0)
    ap.add_argument("--init-only", action="store_true")
    ap.add_argument("--init", default="nanogpt", help="init scheme(s), comma-separated for --init-only: "
                    + " | ".join(INIT_SCHEMES))
    ap.add_argument("--mup-base", type=int, default=256, help="--init mup: the base width C0")
    ap.add_argument("--mup-zero-q", type=int, choices=(0, 1), default=0, help="--init mup: zero query weights")
    ap.add_argument("--seeds", help="comma-separated seeds for --init-only (default: --seed)")
    ap.add_argument("--bench", type=int, default=0, metavar="N", help="time N+2 d12 training steps")
    ap.add_argument("--threads", type=int, default=0, help="torch threads for --bench (0: default)")
    ap.add_argument("--selfcheck", action="store_true")
    ap.add_argument("--generate", type=int, default=0, metavar="N",
                    help="greedy-decode N tokens from --load's checkpoint after --prompt-ids")
    ap.add_argument("--prompt-ids", default="50256", help="comma-separated prompt ids for --generate")
    ap.add_argument("--probe", action="store_true", help="-init-probe's statistics for --load on --shard's first batch")
    ap.add_argument("--probe-lr", type=float, default=0.0, help="--probe: the learning rate of the update ratio")
    ap.add_argument("--probe-wd", type=float, default=0.0, help="--probe: weight decay")
    ap.add_argument("--probe-clip", type=float, default=1.0, help="--probe: gradient clip")
    a = ap.parse_args()
    for k in ("L", "C", "NH", "maxT", "B", "T"):
        if getattr(a, k) <= 0:
            ap.error(f"--{k} must be positive")
    if a.C % a.NH != 0:
        ap.error("--C must be a multiple of --NH")
    if "mup" in a.init.split(","):
        if len(a.init.split(",")) != 1:
            ap.error("--init mup goes alone (its model differs from the others')")
        MUP["base"], MUP["zero_q"] = a.mup_base, bool(a.mup_zero_q)
    if a.selfcheck:
        mode_selfcheck(a)
    elif a.probe:
        if not (a.load and a.shard):
            ap.error("--probe needs --load MODEL.bin and --shard SHARD.bin")
        mode_probe(a)
    elif a.generate:
        if not a.load:
            ap.error("--generate needs --load MODEL.bin")
        mode_generate(a)
    elif a.bench:
        mode_bench(a)
    elif a.init_only:
        if not a.out:
            ap.error("--init-only needs --out")
        mode_init_only(a)
    else:
        if not a.out:
            ap.error("--out is required")
        if a.untied and a.load:
            ap.error("--untied comes from the checkpoint header when --load is given")
        mode_debug_state(a)


if __name__ == "__main__":
    main()
