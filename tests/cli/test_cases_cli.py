from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from medmitra_desktop.storage.instance_lock import InstanceLock
from tests.factories import text_pdf


def cli(data_dir: Path, *args: str, env: dict[str, str] | None = None
        ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "medmitra_desktop", "--data-dir", str(data_dir), *args],
        capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})},
    )


def test_create_then_list_as_json(data_dir: Path, tmp_path: Path) -> None:
    pdf = text_pdf(tmp_path / "cbc.pdf", ["Hemoglobin 10.2 g/dL"])
    created = cli(data_dir, "cases", "create", "--user-id", "dr-cli", "--name", "Kavya Rao",
                  "--age", "29", "--gender", "female", "--summary", "Fatigue", "--lab", str(pdf),
                  "--json")
    assert created.returncode == 0, created.stderr
    case = json.loads(created.stdout)
    assert case["status"] == "processing" and case["documents"][0]["file_name"] == "cbc.pdf"

    listed = cli(data_dir, "cases", "list", "--json", "--search", "kav")
    assert listed.returncode == 0, listed.stderr
    page = json.loads(listed.stdout)
    assert (page["total"], page["start"], page["has_more"]) == (1, 1, False)
    assert page["items"][0]["case_id"] == case["case_id"]

    history = json.loads(cli(data_dir, "cases", "history", case["case_id"], "--json").stdout)
    assert [e["action"] for e in history] == ["create"]


def test_bad_values_exit_2_naming_each_field(data_dir: Path) -> None:
    result = cli(data_dir, "cases", "create", "--user-id", "dr", "--name", "X", "--age", "200",
                 "--gender", "unknown")
    assert result.returncode == 2
    assert "patient_age: must be a whole number of years from 0 to 130" in result.stderr
    assert "patient_gender: must be one of male, female, other" in result.stderr
    assert result.stdout == ""


def test_bad_list_arguments_exit_2(data_dir: Path) -> None:
    assert "size: must be from 1 to 500" in cli(data_dir, "cases", "list", "--size", "0").stderr
    result = cli(data_dir, "cases", "list", "--status", "done")
    assert result.returncode == 2 and "choose one of processing, completed, failed" in result.stderr


def test_writes_need_a_user_id(data_dir: Path) -> None:
    created = cli(data_dir, "cases", "create", "--user-id", "dr", "--name", "A B", "--age", "3",
                  "--gender", "male", "--json")
    case_id = json.loads(created.stdout)["case_id"]
    result = cli(data_dir, "cases", "delete", case_id)
    assert result.returncode == 2 and "user_id: is required" in result.stderr
    deleted = cli(data_dir, "cases", "delete", case_id, env={"MEDMITRA_USER_ID": "dr"})
    assert deleted.returncode == 0, deleted.stderr
    assert json.loads(cli(data_dir, "cases", "list", "--json").stdout)["total"] == 0


def test_unknown_case_is_a_message(data_dir: Path) -> None:
    result = cli(data_dir, "cases", "show", "does-not-exist")
    assert result.returncode == 1 and "No case with id does-not-exist" in result.stderr
    assert "Traceback" not in result.stderr


def test_second_instance_is_refused(data_dir: Path) -> None:
    data_dir.mkdir(parents=True)
    with InstanceLock(data_dir):
        result = cli(data_dir, "cases", "list")
    assert result.returncode == 1
    assert "already running on the data folder" in result.stderr
    assert "Traceback" not in result.stderr
    assert cli(data_dir, "cases", "list").returncode == 0  # free again once released


def test_lock_is_released_when_the_holder_is_killed(data_dir: Path) -> None:
    data_dir.mkdir(parents=True)
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from pathlib import Path; "
         "from medmitra_desktop.storage.instance_lock import InstanceLock; "
         f"lock = InstanceLock(Path({str(data_dir)!r})); lock.acquire(); "
         "print('held', flush=True); "
         "time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert cli(data_dir, "cases", "list").returncode == 1
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
    assert cli(data_dir, "cases", "list").returncode == 0


def test_damaged_database_is_a_message(data_dir: Path) -> None:
    data_dir.mkdir(parents=True)
    (data_dir / "medmitra.sqlite3").write_bytes(b"garbage" * 1000)
    result = cli(data_dir, "cases", "list")
    assert result.returncode == 1 and "is damaged" in result.stderr
    assert "Traceback" not in result.stderr


def test_data_dir_from_environment_and_private(tmp_path: Path) -> None:
    home = tmp_path / "from-env"
    result = subprocess.run([sys.executable, "-m", "medmitra_desktop", "cases", "list"],
                            capture_output=True, text=True, timeout=60,
                            env={**os.environ, "MEDMITRA_HOME": str(home)})
    assert result.returncode == 0, result.stderr
    assert (home / "medmitra.sqlite3").exists()
    if os.name == "posix":
        assert home.stat().st_mode & 0o077 == 0


@pytest.mark.parametrize("args", [["--version"], ["cases", "--help"]])
def test_help_and_version(data_dir: Path, args: list[str]) -> None:
    result = cli(data_dir, *args)
    assert result.returncode == 0 and "MedMitra" in result.stdout + "MedMitra" * (
        args[0] != "--version")
