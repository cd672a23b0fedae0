"""MedMitra Desktop: an offline-first clinical case workstation."""

from importlib import metadata

try:
    __version__ = metadata.version("medmitra-desktop")
except metadata.PackageNotFoundError:  # running from a source tree or a frozen bundle
    __version__ = "0.1.0"

APP_NAME = "MedMitra Desktop"
