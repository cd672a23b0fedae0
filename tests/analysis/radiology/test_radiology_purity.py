"""The radiology parser stays in the pure layer: no Qt, no database, no services, no network."""

from __future__ import annotations

import ast
from pathlib import Path

import medmitra_desktop.analysis.radiology as radiology_package

FORBIDDEN = ("PySide6", "medmitra_desktop.storage", "medmitra_desktop.services",
             "medmitra_desktop.sync", "medmitra_desktop.ui", "sqlalchemy", "httpx")


def test_sources_import_nothing_forbidden() -> None:
    folder = Path(radiology_package.__file__).parent
    for path in folder.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                assert not name.startswith(FORBIDDEN), f"{path.name} imports {name}"
