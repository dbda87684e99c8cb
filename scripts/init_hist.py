#!/usr/bin/python3
"""Histogram grid of every parameter tensor in one or more llm.c model checkpoints.

Reads llm.c checkpoints (version 3 fp32 or 5 bf16, tied or untied: header[8] = 1 adds a (Vp, C)
lm_head after lnfb; see docs/FORMATS.md) and draws one subplot per parameter tensor, all
layers of a per-layer tensor pooled. wte and lm_head use only their V real rows (the padding rows
are zero by construction). The y axis is the fraction of the tensor's elements per bin (log
scale), so a constant tensor is a single bar of height 1, annotated "constant 1.0"; subplot
titles carry mean and std. With several checkpoints (e.g. one per -init scheme) the histograms
are overlaid on shared bins, with a legend and one mean/std line per checkpoint.

Example:
  ./train_gpt2 -e d6 -init xavier-uniform -init-report 1 -o out/init_xu &&
  /usr/bin/python3 scripts/init_hist.py out/init_xu/model_00000000.bin -o out/init_xu/hist.png
"""
import argparse
import math
import os
import sys

import numpy as np

MAGIC, HEADER_INTS = 20240326, 256
NAMES = ["wte", "wpe", "ln1w", "ln1b", "qkvw", "qkvb", "attprojw", "attprojb",
         "ln2w", "ln2b", "fcw", "fcb", "fcprojw", "fcprojb", "lnfw", "lnfb"]


def shapes(maxT, V, L, C, Vp, untied):
    s = [(Vp, C), (maxT, C), (L, C), (L, C), (L, 3 * C, C), (L, 3 * C), (L, C, C), (L, C),
         (L, C), (L, C), (L, 4 * C, C), (L, 4 * C), (L, C, 4 * C), (L, C), (C,), (C,)]
    names = list(NAMES)
    if untied:
        s.append((Vp, C))
        names.append("lm_head")
    return names, s


