"""What changed between two configurations, and which of the changes need a restart."""

from __future__ import annotations

from typing import Any

from appliance.config.models import AppConfig

RESTART_FIELDS = (
    "audio",
    "display",
    "gpio",
    "control",
    "logging",
    "metrics",
    "wake",
    "realtime.avatar",
    "realtime.buttons",
)
"""Fields (and sections) read once at start: changing them needs ``systemctl restart``.

Everything else is applied by a reload (``systemctl reload appliance``): the session config
(sent to a live session with ``session.update``), keys and provisioning, hooks, the
recovery policy."""

LIVE_FIELDS = ("audio.volume",)
"""Fields inside :data:`RESTART_FIELDS` that a reload applies all the same."""


def changed_fields(old: AppConfig, new: AppConfig) -> list[str]:
    """Dotted names of the leaves that differ between two configurations (secrets included,
    compared by value, never shown)."""
    out: list[str] = []
    _diff(old.model_dump(), new.model_dump(), "", out)
    return out


def restart_needed(old: AppConfig, new: AppConfig) -> list[str]:
    """The changed fields that only take effect after a restart (see :data:`RESTART_FIELDS`)."""
    return [
        name
        for name in changed_fields(old, new)
        if any(name == f or name.startswith(f + ".") for f in RESTART_FIELDS)
        and name not in LIVE_FIELDS
    ]


def _diff(a: Any, b: Any, prefix: str, out: list[str]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            _diff(a.get(k), b.get(k), f"{prefix}.{k}" if prefix else str(k), out)
    elif a != b:
        out.append(prefix)
