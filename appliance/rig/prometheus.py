"""A real Prometheus (and node_exporter) for the metrics tests: Debian's ``prometheus`` and
``prometheus-node-exporter`` packages, started on loopback ports with their own configuration
and storage in a temporary directory, queried through the HTTP API, stopped by PID.

    with Prometheus(folder, {"appliance": ["127.0.0.1:9101"]}) as prom:
        prom.wait_for("up == 1", "the device scraped")
        prom.query('appliance_sessions_stopped_total{reason="press"}')

Nothing here is used by ``appliance run``; :func:`missing` says what is not installed (the
tests skip with it).
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from appliance.rig.process import kill_group, poll_until

PROMETHEUS = "prometheus"
NODE_EXPORTER = "prometheus-node-exporter"
PROMTOOL = "promtool"
START_TIMEOUT_S = 60.0
"""Prometheus replays its (empty) storage and loads its config in about a second."""
STOP_GRACE_S = 10.0
SCRAPE_INTERVAL_S = 1.0
"""The scrape interval of the tests' Prometheus (a production one scrapes every 15-60 s)."""
REQUEST_TIMEOUT_S = 10.0
RETENTION = "1h"
"""The test Prometheus keeps at most this much (it lives a minute)."""


def missing(*commands: str) -> str | None:
    """Why these commands cannot run here (not installed), or None."""
    absent = [name for name in commands if shutil.which(name) is None]
    if absent:
        return (
            f"{', '.join(absent)} not installed (apt-get install prometheus "
            "prometheus-node-exporter; scripts/lib/bootstrap.sh installs them as root)"
        )
    return None


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free on ``host`` a moment ago (for servers that cannot be given
    port 0 and tell which port they got)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def http_get(url: str, timeout: float = REQUEST_TIMEOUT_S) -> tuple[int, bytes]:
    """GET ``url``: the status and the body (an HTTP error's too)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def check_metrics(text: str) -> subprocess.CompletedProcess[str]:
    """``promtool check metrics`` on an exposition (exit status 0: valid; its complaints, such
    as lint warnings, are in stdout/stderr)."""
    return subprocess.run(
        [PROMTOOL, "check", "metrics"],
        input=text,
        capture_output=True,
        text=True,
        timeout=REQUEST_TIMEOUT_S,
    )


class Server:
    """A server process in a process group of its own, its output in ``log``; :meth:`stop`
    ends it by its PID (the group it leads)."""

    def __init__(self, args: Sequence[str], log: Path, ready_url: str) -> None:
        self.log_path = log
        self.ready_url = ready_url
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                list(args),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _ready(self) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError(f"{self.proc.args[0]} exited:\n{self.log()}")
        try:
            return http_get(self.ready_url, timeout=2)[0] == 200
        except OSError:
            return False

    def _wait_ready(self) -> None:
        if not poll_until(self._ready, START_TIMEOUT_S, 0.1):
            raise RuntimeError(
                f"{self.proc.args[0]} did not answer {self.ready_url} within "
                f"{START_TIMEOUT_S:g} s:\n{self.log()}"
            )

    def log(self, tail: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-tail:] if self.log_path.exists() else ""

    def stop(self) -> int:
        """SIGTERM the process group, SIGKILL after :data:`STOP_GRACE_S`; the exit status."""
        if self.proc.poll() is None:
            kill_group(self.proc, STOP_GRACE_S)
        return self.proc.returncode

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def scrape_config(jobs: Mapping[str, Sequence[str]], interval_s: float) -> str:
    """A ``prometheus.yml`` scraping each job's targets every ``interval_s`` (JSON is YAML)."""
    config = {
        "global": {"scrape_interval": f"{interval_s:g}s", "evaluation_interval": "15s"},
        "scrape_configs": [
            {"job_name": job, "static_configs": [{"targets": list(targets)}]}
            for job, targets in jobs.items()
        ],
    }
    return json.dumps(config, indent=2)


class Prometheus(Server):
    """Prometheus scraping ``jobs`` (job name -> ``host:port`` targets), its configuration and
    storage under ``folder``, its API at :attr:`url`."""

    def __init__(
        self,
        folder: Path,
        jobs: Mapping[str, Sequence[str]],
        *,
        interval_s: float = SCRAPE_INTERVAL_S,
    ) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        config = folder / "prometheus.yml"
        config.write_text(scrape_config(jobs, interval_s))
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        super().__init__(
            [
                PROMETHEUS,
                f"--config.file={config}",
                f"--web.listen-address=127.0.0.1:{port}",
                f"--storage.tsdb.path={folder / 'data'}",
                f"--storage.tsdb.retention.time={RETENTION}",
                "--log.level=warn",
            ],
            folder / "prometheus.log",
            f"{self.url}/-/ready",
        )

    def api(self, path: str, **params: str) -> Any:
        """``GET /api/v1/PATH?params``: the reply's ``data`` (raises on an error reply)."""
        query = urllib.parse.urlencode(params)
        status, body = http_get(f"{self.url}/api/v1/{path}?{query}")
        reply = json.loads(body)
        if status != 200 or reply.get("status") != "success":
            raise AssertionError(f"Prometheus {path} {params}: HTTP {status}: {body[:500]!r}")
        return reply["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        """An instant query's result (a vector's series: ``metric`` labels and ``value``)."""
        data = self.api("query", query=expr)
        result = data["result"]
        return result if data["resultType"] == "vector" else [{"metric": {}, "value": result}]

    def values(self, expr: str, by: str | None = None) -> dict[str, float]:
        """An instant query as ``{label by's value (or ""): value}``."""
        return {
            (series["metric"].get(by, "") if by else ""): float(series["value"][1])
            for series in self.query(expr)
        }

    def wait_for(
        self,
        expr: str,
        what: str,
        timeout: float = 30.0,
        check: Callable[[list[dict[str, Any]]], bool] = bool,
    ) -> list[dict[str, Any]]:
        """Query ``expr`` until ``check(result)`` (default: any series); fail naming ``what``
        with the targets' health after ``timeout``."""
        last: list[dict[str, Any]] = []

        def look() -> bool:
            nonlocal last
            last = self.query(expr)
            return check(last)

        if not poll_until(look, timeout, 0.2):
            targets = [
                (t["labels"].get("job"), t["health"], t.get("lastError"))
                for t in self.api("targets")["activeTargets"]
            ]
            raise AssertionError(
                f"timed out after {timeout:g} s waiting for {what} ({expr}); last result "
                f"{last}; targets {targets}\n{self.log()}"
            )
        return last


class NodeExporter(Server):
    """node_exporter with only its textfile collector, reading ``directory``."""

    def __init__(self, directory: Path, log: Path) -> None:
        port = free_port()
        self.address = f"127.0.0.1:{port}"
        super().__init__(
            [
                NODE_EXPORTER,
                f"--web.listen-address={self.address}",
                "--collector.disable-defaults",
                "--collector.textfile",
                f"--collector.textfile.directory={directory}",
            ],
            log,
            f"http://{self.address}/metrics",
        )
