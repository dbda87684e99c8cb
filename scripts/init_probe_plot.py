#!/usr/bin/python3
"""Depth profiles at init from one or more init_probe.tsv files (./train_gpt2 -init-probe 1 -o DIR).

Four panels, one line per run, x = the block (layer; "emb" = after the embeddings):
  residual-stream RMS, attention and MLP branch-output RMS, attention entropy (against uniform
  attention's), and the gradient RMS of each layer's parameters (log scale).
Also prints a table: per run, the loss at init against ln V, the logits' std, the residual RMS
growth from the first to the last block, and the grad RMS ratio of the first to the last block.

Example:
  for s in nanogpt megatron; do ./train_gpt2 -e d6 -init $s -init-probe 1 -o out/probe/$s; done
  /usr/bin/python3 scripts/init_probe_plot.py out/probe/*/init_probe.tsv --labels nanogpt megatron -o out/probe/depth.png
"""
import argparse
import os
import sys


def load(path):
    """-> {(kind, index, metric): value}"""
    rows = {}
    with open(path) as f:
        header = f.readline().rstrip("\n").split("\t")
        if header != ["kind", "index", "metric", "value"]:
            sys.exit(f"init_probe_plot: {path}: not an init_probe.tsv (header {header})")
        for n, line in enumerate(f, 2):
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 4:
                sys.exit(f"init_probe_plot: {path}: line {n} has {len(parts)} fields, want 4")
            rows[tuple(parts[:3])] = float(parts[3])
    return rows


def layers(rows):
    return sorted(int(i) for k, i, m in rows if k == "block" and m == "resid_rms" and i != "emb")


def series(rows, metric):
    return [rows[("block", str(l), metric)] for l in layers(rows)]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("tsv", nargs="+")
    ap.add_argument("--labels", nargs="*", help="one per file (default: the file's directory name)")
    ap.add_argument("-o", "--out", help="PNG to write (default: only the table)")
    ap.add_argument("--title", default="signal propagation at init")
    a = ap.parse_args()
    labels = a.labels or [os.path.basename(os.path.dirname(os.path.abspath(p))) for p in a.tsv]
    if len(labels) != len(a.tsv):
        sys.exit(f"init_probe_plot: {len(a.tsv)} files but {len(labels)} labels")
    runs = [(lab, load(p)) for lab, p in zip(labels, a.tsv)]

    print("| run | loss at init | ln V | logits std | resid RMS emb -> last | grad RMS first / last block |")
    print("|---|---|---|---|---|---|")
    for lab, r in runs:
        res = series(r, "resid_rms")
        g = series(r, "grad_rms")
        print(f"| {lab} | {r[('model', '-', 'loss')]:.4f} | {r[('model', '-', 'ln_V')]:.4f} | "
              f"{r[('model', '-', 'logits_std')]:.4f} | {r[('block', 'emb', 'resid_rms')]:.4f} -> {res[-1]:.4f} | "
              f"{g[0] / g[-1]:.2f} |")
    if not a.out:
        return
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(2, 2, figsize=(12, 8))
    for lab, r in runs:
        ls = layers(r)
        line, = ax[0][0].plot([-1] + ls, [r[("block", "emb", "resid_rms")]] + series(r, "resid_rms"), marker="o", label=lab)
        c = line.get_color()
        ax[0][1].plot(ls, series(r, "attn_rms"), marker="o", color=c, label=f"{lab} attn")
        ax[0][1].plot(ls, series(r, "mlp_rms"), marker="s", ls="--", color=c, label=f"{lab} mlp")
        ax[1][0].plot(ls, series(r, "att_entropy"), marker="o", color=c, label=lab)
        ax[1][1].semilogy(ls, series(r, "grad_rms"), marker="o", color=c, label=lab)
    first = runs[0][1]
    ax[1][0].plot(layers(first), series(first, "att_entropy_max"), color="gray", ls=":", label="uniform attention")
    for a_, t, y in ((ax[0][0], "residual stream RMS after each block (-1: embeddings)", "RMS"),
                     (ax[0][1], "branch output RMS (solid: attention, dashed: MLP)", "RMS"),
                     (ax[1][0], "mean attention entropy", "nats"),
                     (ax[1][1], "gradient RMS of each block's parameters", "RMS")):
        a_.set_title(t, fontsize=10)
        a_.set_xlabel("block")
        a_.set_ylabel(y)
        a_.grid(alpha=0.3)
        a_.legend(fontsize=7)
    fig.suptitle(a.title)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    fig.savefig(a.out, dpi=110)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
