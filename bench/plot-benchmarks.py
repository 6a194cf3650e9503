"""Chart of bench/compare.mjs results: /usr/bin/python3 bench/plot-benchmarks.py RESULTS.json OUT.png

Left: median ms per example of every configuration on SST-2 dev and on IMDb (the IMDb task with
the IMDb models when it ran, else the SST-2 models on reviews; log scale), with the
speed-up against ORT-web on the dense teacher. Right: the dense teacher's median ms per call at
fixed lengths in each engine (log-log).
"""
import json
import os
import sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

COLORS = {"ort-web": "#d62728", "ort-node": "#7f7f7f", "ours": "#1f77b4"}


def main():
    res = json.load(open(sys.argv[1]))
    out = sys.argv[2]
    fig, axes = plt.subplots(1, 3, figsize=(17, 6.2), gridspec_kw={"width_ratios": [1.15, 1.15, 1]})
    # middle: the IMDb task (IMDb teacher and IMDb models) when it ran, else the SST-2 models on reviews
    imdb = ("imdbTask", "IMDb task (IMDb models), cut at 512") if res.get("imdbTask") else ("imdb", "IMDb test (SST-2 models), cut at 512")
    for ax, name, title in ((axes[0], "sst2", "SST-2 dev"), (axes[1], *imdb)):
        d = res[name]
        rows = d["rows"][::-1]
        y = range(len(rows))
        vals = [r["median"] for r in rows]
        ax.barh(list(y), vals, color=[COLORS[r["kind"]] for r in rows],
                hatch=None, alpha=0.9)
        for i, r in enumerate(rows):
            ax.text(r["median"] * 1.08, i, f'{r["median"]:.3g} ms  ({r["speedup"]:.1f}x)', va="center", fontsize=8)
        ax.set_yticks(list(y))
        ax.set_yticklabels([r["label"] for r in rows], fontsize=8)
        ax.set_xscale("log")
        ax.set_xlim(min(vals) / 2, max(vals) * 12)
        ax.set_xlabel("median ms per example (log)")
        ax.set_title(f'{title}: {d["n"]} inputs, mean {d["meanTokens"]:.0f} tokens', fontsize=10)
        ax.grid(axis="x", alpha=0.3)
    ax = axes[2]
    L = res.get("lengths", {})
    Ts = sorted(int(t) for t in L)
    labels = {r["id"]: r["label"] for r in res["sst2"]["rows"]}
    kinds = {r["id"]: r["kind"] for r in res["sst2"]["rows"]}
    if Ts:
        for cid in L[str(Ts[0])]:
            ys = [L[str(t)][cid]["median"] for t in Ts]
            ax.plot(Ts, ys, marker="o", color=COLORS[kinds[cid]], linestyle="--" if "int8" in cid or "i8" in cid else "-",
                    label=labels.get(cid, cid))
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xticks(Ts)
        ax.set_xticklabels([str(t) for t in Ts])
        ax.set_xlabel("tokens T")
        ax.set_ylabel("median ms per call (log)")
        ax.set_title("dense teacher, batch 1, fixed length", fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper left")
    standin = any(m.get("standin") for m in res["models"].values())
    fig.suptitle(f'inforcoef vs onnxruntime, one thread each, {res["cpu"]} ({res["cores"]} shared cores, load {res["loadBefore"]})'
                 + ("  -  STAND-IN MODELS" if standin else ""), fontsize=11)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    print(f"wrote {out} ({os.path.getsize(out):,} bytes)")


if __name__ == "__main__":
    main()
