#!/usr/bin/env python3
"""Stage the same locked app with pyship, uv and pip, side by side.

For each set in benches/sets/ an app is generated and locked once by `pyship lock` (the same
app as benches/deb.py makes); its lock is exported to a requirements.txt with hashes, so all
three tools install the same files. Then, RUNS times each:

- pyship: `pyship build` (a virtualenv at /opt/venvs/benchapp, byte-compiled, the app built
          with its PEP 517 backend and installed);
- uv:     `uv venv` + `uv pip install --compile-bytecode -r requirements.txt` + the app;
- pip:    `python3.11 -m venv --without-pip` + `pip --python VENV install -r requirements.txt`
          (pip compiles bytecode by default) + the app.

cold = empty cache (downloads included); warm = the same cache again into a fresh tree
(pyship's staged tree and stamp removed first). For pyship it also times a no-op rebuild
(nothing changed) and a rebuild after the app's source changed (the dependencies' installed
trees come from the cache). It prints the medians and the ratios (tool time / pyship time).

    python3 benches/build.py                  # all sets, 3 runs each
    python3 benches/build.py --runs 1 small   # one set

Needs the network (the real index) and Python 3.11; uv and pip come from benches/.venv (made on
first use, as benches/lock.py does). A benchmark, not a test: run it on an otherwise idle machine.
"""
import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

import deb
import lock

PYTHON = "/usr/bin/python3.11"
TOOLS = ["pyship", "uv", "pip"]


def pyship_build(pyship, app, cache):
    elapsed, _ = deb.run([pyship, "build", "-q"], app, {"PYSHIP_CACHE_DIR": str(cache)})
    return elapsed


def fresh_stage(app):
    shutil.rmtree(app / "target" / "pyship" / "stage", ignore_errors=True)


def other_build(tool, app, cache, work):
    venv = work / f"venv-{tool}"
    shutil.rmtree(venv, ignore_errors=True)
    requirements = str(app / "requirements.txt")
    if tool == "uv":
        uv = str(lock.VENV / "bin" / "uv")
        env = {"UV_CACHE_DIR": str(cache)}
        steps = [
            [uv, "venv", "-q", "--python", PYTHON, str(venv)],
            [uv, "pip", "install", "-q", "--compile-bytecode", "--python", str(venv / "bin" / "python"),
             "-r", requirements],
            [uv, "pip", "install", "-q", "--compile-bytecode", "--no-deps", "--python",
             str(venv / "bin" / "python"), str(app)],
        ]
    else:
        pip = [str(lock.VENV / "bin" / "python"), "-m", "pip"]
        env = {"PIP_CACHE_DIR": str(cache), "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_FIND_LINKS": ""}
        steps = [
            [PYTHON, "-m", "venv", "--without-pip", str(venv)],
            pip + ["--python", str(venv / "bin" / "python"), "install", "-q", "-r", requirements],
            pip + ["--python", str(venv / "bin" / "python"), "install", "-q", "--no-deps", str(app)],
        ]
    return sum(deb.run(step, app, env)[0] for step in steps)


def measure(tool, pyship, app, runs, work):
    cold, warm, noop, app_change = [], [], [], []
    for index in range(runs):
        cache = work / f"cache-{tool}-{index}"
        shutil.rmtree(cache, ignore_errors=True)
        if tool == "pyship":
            fresh_stage(app)
            cold.append(pyship_build(pyship, app, cache))
            fresh_stage(app)
            warm.append(pyship_build(pyship, app, cache))
            noop.append(pyship_build(pyship, app, cache))
            module = app / deb.APP / "__init__.py"
            module.write_text(module.read_text() + f"CHANGE = {index}\n")
            app_change.append(pyship_build(pyship, app, cache))
        else:
            cold.append(other_build(tool, app, cache, work))
            warm.append(other_build(tool, app, cache, work))
        shutil.rmtree(cache, ignore_errors=True)
    median = lambda values: statistics.median(values) if values else None
    return median(cold), median(warm), median(noop), median(app_change)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sets", nargs="*", help=f"any of {', '.join(deb.SETS)} (default: all)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tools", default=",".join(TOOLS))
    args = parser.parse_args()
    unknown = set(args.sets) - set(deb.SETS)
    if unknown:
        parser.error(f"unknown sets: {', '.join(sorted(unknown))}")
    tools = args.tools.split(",")
    pyship = lock.ensure_tools()
    rows = []
    with tempfile.TemporaryDirectory(prefix="pyship-build-bench-") as work:
        for name in args.sets or deb.SETS:
            app = deb.make_app(Path(work), name, pyship)
            results = {}
            for tool in tools:
                results[tool] = measure(tool, pyship, app, args.runs, Path(work) / name)
                cold, warm, _, _ = results[tool]
                print(f"{name:7} {tool:7} cold {cold:7.2f}s  warm {warm:7.2f}s", file=sys.stderr)
            rows.append((name, results))
    print(f"\nmedians of {args.runs} runs; ratio = tool time / pyship time\n")
    print("| set | tool | cold (s) | warm (s) | cold ratio | warm ratio | no-op rebuild (s) | app changed (s) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, results in rows:
        base_cold, base_warm, _, _ = results.get("pyship", (None, None, None, None))
        for tool, (cold, warm, noop, changed) in results.items():
            ratio_cold = f"{cold / base_cold:.1f}x" if base_cold else "-"
            ratio_warm = f"{warm / base_warm:.1f}x" if base_warm else "-"
            extra = lambda value: f"{value:.2f}" if value is not None else "-"
            print(f"| {name} | {tool} | {cold:.2f} | {warm:.2f} | {ratio_cold} | {ratio_warm} "
                  f"| {extra(noop)} | {extra(changed)} |")


if __name__ == "__main__":
    main()
