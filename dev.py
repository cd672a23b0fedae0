#!/usr/bin/env python3
"""Set up MedMitra Desktop on this machine, then launch it or run its tests.

    python3 dev.py run [APP ARGS...]   set up, then start the app
    python3 dev.py test [PYTEST ARGS...] set up, then run ruff and the whole test suite

Setup is idempotent and quick when nothing changed: a virtual environment in .venv with
the exact versions from requirements/constraints.txt, and on Debian/Ubuntu as root the
system packages Qt and OCR need (apt-get). Elsewhere it prints exactly what to install.
Only the standard library is used here, so it runs on a bare Python 3.11+.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
CONSTRAINTS = ROOT / "requirements" / "constraints.txt"
STAMP = VENV / ".medmitra-setup-stamp"

# Qt's xcb/offscreen platform plugins, fonts, and the OCR engine with English data.
DEBIAN_RUNTIME = [
    "libegl1", "libgl1", "libxkbcommon0", "libxkbcommon-x11-0", "libfontconfig1",
    "libdbus-1-3", "libglib2.0-0", "fonts-dejavu-core", "libxcb-cursor0", "libxcb-icccm4",
    "libxcb-image0", "libxcb-keysyms1", "libxcb-render-util0", "libxcb-shape0",
    "libxcb-xkb1", "tesseract-ocr", "tesseract-ocr-eng",
]
# A virtual screen for screenshots of real windows, and pdftoppm to look at exported PDFs.
DEBIAN_TEST = ["xvfb", "xauth", "poppler-utils"]

OTHER_SYSTEMS = {
    "Darwin": "brew install tesseract",
    "Windows": (
        "install Tesseract OCR 5 for Windows (64-bit) and make sure tesseract.exe is on "
        "PATH or set its path in MedMitra Desktop's Settings"
    ),
}


def say(message: str) -> None:
    print(f"[setup] {message}", flush=True)


def check_python() -> None:
    # dev.py runs under whatever python3 the machine has, so this check is not dead code.
    if sys.version_info < (3, 11):  # noqa: UP036
        sys.exit(
            f"MedMitra Desktop needs Python 3.11 or newer; this is {platform.python_version()}."
        )


def missing_debian_packages(names: list[str]) -> list[str]:
    query = subprocess.run(
        ["dpkg-query", "-W", "-f=${Package} ${db:Status-Status}\n", *names],
        capture_output=True, text=True, check=False,
    )
    installed = {
        line.split()[0] for line in query.stdout.splitlines() if line.endswith(" installed")
    }
    return [name for name in names if name not in installed]


def ensure_system_packages(for_tests: bool) -> None:
    wanted = DEBIAN_RUNTIME + (DEBIAN_TEST if for_tests else [])
    system = platform.system()
    if system == "Linux" and Path("/etc/debian_version").exists() and shutil.which("dpkg-query"):
        missing = missing_debian_packages(wanted)
        if not missing:
            return
        if os.geteuid() == 0:
            say("installing system packages: " + " ".join(missing))
            env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
            subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
            subprocess.run(
                ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing],
                check=True, env=env,
            )
        else:
            say("missing system packages; install them with:")
            print("    sudo apt-get install -y " + " ".join(missing), flush=True)
        return
    if system in OTHER_SYSTEMS:
        if not shutil.which("tesseract"):
            say("OCR engine not found; to read scanned reports, " + OTHER_SYSTEMS[system])
        return
    say(
        "unknown system: install Qt 6 runtime libraries and Tesseract OCR 5 with English "
        "language data using your package manager"
    )


def venv_python() -> Path:
    scripts = "Scripts" if os.name == "nt" else "bin"
    return VENV / scripts / ("python.exe" if os.name == "nt" else "python")


def setup_fingerprint() -> str:
    digest = hashlib.sha256()
    for path in (ROOT / "pyproject.toml", CONSTRAINTS):
        digest.update(path.read_bytes())
    digest.update(sys.version.encode())
    return digest.hexdigest()


def ensure_venv() -> Path:
    python = venv_python()
    fingerprint = setup_fingerprint()
    if python.exists() and STAMP.exists() and STAMP.read_text() == fingerprint:
        return python
    # New pins start from an empty environment: pip does not remove packages that left the
    # lock, and a stale Qt wheel next to a new one breaks PySide6.
    say("creating virtual environment in .venv")
    venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    say("installing Python packages (exact versions from requirements/constraints.txt)")
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "-c", str(CONSTRAINTS), "-e", f"{ROOT}[test]"],
        check=True,
    )
    STAMP.write_text(fingerprint)
    return python


def run_app(python: Path, args: list[str]) -> int:
    return subprocess.call([str(python), "-m", "medmitra_desktop", *args])


def run_tests(python: Path, args: list[str]) -> int:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "OMP_THREAD_LIMIT": "1"}
    say("ruff check")
    lint = subprocess.call([str(python), "-m", "ruff", "check", str(ROOT)], cwd=ROOT, env=env)
    if lint != 0:
        return lint
    say("pytest")
    return subprocess.call([str(python), "-m", "pytest", *args], cwd=ROOT, env=env)


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in {"run", "test"}:
        print(__doc__)
        return 2
    command, rest = sys.argv[1], sys.argv[2:]
    check_python()
    ensure_system_packages(for_tests=command == "test")
    python = ensure_venv()
    return run_app(python, rest) if command == "run" else run_tests(python, rest)


if __name__ == "__main__":
    sys.exit(main())
