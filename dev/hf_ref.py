"""
Hugging Face side of our PyTorch reference, for the safetensors tests (dev/test/t_hf.sh).

It reads and writes model.safetensors + config.json with its own parser (json + numpy; the format
is an 8-byte little-endian header length, a JSON header, the data buffer), independently of
llmc/io/safetensors.h, and runs GPT-2 the way transformers' GPT2LMHeadModel does: by tensor name,
one tensor per layer, the Conv1D layers computing x @ W + b with W stored (in, out), the lm_head
tied to wte unless config.json says tie_word_embeddings false. Names may carry the
"transformer." prefix (GPT2LMHeadModel.save_pretrained) or not (GPT2Model, the pretrained files).

Command lines (Debian's python, which has torch):
  /usr/bin/python3 dev/hf_ref.py --check FILE.safetensors --bin MODEL.bin --shard SHARD.bin [--B 4 --T 64]
      Loads FILE by the Hugging Face names and layout, and MODEL.bin (llm.c's format) with
      dev/gpt2_ref.py; runs both on the shard's first batch and prints one line
      "max_abs_logit_diff D loss_hf X loss_bin Y" (D = 0 when the export kept every weight).
  /usr/bin/python3 dev/hf_ref.py --write DIR --shard SHARD.bin [--L 2 --C 64 --NH 4 --maxT 64
        --seed 7 --untied 0 --dtype F32|BF16|F16 --prefix 1 --buffers 0 --B 4 --T 64]
      Writes DIR/model.safetensors and DIR/config.json in GPT2LMHeadModel's layout from
      dev/gpt2_ref.py's seeded init (dtype: the stored type; --prefix 0: GPT2Model's names;
      --buffers 1: also the h.{l}.attn.bias mask buffers old files carry), then prints
      "loss X": the loss of the shard's first batch for the stored weights, by the HF forward.
"""
import argparse
import json
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gpt2_ref  # noqa: E402

DTYPES = {"F32": ("<f4", 4), "F16": ("<f2", 2), "BF16": ("<u2", 2)}


def st_read(path):
    """Returns {name: float32 numpy array} for the float tensors, and the metadata."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    data = raw[8 + n:]
    meta = header.pop("__metadata__", {})
    out = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        buf = data[begin:end]
        dt = info["dtype"]
        if dt == "F32":
            a = np.frombuffer(buf, "<f4")
        elif dt == "F16":
            a = np.frombuffer(buf, "<f2").astype(np.float32)
        elif dt == "BF16":
            a = (np.frombuffer(buf, "<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            continue  # buffers (a uint8/bool mask) are not weights
        out[name] = a.reshape(info["shape"]).copy()
    return out, meta


def to_bf16_bits(a):
    """fp32 -> bf16 bit patterns, round to nearest even (NaN-free inputs)."""
    u = a.astype(np.float32).view(np.uint32).astype(np.uint64)
    u = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    return u.astype("<u2")


def st_write(path, tensors, dtype, metadata=None):
    """tensors: list of (name, float32 array) in file order, written as dtype."""
    header, blobs, at = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name, a in tensors:
        a = np.ascontiguousarray(a, np.float32)
        if dtype == "F32":
            b = a.astype("<f4").tobytes()
        elif dtype == "F16":
            b = a.astype("<f2").tobytes()
        else:
            b = to_bf16_bits(a).tobytes()
        header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [at, at + len(b)]}
        blobs.append(b)
        at += len(b)
    h = json.dumps(header).encode("utf-8")
    h += b" " * ((8 - (8 + len(h)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def hf_forward(sd, cfg, idx):
    """GPT2LMHeadModel's forward by name. sd: {name without "transformer.": tensor}."""
    L, NH, C = cfg["n_layer"], cfg["n_head"], cfg["n_embd"]
    B, T = idx.shape
    hs = C // NH
    x = F.embedding(idx, sd["wte.weight"]) + sd["wpe.weight"][:T]
    mask = torch.ones(T, T, dtype=torch.bool).triu(1)
    for l in range(L):
        g = lambda k: sd[f"h.{l}.{k}"]  # noqa: E731
        h = F.layer_norm(x, (C,), g("ln_1.weight"), g("ln_1.bias"), cfg.get("layer_norm_epsilon", 1e-5))
        qkv = h @ g("attn.c_attn.weight") + g("attn.c_attn.bias")           # Conv1D: (in, out)
        q, k, v = (t.view(B, T, NH, hs).transpose(1, 2) for t in qkv.split(C, dim=2))
        att = (q @ k.transpose(-2, -1)) / math.sqrt(hs)
        att = torch.softmax(att.masked_fill(mask, float("-inf")), dim=-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, C)
        x = x + (y @ g("attn.c_proj.weight") + g("attn.c_proj.bias"))
        h = F.layer_norm(x, (C,), g("ln_2.weight"), g("ln_2.bias"), cfg.get("layer_norm_epsilon", 1e-5))
        h = F.gelu(h @ g("mlp.c_fc.weight") + g("mlp.c_fc.bias"), approximate="tanh")
        x = x + (h @ g("mlp.c_proj.weight") + g("mlp.c_proj.bias"))
    x = F.layer_norm(x, (C,), sd["ln_f.weight"], sd["ln_f.bias"], cfg.get("layer_norm_epsilon", 1e-5))
    head = sd["wte.weight"] if cfg.get("tie_word_embeddings", True) else sd["lm_head.weight"]
    return x @ head.t()


def load_hf(path):
    cfg = json.load(open(os.path.join(os.path.dirname(path) or ".", "config.json")))
    arrays, _ = st_read(path)
    sd = {}
    for name, a in arrays.items():
        key = name[len("transformer."):] if name.startswith("transformer.") else name
        sd[key] = torch.from_numpy(a)
    return sd, cfg


