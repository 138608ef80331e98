"""The device's Prometheus metrics: bookkeeping from the bus's events, and the text format.

Pure: no I/O, no clock, no threads. :meth:`Metrics.on_event` is a bus listener (it runs on the
worker's loop, a few dict operations per event); :meth:`Metrics.key_fetched` is told how long a
key took; :meth:`Metrics.render` writes Prometheus' text exposition format (version 0.0.4),
given the time and the :class:`Readings` that other parts own (the output buffer's underruns,
the echo canceller's attenuation). :mod:`appliance.exporter` serves it over HTTP and writes it
for node_exporter's textfile collector.

Written by hand rather than with ``prometheus-client``: that library adds 0.9 MiB PSS and 39
modules (its HTTP and WSGI servers among them) to the worker, for a format of a few lines; the
format is checked by ``promtool check metrics`` and a real Prometheus in the tests.

Every labelled series that can exist (each state, stop reason and error kind) is written from
the start, at 0, so that ``increase()`` sees the first one happen and a dashboard's queries
have data on a device that has had no error yet.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from appliance.labels import cause_key
from appliance.state import StopReason

STATES = ("idle", "connecting", "reconnecting", "listening", "muted", "speaking", "error")
"""The ``state`` label's values (:attr:`appliance.state.View.state`); another state that an
event names is added when it is first seen."""
STOP_REASONS = tuple(reason.value for reason in StopReason)
ERROR_KINDS = (
    "no_key",
    "provisioning",
    "key_refused",
    "network",
    "server",
    "microphone",
    "speaker",
    "audio",
    "other",
)
"""The ``kind`` label's values: a failure's cause as the screen names it (the label keys of
:func:`appliance.labels.cause_key` without ``error_``). A server's ``error`` message is
``server``."""
KEY_FETCH_BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
"""Upper bounds of the key fetch time histogram (a key server on the LAN answers in tens of
ms; the provisioning timeout is at most 120 s, which falls in ``+Inf``)."""


def error_kind(event: Mapping[str, Any]) -> str | None:
    """The ``kind`` of an ``error`` event, or None when it is no failure (a planned renewal)."""
    if event.get("code") is not None:
        return "server"
    key = cause_key(str(event.get("message", "")))
    if key == "renewing":
        return None
    kind = key.removeprefix("error_")
    return kind if kind in ERROR_KINDS else "other"


@dataclass
class Histogram:
    """Cumulative buckets, a sum and a count, as Prometheus' histograms have them."""

    bounds: tuple[float, ...] = KEY_FETCH_BUCKETS_S
    counts: list[int] = field(default_factory=list)
    total: float = 0.0
    count: int = 0

    def __post_init__(self) -> None:
        self.counts = [0] * len(self.bounds)

    def observe(self, value: float) -> None:
        for i, bound in enumerate(self.bounds):
            if value <= bound:
                self.counts[i] += 1
        self.total += value
        self.count += 1


@dataclass(frozen=True)
class Readings:
    """What the parts that own them say at exposition time. ``None``: not measured (no such
    part, or nothing measured yet), and the metric is left out."""

    now: float
    """Unix time of the exposition (for the uptime)."""
    output_underruns: int = 0
    """Times the answer's audio ran dry before its end (the output buffer's count)."""
    device_underruns: int | None = None
    """PortAudio's output underflow flags (the sound-card backend only)."""
    erle_db: float | None = None
    """Echo return loss enhancement of the echo canceller, while it cancels."""


