"""The pure pipeline: files and text in, dataclasses out. No database, no network, no Qt.

A bug here is reproducible from a file and a command line (`medmitra-desktop analyze`).
"""
