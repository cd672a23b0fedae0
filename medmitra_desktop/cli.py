"""Headless commands for scripting. Same services as the GUI; no Qt here.

Exit status: 0 done; 1 a problem the message explains (data folder in use, database
damaged, case not found); 2 bad arguments or invalid values.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from enum import Enum
from pathlib import Path
from typing import Any

from . import APP_NAME, __version__
from .cli_exit import EXIT_OK, EXIT_PROBLEM, EXIT_USAGE, report_error
from .domain.enums import CaseStatus, DocumentCategory, Gender
from .domain.errors import FieldError, MedMitraError, ValidationError
from .domain.records import SORTABLE_COLUMNS, CaseQuery, NewAttachment
from .domain.validation import check_patient_age

USER_ID_ENV = "MEDMITRA_USER_ID"


def to_jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    return value


def print_json(value: Any) -> None:
    json.dump(to_jsonable(value), sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


def _timestamp(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date or time (use e.g. 2026-03-04 or 2026-03-04T10:30:00Z)"
        ) from error
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _choice_of(enum: type[Enum]) -> Callable[[str], Enum]:
    def parse(text: str) -> Enum:
        try:
            return enum(text.strip().lower())
        except ValueError as error:
            allowed = ", ".join(str(member.value) for member in enum)
            raise argparse.ArgumentTypeError(f"{text!r}: choose one of {allowed}") from error

    return parse


def _add_user(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--user-id", default=os.environ.get(USER_ID_ENV),
        help=f"the doctor's user id, recorded in the audit log (default: ${USER_ID_ENV})",
    )


def _add_files(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lab", action="append", type=Path, default=[], metavar="FILE",
                        help="a lab report file (repeat for more)")
    parser.add_argument("--radiology", action="append", type=Path, default=[], metavar="FILE",
                        help="a radiology report file (repeat for more)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="medmitra-desktop",
        description=f"{APP_NAME}: with no command, opens the window.",
    )
    parser.add_argument("--version", action="version", version=f"{APP_NAME} {__version__}")
    parser.add_argument("--data-dir", help="data folder (default: $MEDMITRA_HOME, else the "
                                           "per-user application data folder)")
    parser.add_argument("--self-test", action="store_true",
                        help="check this installation without a screen (database, sample "
                             "analysis with OCR, window, keyring) on a temporary data folder "
                             "and print a report; exit status 0 when it passed")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    cases = commands.add_parser("cases", help="list, create and change cases")
    case_commands = cases.add_subparsers(dest="case_command", metavar="ACTION", required=True)

    listing = case_commands.add_parser("list", help="list cases, a page at a time")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.add_argument("--search", help="words to find in names, notes and documents")
    listing.add_argument("--status", action="append", type=_choice_of(CaseStatus), default=[])
    listing.add_argument("--gender", action="append", type=_choice_of(Gender), default=[])
    listing.add_argument("--age-min", type=int)
    listing.add_argument("--age-max", type=int)
    for name in ("created-from", "created-to", "updated-from", "updated-to", "updated-after"):
        listing.add_argument(f"--{name}", type=_timestamp)
    listing.add_argument("--sort", default="updated_at", help=", ".join(SORTABLE_COLUMNS))
    listing.add_argument("--ascending", action="store_true")
    listing.add_argument("--start", type=int, default=1, help="1-based index of the first row")
    listing.add_argument("--size", type=int, default=50, help="rows per page (1-500)")
    listing.add_argument("--trash", action="store_true", help="list the cases in the trash")

    create = case_commands.add_parser("create", help="create a case (queued for analysis)")
    _add_user(create)
    create.add_argument("--name", required=True, help="patient's full name")
    create.add_argument("--age", required=True, help="age in whole years (0-130)")
    create.add_argument("--gender", required=True, help="male, female or other")
    create.add_argument("--summary", default="", help="the doctor's notes")
    create.add_argument("--record-number", help="the clinic's patient record number")
    _add_files(create)
    create.add_argument("--json", action="store_true")

    show = case_commands.add_parser("show", help="one case with its documents")
    show.add_argument("case_id")
    show.add_argument("--json", action="store_true")
    _add_user(show)

    update = case_commands.add_parser("update", help="change patient fields or notes")
    update.add_argument("case_id")
    _add_user(update)
    update.add_argument("--name")
    update.add_argument("--age")
    update.add_argument("--gender")
    update.add_argument("--summary")
    update.add_argument("--record-number")
    update.add_argument("--json", action="store_true")

    attach = case_commands.add_parser("attach", help="attach more files to a case")
    attach.add_argument("case_id")
    _add_user(attach)
    _add_files(attach)

    for action, text in (("delete", "move a case to the trash"),
                         ("restore", "bring a case back from the trash"),
                         ("purge", "delete a case in the trash for good"),
                         ("reanalyze", "analyse a case's documents again")):
        sub = case_commands.add_parser(action, help=text)
        sub.add_argument("case_id")
        _add_user(sub)

    history = case_commands.add_parser("history", help="the audit events of a case")
    history.add_argument("case_id")
    history.add_argument("--json", action="store_true")

    export = commands.add_parser("export", help="write a case to a file (audited)")
    export.add_argument("case_id")
    _add_user(export)
    export_formats = export.add_mutually_exclusive_group(required=True)
    export_formats.add_argument(
        "--pdf", type=Path, metavar="FILE",
        help="the case report as a PDF (letterhead, signed or draft SOAP note, labs, "
             "radiology, medications, differential, alerts, source documents)")
    export.add_argument("--json", action="store_true", help="print the finished job as JSON")
    # --fhir, import, backup and restore: cli_portability.py (data portability).
    from .cli_portability import add_commands, add_export_options

    add_export_options(export, export_formats)
    add_commands(commands, _add_user)
    from . import cli_encryption

    cli_encryption.add_commands(commands, _add_user)

    from .cli_sync import add_sync_parser

    add_sync_parser(commands)

    from .cli_audit import add_audit_parser

    add_audit_parser(commands)

    analyze = commands.add_parser(
        "analyze", help="analyse report files as one case and print the results "
                        "(no window, no database)")
    analyze.add_argument("--json", action="store_true",
                         help="print one JSON object (contract medmitra.analysis/1)")
    analyze.add_argument("--patient-age", type=_age, metavar="N")
    analyze.add_argument("--patient-gender", type=_choice_of(Gender), metavar="GENDER",
                         help="male, female or other")
    analyze.add_argument("--summary", default="", help="the doctor's notes")
    analyze.add_argument("--category", default="auto", choices=("auto", "lab", "radiology"),
                         help="what the files are (default: decided from their content)")
    analyze.add_argument("--password", help="password for protected PDFs")
    analyze.add_argument("--ocr-language", default="eng", help="Tesseract language(s)")
    analyze.add_argument("--tesseract", help="path of the tesseract program")
    analyze.add_argument("files", nargs="+", type=Path, metavar="FILE")
    return parser


def _age(text: str) -> int:
    age, error = check_patient_age(text)
    if error is not None or age is None:
        raise argparse.ArgumentTypeError(error.message if error else "not an age")
    return age


def _require_user(args: argparse.Namespace) -> str:
    if not args.user_id:
        raise ValidationError(
            [FieldError("user_id", f"is required: pass --user-id or set {USER_ID_ENV}")]
        )
    return str(args.user_id)


def _attachments(args: argparse.Namespace) -> tuple[list[NewAttachment], list[NewAttachment]]:
    labs = [NewAttachment(path, DocumentCategory.LAB) for path in args.lab]
    radiology = [NewAttachment(path, DocumentCategory.RADIOLOGY) for path in args.radiology]
    return labs, radiology


def _print_case(record: Any, as_json: bool) -> None:
    if as_json:
        print_json(record)
        return
    print(f"{record.case_id}  {record.patient_name}, {record.patient_age} "
          f"{record.patient_gender.value}  [{record.status.value}]")
    for document in record.documents:
        print(f"  {document.category.value:9} {document.file_name}  [{document.status.value}]"
              + (f"  {document.error}" if document.error else ""))


def run_cases(args: argparse.Namespace, service: Any) -> int:
    action = args.case_command
    if action == "list":
        query = CaseQuery(
            start=args.start, size=args.size, search=args.search,
            statuses=tuple(args.status), genders=tuple(args.gender),
            age_min=args.age_min, age_max=args.age_max,
            created_from=args.created_from, created_to=args.created_to,
            updated_from=args.updated_from, updated_to=args.updated_to,
            updated_after=args.updated_after, sort=args.sort,
            descending=not args.ascending, in_trash=args.trash,
        )
        page = service.list_cases(query)
        if args.json:
            print_json({"items": page.items, "total": page.total, "start": page.start,
                        "size": page.size, "has_more": page.has_more})
        else:
            for item in page.items:
                print(f"{item.case_id}  {item.patient_name}, {item.patient_age} "
                      f"{item.patient_gender.value}  [{item.status.value}]  "
                      f"{item.updated_at:%Y-%m-%d %H:%M}")
            shown = f"{page.start}-{page.start + len(page.items) - 1}" if page.items else "none"
            print(f"({shown} of {page.total})")
        return EXIT_OK
    if action == "create":
        labs, radiology = _attachments(args)
        record = service.create_case(
            user_id=args.user_id or "", patient_name=args.name, patient_age=args.age,
            patient_gender=args.gender, case_summary=args.summary,
            lab_files=labs, radiology_files=radiology,
            patient_record_number=args.record_number,
        )
        _print_case(record, args.json)
        return EXIT_OK
    if action == "show":
        _print_case(service.get_case(args.case_id, user_id=args.user_id), args.json)
        return EXIT_OK
    if action == "history":
        events = service.history(args.case_id)
        if args.json:
            print_json(events)
        else:
            for event in events:
                print(f"{event.at:%Y-%m-%d %H:%M:%S}  {event.user_id}  {event.action}  "
                      f"{event.detail}")
        return EXIT_OK

    user_id = _require_user(args)
    if action == "update":
        changes = {field: value for field, value in (
            ("patient_name", args.name), ("patient_age", args.age),
            ("patient_gender", args.gender), ("case_summary", args.summary),
            ("patient_record_number", args.record_number),
        ) if value is not None}
        _print_case(service.update_case(args.case_id, user_id=user_id, changes=changes),
                    args.json)
    elif action == "attach":
        labs, radiology = _attachments(args)
        _print_case(service.attach_documents(args.case_id, user_id=user_id,
                                             attachments=[*labs, *radiology]), False)
    elif action == "delete":
        service.delete_case(args.case_id, user_id=user_id)
        print(f"Moved case {args.case_id} to the trash.")
    elif action == "restore":
        service.restore_case(args.case_id, user_id=user_id)
        print(f"Restored case {args.case_id}.")
    elif action == "purge":
        service.purge_case(args.case_id, user_id=user_id)
        print(f"Deleted case {args.case_id} permanently.")
    elif action == "reanalyze":
        service.reanalyze(args.case_id, user_id=user_id)
        print(f"Case {args.case_id} queued for analysis.")
    return EXIT_OK


def _shown_path(path: Path) -> str:
    """The path as text any UTF-8 reader accepts. A Linux file name may hold bytes that
    are not UTF-8; Python keeps them as lone surrogates, which would make the JSON on
    stdout invalid (or the write fail), so each becomes U+FFFD."""
    return "".join("\ufffd" if "\ud800" <= ch <= "\udfff" else ch for ch in str(path))


def run_analyze(args: argparse.Namespace) -> int:
    """The whole pipeline over FILEs as one case; JSON on stdout, logs on stderr."""
    from .analysis.contract_json import case_json
    from .analysis.extract import ExtractOptions
    from .analysis.pipeline import DocumentInput, Patient
    from .app import build_analyzer

    try:
        options = ExtractOptions(ocr_language=args.ocr_language, tesseract_cmd=args.tesseract)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    analyzer = build_analyzer(options)
    patient = Patient(
        age=args.patient_age,
        gender=args.patient_gender.value if args.patient_gender else None,
        notes=args.summary,
    )
    items = [DocumentInput(path=path, display_name=_shown_path(path), category=args.category,
                           password=args.password) for path in args.files]
    result = case_json(analyzer.case(items, patient))
    if args.json:
        json.dump(result, sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
        return EXIT_OK
    for document in result["documents"]:
        print(f"{document['file']}: {document['status']}"
              + (f" ({document['error']})" if document["error"] else "")
              + f", {len(document['lab_results'])} lab result(s)")
    print(result["insights"].get("summary") or "")
    return EXIT_OK


def run(args: argparse.Namespace) -> int:
    """Run a headless command; errors become a message on stderr and an exit status."""
    from .app import open_app
    from .logging_setup import configure_logging

    configure_logging(None)
    if args.command == "analyze":
        return run_analyze(args)
    if args.command == "restore":  # before opening: the folder must stay empty and free
        from .cli_portability import run_restore

        return run_restore(args, args.user_id)
    if args.command in ("encrypt", "unlock"):  # they open the folder themselves
        from .cli_encryption import run as run_encryption

        return run_encryption(args)
    try:
        context = open_app(args.data_dir)
    except MedMitraError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_PROBLEM
    configure_logging(context.paths.logs)
    try:
        if args.command == "sync":
            from .cli_sync import run_sync

            return run_sync(args, context)
        from . import cli_portability

        if cli_portability.handles(args):
            return cli_portability.run(args, context, user_id=_require_user(args))
        if args.command == "export" and args.pdf is not None:
            from .cli_reports import run_export_pdf

            return run_export_pdf(args, context, user_id=_require_user(args),
                                  as_json=args.json)
        if args.command == "audit":
            from .cli_audit import run_audit

            return run_audit(args, context)
        return run_cases(args, context.cases)
    except MedMitraError as error:
        return report_error(error)
    finally:
        context.close()


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """Arguments of any command; `command` is None when the window should open."""
    parser = build_parser()
    args = parser.parse_args(list(argv))
    if args.self_test and (args.command is not None or args.data_dir):
        parser.error("--self-test takes no command and no --data-dir (it always uses a new "
                     "temporary data folder)")
    return args


def run_self_test() -> int:
    """`--self-test`: see self_test.py. The window part is the only Qt there."""
    from .self_test import run_self_test as self_test

    return self_test()
