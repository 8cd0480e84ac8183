"""Plot W4 round-trip latencies (schedule one behavior, read its result) as
a cumulative distribution per peer, from the file `py_bench.py --samples`
writes:

    .venv/bin/python bench/py_bench.py --only W4 \\
        --peers bocd,bocd-socket,pool,bocpy --repeat 3 --samples w4.json
    .venv/bin/python bench/plot_w4.py w4.json bench/results/w4.png

Needs matplotlib (installed into this environment with pip when missing).
"""
import argparse
import json
import subprocess
import sys


def matplotlib_pyplot():
    try:
        import matplotlib
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                        "matplotlib"], check=True)
        import matplotlib
    matplotlib.use("Agg")  # no display: write the file only
    import matplotlib.pyplot as plt
    return plt


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("samples", help="JSON from py_bench.py --samples")
    p.add_argument("png", help="the image to write")
    p.add_argument("--title", default="W4: schedule one behavior and read "
                                      "its result (2-core machine)")
    args = p.parse_args(argv)
    data = json.loads(open(args.samples).read())
    plt = matplotlib_pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for peer, lat in sorted(data.items()):
        xs = sorted(lat)
        ys = [(i + 1) / len(xs) for i in range(len(xs))]
        median = xs[len(xs) // 2]
        ax.step(xs, ys, where="post", label=f"{peer} (median {median:.0f} us)")
    ax.set_xscale("log")
    ax.set_xlabel("round trip, microseconds (log scale)")
    ax.set_ylabel("fraction of calls at or below")
    ax.set_title(args.title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(args.png, dpi=120)
    print(f"wrote {args.png}")


if __name__ == "__main__":
    main()