class Metrics:
    """The counters and gauges of one appliance process, started at ``started_at`` (Unix
    time), running ``version``."""

    def __init__(self, version: str, started_at: float) -> None:
        self.version = version
        self.started_at = started_at
        self.state = "idle"
        self.states: list[str] = list(STATES)
        self.started = 0
        self.stopped = dict.fromkeys(STOP_REASONS, 0)
        self.errors = dict.fromkeys(ERROR_KINDS, 0)
        self.reconnects = 0
        self.key_fetch = Histogram()
        self.key_failures = 0
        self._attempt = 0  # the reconnect attempt the last state event showed

    # --- bookkeeping ------------------------------------------------------------------------

    def on_event(self, event: Mapping[str, Any]) -> None:
        """A bus event (see :mod:`appliance.bus`)."""
        kind = event.get("type")
        if kind == "state":
            self._on_state(event)
        elif kind == "started":
            self.started += 1
        elif kind == "stopped":
            reason = str(event.get("reason") or "")
            self.stopped[reason] = self.stopped.get(reason, 0) + 1
        elif kind == "error":
            error = error_kind(event)
            if error is not None:
                self.errors[error] += 1

    def _on_state(self, event: Mapping[str, Any]) -> None:
        state = str(event.get("state") or "")
        if state and state not in self.states:
            self.states.append(state)
        self.state = state or self.state
        # an attempt shown is a reconnect; attempts shown together (while a stopped session
        # closed its audio) count each
        attempt = event.get("reconnect_attempt") or 0
        if isinstance(attempt, int) and attempt > self._attempt:
            self.reconnects += attempt - self._attempt
        self._attempt = attempt if isinstance(attempt, int) else 0

    def key_fetched(self, seconds: float, ok: bool) -> None:
        """A key fetch ended after ``seconds``: its time goes in the histogram if it gave a
        key; a failure is counted (its cause is an ``error`` event too)."""
        if ok:
            self.key_fetch.observe(seconds)
        else:
            self.key_failures += 1

    # --- the text format ----------------------------------------------------------------------

    def render(self, readings: Readings) -> str:
        """The exposition, in Prometheus' text format."""
        out: list[str] = []
        metric(
            out,
            "appliance_info",
            "gauge",
            "The appliance's version.",
            ({"version": self.version}, 1),
        )
        metric(
            out,
            "appliance_start_time_seconds",
            "gauge",
            "When the process started (Unix time).",
            ({}, self.started_at),
        )
        metric(
            out,
            "appliance_uptime_seconds",
            "gauge",
            "Seconds since the process started.",
            ({}, max(0.0, readings.now - self.started_at)),
        )
        metric(
            out,
            "appliance_state",
            "gauge",
            "1 for the state the appliance is in, 0 for the others.",
            *(({"state": s}, int(s == self.state)) for s in self.states),
        )
        metric(
            out,
            "appliance_sessions_started_total",
            "counter",
            "Sessions that went live.",
            ({}, self.started),
        )
        metric(
            out,
            "appliance_sessions_stopped_total",
            "counter",
            "Live sessions that stopped, by reason (press, idle, max, error, reconnect, shutdown).",
            *(({"reason": r}, n) for r, n in self.stopped.items()),
        )
        metric(
            out,
            "appliance_errors_total",
            "counter",
            "Failures and server errors, by kind.",
            *(({"kind": k}, n) for k, n in self.errors.items()),
        )
        metric(
            out,
            "appliance_reconnects_total",
            "counter",
            "Reconnect attempts after a dropped session.",
            ({}, self.reconnects),
        )
        histogram(
            out,
            "appliance_key_fetch_seconds",
            "Time to get a session key (provisioning or minting).",
            self.key_fetch,
        )
        metric(
            out,
            "appliance_key_fetch_failures_total",
            "counter",
            "Key fetches that failed.",
            ({}, self.key_failures),
        )
        metric(
            out,
            "appliance_output_underruns_total",
            "counter",
            "Times the answer's audio ran dry before its end (the network was late).",
            ({}, readings.output_underruns),
        )
        if readings.device_underruns is not None:
            metric(
                out,
                "appliance_output_device_underruns_total",
                "counter",
                "Output underflows the sound card reported (PortAudio).",
                ({}, readings.device_underruns),
            )
        if readings.erle_db is not None:
            metric(
                out,
                "appliance_echo_erle_db",
                "gauge",
                "Echo cancelling's attenuation of the voice's echo (ERLE, dB).",
                ({}, readings.erle_db),
            )
        return "".join(out)


# --- the format -------------------------------------------------------------------------------


def number(value: float) -> str:
    """A sample value as the text format writes it."""
    if isinstance(value, int):
        return str(value)
    if math.isfinite(value) and value == int(value) and abs(value) < 2**53:
        return str(int(value))
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


def escape(value: str) -> str:
    """A label value, escaped: backslash, double quote and newline."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def labels(pairs: Mapping[str, str]) -> str:
    if not pairs:
        return ""
    return "{" + ",".join(f'{k}="{escape(v)}"' for k, v in pairs.items()) + "}"


def metric(
    out: list[str],
    name: str,
    kind: str,
    help_text: str,
    *samples: tuple[Mapping[str, str], float],
) -> None:
    """One metric family: its HELP and TYPE lines, then its samples."""
    out.append(f"# HELP {name} {help_text}\n# TYPE {name} {kind}\n")
    out.extend(f"{name}{labels(pairs)} {number(value)}\n" for pairs, value in samples)


def histogram(out: list[str], name: str, help_text: str, h: Histogram) -> None:
    buckets: Iterable[tuple[Mapping[str, str], float]] = [
        *(({"le": number(float(b))}, c) for b, c in zip(h.bounds, h.counts, strict=True)),
        ({"le": "+Inf"}, h.count),
    ]
    out.append(f"# HELP {name} {help_text}\n# TYPE {name} histogram\n")
    out.extend(f"{name}_bucket{labels(pairs)} {number(value)}\n" for pairs, value in buckets)
    out.append(f"{name}_sum {number(h.total)}\n{name}_count {h.count}\n")