def load(path):
    """-> (header dict, [(name, shape, float32 array)]) with wte/lm_head cut to V rows"""
    h = np.fromfile(path, dtype="<i4", count=HEADER_INTS)
    if h.size < HEADER_INTS or h[0] != MAGIC or h[1] not in (3, 5):
        sys.exit(f"init_hist: {path}: not an llm.c model checkpoint (magic/version)")
    maxT, V, L, NH, C, Vp = (int(x) for x in h[2:8])
    untied = int(h[8]) == 1
    names, shps = shapes(maxT, V, L, C, Vp, untied)
    counts = [int(np.prod(s)) for s in shps]
    nbytes = 4 if h[1] == 3 else 2
    expect = HEADER_INTS * 4 + sum(counts) * nbytes
    if os.path.getsize(path) != expect:
        sys.exit(f"init_hist: {path}: size {os.path.getsize(path)} != {expect} expected from its header")
    raw = np.memmap(path, dtype="<f4" if nbytes == 4 else "<u2", mode="r", offset=HEADER_INTS * 4)
    tensors, off = [], 0
    for name, s, n in zip(names, shps, counts):
        t = raw[off:off + n]
        off += n
        if nbytes == 2:  # bf16 -> fp32: the top 16 bits of a float32
            t = (np.asarray(t, dtype=np.uint32) << 16).view(np.float32)
        t = np.asarray(t, dtype=np.float32).reshape(s)
        if name in ("wte", "lm_head"):
            t = t[:V]
            s = (V, C)
        tensors.append((name, s, t.reshape(-1)))
    hdr = dict(maxT=maxT, V=V, L=L, NH=NH, C=C, Vp=Vp, untied=untied, version=int(h[1]))
    return hdr, tensors


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("ckpts", nargs="+", metavar="CKPT", help="llm.c model .bin files (overlaid when several)")
    p.add_argument("-o", "--out", required=True, help="output PNG")
    p.add_argument("--labels", nargs="+", help="legend labels, one per CKPT (default: parent dir names)")
    p.add_argument("--title", default=None, help="figure title")
    p.add_argument("--bins", type=int, default=100, help="bins per subplot")
    p.add_argument("--cols", type=int, default=5, help="subplots per row")
    p.add_argument("--linear", action="store_true", help="linear y axis instead of log")
    a = p.parse_args()
    labels = a.labels or [os.path.basename(os.path.dirname(os.path.abspath(c))) or c for c in a.ckpts]
    if len(labels) != len(a.ckpts):
        sys.exit(f"init_hist: {len(labels)} labels for {len(a.ckpts)} checkpoints")

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    loaded = [load(c) for c in a.ckpts]
    # Tensor order of the first file, plus lm_head if any file is untied.
    names = [n for n, _, _ in loaded[0][1]]
    for _, ts in loaded[1:]:
        names += [n for n, _, _ in ts if n not in names]
    rows = math.ceil(len(names) / a.cols)
    fig, axes = plt.subplots(rows, a.cols, figsize=(4.2 * a.cols, 3.3 * rows), squeeze=False)
    many = len(loaded) > 1
    for k, name in enumerate(names):
        ax = axes[k // a.cols][k % a.cols]
        got = [(i, t) for i, (_, ts) in enumerate(loaded) for n, s, t in ts if n == name]
        shape = next(s for _, ts in loaded for n, s, _ in ts if n == name)
        lo = min(float(t.min()) for _, t in got)
        hi = max(float(t.max()) for _, t in got)
        if hi - lo < 1e-12:  # every file constant and equal: one bar around the value
            lo, hi = lo - 1.0, hi + 1.0
        edges = np.linspace(lo, hi, a.bins + 1)
        stats, fracs = [], []
        for i, t in got:
            color = f"C{i}"
            mean, std = float(t.mean(dtype=np.float64)), float(t.std(dtype=np.float64))
            const = float(t.min()) == float(t.max())
            lab = labels[i] if k == 0 or name == "lm_head" else None
            if const:
                ax.bar([float(t[0])], [1.0], width=(hi - lo) / 40, color=color, alpha=0.6, label=lab)
                stats.append((color, f"constant {float(t[0])!r}"))
                fracs.append(1.0)
            else:
                cnt, _ = np.histogram(t, bins=edges)
                fracs += list(cnt[cnt > 0] / t.size)
                ax.stairs(cnt / t.size, edges, color=color, lw=1.3, fill=not many,
                          alpha=0.7 if not many else 1.0, label=lab)
                stats.append((color, f"mean {mean:.2g} std {std:.3g}"))
        dims = "x".join(str(d) for d in shape)
        if many:
            ax.set_title(f"{name} ({dims})", fontsize=10)
            for j, (color, txt) in enumerate(stats):
                ax.text(0.02, 0.97 - 0.075 * j, txt, color=color, fontsize=7, transform=ax.transAxes, va="top",
                        bbox=dict(facecolor="white", alpha=0.7, lw=0, pad=0.5))
        else:
            ax.set_title(f"{name} ({dims})\n{stats[0][1]}", fontsize=10)
            if stats[0][1].startswith("constant"):
                ax.text(0.54, 0.5, stats[0][1], transform=ax.transAxes, ha="left", fontsize=11)
        ax.set_xlim(lo - 0.02 * (hi - lo), hi + 0.02 * (hi - lo))
        if not a.linear:
            # at least two decades, so a flat (uniform) histogram looks flat, not like noise
            ax.set_yscale("log")
            ax.set_ylim(min(min(fracs) * 0.5, max(fracs) / 100), max(fracs) * 2)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    for k in range(len(names), rows * a.cols):
        axes[k // a.cols][k % a.cols].axis("off")
    if many:
        handles, labs = axes[0][0].get_legend_handles_labels()
        fig.legend(handles, labs, loc="lower right", fontsize=11, title="checkpoint")
    h0 = loaded[0][0]
    title = a.title or ", ".join(labels)
    fig.suptitle(f"{title}\nL={h0['L']} C={h0['C']} V={h0['V']}; y: fraction of elements per bin"
                 f"{'' if a.linear else ' (log)'}", fontsize=12)
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    fig.savefig(a.out, dpi=90)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
