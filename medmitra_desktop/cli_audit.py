"""`audit verify` and `audit list`: the audit trail from the command line, read-only.

    medmitra-desktop audit verify [--json]     exit 0 intact, 1 changed (and says how)
    medmitra-desktop audit list [--case ID] [--limit N] [--json]
"""

from __future__ import annotations

import argparse
from typing import Any

from .cli_exit import EXIT_OK, EXIT_PROBLEM


def add_audit_parser(commands: Any) -> None:
    audit = commands.add_parser("audit", help="check or list the audit trail (read-only)")
    actions = audit.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    verify = actions.add_parser("verify", help="check the hash chain of the whole trail")
    verify.add_argument("--json", action="store_true")
    listing = actions.add_parser("list", help="the newest audit events first")
    listing.add_argument("--case", dest="case_id", help="only the events of this case")
    listing.add_argument("--limit", type=int, default=100, help="at most this many (1-5000)")
    listing.add_argument("--json", action="store_true")


def run_audit(args: argparse.Namespace, context: Any) -> int:
    from .cli import print_json
    from .services.audit_review import check_chain, list_events

    if args.audit_command == "verify":
        check = check_chain(context.database)
        if args.json:
            print_json({"rows": check.rows, "intact": check.intact,
                        "broken_ids": list(check.broken)})
        elif check.intact:
            print(f"The audit trail is intact: {_entries(check.rows)}, every hash checks out.")
        else:
            print(check.message())
        return EXIT_OK if check.intact else EXIT_PROBLEM
    rows = list_events(context.database, entity_id=args.case_id, limit=args.limit)
    if args.json:
        print_json([{"id": row.id, **_event(row.event), "intact": row.intact} for row in rows])
        return EXIT_OK
    for row in rows:
        event = row.event
        print(f"{event.at:%Y-%m-%d %H:%M:%S}  {event.user_id}  {event.action}  "
              f"{event.entity} {event.entity_id}  {event.detail}"
              + ("" if row.intact else "  [CHANGED]"))
    return EXIT_OK


def _entries(count: int) -> str:
    return f"{count} entr{'y' if count == 1 else 'ies'}"


def _event(event: Any) -> dict[str, Any]:
    return {"at": event.at.isoformat(), "user_id": event.user_id, "action": event.action,
            "entity": event.entity, "entity_id": event.entity_id, "detail": event.detail}
