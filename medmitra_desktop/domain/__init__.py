"""Plain dataclasses, enums, validation rules and errors shared by every layer.

No database, network or Qt here; the only I/O is reading a few bytes of a file to learn its type.
"""
