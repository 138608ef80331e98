"""The browser kiosk the appliance is compared with: Chromium showing Deep Chat's OpenAI
Realtime view, served from a local page, in a window on an X display.

    site = kiosk_site()                         # Chromium and deep-chat installed, page written
    with PageServer(site) as server, BrowserKiosk(display, server.url, (800, 480)) as kiosk:
        kiosk.pid                               # Chromium's first process (the tree's root)

:func:`ensure_chromium` installs Chromium with apt-get when it is missing (as root; otherwise
the exception names the command). :func:`ensure_deep_chat` installs the ``deep-chat`` npm
package (:data:`DEEP_CHAT_VERSION`, npm from apt when missing) into the cache
(:func:`appliance.rig.cache.cache_dir`), once. The page (:data:`PAGE`) fills the window with
the ``<deep-chat>`` element in its realtime mode with a placeholder ephemeral key: Deep Chat
then skips its key screen and shows the realtime view (avatar, microphone and start buttons),
idle until the start button is pressed. Deep Chat's realtime mode calls api.openai.com itself
(its URL is fixed; no proxy, see its issues #117/#144), so it cannot be pointed at the
simulator; the idle view needs no server.

Chromium runs as a kiosk would (:data:`CHROMIUM_FLAGS`): an app window without the browser's
bars, no first-run dialogs, the microphone allowed; a profile kept in the cache between runs
(a kiosk keeps its profile). As root Chromium refuses to start without ``--no-sandbox``: it is
added then (and ``--test-type``, which only hides the warning bar that flag would put over the
page and so change its size).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from http.server import SimpleHTTPRequestHandler
from pathlib import Path
from typing import Any

from appliance.rig.cache import cache_dir
from appliance.rig.httpserver import LocalHTTPServer
from appliance.rig.process import kill_group, process_tree, wait_for

DEEP_CHAT_VERSION = "2.4.2"
"""The deep-chat release measured (npm's latest when this was written)."""
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
STOP_GRACE_S = 10.0
"""How long Chromium's processes get to exit after SIGTERM."""
INSTALL_TIMEOUT_S = 900.0
"""The longest apt-get or npm may take (Chromium is about 100 MB of packages)."""

CHROMIUM_FLAGS = (
    "--no-first-run",
    "--no-default-browser-check",
    "--noerrdialogs",
    "--password-store=basic",
    "--autoplay-policy=no-user-gesture-required",
    "--use-fake-ui-for-media-stream",  # the microphone is allowed without asking
)
"""What a kiosk sets, besides the window (``--app``, size, position) and the profile."""
ROOT_FLAGS = ("--no-sandbox", "--test-type")
"""As root Chromium does not start without ``--no-sandbox``; ``--test-type`` hides the bar
that warns about it (it would take 55 px of the page)."""

PAGE = """<!doctype html>
<html>
<head>
<meta charset="utf-8">
<title>Deep Chat kiosk</title>
<style>
html, body { margin: 0; width: 100%; height: 100%; overflow: hidden; background: #000; }
deep-chat { display: block; }
</style>
<script type="module" src="deepChat.bundle.js"></script>
</head>
<body>
<deep-chat style="width: 100%; height: 100%; border: none; border-radius: 0"
  directConnection='{"openAI": {"realtime": {"ephemeralKey": "placeholder-key"}}}'>
</deep-chat>
</body>
</html>
"""
"""Deep Chat's OpenAI Realtime view filling the window; an ephemeral key skips its key
screen (nothing is sent until the start button is pressed)."""


class BrowserUnavailable(RuntimeError):
    """Chromium, npm or deep-chat cannot be installed or found here; the message says why."""


def find_chromium() -> str | None:
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def _apt_install(*packages: str) -> None:
    if os.geteuid() != 0:
        raise BrowserUnavailable(
            f"{' and '.join(packages)} missing; install with: sudo apt-get install -y "
            + " ".join(packages)
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    command = ["apt-get", "install", "-y", "--no-install-recommends"]
    command += ["-o", "DPkg::Lock::Timeout=300", *packages]
    for attempt in (command, ["apt-get", "update"], command):
        done = subprocess.run(
            attempt, env=env, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S
        )
        if done.returncode == 0 and attempt is command:
            return
    raise BrowserUnavailable(f"apt-get install {' '.join(packages)} failed:\n{done.stderr[-2000:]}")


def ensure_chromium() -> str:
    """The Chromium binary, installed with apt-get first if missing (as root)."""
    found = find_chromium()
    if found is None:
        _apt_install("chromium")
        found = find_chromium()
    if found is None:
        raise BrowserUnavailable("chromium was installed but is not on PATH")
    return found


def chromium_version(binary: str) -> str:
    done = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30)
    return done.stdout.strip() or "Chromium (version unknown)"


def ensure_deep_chat(folder: Path) -> Path:
    """``deep-chat`` installed with npm under ``folder`` (once); its browser bundle."""
    bundle = folder / "node_modules" / "deep-chat" / "dist" / "deepChat.bundle.js"
    if bundle.exists():
        return bundle
    if shutil.which("npm") is None:
        _apt_install("nodejs", "npm")
    command = ["npm", "install", "--prefix", str(folder), "--no-audit", "--no-fund"]
    done = subprocess.run(
        [*command, f"deep-chat@{DEEP_CHAT_VERSION}"],
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT_S,
    )
    if done.returncode != 0 or not bundle.exists():
        raise BrowserUnavailable(f"npm install deep-chat failed:\n{done.stderr[-2000:]}")
    return bundle


def kiosk_site(folder: Path | None = None) -> Path:
    """The folder served to the browser: :data:`PAGE` as ``index.html`` beside Deep Chat's
    bundle. Installs what is missing first."""
    base = folder or cache_dir("peer")
    bundle = ensure_deep_chat(base / "npm")
    site = base / "site"
    site.mkdir(exist_ok=True)
    shutil.copyfile(bundle, site / bundle.name)
    (site / "index.html").write_text(PAGE)
    return site


class PageServer(LocalHTTPServer):
    """The folder ``site`` over HTTP on the loopback address (modules do not load from
    ``file://``); ``url`` is where it is."""

    def __init__(self, site: Path) -> None:
        class Handler(SimpleHTTPRequestHandler):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, directory=str(site), **kwargs)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet: a bench prints its own table

        super().__init__(Handler)


