"""Headless encryption at rest: `encrypt` turns it on for the data folder and prints the
recovery code once; `unlock` takes the recovery code (from stdin, never from the command
line, where other users and the shell history would see it) and puts the folder's key
back in this user's keychain.

Both run before the data folder is opened for other work: `encrypt` opens it itself
twice (to record the change, then to seal it), `unlock` must work when opening fails.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from .cli_exit import EXIT_OK, report_error
from .domain.errors import MedMitraError

RECOVERY_ADVICE = (
    "Write this recovery code down and keep it where you keep the clinic's keys (not on "
    "this computer). Without it, the data cannot be read if this computer's keychain is "
    "lost or the folder is moved to another computer. Anyone who has it can read the "
    "data. It is shown only now.")


def add_commands(commands: Any, add_user: Callable[[argparse.ArgumentParser], None]) -> None:
    encrypt = commands.add_parser(
        "encrypt", help="encrypt the data folder at rest (database and stored files) with "
                        "a key kept in the system keychain; prints a recovery code once")
    add_user(encrypt)
    commands.add_parser(
        "unlock", help="put an encrypted data folder's key back in this user's keychain "
                       "from its recovery code (read from standard input)")


def read_recovery_code() -> str:
    if sys.stdin.isatty():
        import getpass

        return getpass.getpass("Recovery code: ")
    return sys.stdin.readline()


def run(args: argparse.Namespace) -> int:
    """`encrypt` and `unlock`; errors become a message and exit status 1 or 2."""
    try:
        return _encrypt(args) if args.command == "encrypt" else _unlock(args)
    except MedMitraError as error:
        return report_error(error)


def _encrypt(args: argparse.Namespace) -> int:
    from .app import open_app
    from .cli import _require_user
    from .services.folder_encryption import turn_on

    clean_user = _require_user(args)
    context = open_app(args.data_dir)  # a plain folder, checked and migrated as usual
    try:
        key = turn_on(context, user_id=clean_user)
    finally:
        context.close()
    print("Encryption is on for this data folder. Recovery code:\n")
    print(f"    {key.recovery_code()}\n")
    print(RECOVERY_ADVICE)
    sys.stdout.flush()

    def progress(done: int, total: int) -> None:
        print(f"\rSealing {done}/{total} file(s)...", end="", file=sys.stderr, flush=True)

    context = open_app(args.data_dir, progress=progress)  # this start seals the folder
    print(file=sys.stderr)
    context.close()
    print("Every file in the data folder is now encrypted.")
    return EXIT_OK


def _unlock(args: argparse.Namespace) -> int:
    from .app import open_app
    from .config import resolve_data_dir
    from .storage import encryption
    from .storage.data_key import DataKeyStore

    data_dir = resolve_data_dir(args.data_dir)
    key, not_kept = encryption.key_from_recovery_code(data_dir, read_recovery_code(),
                                                      DataKeyStore())
    open_app(args.data_dir, data_key=key).close()  # proves the key opens the folder
    if not_kept:
        print(f"warning: {not_kept}", file=sys.stderr)
        print("The recovery code opens this data folder.")
    else:
        print("The recovery code opens this data folder; its key is in this user's "
              "keychain again.")
    return EXIT_OK
