#!/usr/bin/env python3
"""Put Tesseract and its English data where the MedMitra Desktop bundle can carry it.

The frozen app never looks for Tesseract on PATH: medmitra_desktop.config.bundled_tesseract()
finds `<bundle>/tesseract/tesseract` (Linux, macOS: a launcher script) or
`<bundle>/tesseract/tesseract.exe` (Windows). This script builds that folder.

    linux    python build/bundle_tesseract.py linux [--tesseract /usr/bin/tesseract]
             Copies the distribution's tesseract program and every shared library `ldd`
             lists for it, except the C library itself (glibc must match the system's
             dynamic loader), into build/work/tesseract/{bin,lib}, the language data into
             tessdata/, and writes the launcher. The spec adds build/work/tesseract to the
             bundle as it is (no PyInstaller processing), leaving out libraries that are
             byte-identical to ones the app carries anyway (the launcher finds those in
             the bundle's folder).
    windows  python build/bundle_tesseract.py windows --from DIR
             DIR holds the unpacked UB Mannheim installer (the workflow downloads a pinned
             version, checks its SHA-256 and unpacks it with 7-Zip). Copies tesseract.exe,
             the DLLs beside it and the language data into build/work/tesseract.
    macos    python build/bundle_tesseract.py macos --app "build/dist/MedMitra Desktop.app"
             After PyInstaller made the .app: copies Homebrew's tesseract into
             Contents/Frameworks/tesseract/bin, its non-system dylibs into .../lib with
             dylibbundler (install names rewritten to @executable_path/../lib), the
             launcher and tessdata into Contents/Resources/tesseract with links from
             Frameworks (code in Frameworks, data in Resources, as codesign wants), and
             signs the new code ad hoc (the signing step later signs it for real).

Every mode ends by running the staged Tesseract with an empty environment (no PATH, no
TESSDATA_PREFIX) and fails when it cannot start or does not list `eng`.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "work" / "tesseract"
LANGUAGES = ("eng", "osd")  # osd: orientation detection for sideways scans and photos
REQUIRED_LANGUAGES = ("eng",)

# glibc's own libraries come from the system: they must match its dynamic loader.
GLIBC = re.compile(
    r"^(linux-vdso|linux-gate|ld-linux[^/]*|ld64|libc|libm|libmvec|libdl|libpthread|librt|"
    r"libresolv|libutil|libanl|libnsl|libBrokenLocale|libnss_[a-z]+|libthread_db|libmemusage|"
    r"libpcprofile|libSegFault|libc_malloc_debug)\.so"
)

LAUNCHER = """#!/bin/sh
# MedMitra Desktop's bundled Tesseract ({platform}). The app runs this file by its full path;
# it sets the language data folder{libs}
# for the tesseract process only, then runs it.
case "$0" in
    */*) here="${{0%/*}}" ;;
    *) here=. ;;
esac
TESSDATA_PREFIX="$here/tessdata"
export TESSDATA_PREFIX
{library_path}exec "$here/bin/tesseract" "$@"
"""


def say(message: str) -> None:
    print(f"[bundle_tesseract] {message}", flush=True)


def fail(message: str) -> None:
    sys.exit(f"[bundle_tesseract] error: {message}")


def fresh(folder: Path) -> Path:
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    return folder


def copy_file(source: Path, target: Path, executable: bool = False) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)  # the real file, not a symlink
    mode = 0o755 if executable else 0o644
    target.chmod(mode)


def write_launcher(target: Path, platform: str) -> None:
    linux = platform == "linux"
    target.write_text(LAUNCHER.format(
        platform=platform,
        libs=" and its shared libraries" if linux else "",
        # $here/..: the bundle's own folder, for libraries the spec found identical there
        # and left out of lib/ (OpenSSL, libstdc++, zlib, ...); lib/ comes first.
        library_path=('LD_LIBRARY_PATH="$here/lib:$here/.."\nexport LD_LIBRARY_PATH\n'
                      if linux else ""),
    ), encoding="utf-8")
    target.chmod(0o755)


def tessdata_of(program: str) -> Path:
    """The tessdata folder a tesseract program uses (from `--list-langs`)."""
    listing = subprocess.run([program, "--list-langs"], capture_output=True, text=True,
                             check=False)
    match = re.search(r'List of available languages in "([^"]+)"', listing.stdout
                      + listing.stderr)
    if not match:
        fail(f"cannot tell where {program} keeps its language data:\n{listing.stdout}"
             f"{listing.stderr}")
    return Path(match.group(1))


def copy_tessdata(source: Path, target: Path) -> list[str]:
    copied = []
    for language in LANGUAGES:
        data = source / f"{language}.traineddata"
        if data.is_file():
            copy_file(data, target / data.name)
            copied.append(language)
        elif language in REQUIRED_LANGUAGES:
            fail(f"{data} is missing (Debian: apt-get install tesseract-ocr-{language})")
        else:
            say(f"warning: {data} is missing: sideways pages will not be turned upright "
                f"(Debian: apt-get install tesseract-ocr-{language})")
    # pytesseract asks for output formats by config name (tsv, txt, ...): tessdata/configs.
    configs = source / "configs"
    if not configs.is_dir():
        fail(f"{configs} is missing (it holds the tsv output config pytesseract uses)")
    shutil.copytree(configs, target / "configs")
    return copied


def check(program: Path, environment: dict[str, str] | None = None) -> None:
    """Run the staged engine with an empty environment: no PATH, no TESSDATA_PREFIX."""
    env = {"PATH": "/nonexistent"} if os.name != "nt" else {
        "SYSTEMROOT": os.environ.get("SYSTEMROOT", r"C:\Windows")}
    env.update(environment or {})
    for args in (["--version"], ["--list-langs"]):
        result = subprocess.run([str(program), *args], capture_output=True, text=True,
                                env=env, check=False)
        output = result.stdout + result.stderr
        if result.returncode != 0:
            fail(f"{program} {' '.join(args)} failed ({result.returncode}):\n{output}")
        if args == ["--list-langs"]:
            languages = set(output.split()[1:])
            missing = [lang for lang in REQUIRED_LANGUAGES if lang not in languages]
            if missing:
                fail(f"{program} does not list {', '.join(missing)}:\n{output}")
        say(f"{program.name} {' '.join(args)}: {output.strip().splitlines()[0]}")


def folder_size(folder: Path) -> str:
    total = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and
                not p.is_symlink())
    return f"{total / 1_000_000:.1f} MB"


# ---- Linux ---------------------------------------------------------------------------------

def ldd(binary: Path) -> list[tuple[str, Path]]:
    """(soname, resolved file) for every shared library the binary loads, recursively."""
    result = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        fail(f"ldd {binary} failed:\n{result.stdout}{result.stderr}")
    libraries = []
    for line in result.stdout.splitlines():
        line = line.strip()
        if "=> not found" in line:
            fail(f"{binary} needs a library that is not installed: {line}")
        match = re.match(r"^(\S+) => (\S+) \(0x[0-9a-f]+\)$", line)
        if match:
            libraries.append((match.group(1), Path(match.group(2))))
    return libraries


def stage_linux(args: argparse.Namespace) -> None:
    program = args.tesseract or shutil.which("tesseract") or "/usr/bin/tesseract"
    source = Path(program).resolve()
    if not source.is_file():
        fail(f"no tesseract at {program} (Debian: apt-get install tesseract-ocr "
             f"tesseract-ocr-eng tesseract-ocr-osd)")
    tessdata = Path(args.tessdata) if args.tessdata else tessdata_of(str(source))
    out = fresh(Path(args.out))
    copy_file(source, out / "bin" / "tesseract", executable=True)
    copied, skipped = [], []
    for soname, path in ldd(source):
        if GLIBC.match(soname):
            skipped.append(soname)
            continue
        copy_file(path.resolve(), out / "lib" / soname)
        copied.append(soname)
    languages = copy_tessdata(tessdata, out / "tessdata")
    write_launcher(out / "tesseract", "linux")
    say(f"{source} with {len(copied)} libraries (left to the system: {', '.join(skipped)})")
    # Every library must now resolve inside lib/ (or be glibc's).
    env = {**os.environ, "LD_LIBRARY_PATH": str(out / "lib")}
    resolved = subprocess.run(["ldd", str(out / "bin" / "tesseract")], capture_output=True,
                              text=True, env=env, check=True).stdout
    for soname, path in re.findall(r"^\s*(\S+) => (\S+) \(", resolved, flags=re.MULTILINE):
        if not GLIBC.match(soname) and Path(path).parent.resolve() != (out / "lib").resolve():
            fail(f"{soname} resolved outside the bundle: {path}")
    check(out / "tesseract")
    say(f"staged in {out}: languages {', '.join(languages)}, {folder_size(out)}")


# ---- Windows -------------------------------------------------------------------------------

def stage_windows(args: argparse.Namespace) -> None:
    unpacked = Path(args.source)
    found = sorted(unpacked.rglob("tesseract.exe"))
    if not found:
        fail(f"no tesseract.exe under {unpacked} (unpack the installer with 7-Zip first)")
    home = found[0].parent
    out = fresh(Path(args.out))
    copy_file(found[0], out / "tesseract.exe", executable=True)
    dlls = sorted(home.glob("*.dll"))
    if not dlls:
        fail(f"no DLLs beside {found[0]}")
    for dll in dlls:
        copy_file(dll, out / dll.name)
    languages = copy_tessdata(home / "tessdata", out / "tessdata")
    say(f"{found[0]} with {len(dlls)} DLLs")
    if os.name == "nt":
        # tesseract.exe finds tessdata beside itself when TESSDATA_PREFIX is not set.
        check(out / "tesseract.exe")
    say(f"staged in {out}: languages {', '.join(languages)}, {folder_size(out)}")


# ---- macOS ---------------------------------------------------------------------------------

def run(*command: str) -> str:
    """A tool's output; never waits for an answer on stdin (dylibbundler asks when it
    cannot find a library: that is a failure here, not a question)."""
    say(" ".join(command))
    result = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                            timeout=600, check=False)
    if result.returncode != 0:
        fail(f"{command[0]} failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    return result.stdout


def stage_macos(args: argparse.Namespace) -> None:
    app = Path(args.app)
    frameworks, resources = app / "Contents" / "Frameworks", app / "Contents" / "Resources"
    if not frameworks.is_dir():
        fail(f"{app} is not a PyInstaller .app (no Contents/Frameworks)")
    if not shutil.which("dylibbundler"):
        fail("dylibbundler is not installed (brew install dylibbundler)")
    prefix = Path(args.brew_prefix or run("brew", "--prefix", "tesseract").strip())
    source = (prefix / "bin" / "tesseract").resolve()
    tessdata = Path(args.tessdata) if args.tessdata else tessdata_of(str(source))
    code = fresh(frameworks / "tesseract")
    data = fresh(resources / "tesseract")
    program = code / "bin" / "tesseract"
    copy_file(source, program, executable=True)
    # Copies every non-system dylib (recursively) into lib/ and points the program and
    # the libraries at @executable_path/../lib/.
    brew_lib = Path(run("brew", "--prefix").strip()) / "lib"
    run("dylibbundler", "--overwrite-dir", "--bundle-deps", "--create-dir",
        "--fix-file", str(program), "--dest-dir", str(code / "lib"),
        "--install-path", "@executable_path/../lib/", "--search-path", str(brew_lib))
    for binary in [program, *sorted((code / "lib").iterdir())]:
        linked = run("otool", "-L", str(binary))
        if "/opt/homebrew/" in linked or "/usr/local/" in linked:
            fail(f"{binary.name} still refers to Homebrew:\n{linked}")
        run("codesign", "--force", "--sign", "-", str(binary))  # ad hoc; re-signed later
    languages = copy_tessdata(tessdata, data / "tessdata")
    write_launcher(data / "tesseract", "macos")
    # Data lives in Resources; Frameworks/tesseract (= sys._MEIPASS/tesseract) links to it.
    for name in ("tesseract", "tessdata"):
        (code / name).symlink_to(Path("..", "..", "Resources", "tesseract", name))
    check(code / "tesseract")
    # Files were added to a sealed bundle: seal it again (ad hoc; sign_app.sh signs it for
    # distribution when a Developer ID is available).
    run("codesign", "--force", "--sign", "-", str(app))
    say(f"added to {app}: languages {', '.join(languages)}, {folder_size(code)} code, "
        f"{folder_size(data)} data")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    modes = parser.add_subparsers(dest="platform", required=True)
    linux = modes.add_parser("linux", help="stage the Debian/Ubuntu tesseract")
    linux.add_argument("--tesseract", help="tesseract program (default: the one on PATH)")
    linux.add_argument("--tessdata", help="language data folder (default: the program's)")
    linux.add_argument("--out", default=str(DEFAULT_OUT))
    windows = modes.add_parser("windows", help="stage the unpacked UB Mannheim build")
    windows.add_argument("--from", dest="source", required=True, metavar="DIR")
    windows.add_argument("--out", default=str(DEFAULT_OUT))
    macos = modes.add_parser("macos", help="add Homebrew's tesseract to a built .app")
    macos.add_argument("--app", required=True)
    macos.add_argument("--brew-prefix", help="tesseract's Homebrew prefix "
                                             "(default: brew --prefix tesseract)")
    macos.add_argument("--tessdata", help="language data folder (default: the program's)")
    args = parser.parse_args()
    {"linux": stage_linux, "windows": stage_windows, "macos": stage_macos}[args.platform](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
