"""What each dialect of the Realtime API can express: the rules, in one place.

The dialect mappings (:mod:`appliance.realtime.dialects`) refuse a session with the first
problem found here, and validation (:func:`appliance.config.validate`) reports them all against
the dialect the sessions will use, so that what validates is what the first press sends.

This module reads a session config through its attributes only and imports nothing of the
package: the configuration imports it.
"""

from __future__ import annotations

from typing import Any

Problem = tuple[str, str]
"""(dotted field name, message naming the field and the fix)."""

BETA_MODEL_PREFIXES = ("gpt-4o-realtime-preview", "gpt-4o-mini-realtime-preview")
BETA_MODEL = "gpt-4o-realtime-preview-2025-06-03"
"""The model to suggest for the beta dialect: the latest preview model."""


def guess(model: str) -> str:
    """The dialect for ``dialect = "auto"`` by model name: preview models were beta-era."""
    return "beta" if model.startswith(BETA_MODEL_PREFIXES) else "ga"


def wanted(cfg: Any, only: set[str] | None) -> set[str]:
    """Config fields to send: those given (``only``) or, for a full update, all that are set."""
    if only is not None:
        return only
    data = cfg.model_dump(exclude_none=True)
    names = {name for name, value in data.items() if value not in ([], {})}
    return names - {"model", "function_handler"}


def problems(
    dialect: str, cfg: Any, only: set[str] | None = None, *, model: bool = False
) -> list[Problem]:
    """What ``dialect`` ("ga" or "beta") cannot express in the session config ``cfg``
    (``only``: in just these fields).

    ``model``: also whether the dialect serves ``cfg.model``. Validation asks (an explicit
    ``dialect = "beta"`` with a GA model fails at every press); the mappings do not, because
    at run time ``auto`` may follow a beta-shaped provisioning reply to a compatible host
    whose model names are its own, and that server is the one to say no.
    """
    fields = wanted(cfg, only)
    return _ga(cfg, fields) if dialect == "ga" else _beta(cfg, fields, model)


def _ga(cfg: Any, fields: set[str]) -> list[Problem]:
    out: list[Problem] = []
    if "temperature" in fields and cfg.temperature is not None:
        out.append(
            (
                "realtime.config.temperature",
                "realtime.config.temperature: the GA Realtime API has no temperature; remove "
                f'it, or for a beta-compatible host set openai.dialect = "beta" and model = '
                f'"{BETA_MODEL}"',
            )
        )
    return out


def _beta(cfg: Any, fields: set[str], model: bool) -> list[Problem]:
    out: list[Problem] = []
    if model and not cfg.model.startswith(BETA_MODEL_PREFIXES):
        out.append(
            (
                "realtime.config.model",
                f"realtime.config.model: {cfg.model!r} is not served by the beta Realtime API "
                f'(only the *-realtime-preview models are): set model = "{BETA_MODEL}", or '
                'openai.dialect = "auto" (or "ga") to use the GA API',
            )
        )
    t = cfg.temperature
    if "temperature" in fields and t is not None and not 0.6 <= t <= 1.2:
        out.append(
            (
                "realtime.config.temperature",
                f"realtime.config.temperature: the beta Realtime API takes 0.6 to 1.2 (got {t:g})",
            )
        )
    for name in ("truncation", "prompt", "reasoning", "parallel_tool_calls"):
        if name in fields and getattr(cfg, name) is not None:
            out.append(
                (
                    f"realtime.config.{name}",
                    f"realtime.config.{name}: the beta Realtime API has no {name}; remove it, "
                    'or use the GA API (a GA model with openai.dialect = "auto" or "ga")',
                )
            )
    if "tool_choice" in fields and not isinstance(cfg.tool_choice, str | None):
        out.append(
            (
                "realtime.config.tool_choice",
                'realtime.config.tool_choice: the beta Realtime API takes only "auto", "none" or '
                '"required"; forcing one tool needs the GA API',
            )
        )
    return out
