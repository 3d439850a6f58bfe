#!/usr/bin/env python3
"""Lock the same real requirement sets with pyship, `uv pip compile` and `pip-compile`.

Each tool locks each set (with hashes, for CPython 3.11 on this machine) with a cold cache
(a fresh, empty cache directory every run) and with a warm cache (the same directory again),
RUNS times each; the script prints the medians and the ratios to pyship, and names any pins a
tool chose differently from pyship (a speed comparison holds only where the answers agree).
It needs the network (the real index) and installs uv and pip-tools into benches/.venv on
first use.

    python3 benches/lock.py                 # the common sets (small, medium, large), 3 runs each
    python3 benches/lock.py hard            # the "hard" group: sets that need backtracking,
                                            # sdist metadata builds and bounded old releases
    python3 benches/lock.py --runs 5 small  # one set
    python3 benches/lock.py --tools pyship,uv all

This is a benchmark, not a test: run it by hand on an otherwise idle machine.
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VENV = HERE / ".venv"
COMMON = ["small", "medium", "large"]
HARD = [
    "hard-airflow", "hard-beam", "hard-dagster", "hard-sphinx", "hard-requests", "hard-sdists",
    "hard-synapse", "hard-buildbot", "hard-twisted",
]
SETS = COMMON + HARD
GROUPS = {"common": COMMON, "hard": HARD, "all": SETS}


def ensure_tools():
    if not (VENV / "bin" / "uv").exists() or not (VENV / "bin" / "pip-compile").exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(VENV / "bin" / "pip"), "install", "-q", "uv", "pip-tools"], check=True)
    pyship = ROOT / "target" / "release" / "pyship"
    subprocess.run(["cargo", "build", "--release", "-q", "--bin", "pyship"], cwd=ROOT, check=True)
    return pyship


def command(tool, pyship, requirements, output, cache):
    if tool == "pyship":
        return [str(pyship), "lock", "-q", "-r", str(requirements), "-o", str(output)], {
            "PYSHIP_CACHE_DIR": str(cache)
        }
    if tool == "uv":
        return [
            str(VENV / "bin" / "uv"), "pip", "compile", "-q", "--generate-hashes",
            "--python-version", "3.11", "--cache-dir", str(cache), "-o", str(output), str(requirements),
        ], {}
    if tool == "pip-compile":
        return [
            str(VENV / "bin" / "pip-compile"), "-q", "--generate-hashes", "--no-header",
            "--cache-dir", str(cache), "--pip-args", f"--cache-dir {cache}",
            "-o", str(output), str(requirements),
        ], {"PIP_FIND_LINKS": ""}
    raise ValueError(tool)


def timed(argv, env):
    started = time.perf_counter()
    result = subprocess.run(argv, env={**os.environ, **env}, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"failed: {' '.join(argv)}\n{result.stderr[-2000:]}")
    return elapsed


def measure(tool, pyship, name, runs, work):
    requirements = HERE / "sets" / f"{name}.in"
    output = work / f"{tool}-{name}.txt"
    cold, warm = [], []
    for _ in range(runs):
        cache = work / f"cache-{tool}-{name}"
        shutil.rmtree(cache, ignore_errors=True)
        output.unlink(missing_ok=True)
        argv, env = command(tool, pyship, requirements, output, cache)
        cold.append(timed(argv, env))
        output.unlink(missing_ok=True)
        warm.append(timed(argv, env))
    return statistics.median(cold), statistics.median(warm), pins(output)


def pins(output):
    """The (normalized name, version) pairs a requirements.txt pins."""
    found = set()
    for line in output.read_text().splitlines():
        line = line.strip()
        if "==" not in line or line.startswith("#"):
            continue
        requirement = line.split(";")[0].split()[0]
        name, _, version = requirement.partition("==")
        found.add((re.sub(r"[-_.]+", "-", name.split("[")[0]).lower(), version))
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "sets", nargs="*",
        help=f"sets ({', '.join(SETS)}) or groups ({', '.join(GROUPS)}); default: common",
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tools", default="pyship,uv,pip-compile")
    args = parser.parse_args()
    unknown = set(args.sets) - set(SETS) - set(GROUPS)
    if unknown:
        parser.error(f"unknown sets: {', '.join(sorted(unknown))}")
    chosen = []
    for name in args.sets or ["common"]:
        for member in GROUPS.get(name, [name]):
            if member not in chosen:
                chosen.append(member)
    args.sets = chosen
    tools = args.tools.split(",")
    pyship = ensure_tools()
    rows = []
    with tempfile.TemporaryDirectory(prefix="pyship-bench-") as work:
        for name in args.sets:
            results = {tool: measure(tool, pyship, name, args.runs, Path(work)) for tool in tools}
            rows.append((name, results))
            for tool, (cold, warm, pinned) in results.items():
                print(f"{name:13} {tool:12} cold {cold:7.2f}s  warm {warm:7.2f}s  ({len(pinned)} pins)", file=sys.stderr)
            # Speed counts only when the answers agree: say where they do not.
            reference = results.get("pyship", next(iter(results.values())))[2]
            for tool, (_, _, pinned) in results.items():
                if pinned != reference:
                    print(f"{name}: {tool} pins differently: only {tool}: {sorted(pinned - reference)}; "
                          f"not {tool}: {sorted(reference - pinned)}", file=sys.stderr)
    print(f"\nmedians of {args.runs} runs; ratio = tool time / pyship time\n")
    print(f"| set | tool | pins | cold (s) | warm (s) | cold ratio | warm ratio |")
    print(f"| --- | --- | --- | --- | --- | --- | --- |")
    for name, results in rows:
        base_cold, base_warm, _ = results.get("pyship", (None, None, None))
        for tool, (cold, warm, pinned) in results.items():
            packages = len(pinned)
            ratio_cold = f"{cold / base_cold:.1f}x" if base_cold else "-"
            ratio_warm = f"{warm / base_warm:.1f}x" if base_warm else "-"
            print(f"| {name} | {tool} | {packages} | {cold:.2f} | {warm:.2f} | {ratio_cold} | {ratio_warm} |")


if __name__ == "__main__":
    main()