class BrowserKiosk:
    """Chromium showing ``url`` in an app window of ``size`` at the top left of ``display``,
    in its own process group (ended whole on close); spawned on construction. ``profile``:
    the user data folder (default: one kept in the cache)."""

    def __init__(
        self,
        display: str,
        url: str,
        size: tuple[int, int],
        *,
        binary: str | None = None,
        profile: Path | None = None,
    ) -> None:
        self.binary = binary or ensure_chromium()
        self.size = size
        self.profile = profile or cache_dir("peer") / "profile"
        self.flags = [*CHROMIUM_FLAGS, *(ROOT_FLAGS if os.geteuid() == 0 else ())]
        command = [
            self.binary,
            *self.flags,
            f"--user-data-dir={self.profile}",
            f"--app={url}",
            f"--window-size={size[0]},{size[1]}",
            "--window-position=0,0",
        ]
        env = {**os.environ, "DISPLAY": display}
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close())
        self.spawned = time.perf_counter()
        self.proc = subprocess.Popen(
            command,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def output(self, tail: int = 3000) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-tail:]

    def close(self) -> None:
        """SIGTERM the process group, then SIGKILL what is left of the process tree after
        :data:`STOP_GRACE_S` (Chromium's helpers leave the group: its zygote starts a
        session of its own)."""
        tree = process_tree(self.pid) if self.alive() else []
        try:
            kill_group(self.proc, STOP_GRACE_S)
            if not wait_for(lambda: not _any_alive(tree), STOP_GRACE_S, interval=0.05):
                for pid in tree:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
        finally:
            with contextlib.suppress(OSError):
                self.log.close()

    def __enter__(self) -> BrowserKiosk:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _any_alive(pids: list[int]) -> bool:
    """Any of ``pids`` still exists (and is not a zombie)."""
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
                if stat.read().rpartition(")")[2].split()[0] != "Z":
                    return True
        except OSError:
            continue
    return False