def mode_check(a):
    sd, cfg = load_hf(a.check)
    x, y = gpt2_ref.read_shard_batch(a.shard, a.B, a.T)
    with torch.no_grad():
        logits_hf = hf_forward(sd, cfg, x)
        p, c = gpt2_ref.read_model(a.bin)
        logits_bin = gpt2_ref.gpt2_forward(p, x, c["NH"])
        d = (logits_hf - logits_bin).abs().max().item()
        print(f"max_abs_logit_diff {d:.3e} loss_hf {gpt2_ref.gpt2_loss(logits_hf, y).item():.6f} "
              f"loss_bin {gpt2_ref.gpt2_loss(logits_bin, y).item():.6f}")


def mode_write(a):
    V = 50257
    L, C, NH, maxT = a.L, a.C, a.NH, a.maxT
    p = gpt2_ref.gpt2_init(V, maxT, L, C, a.seed, untied=bool(a.untied))
    pre = "transformer." if a.prefix else ""
    t = [(pre + "wte.weight", p["wte"]), (pre + "wpe.weight", p["wpe"])]
    for l in range(L):
        h = f"{pre}h.{l}."
        t += [(h + "ln_1.weight", p["ln1w"][l]), (h + "ln_1.bias", p["ln1b"][l]),
              (h + "attn.c_attn.weight", p["qkvw"][l].t()), (h + "attn.c_attn.bias", p["qkvb"][l]),
              (h + "attn.c_proj.weight", p["attprojw"][l].t()), (h + "attn.c_proj.bias", p["attprojb"][l]),
              (h + "ln_2.weight", p["ln2w"][l]), (h + "ln_2.bias", p["ln2b"][l]),
              (h + "mlp.c_fc.weight", p["fcw"][l].t()), (h + "mlp.c_fc.bias", p["fcb"][l]),
              (h + "mlp.c_proj.weight", p["fcprojw"][l].t()), (h + "mlp.c_proj.bias", p["fcprojb"][l])]
    t += [(pre + "ln_f.weight", p["lnfw"]), (pre + "ln_f.bias", p["lnfb"])]
    if a.untied:
        t.append(("lm_head.weight", p["lm_head"]))
    t = [(n, v.detach().numpy()) for n, v in t]
    os.makedirs(a.write, exist_ok=True)
    path = os.path.join(a.write, "model.safetensors")
    if a.buffers:  # as old GPT-2 files: the causal mask per layer, after the weights
        mask = np.tril(np.ones((maxT, maxT), np.float32)).reshape(1, 1, maxT, maxT)
        # one file, two dtypes: write the weights' bytes and the U8 masks by hand
        header, blobs, at = {"__metadata__": {"format": "pt"}}, [], 0
        for name, v in t:
            b = {"F32": v.astype("<f4").tobytes(), "F16": v.astype("<f2").tobytes(),
                 "BF16": to_bf16_bits(v).tobytes()}[a.dtype]
            header[name] = {"dtype": a.dtype, "shape": list(v.shape), "data_offsets": [at, at + len(b)]}
            blobs.append(b)
            at += len(b)
        for l in range(L):
            b = mask.astype(np.uint8).tobytes()
            header[f"{pre}h.{l}.attn.bias"] = {"dtype": "U8", "shape": list(mask.shape), "data_offsets": [at, at + len(b)]}
            blobs.append(b)
            at += len(b)
        h = json.dumps(header).encode()
        h += b" " * ((8 - (8 + len(h)) % 8) % 8)
        with open(path, "wb") as f:
            f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
    else:
        st_write(path, t, a.dtype, {"format": "pt"})
    cfg = {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "activation_function": "gelu_new",
           "n_layer": L, "n_head": NH, "n_embd": C, "n_positions": maxT, "n_ctx": maxT, "vocab_size": V,
           "layer_norm_epsilon": 1e-05, "tie_word_embeddings": not a.untied}
    with open(os.path.join(a.write, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    # the loss for the weights as stored (rounded to the dtype), read back by our own reader
    sd, cfg = load_hf(path)
    x, y = gpt2_ref.read_shard_batch(a.shard, a.B, a.T)
    with torch.no_grad():
        print(f"loss {gpt2_ref.gpt2_loss(hf_forward(sd, cfg, x), y).item():.6f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", help="a model.safetensors to check against --bin")
    ap.add_argument("--bin", help="the llm.c .bin it was exported from")
    ap.add_argument("--write", help="output dir for model.safetensors + config.json")
    ap.add_argument("--shard", required=True)
    ap.add_argument("--B", type=int, default=4)
    ap.add_argument("--T", type=int, default=64)
    ap.add_argument("--L", type=int, default=2)
    ap.add_argument("--C", type=int, default=64)
    ap.add_argument("--NH", type=int, default=4)
    ap.add_argument("--maxT", type=int, default=64)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--untied", type=int, choices=(0, 1), default=0)
    ap.add_argument("--dtype", choices=sorted(DTYPES), default="F32")
    ap.add_argument("--prefix", type=int, choices=(0, 1), default=1)
    ap.add_argument("--buffers", type=int, choices=(0, 1), default=0)
    a = ap.parse_args()
    torch.set_num_threads(1)
    if a.check:
        if not a.bin:
            sys.exit("--check needs --bin")
        mode_check(a)
    elif a.write:
        mode_write(a)
    else:
        sys.exit("give --check FILE --bin MODEL.bin or --write DIR")


if __name__ == "__main__":
    main()
