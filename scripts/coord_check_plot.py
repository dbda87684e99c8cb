#!/usr/bin/python3
"""The muP coordinate check's plot and table, from scripts/coord_check.sh's runs.

RUNS holds one directory per parametrization and width, sp_C<C> and mup_C<C>, each with the
probe_steps.tsv that ./train_gpt2 -probe-every 1 -o DIR writes (step, kind, index, metric, value).
For every step 1..STEPS the plot has one panel per parametrization (rows: standard, muP) with
x = width C (log2) and y = size (log): one line per block output (the residual stream after the
block), the attention and MLP branch outputs (dashed, dotted; their mean over blocks), and the
logits' std (black). Flat lines = sizes that do not depend on width, which is what muP promises.

The table (markdown, on stdout) gives, per parametrization and step, the ratio of each quantity at
the widest model to the narrowest, and the slope of log2(size) against log2(C) fitted over all
widths (0: flat; 0.5: grows like sqrt(C); 1: like C). --tsv writes every value plotted.

Example: /usr/bin/python3 scripts/coord_check_plot.py out/coord_check/runs --widths 128 256 512 1024 --steps 5 -o out/coord_check/coord_check.png
"""
import argparse
import math
import os
import sys

PARAMS = (("sp", "standard (-init nanogpt)"), ("mup", "muP (-init mup)"))


def load(path):
    """-> {step: {(kind, index, metric): value}}; a step probed twice (a resumed run) keeps the last."""
    if not os.path.isfile(path):
        sys.exit(f"coord_check_plot: {path}: missing (did the run fail? see train.out beside it)")
    out = {}
    with open(path) as f:
        header = f.readline().rstrip("\n").split("\t")
        if header != ["step", "kind", "index", "metric", "value"]:
            sys.exit(f"coord_check_plot: {path}: not a probe_steps.tsv (header {header})")
        for n, line in enumerate(f, 2):
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 5:
                sys.exit(f"coord_check_plot: {path}: line {n} has {len(parts)} fields, want 5")
            try:
                out.setdefault(int(parts[0]), {})[tuple(parts[1:4])] = float(parts[4])
            except ValueError:
                sys.exit(f"coord_check_plot: {path}: line {n}: bad step or value")
    return out


def quantities(rows):
    """name -> value for one (run, step): block outputs, branch means, logits."""
    blocks = sorted(int(i) for k, i, m in rows if k == "block" and m == "resid_rms" and i != "emb")
    if not blocks:
        sys.exit("coord_check_plot: a step without per-block rows")
    q = {f"block {l} out": rows[("block", str(l), "resid_rms")] for l in blocks}
    q["attn branch (mean)"] = sum(rows[("block", str(l), "attn_rms")] for l in blocks) / len(blocks)
    q["mlp branch (mean)"] = sum(rows[("block", str(l), "mlp_rms")] for l in blocks) / len(blocks)
    q["logits std"] = rows[("model", "-", "logits_std")]
    return q


