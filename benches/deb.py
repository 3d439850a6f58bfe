#!/usr/bin/env python3
"""Build the same app's .deb with pyship and with dh-virtualenv, side by side.

For each set in benches/sets/ an app is generated (a tiny module depending on the set's
requirements, pinned once by `pyship lock` so both tools install the same versions). Then, RUNS
times each:

- pyship:  `pyship package deb`, cold (an empty pyship cache, no target/) and warm (the same
           cache and target/ again: the .deb is written again, from unchanged compressed
           segments), then "app changed": a release that changes only the app's code (and its
           SOURCE_DATE_EPOCH), so the app is rebuilt and the data.tar compressed again;
- dh-virtualenv: `dpkg-buildpackage -b` with `dh $@ --with python-virtualenv` and
           `dh_virtualenv --builtin-venv`, from a requirements.txt exported from the same lock,
           cold (an empty pip cache) and warm (the same pip cache again).

It prints the medians, the ratios (dh-virtualenv time / pyship time) and the .deb sizes. It
needs the network (the real index) and, for dh-virtualenv, Debian's dh-virtualenv, debhelper
and dpkg-dev (installed with apt-get when missing and run as root).

    python3 benches/deb.py                    # all sets, 3 runs each
    python3 benches/deb.py --runs 1 small     # one set
    python3 benches/deb.py --tools pyship     # pyship only (no dh-virtualenv)

This is a benchmark, not a test: run it by hand on an otherwise idle machine.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SETS = ["small", "medium", "large"]
APP = "benchapp"

PYPROJECT = """[project]
name = "{app}"
version = "0.1.0"
description = "pyship deb benchmark app"
requires-python = ">=3.9"
license = {{ text = "MIT" }}
maintainers = [{{ name = "Bench", email = "bench@example.com" }}]
dependencies = [{dependencies}]

[build-system]
requires = ["flit_core>=3.4,<4"]
build-backend = "flit_core.buildapi"

[tool.pyship]
install-prefix = "/opt/venvs/{app}"
"""

CONTROL = """Source: {app}
Section: python
Priority: optional
Maintainer: Bench <bench@example.com>
Build-Depends: debhelper-compat (= 13), dh-virtualenv (>= 1.2)
Standards-Version: 4.6.2

Package: {app}
Architecture: any
Depends: ${{misc:Depends}}, ${{shlibs:Depends}}, python3
Description: pyship deb benchmark app
 The same app, built by dh-virtualenv.
"""

CHANGELOG = """{app} (0.1.0-1) unstable; urgency=medium

  * Benchmark build.

 -- Bench <bench@example.com>  Tue, 14 Nov 2023 22:13:20 +0000
"""

RULES = """#!/usr/bin/make -f
%:
\tdh $@ --with python-virtualenv

override_dh_virtualenv:
\tdh_virtualenv --builtin-venv --python /usr/bin/python3 --install-suffix {app}

# What dh-virtualenv users add for wheels that bundle compiled libraries (auditwheel's
# NAME.libs/): dwz and strip fail on or damage them, and dpkg-shlibdeps finds no package for
# the bundled ones and cannot find them at all unless told where they are (-l). pyship neither
# strips nor needs these.
override_dh_dwz:

override_dh_strip:

