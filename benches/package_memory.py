#!/usr/bin/env python3
"""Peak memory and time of packaging a large staged tree, per compression.

Generates a project whose dependencies are SIZE_MB of wheels (half random bytes, like
compiled libraries, half text, like Python sources), stages it with pyship (offline, from a
wheelhouse), then runs the deb plugin on the same manifest once per compression under
/usr/bin/time and prints wall time, peak RSS and the .deb's size. A plugin that holds the
archive in memory shows a peak RSS near the tree's size; a streaming one stays flat.

    python3 benches/package_memory.py                    # 500 MB tree
    python3 benches/package_memory.py --size-mb 200
    python3 benches/package_memory.py --plugin /path/to/other/pyship-deb   # compare builds

This is a benchmark, not a test: run it by hand on an otherwise idle machine.
"""
import argparse
import json
import base64
import hashlib
import os
import random
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def make_wheel(directory, name, size):
    """A wheel of `name` 1.0 holding `size` bytes in 4 MB files."""
    rng = random.Random(name)
    dist_info = f"{name}-1.0.dist-info"
    entries = [(f"{name}/__init__.py", b"")]
    remaining, index = size, 0
    while remaining > 0:
        chunk = min(remaining, 4 << 20)
        if index % 2:
            data = rng.randbytes(chunk)
        else:
            words = [rng.choice(["def", "return", "self", "import", "value", "(", ")", ":"])
                     for _ in range(chunk // 5)]
            data = " ".join(words).encode()[:chunk]
        entries.append((f"{name}/part{index}.{'so' if index % 2 else 'py'}", data))
        remaining -= chunk
        index += 1
    entries.append((f"{dist_info}/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n".encode()))
    entries.append((f"{dist_info}/WHEEL", b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n"))
    record = ""
    for path, data in entries:
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record += f"{path},sha256={digest},{len(data)}\n"
    record += f"{dist_info}/RECORD,,\n"
    entries.append((f"{dist_info}/RECORD", record.encode()))
    with zipfile.ZipFile(directory / f"{name}-1.0-py3-none-any.whl", "w", zipfile.ZIP_STORED) as wheel:
        for path, data in entries:
            wheel.writestr(path, data)


def peak(command, env):
    """(seconds, peak RSS in MB) of a command, from GNU time."""
    result = subprocess.run(["/usr/bin/time", "-f", "%e %M", *command], env=env,
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{command[0]} failed:\n{result.stderr}")
    seconds, kilobytes = result.stderr.strip().splitlines()[-1].split()
    return float(seconds), int(kilobytes) / 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=500)
    parser.add_argument("--plugin", help="the pyship-deb binary to measure (default: this build)")
    parser.add_argument("--compressions", default="gzip,xz,zstd")
    args = parser.parse_args()
    subprocess.run(["cargo", "build", "--release", "-q", "--workspace", "--bins"], cwd=ROOT, check=True)
    pyship = ROOT / "target" / "release" / "pyship"
    plugin = Path(args.plugin) if args.plugin else ROOT / "target" / "release" / "pyship-deb"

    with tempfile.TemporaryDirectory() as temp:
        project = Path(temp) / "app"
        shutil.copytree(ROOT / "testdata" / "apps" / "hello", project,
                        ignore=shutil.ignore_patterns("target", "pylock.toml"))
        names = [f"big{index}" for index in range(max(1, args.size_mb // 50))]
        for name in names:
            make_wheel(project / "wheelhouse", name, args.size_mb * (1 << 20) // len(names))
        text = (project / "pyproject.toml").read_text()
        text = text.replace("dependencies = [", "dependencies = [" + "".join(f'"{n}", ' for n in names), 1)
        (project / "pyproject.toml").write_text(text)
        env = dict(os.environ, SOURCE_DATE_EPOCH="1700000000", PYSHIP_CACHE_DIR=str(Path(temp) / "cache"))
        subprocess.run([str(pyship), "-C", str(project), "-q", "package", "deb", "--offline"],
                       env=env, check=True, stdout=subprocess.DEVNULL)
        stage = project / "target" / "pyship" / "stage"
        tree = sum(f.stat().st_size for f in stage.rglob("*") if f.is_file() and not f.is_symlink())
        manifest = project / "target" / "pyship" / "deb" / "manifest.json"
        print(f"plugin: {plugin}")
        print(f"staged tree: {tree / (1 << 20):.0f} MiB")
        print(f"{'compression':<12} {'time':>8} {'peak RSS':>10} {'.deb size':>10}")
        for compression in args.compressions.split(","):
            text = manifest.read_text()
            data = json.loads(text)
            data["format-options"]["compression"] = compression
            variant = manifest.with_name(f"manifest-{compression}.json")
            variant.write_text(json.dumps(data))
            try:
                seconds, rss = peak([str(plugin), "package", "--manifest", str(variant)], env)
            except SystemExit as error:
                print(f"{compression:<12} failed: {str(error).splitlines()[-1]}")
                continue
            deb = max((project / "target" / "pyship").glob("*.deb"), key=lambda p: p.stat().st_mtime)
            print(f"{compression:<12} {seconds:>7.1f}s {rss:>8.0f} MB {deb.stat().st_size / (1 << 20):>7.0f} MiB")


if __name__ == "__main__":
    main()
