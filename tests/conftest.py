"""Hermetic tests: temp data dirs, offscreen Qt, an in-memory keyring, no user files touched."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

# Before anything imports Qt or reads these.
os.environ["QT_QPA_PLATFORM"] = "offscreen"
os.environ.setdefault("OMP_THREAD_LIMIT", "1")
_SANDBOX = Path(tempfile.mkdtemp(prefix="medmitra-tests-"))
os.environ["MEDMITRA_HOME"] = str(_SANDBOX / "default-data")
os.environ["XDG_CONFIG_HOME"] = str(_SANDBOX / "config")
os.environ["XDG_DATA_HOME"] = str(_SANDBOX / "xdg-data")
os.environ.pop("MEDMITRA_USER_ID", None)

import keyring  # noqa: E402
import pytest  # noqa: E402

from medmitra_desktop.app import AppContext, open_app  # noqa: E402
from medmitra_desktop.services.cases import CaseService  # noqa: E402
from tests.memory_keyring import MemoryKeyring  # noqa: E402

if TYPE_CHECKING:
    from medmitra_desktop.analysis.pipeline import Analyzer
    from medmitra_desktop.services.analysis_jobs import AnalysisJobs


@pytest.fixture(autouse=True)
def memory_keyring() -> Iterator[MemoryKeyring]:
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def context(data_dir: Path) -> Iterator[AppContext]:
    opened = open_app(str(data_dir))
    yield opened
    opened.close()


@pytest.fixture
def service(context: AppContext) -> CaseService:
    return context.cases


@pytest.fixture(scope="session")
def analyzer() -> Analyzer:
    """The real pipeline with every knowledge base, loaded once for the whole run."""
    from medmitra_desktop.analysis.extract import ExtractOptions
    from medmitra_desktop.app import build_analyzer

    return build_analyzer(ExtractOptions(ocr_workers=2))


@pytest.fixture
def jobs(context: AppContext, analyzer: Analyzer) -> AnalysisJobs:
    from medmitra_desktop.services.analysis_jobs import AnalysisJobs

    return AnalysisJobs(context.database, context.files, analyzer)
