#!/usr/bin/env python3
"""Time each format plugin on the same app: `pyship package FORMAT` with warm caches.

For each set in benches/sets/ the app of benches/deb.py is generated and locked once; then for
each format (deb, rpm, tarball, vendors) `pyship package FORMAT` runs RUNS times with the same
warm cache (each run stages the tree again and writes the artifact). Prints medians and the
artifact sizes; the ratio is to the deb plugin's time. Needs the network once, to fill the
cache.

    python3 benches/formats.py                  # all sets, 3 runs each
    python3 benches/formats.py --runs 1 medium

This is a benchmark, not a test: run it by hand on an otherwise idle machine.
"""
import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import deb  # noqa: E402  (the app generator and helpers)

FORMATS = ["deb", "rpm", "tarball", "vendors"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sets", nargs="*", help=f"any of {', '.join(deb.SETS)} (default: all)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--formats", default=",".join(FORMATS))
    args = parser.parse_args()
    formats = args.formats.split(",")
    pyship = deb.ensure_tools(["pyship"])
    rows = []
    with tempfile.TemporaryDirectory(prefix="pyship-formats-bench-") as work:
        for name in args.sets or deb.SETS:
            app = deb.make_app(Path(work), name, pyship)
            cache = Path(work) / name / "cache"
            env = {"PYSHIP_CACHE_DIR": str(cache), "SOURCE_DATE_EPOCH": "1700000000"}
            deb.run([pyship, "fetch", "-q"], app, env)
            # Formats take turns within each round, so that a machine that slows down over
            # consecutive runs (disk writeback) does not favour the first format.
            times = {format: [] for format in formats}
            sizes = {}
            for _ in range(args.runs):
                for format in formats:
                    elapsed, result = deb.run([pyship, "package", format, "-q"], app, env)
                    times[format].append(elapsed)
                    sizes[format] = Path(result.stdout.strip().splitlines()[-1]).stat().st_size
            for format in formats:
                median = statistics.median(times[format])
                rows.append((name, format, median, sizes[format]))
                print(f"{name:7} {format:8} {median:6.2f}s  {sizes[format] / 1e6:7.1f} MB", file=sys.stderr)
    print(f"\nmedians of {args.runs} warm runs; ratio = format time / deb time\n")
    print("| set | format | warm (s) | ratio | artifact (MB) |")
    print("| --- | --- | --- | --- | --- |")
    base = {name: median for name, format, median, _ in rows if format == "deb"}
    for name, format, median, size in rows:
        ratio = f"{median / base[name]:.2f}x" if name in base else "-"
        print(f"| {name} | {format} | {median:.2f} | {ratio} | {size / 1e6:.1f} |")


if __name__ == "__main__":
    main()
