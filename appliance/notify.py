"""Telling systemd how the service is doing: ``sd_notify`` and the watchdog.

``appliance run`` is started by a ``Type=notify`` unit (``systemd/appliance.service``). systemd
waits for ``READY=1`` before it calls the service started, shows the last ``STATUS=`` line in
``systemctl status appliance``, and restarts the service when ``WATCHDOG=1`` pings stop coming
for ``WatchdogSec=``. Outside systemd (no ``$NOTIFY_SOCKET``) every method does nothing.

The protocol is one datagram of ``KEY=value`` lines on the ``AF_UNIX`` socket named by
``$NOTIFY_SOCKET`` (a leading ``@`` means Linux's abstract namespace); see ``sd_notify(3)``.
It is a few lines of standard library, so no package is used: the ``sdnotify`` package on PyPI
has had no release since 2017, and ``systemd-python`` needs libsystemd headers to build.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

log = logging.getLogger(__name__)


class Notifier:
    """Sends ``sd_notify`` messages to systemd; a no-op when not started by systemd.

    ``environ`` defaults to :data:`os.environ` and is read once, when the notifier is made.
    Sending never raises: a failure is logged once at debug level (systemd going away at
    shutdown is normal).
    """

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self._address = _address(env.get("NOTIFY_SOCKET", ""))
        self._watchdog_usec = _watchdog_usec(env)
        self._warned = False

    @property
    def enabled(self) -> bool:
        """True when running under systemd with a notification socket."""
        return self._address is not None

    def ready(self) -> None:
        """Startup is finished: the service is up (``READY=1``)."""
        self.notify("READY=1")

    def status(self, text: str | None) -> None:
        """A one-line status shown by ``systemctl status`` (``STATUS=...``)."""
        line = " ".join(str(text or "").split())  # one line: no newlines may go through
        self.notify(f"STATUS={line}")

    def stopping(self) -> None:
        """The service is shutting down (``STOPPING=1``)."""
        self.notify("STOPPING=1")

    def reloading(self) -> None:
        """The service is reloading its configuration (``RELOADING=1``); call :meth:`ready`
        when done."""
        self.notify("RELOADING=1")

    def watchdog(self) -> None:
        """Keep-alive ping for ``WatchdogSec=`` (``WATCHDOG=1``)."""
        self.notify("WATCHDOG=1")

    def watchdog_interval(self) -> float | None:
        """Seconds between watchdog pings (half the timeout), or None when there is no watchdog.

        systemd sets ``WATCHDOG_USEC`` and ``WATCHDOG_PID``; the watchdog is meant for this
        process when ``WATCHDOG_PID`` is unset or is our pid.
        """
        if self._watchdog_usec is None:
            return None
        return self._watchdog_usec / 1_000_000 / 2

    def notify(self, message: str) -> bool:
        """Send one raw message (``KEY=value`` lines). True when it was sent."""
        if self._address is None:
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.connect(self._address)
                sock.sendall(message.encode("utf-8", "replace"))
            return True
        except OSError as exc:
            if not self._warned:
                log.debug("sd_notify to %s failed: %s", _show(self._address), exc)
                self._warned = True
            return False


def _address(value: str) -> str | None:
    """The socket address from ``$NOTIFY_SOCKET`` (abstract names start with a NUL byte)."""
    if value.startswith("@") and len(value) > 1:
        return "\0" + value[1:]
    if value.startswith("/"):
        return value
    return None  # unset, empty, or a vsock address (not used on a Pi)


def _watchdog_usec(env: Mapping[str, str]) -> int | None:
    try:
        usec = int(env.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    pid = env.get("WATCHDOG_PID", "")
    if pid:
        try:
            if int(pid) != os.getpid():
                return None
        except ValueError:
            return None
    return usec if usec > 0 else None


def _show(address: str) -> str:
    return "@" + address[1:] if address.startswith("\0") else address