def slope(xs, ys):
    """least-squares slope of log2 y against log2 x"""
    lx, ly = [math.log2(x) for x in xs], [math.log2(y) for y in ys]
    mx, my = sum(lx) / len(lx), sum(ly) / len(ly)
    den = sum((a - mx) ** 2 for a in lx)
    return sum((a - mx) * (b - my) for a, b in zip(lx, ly)) / den if den > 0 else 0.0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("runs", help="directory with sp_C<C>/ and mup_C<C>/ run directories")
    ap.add_argument("--widths", type=int, nargs="+", required=True)
    ap.add_argument("--steps", type=int, default=5, help="plot steps 1..STEPS")
    ap.add_argument("-o", "--out", help="PNG path (no plot without it)")
    ap.add_argument("--tsv", help="also write every plotted value here")
    ap.add_argument("--title", default="muP coordinate check")
    a = ap.parse_args()
    widths = sorted(a.widths)
    if len(widths) < 2 or a.steps < 1:
        sys.exit("coord_check_plot: need at least two widths and one step")
    # data[param][C][step] = {quantity: value}
    data = {}
    for p, _ in PARAMS:
        for C in widths:
            runs = load(os.path.join(a.runs, f"{p}_C{C}", "probe_steps.tsv"))
            for s in range(0, a.steps + 1):
                if s not in runs:
                    sys.exit(f"coord_check_plot: {p}_C{C}: no probe at step {s} (the run has {sorted(runs)})")
                data.setdefault(p, {}).setdefault(C, {})[s] = quantities(runs[s])
    names = list(data["sp"][widths[0]][1])
    for p, _ in PARAMS:
        for C in widths:
            for s in range(a.steps + 1):
                bad = [n for n, v in data[p][C][s].items() if not (v > 0 and math.isfinite(v))]
                if bad:
                    sys.exit(f"coord_check_plot: {p}_C{C} step {s}: {bad[0]} = {data[p][C][s][bad[0]]} (not a positive number)")

    if a.tsv:
        with open(a.tsv, "w") as f:
            f.write("param\tC\tstep\tquantity\tvalue\n")
            for p, _ in PARAMS:
                for C in widths:
                    for s in range(a.steps + 1):
                        for n in names:
                            f.write(f"{p}\t{C}\t{s}\t{n}\t{data[p][C][s][n]:.9g}\n")

    print(f"## {a.title}\n")
    print(f"Size at C={widths[-1]} over size at C={widths[0]} (slope of log2 size vs log2 C over "
          f"{len(widths)} widths). Flat in width: ratio ~1, slope ~0.\n")
    last_block = [n for n in names if n.startswith("block ")][-1]
    cols = ["logits std", last_block, "attn branch (mean)", "mlp branch (mean)"]
    print("| parametrization | step | " + " | ".join(cols) + " |")
    print("|---|---:|" + "---:|" * len(cols))
    for p, label in PARAMS:
        for s in range(0, a.steps + 1):
            cells = []
            for n in cols:
                ys = [data[p][C][s][n] for C in widths]
                cells.append(f"{ys[-1] / ys[0]:.2f} ({slope(widths, ys):+.2f})")
            print(f"| {label} | {s} | " + " | ".join(cells) + " |")
    slopes = {p: [slope(widths, [data[p][C][s][n] for C in widths]) for s in range(1, a.steps + 1) for n in names]
              for p, _ in PARAMS}
    print(f"\nOver steps 1..{a.steps} and all {len(names)} quantities, the steepest growth with width (largest "
          f"slope): standard {max(slopes['sp']):+.2f}, muP {max(slopes['mup']):+.2f}; the largest |slope|: standard "
          f"{max(map(abs, slopes['sp'])):.2f}, muP {max(map(abs, slopes['mup'])):.2f}")

    if a.out:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, axes = plt.subplots(2, a.steps, figsize=(3.2 * a.steps, 6.4), sharex=True, sharey="row", squeeze=False)
        blocks = [n for n in names if n.startswith("block ")]
        cmap = plt.get_cmap("viridis")
        for r, (p, label) in enumerate(PARAMS):
            for c in range(a.steps):
                s = c + 1
                ax = axes[r][c]
                for i, n in enumerate(blocks):
                    ax.plot(widths, [data[p][C][s][n] for C in widths], "-o", ms=3, color=cmap(i / max(1, len(blocks) - 1)),
                            label=n)
                ax.plot(widths, [data[p][C][s]["attn branch (mean)"] for C in widths], "--", color="tab:red", label="attn branch (mean)")
                ax.plot(widths, [data[p][C][s]["mlp branch (mean)"] for C in widths], ":", color="tab:orange", label="mlp branch (mean)")
                ax.plot(widths, [data[p][C][s]["logits std"] for C in widths], "-s", ms=3, color="black", label="logits std")
                ax.set_xscale("log", base=2)
                ax.set_yscale("log")
                ax.set_xticks(widths)
                ax.set_xticklabels([str(w) for w in widths])
                ax.grid(True, which="both", alpha=0.3)
                if r == 0:
                    ax.set_title(f"after step {s}")
                if r == 1:
                    ax.set_xlabel("width C")
                if c == 0:
                    ax.set_ylabel(f"{label}\nRMS / std")
        axes[0][a.steps - 1].legend(fontsize=7, loc="best")
        fig.suptitle(a.title)
        fig.tight_layout()
        fig.savefig(a.out, dpi=110)
        print(f"\nwrote {a.out}")


if __name__ == "__main__":
    main()
