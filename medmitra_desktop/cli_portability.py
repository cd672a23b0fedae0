"""Headless data portability: `export CASE_ID --fhir FILE`, `import FILE`, `backup FILE`,
`restore FILE`. The same services as the window's File menu; no Qt.

`restore` runs before the data folder is opened: opening it would create a database in
the folder the backup is to go into (and take the lock the restore must find free).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .cli_exit import EXIT_OK, EXIT_USAGE, report_error
from .domain.errors import FieldError, MedMitraError, ValidationError

if TYPE_CHECKING:
    from .app import AppContext



def add_export_options(export: argparse.ArgumentParser, formats: Any) -> None:
    """--fhir beside --pdf in `export`'s one-of group, and the choice to leave files out."""
    formats.add_argument(
        "--fhir", type=Path, metavar="FILE",
        help="the case as a FHIR R4 Bundle (JSON) an EMR, or another MedMitra Desktop "
             "with `import`, can take in")
    export.add_argument(
        "--without-files", action="store_true",
        help="with --fhir: leave the original report files (and their names) out; the "
             "structured results still go")


def add_commands(commands: Any, add_user: Callable[[argparse.ArgumentParser], None]) -> None:
    importing = commands.add_parser(
        "import", help="import a case from a FHIR bundle (importing it again, or on the "
                       "workstation that exported it, changes nothing)")
    importing.add_argument("file", type=Path, metavar="FILE")
    add_user(importing)
    importing.add_argument("--json", action="store_true")

    backup = commands.add_parser(
        "backup", help="write the whole data folder to one backup file and verify it")
    backup.add_argument("file", type=Path, metavar="FILE",
                        help="the backup file to write (outside the data folder)")
    add_user(backup)
    backup.add_argument("--json", action="store_true")

    restore = commands.add_parser(
        "restore", help="restore a backup into the data folder (--data-dir), which must be "
                        "empty or new and not open in MedMitra Desktop")
    restore.add_argument("file", type=Path, metavar="FILE")
    restore.add_argument("--force", action="store_true",
                         help="restore into a folder that holds data; its contents are kept "
                              "beside it under another name")
    restore.add_argument("--recovery-code", action="store_true",
                         help="the backup is of an encrypted data folder whose key is not in "
                              "this user's keychain: read its recovery code from standard "
                              "input")
    add_user(restore)
    restore.add_argument("--json", action="store_true")


def handles(args: argparse.Namespace) -> bool:
    """Whether run() below is the command's runner (once the data folder is open)."""
    return args.command in ("import", "backup") or (
        args.command == "export" and (getattr(args, "fhir", None) is not None
                                      or getattr(args, "without_files", False)))


def run(args: argparse.Namespace, context: AppContext, *, user_id: str) -> int:
    """export --fhir, import, backup. MedMitraError and ValidationError propagate (the
    caller turns them into exit statuses 1 and 2)."""
    from .cli import print_json

    if args.command == "export":
        from .services.fhir import export_case_fhir

        if args.fhir is None:
            raise ValidationError([FieldError("without_files", "goes with --fhir only (a PDF "
                                                               "never holds the files)")])
        exported = export_case_fhir(context, args.case_id, args.fhir, user_id=user_id,
                                    include_files=not args.without_files)
        if args.json:
            print_json(exported)
        else:
            print(f"Saved {exported.path}: FHIR R4 bundle of case {exported.case_id} "
                  f"({_files(exported.documents)}, {exported.lab_results} lab result(s), "
                  f"{exported.findings} radiology finding(s), {exported.conditions} signed "
                  f"diagnosis(es); {_size(exported.size_bytes)}).")
        return EXIT_OK
    if args.command == "import":
        from .services.fhir import import_fhir_bundle

        imported = import_fhir_bundle(context, args.file, user_id=user_id)
        if args.json:
            print_json(imported)
        elif imported.created:
            print(f"Imported as case {imported.case_id}: {_files(imported.documents)} "
                  f"queued for analysis (it runs when MedMitra Desktop opens this data "
                  f"folder), {imported.lab_results} lab result(s) and {imported.findings} "
                  f"radiology finding(s) taken as they are.")
        else:
            where = " (in the trash)" if imported.in_trash else ""
            print(f"Already on this workstation as case {imported.case_id}{where}: "
                  f"nothing imported.")
        for note in imported.left_out:
            print(f"note: {note}", file=sys.stderr)
        return EXIT_OK
    from .services.backup import backup_data

    made = backup_data(context, args.file, user_id=user_id)
    if args.json:
        print_json(made)
    else:
        print(f"Backup written to {made.path} ({made.files} files, {_size(made.size_bytes)}); "
              f"every file was read back and checked.")
    for problem in made.problems:
        print(f"warning: the backup was made, but {problem}", file=sys.stderr)
    return EXIT_OK


def run_restore(args: argparse.Namespace, user_id: str | None) -> int:
    """`restore`: needs no open data folder, so it handles its own errors."""
    from .cli import USER_ID_ENV, print_json
    from .config import resolve_data_dir
    from .services.backup import restore_backup

    if not user_id:
        print(f"error: user_id: is required: pass --user-id or set {USER_ID_ENV}",
              file=sys.stderr)
        return EXIT_USAGE
    target = resolve_data_dir(args.data_dir)
    try:
        code = None
        if args.recovery_code:
            from .cli_encryption import read_recovery_code

            code = read_recovery_code()
        restored = restore_backup(args.file, target, user_id=user_id, force=args.force,
                                  recovery_code=code)
    except MedMitraError as error:
        return report_error(error)
    if args.json:
        print_json(restored)
        return EXIT_OK
    print(f"Restored the backup of {restored.created_at} into {restored.data_dir} "
          f"({restored.files} files, every hash checked, database intact).")
    if restored.replaced is not None:
        print(f"The folder's earlier contents are in {restored.replaced}.")
    print(f'Open it with: medmitra-desktop --data-dir "{restored.data_dir}"')
    return EXIT_OK


def _files(count: int) -> str:
    return f"{count} file{'s' * (count != 1)}"


def _size(size: int) -> str:
    return f"{size / 1024 / 1024:,.1f} MB" if size >= 1024 * 1024 else f"{size / 1024:,.0f} KB"
