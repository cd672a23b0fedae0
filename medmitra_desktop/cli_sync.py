"""`medmitra-desktop sync ...`: sign in, sign out, see the state, sync now, headless.

The token is read from standard input (or typed without echo), never taken as an
argument: arguments end up in shell history and process lists.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from typing import TYPE_CHECKING, Any

from .cli_exit import EXIT_OFFLINE, EXIT_OK, EXIT_PROBLEM

if TYPE_CHECKING:
    from .app import AppContext



def add_sync_parser(commands: Any) -> None:
    sync = commands.add_parser("sync", help="sync with a MedMitra server (optional)")
    actions = sync.add_subparsers(dest="sync_command", required=True, metavar="ACTION")
    sign_in = actions.add_parser(
        "sign-in", help="check an access token with the server and keep it in the OS "
                        "keychain (the token is read from standard input)")
    sign_in.add_argument("--server", required=True, metavar="URL",
                         help="https address of the MedMitra API")
    sign_in.add_argument("--user", required=True, metavar="USER_ID",
                         help="your doctor user id on that server")
    actions.add_parser("sign-out", help="delete the token from the keychain")
    status = actions.add_parser("status", help="sign-in, cases per sync state, changes "
                                               "waiting")
    status.add_argument("--json", action="store_true")
    now = actions.add_parser("now", help="send every waiting change and fetch the server's "
                                         "cases and insights")
    now.add_argument("--json", action="store_true")


def run_sync(args: argparse.Namespace, context: AppContext) -> int:
    account = context.sync
    if args.sync_command == "sign-in":
        token = (getpass.getpass("Access token: ") if sys.stdin.isatty()
                 else sys.stdin.readline())
        print(account.sign_in(args.server, args.user, token).summary)
        return EXIT_OK
    if args.sync_command == "sign-out":
        print(account.sign_out().summary)
        return EXIT_OK
    if args.sync_command == "status":
        status = account.status()
        shown = {"sync": status.summary, "server_url": status.server_url,
                 "user_id": status.user_id, "signed_in": status.signed_in,
                 "changes_waiting": account.pending_changes(),
                 "cases": account.state_counts()}
        if args.json:
            print(json.dumps(shown, indent=2))
        else:
            for key, value in shown.items():
                print(f"{key}: {value}")
        return EXIT_OK
    engine = account.engine()
    if engine is None:
        print(f"error: {account.status().summary}; sign in first with "
              f"`medmitra-desktop sync sign-in`", file=sys.stderr)
        return EXIT_PROBLEM
    try:
        report = engine.run_once(force=True)
    finally:
        engine.close()
    if args.json:
        print(json.dumps(report.__dict__, indent=2))
    else:
        print(f"sent {report.pushed} change(s); {report.pulled} new case(s) from the server; "
              f"{report.updated} updated; {report.conflicts} conflict(s); {report.insights} "
              f"new server insight(s); {report.processing} still being analysed there")
        for line in [report.offline, report.sign_in, *report.problems]:
            if line:
                print(f"  {line}", file=sys.stderr)
    if report.offline:
        return EXIT_OFFLINE
    return EXIT_OK if report.ok else EXIT_PROBLEM
