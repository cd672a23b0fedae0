"""`export --fhir`, `import`, `backup` and `restore` end to end, as separate processes."""

from __future__ import annotations

import json
from pathlib import Path

from fhir.resources.R4B.bundle import Bundle

from medmitra_desktop.analysis.pipeline import Analyzer
from medmitra_desktop.app import open_app
from medmitra_desktop.services.analysis_jobs import AnalysisJobs
from medmitra_desktop.storage.instance_lock import InstanceLock
from tests.cli.test_cases_cli import cli
from tests.factories import LAB_LINES, make_case, text_pdf


def analysed_case(data_dir: Path, tmp_path: Path, analyzer: Analyzer) -> str:
    context = open_app(str(data_dir))
    try:
        case = make_case(context.cases, lab=[text_pdf(tmp_path / "cbc.pdf", LAB_LINES)])
        AnalysisJobs(context.database, context.files, analyzer).run_next()
        return case.case_id
    finally:
        context.close()


def test_fhir_export_and_import_between_two_data_folders(
        data_dir: Path, tmp_path: Path, analyzer: Analyzer) -> None:
    case_id = analysed_case(data_dir, tmp_path, analyzer)
    bundle = tmp_path / "case.fhir.json"
    other = tmp_path / "other"

    exported = cli(data_dir, "export", case_id, "--fhir", str(bundle), "--user-id", "dr-a")
    assert exported.returncode == 0, exported.stderr
    assert f"Saved {bundle}: FHIR R4 bundle of case {case_id} (1 file, 4 lab result(s)" \
        in exported.stdout
    assert Bundle.model_validate_json(bundle.read_text(encoding="utf-8")).type == "transaction"

    imported = cli(other, "import", str(bundle), "--user-id", "dr-b", "--json")
    assert imported.returncode == 0, imported.stderr
    first = json.loads(imported.stdout)
    assert first["created"] is True and first["documents"] == 1

    again = cli(other, "import", str(bundle), "--user-id", "dr-b")
    assert again.returncode == 0
    assert again.stdout.strip() == (f"Already on this workstation as case "
                                    f"{first['case_id']}: nothing imported.")
    home = cli(data_dir, "import", str(bundle), "--user-id", "dr-a")
    assert f"Already on this workstation as case {case_id}" in home.stdout
    listed = json.loads(cli(other, "cases", "list", "--json").stdout)
    assert listed["total"] == 1

    slim = tmp_path / "slim.json"
    assert cli(data_dir, "export", case_id, "--fhir", str(slim), "--without-files",
               "--user-id", "dr-a").returncode == 0
    assert "cbc.pdf" not in slim.read_text(encoding="utf-8")


def test_export_and_import_problems_exit_with_a_reason(
        data_dir: Path, tmp_path: Path, analyzer: Analyzer) -> None:
    case_id = analysed_case(data_dir, tmp_path, analyzer)
    out = str(tmp_path / "x.json")

    both = cli(data_dir, "export", case_id, "--fhir", out, "--pdf", str(tmp_path / "x.pdf"),
               "--user-id", "dr")
    assert both.returncode == 2 and "not allowed with argument" in both.stderr
    neither = cli(data_dir, "export", case_id, "--user-id", "dr")
    assert neither.returncode == 2 and "one of the arguments --pdf --fhir" in neither.stderr
    stray = cli(data_dir, "export", case_id, "--pdf", str(tmp_path / "x.pdf"),
                "--without-files", "--user-id", "dr")
    assert stray.returncode == 2 and "without_files: goes with --fhir only" in stray.stderr
    anonymous = cli(data_dir, "export", case_id, "--fhir", out)
    assert anonymous.returncode == 2 and "user_id: is required" in anonymous.stderr
    missing = cli(data_dir, "export", "no-such-case", "--fhir", out, "--user-id", "dr")
    assert missing.returncode == 1 and "No case with id no-such-case" in missing.stderr
    assert not Path(out).exists()

    garbage = tmp_path / "garbage.json"
    garbage.write_text("{ this is not json", encoding="utf-8")
    refused = cli(data_dir, "import", str(garbage), "--user-id", "dr")
    assert refused.returncode == 1 and "is not valid JSON" in refused.stderr
    assert refused.stdout == ""


def test_backup_and_restore_end_to_end(data_dir: Path, tmp_path: Path) -> None:
    created = cli(data_dir, "cases", "create", "--user-id", "dr", "--name", "Kavya Rao",
                  "--age", "29", "--gender", "female",
                  "--lab", str(text_pdf(tmp_path / "cbc.pdf", LAB_LINES)), "--json")
    case_id = json.loads(created.stdout)["case_id"]
    archive = tmp_path / "backup.zip"

    made = cli(data_dir, "backup", str(archive), "--user-id", "dr")
    assert made.returncode == 0, made.stderr
    assert "every file was read back and checked" in made.stdout and made.stderr == ""

    target = tmp_path / "restored"
    restored = cli(target, "restore", str(archive), "--user-id", "dr")
    assert restored.returncode == 0, restored.stderr
    assert f'Open it with: medmitra-desktop --data-dir "{target}"' in restored.stdout
    shown = json.loads(cli(target, "cases", "show", case_id, "--json").stdout)
    assert shown["patient_name"] == "Kavya Rao" and len(shown["documents"]) == 1

    again = cli(target, "restore", str(archive), "--user-id", "dr")
    assert again.returncode == 1 and "already holds data" in again.stderr
    forced = cli(target, "restore", str(archive), "--force", "--user-id", "dr")
    assert forced.returncode == 0 and "earlier contents are in" in forced.stdout

    with InstanceLock(target):  # MedMitra Desktop open on the folder
        busy = cli(target, "restore", str(archive), "--force", "--user-id", "dr")
    assert busy.returncode == 1 and "MedMitra Desktop is using that folder" in busy.stderr
    anonymous = cli(tmp_path / "new", "restore", str(archive))
    assert anonymous.returncode == 2 and "user_id: is required" in anonymous.stderr
    assert not (tmp_path / "new").exists()
