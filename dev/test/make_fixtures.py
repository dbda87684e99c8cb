#!/usr/bin/env python3
"""Tiny fixtures for the trainer's shell tests (docs/FORMATS.md layouts), written with numpy only.

  make_fixtures.py model OUT [--maxT 64 --L 1 --NH 2 --C 32 --seed 0] [--bf16 OUT_BF16]
      version-3 checkpoint, small random params (std 0.02), LayerNorm weights 1, wte padding rows 0;
      --bf16 also writes a version-5 copy (upper 16 bits, round to nearest even)
  make_fixtures.py shard OUT NTOKENS [--seed 0] [--magic M] [--version N] [--header-tokens N]
                                      [--bad-token ID]
      llm.c token shard of NTOKENS random ids (EOT every ~50); --header-tokens writes a different
      count into the header (a truncated/corrupt shard), --bad-token puts ID at positions 10, 210, 410, ... (in every
      sample of B*T >= 200 tokens, whatever the shuffle)
  make_fixtures.py tokenizer OUT [--magic M]
      gpt2_tokenizer.bin (version 2) whose token i decodes to "<i>": samples print without a warning
  make_fixtures.py patch FILE INDEX VALUE
      overwrite header int32 number INDEX in place
  make_fixtures.py check_model FILE
      print "ok" if FILE has the model magic, version 3 and size 1024 + 4*num_params, else why not
"""
import sys

import numpy as np

MODEL_MAGIC, SHARD_MAGIC = 20240326, 20240520
V, EOT = 50257, 50256


def param_sizes(maxT, V, L, C, Vp):
    return [Vp * C, maxT * C, L * C, L * C, L * 3 * C * C, L * 3 * C, L * C * C, L * C,
            L * C, L * C, L * 4 * C * C, L * 4 * C, L * C * 4 * C, L * C, C, C]


def opt(args, name, default, conv=int):
    if name in args:
        i = args.index(name)
        return conv(args[i + 1])
    return default


def to_bf16(x):
    u = x.astype(np.float32).view(np.uint32).astype(np.uint64)
    u = (u + 0x7FFF + ((u >> 16) & 1)) >> 16  # round to nearest even (no NaNs in fixtures)
    return u.astype(np.uint16)


def make_model(args):
    out = args[0]
    maxT, L, NH, C = opt(args, "--maxT", 64), opt(args, "--L", 1), opt(args, "--NH", 2), opt(args, "--C", 32)
    Vp = (V + 127) // 128 * 128
    rng = np.random.default_rng(opt(args, "--seed", 0))
    sizes = param_sizes(maxT, V, L, C, Vp)
    tensors = [rng.normal(0.0, 0.02, n).astype(np.float32) for n in sizes]
    tensors[0].reshape(Vp, C)[V:] = 0.0            # wte padding rows
    for k in (2, 8, 14):                            # ln1w, ln2w, lnfw
        tensors[k][:] = 1.0 + tensors[k]
    params = np.concatenate(tensors)
    header = np.zeros(256, dtype=np.int32)
    header[:8] = [MODEL_MAGIC, 3, maxT, V, L, NH, C, Vp]
    with open(out, "wb") as f:
        f.write(header.tobytes())
        f.write(params.tobytes())
    bf = opt(args, "--bf16", None, str)
    if bf:
        header[1] = 5
        with open(bf, "wb") as f:
            f.write(header.tobytes())
            f.write(to_bf16(params).tobytes())


def make_shard(args):
    out, n = args[0], int(args[1])
    rng = np.random.default_rng(opt(args, "--seed", 0))
    vocab = opt(args, "--vocab", V)  # a custom vocab: ids below it, its last id as the separator
    toks = rng.integers(0, min(2000, vocab), n).astype(np.uint16)  # small ids: the tiny model learns quickly
    toks[::50] = min(EOT, vocab - 1)
    bad = opt(args, "--bad-token", None)
    if bad is not None:
        toks[10::200] = bad
    header = np.zeros(256, dtype=np.int32)
    header[:3] = [opt(args, "--magic", SHARD_MAGIC), opt(args, "--version", 1), opt(args, "--header-tokens", n)]
    with open(out, "wb") as f:
        f.write(header.tobytes())
        f.write(toks.tobytes())


def make_tokenizer(args):
    header = np.zeros(256, dtype=np.uint32)
    header[:4] = [opt(args, "--magic", 20240328), 2, V, EOT]
    body = bytearray()
    for i in range(V):
        b = b"<%d>" % i
        body += bytes([len(b)]) + b
    with open(args[0], "wb") as f:
        f.write(header.tobytes())
        f.write(bytes(body))


def patch(args):
    path, index, value = args[0], int(args[1]), int(args[2])
    with open(path, "r+b") as f:
        f.seek(4 * index)
        f.write(np.array([value], dtype=np.int32).tobytes())


def check_model(args):
    path = args[0]
    data = np.fromfile(path, dtype=np.uint8)
    h = data[:1024].view(np.int32)
    if h[0] != MODEL_MAGIC or h[1] != 3:
        print(f"magic/version {h[0]}/{h[1]}, want {MODEL_MAGIC}/3")
        return
    maxT, Vh, L, NH, C, Vp = (int(x) for x in h[2:8])
    want = 1024 + 4 * sum(param_sizes(maxT, Vh, L, C, Vp))
    if data.size != want:
        print(f"size {data.size}, want {want}")
        return
    if any(h[8:]):
        print("header ints 8..255 are not all zero")
        return
    print("ok")


if __name__ == "__main__":
    cmds = {"model": make_model, "shard": make_shard, "tokenizer": make_tokenizer, "patch": patch, "check_model": check_model}
    if len(sys.argv) < 3 or sys.argv[1] not in cmds:
        sys.exit(__doc__)
    cmds[sys.argv[1]](sys.argv[2:])
