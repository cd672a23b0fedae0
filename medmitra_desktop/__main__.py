"""`medmitra-desktop` / `python -m medmitra_desktop`: no command opens the window."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from . import cli

    args = cli.parse_args(sys.argv[1:] if argv is None else argv)
    if args.self_test:
        return cli.run_self_test()
    if args.command is None:
        from .ui.gui import run_gui  # only the window needs Qt

        return run_gui(args.data_dir)
    return cli.run(args)


if __name__ == "__main__":
    sys.exit(main())
