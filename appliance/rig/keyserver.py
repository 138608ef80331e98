"""The key server as a process (tests, bench, demo): a config written for it, its CLI, and
``appliance keyserver serve`` running on a free port of 127.0.0.1 with its :attr:`url`."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections import deque
from pathlib import Path
from typing import Any

import tomli_w

from appliance.rig.process import child_env

READY_PREFIX = "appliance-keyserver listening on "
OUTPUT_LINES = 5000
SIM_API_KEY = "sk-sim-local"


def write_config(
    directory: Path,
    upstream: str,
    *,
    database: str | None = None,
    sections: dict[str, dict[str, Any]] | None = None,
) -> Path:
    """``directory/keyserver.toml`` for an upstream at ``upstream`` (the simulator's URL), its
    API key in ``directory/openai.key``; ``sections`` are merged over the defaults."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "openai.key").write_text(SIM_API_KEY + "\n")
    data: dict[str, Any] = {
        "keyserver": {"listen": "127.0.0.1:0"},
        "upstream": {"api_base": upstream, "key_file": "openai.key", "timeout": 5.0},
        "database": {"url": database} if database else {},
        "groups": {"default": {"session": {"instructions": "You are a test kiosk."}}},
    }
    for name, values in (sections or {}).items():
        data[name] = {**data.get(name, {}), **values}
    path = directory / "keyserver.toml"
    path.write_text(tomli_w.dumps(data))
    return path


def cli(config: Path, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    """``appliance keyserver ARGS --config CONFIG`` (output captured)."""
    return subprocess.run(
        [sys.executable, "-m", "appliance", "keyserver", *args, "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=child_env(),
    )


def enrol(config: Path, name: str, *extra: str) -> str:
    """Add device ``name``; its token (the last line ``device add`` prints)."""
    result = cli(config, "device", "add", name, *extra)
    if result.returncode != 0:
        raise RuntimeError(f"device add {name} failed: {result.stderr}")
    return result.stdout.strip().splitlines()[-1]


class Reply:
    """An HTTP reply: status, headers, the JSON body (or None)."""

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status, self.headers, self.raw = status, headers, body
        try:
            self.json: Any = json.loads(body) if body else None
        except ValueError:
            self.json = None

    @property
    def code(self) -> str | None:
        """``error.code`` of an error reply."""
        err = self.json.get("error") if isinstance(self.json, dict) else None
        return err.get("code") if isinstance(err, dict) else None


def request(
    url: str,
    *,
    method: str = "POST",
    token: str | None = None,
    body: Any = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> Reply:
    """One HTTP request; any status is returned, not raised."""
    data = None if body is None else body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if token is not None:
        req.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return Reply(resp.status, dict(resp.headers), resp.read())
    except urllib.error.HTTPError as exc:
        return Reply(exc.code, dict(exc.headers), exc.read())


class KeyServerProcess:
    """``appliance keyserver serve --config CONFIG --listen 127.0.0.1:0`` running (``python``:
    the interpreter's command, e.g. with a wrapper script that is given ``-m appliance ...``).

    Its standard error (the log and the JSON access log) is kept in :attr:`output` (drained by
    a thread; bounded).
    """

    def __init__(
        self, config: Path, *extra: str, timeout: float = 60.0, python: list[str] | None = None
    ) -> None:
        self.config = config
        self.proc = subprocess.Popen(
            [
                *(python or [sys.executable]),
                "-m",
                "appliance",
                "keyserver",
                "serve",
                "--config",
                str(config),
                "--listen",
                "127.0.0.1:0",
                *extra,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=child_env(),
        )
        self.output: deque[str] = deque(maxlen=OUTPUT_LINES)
        assert self.proc.stderr is not None and self.proc.stdout is not None
        threading.Thread(target=self._drain, daemon=True, name="keyserver-log").start()
        timer = threading.Timer(timeout, self.proc.kill)
        timer.start()
        line = self.proc.stdout.readline()
        timer.cancel()
        if not line.startswith(READY_PREFIX):
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError("the key server did not start:\n" + "".join(self.output))
        self.url = line[len(READY_PREFIX) :].strip()

    def _drain(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.output.append(line)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def key(self, token: str | None, shape: str | None = None, **kw: Any) -> Reply:
        """``POST /key``."""
        query = f"?shape={shape}" if shape else ""
        return request(f"{self.url}/key{query}", token=token, **kw)

    def access_log(self) -> list[dict[str, Any]]:
        """The access log's entries so far."""
        out = []
        for line in list(self.output):
            if line.startswith("{"):
                out.append(json.loads(line))
        return out

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM and wait (SIGKILL after ``timeout``); the exit code."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def __enter__(self) -> KeyServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


async def _one(session: Any, url: str, token: str) -> tuple[int, str | None, float]:
    import time

    started = time.perf_counter()
    async with session.post(url, headers={"Authorization": f"Bearer {token}"}) as reply:
        body = await reply.read()
    elapsed = time.perf_counter() - started
    return reply.status, Reply(reply.status, {}, body).code, elapsed


async def burst_async(
    targets: list[tuple[str, str]], timeout: float = 60.0
) -> list[tuple[int, str | None, float]]:
    """POST each ``(url, token)`` at once; ``(status, error code, seconds)`` per request."""
    import asyncio

    import aiohttp

    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    client_timeout = aiohttp.ClientTimeout(total=timeout)
    async with aiohttp.ClientSession(connector=connector, timeout=client_timeout) as session:
        return list(await asyncio.gather(*(_one(session, u, t) for u, t in targets)))


def burst(
    targets: list[tuple[str, str]], timeout: float = 60.0
) -> list[tuple[int, str | None, float]]:
    """:func:`burst_async` from synchronous code."""
    import asyncio

    return asyncio.run(burst_async(targets, timeout))
