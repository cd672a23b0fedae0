#!/usr/bin/env python3
"""Build the MedMitra Desktop bundle for this system and prove it works.

    .venv/bin/python build/build.py [--archive] [--skip-tesseract] [--no-self-test]

1. Linux: stages the system's Tesseract (build/bundle_tesseract.py linux). Windows: expects
   it staged already (the workflow downloads and checks the pinned build; build/README.md).
2. Runs PyInstaller with build/medmitra_desktop.spec, work files in build/work and the
   bundle in build/dist (both git-ignored).
3. macOS: adds Homebrew's Tesseract to the .app (build/bundle_tesseract.py macos).
4. Runs `medmitra-desktop --self-test` from the bundle with an environment that has no
   Tesseract on PATH (Linux/macOS: PATH=/usr/bin/nonexistent and a scratch HOME), so the
   bundled OCR engine has to do the work. A failing self-test fails the build.
5. Prints the bundle's size; with --archive also packs the Linux bundle as
   build/dist/medmitra-desktop-VERSION-linux-ARCH.tar.gz.

Needs the build tools: pip install -c requirements/constraints.txt
-c requirements/build-constraints.txt -e . pyinstaller
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tarfile
import tempfile
import time
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DIST, WORK = HERE / "dist", HERE / "work"
SPEC = HERE / "medmitra_desktop.spec"
APP_NAME, EXE_NAME = "MedMitra Desktop", "medmitra-desktop"
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
    "version"]


def say(message: str) -> None:
    print(f"[build] {message}", flush=True)


def run(*command: str | Path, env: dict[str, str] | None = None) -> None:
    say(" ".join(map(str, command)))
    subprocess.run([str(part) for part in command], check=True, env=env, cwd=ROOT)


def bundle_dir() -> Path:
    return DIST / f"{APP_NAME}.app" if sys.platform == "darwin" else DIST / EXE_NAME


def program() -> Path:
    if sys.platform == "darwin":
        return bundle_dir() / "Contents" / "MacOS" / EXE_NAME
    return bundle_dir() / (f"{EXE_NAME}.exe" if os.name == "nt" else EXE_NAME)


def size_of(folder: Path) -> int:
    return sum(path.lstat().st_size for path in folder.rglob("*")
               if path.is_file() and not path.is_symlink())


def self_test() -> None:
    """The bundle's self-test with no Tesseract on PATH and nothing inherited."""
    with tempfile.TemporaryDirectory(prefix="medmitra-bundle-test-") as home:
        if os.name == "nt":
            system_root = os.environ.get("SYSTEMROOT", r"C:\Windows")
            env = {"SYSTEMROOT": system_root, "WINDIR": system_root,
                   "PATH": str(Path(system_root) / "System32"),
                   "TEMP": home, "TMP": home, "USERPROFILE": home,
                   "LOCALAPPDATA": home, "APPDATA": home}
        else:
            env = {"PATH": "/usr/bin/nonexistent", "HOME": home, "TMPDIR": home}
        say(f"self-test: {program()} --self-test (PATH={env['PATH']})")
        result = subprocess.run([str(program()), "--self-test"], env=env, text=True,
                                capture_output=True, timeout=300, check=False)
    print(result.stdout, end="", flush=True)
    if result.returncode != 0 or result.stderr:
        print(result.stderr, end="", file=sys.stderr, flush=True)
        sys.exit(f"[build] the bundle's self-test failed (exit status {result.returncode}"
                 f"{', output on stderr' if result.stderr else ''})")


def archive() -> Path:
    machine = platform.machine().lower().replace("amd64", "x86_64")
    target = DIST / f"{EXE_NAME}-{VERSION}-linux-{machine}.tar.gz"
    say(f"packing {target.name}")
    with tarfile.open(target, "w:gz") as tar:
        tar.add(bundle_dir(), arcname=f"{EXE_NAME}-{VERSION}")
    return target


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skip-tesseract", action="store_true",
                        help="use the Tesseract already staged in build/work/tesseract")
    parser.add_argument("--no-self-test", action="store_true")
    parser.add_argument("--archive", action="store_true", help="Linux: also make a .tar.gz")
    args = parser.parse_args()
    started = time.perf_counter()
    python = sys.executable
    if sys.platform.startswith("linux") and not args.skip_tesseract:
        run(python, HERE / "bundle_tesseract.py", "linux")
    run(python, "-m", "PyInstaller", "--noconfirm", "--clean", "--log-level", "WARN",
        "--distpath", DIST, "--workpath", WORK, SPEC)
    if sys.platform == "darwin":
        run(python, HERE / "bundle_tesseract.py", "macos", "--app", bundle_dir())
    if not args.no_self_test:
        self_test()
    say(f"{bundle_dir()}: {size_of(bundle_dir()) / 2**20:.0f} MiB "
        f"(built in {time.perf_counter() - started:.0f} s)")
    if args.archive and sys.platform.startswith("linux"):
        target = archive()
        say(f"{target}: {target.stat().st_size / 2**20:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