override_dh_shlibdeps:
\tdh_shlibdeps -- --ignore-missing-info $$(find $(CURDIR)/debian/{app} -type d -name '*.libs' -printf ' -l%p')
"""


def ensure_tools(tools):
    subprocess.run(["cargo", "build", "--release", "-q", "--workspace", "--bins"], cwd=ROOT, check=True)
    if "dh-virtualenv" in tools and shutil.which("dh_virtualenv") is None:
        print("installing dh-virtualenv, debhelper and dpkg-dev with apt-get", file=sys.stderr)
        subprocess.run(["apt-get", "install", "-y", "-q", "dh-virtualenv", "debhelper", "dpkg-dev"], check=True,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    return ROOT / "target" / "release" / "pyship"


def run(argv, cwd, env=None, quiet=True):
    started = time.perf_counter()
    result = subprocess.run(argv, cwd=cwd, env={**os.environ, **(env or {})}, capture_output=quiet, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"failed: {' '.join(map(str, argv))}\n{(result.stderr or '')[-3000:]}")
    return elapsed, result


def make_app(work, name, pyship):
    """The app for set `name`, locked once; returns its directory."""
    app = work / name / "app"
    (app / APP).mkdir(parents=True)
    requirements = [
        line.split("#")[0].strip()
        for line in (HERE / "sets" / f"{name}.in").read_text().splitlines()
        if line.split("#")[0].strip()
    ]
    (app / "pyproject.toml").write_text(
        PYPROJECT.format(app=APP, dependencies=", ".join(f'"{r}"' for r in requirements)))
    (app / APP / "__init__.py").write_text('"""Benchmark app."""\n__version__ = "0.1.0"\n')
    run([pyship, "lock", "-q"], app, {"PYSHIP_CACHE_DIR": str(work / "lock-cache")})
    _, exported = run([pyship, "export", "--format", "requirements.txt"], app)
    (app / "requirements.txt").write_text(exported.stdout)
    debian = app / "debian"
    debian.mkdir()
    (debian / "control").write_text(CONTROL.format(app=APP))
    (debian / "changelog").write_text(CHANGELOG.format(app=APP))
    (debian / "rules").write_text(RULES.format(app=APP))
    (debian / "rules").chmod(0o755)
    (debian / "source").mkdir()
    (debian / "source" / "format").write_text("3.0 (native)\n")
    return app


def pyship_build(pyship, app, cache, epoch="1700000000"):
    elapsed, result = run([pyship, "package", "deb", "-q"], app,
                          {"PYSHIP_CACHE_DIR": str(cache), "SOURCE_DATE_EPOCH": epoch})
    return elapsed, Path(result.stdout.strip().splitlines()[-1])


def dh_virtualenv_build(app, pip_cache):
    shutil.rmtree(app / "debian" / APP, ignore_errors=True)
    elapsed, _ = run(["dpkg-buildpackage", "-b", "-us", "-uc", "-d"], app,
                     {"PIP_CACHE_DIR": str(pip_cache), "SOURCE_DATE_EPOCH": "1700000000",
                      "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    debs = sorted(app.parent.glob(f"{APP}_*.deb"))
    return elapsed, debs[-1]


def measure(tool, pyship, app, runs, work):
    """Medians of cold, warm and (pyship only) app-changed builds, and the .deb's size."""
    cold, warm, changed, size = [], [], [], 0
    for index in range(runs):
        cache = work / f"cache-{tool}-{index}"
        if tool == "pyship":
            shutil.rmtree(app / "target", ignore_errors=True)
            elapsed, deb = pyship_build(pyship, app, cache)
            cold.append(elapsed)
            elapsed, deb = pyship_build(pyship, app, cache)
            warm.append(elapsed)
            size = deb.stat().st_size
            # A release that changes only the app: new code, new commit time.
            module = app / APP / "__init__.py"
            original = module.read_text()
            module.write_text(original + f"RELEASE = {index + 2}\n")
            elapsed, _ = pyship_build(pyship, app, cache, epoch="1700086400")
            changed.append(elapsed)
            module.write_text(original)
        else:
            elapsed, deb = dh_virtualenv_build(app, cache)
            cold.append(elapsed)
            elapsed, deb = dh_virtualenv_build(app, cache)
            warm.append(elapsed)
            size = deb.stat().st_size
        shutil.rmtree(cache, ignore_errors=True)
    median = statistics.median
    return median(cold), median(warm), median(changed) if changed else None, size


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sets", nargs="*", help=f"any of {', '.join(SETS)} (default: all)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tools", default="pyship,dh-virtualenv")
    args = parser.parse_args()
    unknown = set(args.sets) - set(SETS)
    if unknown:
        parser.error(f"unknown sets: {', '.join(sorted(unknown))}")
    tools = args.tools.split(",")
    pyship = ensure_tools(tools)
    rows = []
    with tempfile.TemporaryDirectory(prefix="pyship-deb-bench-") as work:
        for name in args.sets or SETS:
            app = make_app(Path(work), name, pyship)
            results = {}
            for tool in tools:
                results[tool] = measure(tool, pyship, app, args.runs, Path(work) / name)
                cold, warm, changed, size = results[tool]
                changed_text = f"  app changed {changed:7.2f}s" if changed is not None else ""
                print(f"{name:7} {tool:14} cold {cold:7.2f}s  warm {warm:7.2f}s{changed_text}"
                      f"  .deb {size / 1e6:7.1f} MB", file=sys.stderr)
            rows.append((name, results))
    print(f"\nmedians of {args.runs} runs; ratio = tool time / pyship time; 'app changed' is pyship's"
          " warm build of a release that changes only the app (dh-virtualenv rebuilds everything"
          " either way, so its ratio there is against its warm time)\n")
    print("| set | tool | cold (s) | warm (s) | app changed (s) | cold ratio | warm ratio"
          " | app-changed ratio | .deb (MB) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, results in rows:
        base_cold, base_warm, base_changed, _ = results.get("pyship", (None, None, None, None))
        for tool, (cold, warm, changed, size) in results.items():
            ratio = lambda value, base: f"{value / base:.1f}x" if base else "-"
            changed_text = f"{changed:.2f}" if changed is not None else "-"
            print(f"| {name} | {tool} | {cold:.2f} | {warm:.2f} | {changed_text} | {ratio(cold, base_cold)}"
                  f" | {ratio(warm, base_warm)} | {ratio(changed if changed is not None else warm, base_changed)} | {size / 1e6:.1f} |")


if __name__ == "__main__":
    main()
