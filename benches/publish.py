#!/usr/bin/env python3
"""Add one package to an APT repository with pyship-apt and with reprepro, side by side.

For each size (10, 100, 1,000 packages already in the repository) small .debs are generated
with dpkg-deb (one file each, distinct names), a repository of that size is made by each tool,
then the time to add ONE more package is measured, RUNS times (each run on a fresh copy of
the repository): pyship-apt with the publisher protocol's request (`pyship-apt publish
--request`, what `pyship publish apt` runs), reprepro with `includedeb` (which exports the
indexes as it goes). Both write one suite, unsigned, the same Packages, Packages.gz and
Packages.xz (reprepro: `DebIndices: Packages Release . .gz .xz`).

It prints the medians per size, the ratio (reprepro time / pyship-apt time) and how pyship-apt's
time grows with the repository. It needs dpkg-deb and reprepro (installed with apt-get when
missing, as root) and pyship-apt built (`cargo build --release -p pyship-apt`).

    python3 benches/publish.py                 # 10, 100 and 1,000 packages, 3 runs each
    python3 benches/publish.py --runs 5 1000

This is a benchmark, not a test: run it by hand on an otherwise idle machine.
"""
import argparse
import hashlib
import json
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
SIZES = [10, 100, 1000]


def make_deb(directory: Path, name: str) -> Path:
    tree = directory / f"{name}-tree"
    (tree / "DEBIAN").mkdir(parents=True)
    (tree / "usr/share" / name).mkdir(parents=True)
    (tree / "usr/share" / name / "data.txt").write_text(f"{name}\n")
    (tree / "DEBIAN/control").write_text(
        f"Package: {name}\nVersion: 1.0-1\nArchitecture: amd64\nSection: misc\nPriority: optional\n"
        "Maintainer: Bench <bench@example.com>\nDescription: benchmark package\n"
    )
    deb = directory / f"{name}_1.0-1_amd64.deb"
    subprocess.run(
        ["dpkg-deb", "--root-owner-group", "-Zgzip", "--build", str(tree), str(deb)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    shutil.rmtree(tree)
    return deb


def request(path: Path, repository: Path, debs: list) -> Path:
    artifacts = []
    for deb in debs:
        data = deb.read_bytes()
        artifacts.append(
            {"path": str(deb), "kind": "deb", "size": len(data),
             "sha256": hashlib.sha256(data).hexdigest()}
        )
    path.write_text(json.dumps({
        "protocol": 3, "publisher": "apt", "destination": str(repository),
        "artifacts": artifacts, "options": {"suite": "bookworm", "unsigned": True},
        "project": "bench", "release": "1.0", "source-date-epoch": 1700000000,
    }))
    return path


def pyship_add(plugin: Path, repository: Path, debs: list, scratch: Path) -> None:
    req = request(scratch / "request.json", repository, debs)
    subprocess.run([str(plugin), "publish", "--request", str(req)], check=True,
                   stdout=subprocess.DEVNULL)


def reprepro_conf(repository: Path) -> None:
    (repository / "conf").mkdir(parents=True, exist_ok=True)
    (repository / "conf/distributions").write_text(
        "Codename: bookworm\nArchitectures: amd64\nComponents: main\n"
        "DebIndices: Packages Release . .gz .xz\n"
    )


def reprepro_add(repository: Path, debs: list) -> None:
    subprocess.run(
        ["reprepro", "-b", str(repository), "includedeb", "bookworm", *map(str, debs)],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("sizes", nargs="*", type=int, default=SIZES)
    args = parser.parse_args()
    if shutil.which("reprepro") is None:
        subprocess.run(["apt-get", "install", "-y", "-q", "reprepro"], check=True)
    plugin = ROOT / "target/release/pyship-apt"
    if not plugin.is_file():
        subprocess.run(["cargo", "build", "--release", "-p", "pyship-apt"], cwd=ROOT, check=True)
    rows = []
    with tempfile.TemporaryDirectory() as temporary:
        temp = Path(temporary)
        debs_dir = temp / "debs"
        debs_dir.mkdir()
        biggest = max(args.sizes)
        debs = [make_deb(debs_dir, f"pkg{index:05d}") for index in range(biggest)]
        extra = make_deb(debs_dir, "zzz-added")
        for size in args.sizes:
            base_pyship = temp / f"pyship-{size}"
            pyship_add(plugin, base_pyship, debs[:size], temp)
            base_reprepro = temp / f"reprepro-{size}"
            reprepro_conf(base_reprepro)
            reprepro_add(base_reprepro, debs[:size])
            times = {"pyship-apt": [], "reprepro": []}
            for _ in range(args.runs):
                copy = temp / "copy"
                shutil.rmtree(copy, ignore_errors=True)
                shutil.copytree(base_pyship, copy, symlinks=True)
                times["pyship-apt"].append(timed(lambda: pyship_add(plugin, copy, [extra], temp)))
                shutil.rmtree(copy)
                shutil.copytree(base_reprepro, copy, symlinks=True)
                times["reprepro"].append(timed(lambda: reprepro_add(copy, [extra])))
            medians = {tool: statistics.median(values) for tool, values in times.items()}
            rows.append((size, medians))
            print(
                f"{size:>6} packages: pyship-apt {medians['pyship-apt']:.3f} s, "
                f"reprepro {medians['reprepro']:.3f} s, "
                f"ratio {medians['reprepro'] / medians['pyship-apt']:.1f}x",
                flush=True,
            )
    if len(rows) > 1:
        first, last = rows[0], rows[-1]
        print(
            f"pyship-apt at {last[0]} packages takes "
            f"{last[1]['pyship-apt'] / first[1]['pyship-apt']:.1f}x its time at {first[0]}"
        )


if __name__ == "__main__":
    sys.exit(main())
