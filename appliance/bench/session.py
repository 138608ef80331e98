"""Client-side latency of a session against the simulator, headless (WAV audio).

* capture -> append: from a microphone block's capture to its ``input_audio_buffer.append``
  being handed to the socket;
* delta -> output: from an audio delta's arrival to its first sample being written out.

The appliance runs in this process (the real :class:`~appliance.app.Appliance` with the WAV
backend) against a simulator subprocess, for a spoken question and its answer.
"""

from __future__ import annotations

import asyncio
import tempfile
import threading
from pathlib import Path

import numpy as np

from appliance.app import Appliance
from appliance.audio.wav import WavBackend
from appliance.bench import Row
from appliance.config import validate
from appliance.hub import Hub
from appliance.rig.sim import SimProcess
from appliance.rig.speech import write_speech_wav


def _question(path: Path) -> None:
    write_speech_wav(path, [(0.25, 1.2)], total_s=7.45, rate=24_000, channels=1)


def _percentiles(values: list[float]) -> tuple[float, float, float]:
    arr = np.asarray(values)
    return float(np.percentile(arr, 50)), float(np.percentile(arr, 95)), float(arr.max())


def run(quick: bool) -> list[Row]:
    work = Path(tempfile.mkdtemp(prefix="appliance-bench-"))
    sim = SimProcess("--answer-seconds", "3")
    url = sim.url
    try:
        question = work / "q.wav"
        _question(question)
        config = validate(
            {
                "openai": {"api_base": url, "dialect": "ga"},
                "realtime": {
                    "auto_start": True,
                    "provisioning": {"url": f"{url}/provision"},
                    "config": {"turn_detection": {"type": "server_vad"}},
                },
                "control": {"socket": str(work / "control.sock")},
            }
        )
        hub = Hub()
        audio = WavBackend(question, work / "out.wav", config.audio.block_ms)
        app = Appliance(config, hub, audio)
        app.playback.measure_latency()
        done = threading.Event()
        spoke = threading.Event()

        def watch(view) -> None:
            if view.state == "speaking":
                spoke.set()
            elif spoke.is_set() and view.state == "listening":
                done.set()

        hub.on_view(watch)
        worker = threading.Thread(target=lambda: asyncio.run(app.run()), daemon=True)
        worker.start()
        finished = done.wait(30 if quick else 60)
        app.request_stop()
        worker.join(10)
        if not finished:
            raise RuntimeError("no answer from the simulator within the time limit")
        capture = list(app.link.capture_to_send_ms)
        stats = app.playback.stats
        first = [s * 1000 for s in stats.first_sample_latency_s]
        queued = [s * 1000 for s in stats.queued_latency_s]
        note = f"block {config.audio.block_ms} ms, WAV backend, {{n}} samples"
        rows: list[Row] = []
        measures = (
            ("capture->append", capture),
            ("delta->first sample out (empty buffer)", first),
            ("delta->first sample out (behind queued audio)", queued),
        )
        for label, values in measures:
            if not values:
                continue
            p50, p95, worst = _percentiles(values)
            for stat, value in (("p50", p50), ("p95", p95), ("max", worst)):
                rows.append(
                    {
                        "area": "session",
                        "name": f"{label} latency {stat}",
                        "value": value,
                        "unit": "ms",
                        "note": note.format(n=len(values)),
                    }
                )
        rows.append(
            {
                "area": "session",
                "name": "playback underruns",
                "value": float(app.playback.stats.underruns),
                "unit": "count",
                "note": "one answer",
            }
        )
        return rows
    finally:
        sim.stop()
