"""Which release runs, and whether the device rolled back to it.

``scripts/appliance-release`` (installed as ``/usr/local/lib/appliance/appliance-release``)
keeps the releases side by side in ``/opt/appliance/releases`` and writes what it did to
:data:`FILE_NAME` in the service's state directory (``/var/lib/appliance``)::

    {"release": "0.1.0-1a2b3c4d5e", "previous": "0.1.0-99aa...", "rolled_back_from": null,
     "reason": null, "at": "2026-12-08T00:10:00Z"}

After a failed health check ``rolled_back_from`` names the release that failed and ``reason``
says how. ``appliance status`` reports this as ``release``; the service logs a rollback when it
starts.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from appliance.realtime.refusals import state_dir

log = logging.getLogger(__name__)

FILE_NAME = "release.json"
MAX_FILE_BYTES = 4096
"""A larger file is not read: it is not one the release tool wrote."""
FIELDS = ("release", "previous", "rolled_back_from", "reason", "at")
MAX_FIELD_CHARS = 300
"""Longer values are cut (the reason is one line of the health check's)."""


def read_release(environ: Mapping[str, str] | None = None) -> dict[str, Any] | None:
    """The release state file's fields (:data:`FIELDS`), or ``None`` when there is none
    (not installed with releases, or run from a checkout). A damaged file is logged and
    ignored."""
    folder = state_dir(environ)
    if folder is None:
        return None
    path = folder / FILE_NAME
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
    except OSError:
        return None
    return parse_release(raw, path)


def parse_release(raw: bytes, path: Path | str = FILE_NAME) -> dict[str, Any] | None:
    """The fields of a release state file's bytes (``None``, logged, when they are not one)."""
    if len(raw) > MAX_FILE_BYTES:
        log.warning("%s: over %d bytes, ignored", path, MAX_FILE_BYTES)
        return None
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        log.warning("%s: not JSON, ignored", path)
        return None
    if not isinstance(data, dict):
        log.warning("%s: not a JSON object, ignored", path)
        return None
    out: dict[str, Any] = {}
    for name in FIELDS:
        value = data.get(name)
        out[name] = value[:MAX_FIELD_CHARS] if isinstance(value, str) else None
    return out


def rollback_message(info: Mapping[str, Any] | None) -> str | None:
    """The log line for a device that rolled back (``None`` when it did not)."""
    if not info or not info.get("rolled_back_from"):
        return None
    reason = f" ({info['reason']})" if info.get("reason") else ""
    return (
        f"running release {info.get('release')}: rolled back from "
        f"{info['rolled_back_from']}{reason} at {info.get('at')}"
    )
