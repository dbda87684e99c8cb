#!/usr/bin/python3
"""Table and loss-curve plot for a set of training runs (the experiment scripts' shared back end).

Each RUN_DIR holds what scripts/exp_*.sh leave there: main.log ("s:STEP trl:LOSS ... ms:MS" and
"s:STEP tel:VAL" lines), train.out (the trainer's stdout, for the parameter count) and optionally
config.txt (the flags that set this run apart). Writes OUT/results.md (also printed) and
OUT/losses.png: train loss (moving average over --smooth steps, raw curve faint) and val loss.

Table columns: initial train loss (step 0), final train loss (mean of the last --last steps),
val loss at every evaluation, median ms/step (step 0 excluded: warm-up).
Usage: scripts/plot_losses.py --out out/exp_tie out/exp_tie/tied out/exp_tie/untied
"""
import argparse
import os
import re
import statistics
import sys


def read_run(d):
    """-> dict(name, config, params, train {step: loss}, ms {step: ms}, val {step: loss})"""
    run = {"name": os.path.basename(os.path.normpath(d)), "config": "", "params": None,
           "train": {}, "ms": {}, "val": {}}
    log = os.path.join(d, "main.log")
    if not os.path.exists(log):
        sys.exit(f"plot_losses: {log} is missing (did the run finish?)")
    with open(log) as f:
        for line in f:
            m = re.match(r"s:(\d+) trl:(\S+).* ms:(\S+)", line)
            if m:
                run["train"][int(m[1])] = float(m[2])
                run["ms"][int(m[1])] = float(m[3])
                continue
            m = re.match(r"s:(\d+) tel:(\S+)", line)
            if m:
                run["val"][int(m[1])] = float(m[2])
    if not run["train"]:
        sys.exit(f"plot_losses: {log} has no train loss lines")
    cfg = os.path.join(d, "config.txt")
    if os.path.exists(cfg):
        run["config"] = open(cfg).read().strip()
    out = os.path.join(d, "train.out")
    if os.path.exists(out):
        m = re.search(r"(\d+) parameters", open(out).read())
        if m:
            run["params"] = int(m[1])
    return run


def fmt(x):
    return "-" if x is None else f"{x:.3f}"


def table(runs, last):
    val_steps = sorted({s for r in runs for s in r["val"]})
    head = (["run", "config", "params", "train loss @0", f"train loss (mean last {last})"]
            + [f"val @{s}" for s in val_steps] + ["ms/step (median)"])
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in runs:
        steps = sorted(r["train"])
        tail = [r["train"][s] for s in steps[-last:]]
        ms = [r["ms"][s] for s in steps[1:]] or [r["ms"][steps[0]]]
        params = f"{r['params'] / 1e6:.2f}M" if r["params"] else "-"
        cells = ([r["name"], f"`{r['config']}`" if r["config"] else "-", params,
                  fmt(r["train"][steps[0]]), fmt(sum(tail) / len(tail))]
                 + [fmt(r["val"].get(s)) for s in val_steps] + [f"{statistics.median(ms):.1f}"])
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def moving_average(xs, w):
    out, acc = [], 0.0
    for i, x in enumerate(xs):
        acc += x
        if i >= w:
            acc -= xs[i - w]
        out.append(acc / min(i + 1, w))
    return out


def plot(runs, path, title, smooth, ylim):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    curves = []  # (name, steps, raw train, smoothed train, val steps, val losses)
    for r in runs:
        steps = sorted(r["train"])
        raw = [r["train"][s] for s in steps]
        vs = sorted(r["val"])
        curves.append((r["name"], steps, raw, moving_average(raw, smooth), vs, [r["val"][s] for s in vs]))
    # Zoomed y range: from the lowest smoothed/val loss to just above the lowest starting loss,
    # so one run that starts far higher (e.g. -init pytorch at ~250) does not flatten the others.
    # When some curve leaves that range, a first row shows everything on a log axis.
    lo = min(min(c[3] + c[5]) for c in curves) - 0.3
    hi = min(c[2][0] for c in curves) + 0.5
    if ylim:
        lo, hi = ylim
    full = max(max(c[3] + c[5]) for c in curves) > hi + 0.5 * (hi - lo)
    nrows = 2 if full else 1
    fig, axes = plt.subplots(nrows, 2, figsize=(13, 4.6 * nrows), squeeze=False)
    for row in range(nrows):
        ax_tr, ax_va = axes[row]
        for i, (name, steps, raw, sm, vs, vl) in enumerate(curves):
            color = f"C{i}"
            ax_tr.plot(steps, raw, color=color, alpha=0.2, lw=0.7)
            ax_tr.plot(steps, sm, color=color, lw=1.8, label=name)
            ax_va.plot(vs, vl, "o-", color=color, lw=1.8, label=name)
        zoomed = row == nrows - 1
        what = "zoomed" if full and zoomed else ("all, log scale" if full else "")
        ax_tr.set_title(f"train loss (moving average over {smooth} steps; raw faint)" + (f" [{what}]" if what else ""))
        ax_va.set_title("val loss" + (f" [{what}]" if what else ""))
        for ax in (ax_tr, ax_va):
            if zoomed:
                ax.set_ylim(lo, hi)
            else:
                ax.set_yscale("log")
            ax.set_xlabel("step")
            ax.grid(alpha=0.3, which="both")
            ax.legend(fontsize=8)
        ax_tr.set_ylabel("cross-entropy (nats)")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="+", metavar="RUN_DIR", help="run directories (one curve and row each)")
    p.add_argument("--out", required=True, help="directory for results.md and losses.png")
    p.add_argument("--title", default="", help="plot title and table heading")
    p.add_argument("--smooth", type=int, default=20, help="moving-average window for the train curve")
    p.add_argument("--last", type=int, default=20, help="final train loss = mean of this many last steps")
    p.add_argument("--ylim", type=float, nargs=2, metavar=("LO", "HI"), help="fix the y range")
    p.add_argument("--no-plot", action="store_true", help="table only (no matplotlib needed)")
    a = p.parse_args()
    runs = [read_run(d) for d in a.runs]
    os.makedirs(a.out, exist_ok=True)
    md = (f"{a.title}\n\n" if a.title else "") + table(runs, a.last) + "\n"
    with open(os.path.join(a.out, "results.md"), "w") as f:
        f.write(md)
    print(md, end="")
    print(f"wrote {os.path.join(a.out, 'results.md')}")
    if not a.no_plot:
        png = os.path.join(a.out, "losses.png")
        plot(runs, png, a.title, a.smooth, a.ylim)
        print(f"wrote {png}")


if __name__ == "__main__":
    main()
