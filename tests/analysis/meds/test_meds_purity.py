"""The medication reader stays in the pure layer: no Qt, no database, no services, no network."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import medmitra_desktop.analysis.meds as meds_package

FORBIDDEN = ("PySide6", "medmitra_desktop.storage", "medmitra_desktop.services",
             "medmitra_desktop.sync", "medmitra_desktop.ui", "sqlalchemy", "httpx")  # fmt: skip


def test_sources_import_nothing_forbidden() -> None:
    folder = Path(meds_package.__file__).parent
    for path in folder.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""] if node.level == 0 else []
                if node.level > 1:
                    names = ["relative import leaving the package"]
            else:
                continue
            for name in names:
                assert not name.startswith(FORBIDDEN), f"{path.name} imports {name}"
                assert name != "relative import leaving the package", path.name


def test_importing_loads_no_forbidden_module() -> None:
    code = (
        "import sys, medmitra_desktop.analysis.meds; "
        f"bad = [m for m in sys.modules if m.startswith({FORBIDDEN!r})]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
