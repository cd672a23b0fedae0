"""Exit statuses of every headless command, and how an error the user can act on is
printed: one line per problem on stderr, never a traceback."""

from __future__ import annotations

import sys

from .domain.errors import MedMitraError, ValidationError

EXIT_OK = 0
EXIT_PROBLEM = 1  # a problem the message explains
EXIT_USAGE = 2    # bad arguments or values, every bad field named
EXIT_OFFLINE = 3  # sync: the server could not be reached (normal offline; changes kept)


def report_error(error: MedMitraError) -> int:
    if isinstance(error, ValidationError):
        for problem in error.errors:
            print(f"error: {problem}", file=sys.stderr)
        return EXIT_USAGE
    print(f"error: {error}", file=sys.stderr)
    return EXIT_PROBLEM
