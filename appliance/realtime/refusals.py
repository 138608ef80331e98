"""Which servers refused the beta Realtime API, remembered across reloads and restarts.

With ``openai.dialect = "auto"`` and a preview model, sessions start in beta; a server that
answers ``beta_api_shape_disabled`` is met with GA from then on (see
:class:`appliance.realtime.session.Memory`). So that a reload or a restart does not try beta
again at the next press, the refusal is also kept in a small JSON file, per ``api_base``, for
:data:`REFUSAL_TTL_S` (a server may start serving beta again; a day later it is asked again).

The file is :data:`FILE_NAME` in the state directory (:func:`state_dir`): systemd's
``$STATE_DIRECTORY`` (``/var/lib/appliance`` with the unit's ``StateDirectory=appliance``),
else ``$XDG_STATE_HOME/appliance``, else ``~/.local/state/appliance``. It is written
atomically (a private temporary file renamed over it), mode 0600, and bounded
(:data:`MAX_ENTRIES`, :data:`MAX_FILE_BYTES`). What it holds is only a hint: a file that is
missing, unreadable, too big, not a regular file or not the expected JSON is ignored (with one
warning naming it), and the next refusal replaces it.

    {"version": 1, "beta_refused": {"https://api.example.com": 1767225600.0}}
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Callable, Mapping
from pathlib import Path

from appliance import files

log = logging.getLogger("appliance")

FILE_NAME = "dialect.json"
"""The file's name in the state directory."""
REFUSAL_TTL_S = 86_400.0
"""How long a refusal is remembered: a day, then beta is tried again."""
MAX_ENTRIES = 32
"""Servers remembered at most (the most recent refusals are kept)."""
MAX_KEY_CHARS = 1024
"""An ``api_base`` longer than this is not written down (it is still remembered in memory)."""
MAX_FILE_BYTES = 64 * 1024
"""A larger file is not read: it is not one this module wrote."""
VERSION = 1


def state_dir(environ: Mapping[str, str] | None = None) -> Path | None:
    """The directory for state kept across restarts, or ``None`` when there is none to use:
    ``$STATE_DIRECTORY`` (its first entry), ``$XDG_STATE_HOME/appliance``, or
    ``~/.local/state/appliance``."""
    env = os.environ if environ is None else environ
    given = env.get("STATE_DIRECTORY", "").split(":")[0]
    if given:
        return Path(given)
    xdg = env.get("XDG_STATE_HOME", "")
    if xdg and os.path.isabs(xdg):
        return Path(xdg) / "appliance"
    try:
        return Path.home() / ".local" / "state" / "appliance"
    except RuntimeError:  # no home directory to be found
        return None


class BetaRefusals:
    """The refusals file at ``path`` (``None``: nothing is kept across restarts).
    ``warn`` gets each problem with the file, once per process."""

    def __init__(self, path: Path | None, warn: Callable[[str], None] = log.warning) -> None:
        self.path = path
        self._warn = warn
        self._warned: set[str] = set()

    @classmethod
    def default(cls, environ: Mapping[str, str] | None = None) -> BetaRefusals:
        """The file in :func:`state_dir`."""
        folder = state_dir(environ)
        return cls(folder / FILE_NAME if folder is not None else None)

    def refused(self, api_base: str, now: float) -> bool:
        """Whether the server at ``api_base`` refused beta less than a day before ``now``
        (wall-clock seconds)."""
        at = self._read().get(api_base)
        return at is not None and _fresh(at, now)

    def remember(self, api_base: str, now: float) -> None:
        """Write down that ``api_base`` refused beta at ``now``. Never raises: a file that
        cannot be written is said once, and the refusal is then kept only in memory."""
        if self.path is None or len(api_base) > MAX_KEY_CHARS:
            return
        entries = {base: at for base, at in self._read().items() if _fresh(at, now)}
        entries[api_base] = now
        newest = sorted(entries.items(), key=lambda item: item[1])[-MAX_ENTRIES:]
        text = json.dumps({"version": VERSION, "beta_refused": dict(newest)}, indent=1)
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            files.write_atomic(self.path, text.encode("utf-8"), mode=0o600)
        except OSError as exc:
            self._say(
                "write",
                f"cannot keep the beta refusal in {self.path} ({exc.strerror or exc}): "
                "after a restart, beta is tried once more; make the state directory writable",
            )

    def _read(self) -> dict[str, float]:
        """The entries of the file; empty when it is missing or unusable (said once)."""
        if self.path is None:
            return {}
        try:
            raw = files.read_small(self.path, MAX_FILE_BYTES, "the state file", follow_links=False)
        except (FileNotFoundError, NotADirectoryError):
            return {}  # nothing remembered yet
        except OSError as exc:
            self._ignore(exc.strerror or str(exc))
            return {}
        except files.FileRefused as exc:
            self._say("read:refused", f"{exc}; it is ignored (the file is only a hint)")
            return {}
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):
            self._ignore("not JSON")
            return {}
        entries = data.get("beta_refused") if isinstance(data, dict) else None
        if not isinstance(entries, dict):
            self._ignore('no "beta_refused" object')
            return {}
        good = {
            base: float(at)
            for base, at in entries.items()
            if len(base) <= MAX_KEY_CHARS
            and isinstance(at, int | float)
            and not isinstance(at, bool)
            and math.isfinite(at)
        }
        if len(good) != len(entries):
            self._ignore("entries that are not a server and a time", some=True)
        return good

    def _ignore(self, why: str, *, some: bool = False) -> None:
        what = "some of its entries are" if some else "it is"
        self._say(
            f"read:{why}",
            f"{self.path}: {why}; {what} ignored (the file is only a hint, rewritten at the "
            "next beta refusal)",
        )

    def _say(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            self._warn(message)


def _fresh(at: float, now: float) -> bool:
    """Whether a refusal at ``at`` still counts at ``now`` (a clock set back by less than a
    day, as on a Pi before its first time sync, does not make it count forever)."""
    return abs(now - at) < REFUSAL_TTL_S
