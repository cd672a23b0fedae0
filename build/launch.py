"""Entry script of the frozen app (PyInstaller needs a script, not `python -m`)."""

import sys

from medmitra_desktop.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
