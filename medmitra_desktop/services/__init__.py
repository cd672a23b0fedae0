"""Use cases over storage and analysis: the one API the GUI, the CLI and sync all use. No Qt."""
