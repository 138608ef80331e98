"""The whole appliance live on real PyAudio streams against the simulator.

The real :class:`~appliance.app.Appliance` runs in this process on the virtual sound server
(full-duplex), answers a spoken question, and is then interrupted by speech played into the
microphone while the model talks. Measured:

* capture -> append: a microphone block's capture callback to its ``append`` being sent;
* delta -> speaker: an audio delta's arrival to its first sample handed to the output stream;
* barge-in time: ``speech_started`` handled to the first all-silent block given to the device;
* truncate error: the ``audio_end_ms`` reported in the truncate minus what the output stream
  really played of that item (counted in device frames from its first audible block);
* CPU % of the process while live (audio path and session together), with the block size.
"""

from __future__ import annotations

import asyncio
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from appliance.app import Appliance
from appliance.audio.pyaudio_backend import PyAudioBackend
from appliance.audio.wav import write_wav
from appliance.bench import Row
from appliance.bench.audio import _sound_server
from appliance.config import validate
from appliance.hub import Hub
from appliance.sim.process import SimProcess


def _speech_wav(path: Path, seconds: float) -> None:
    rate = 44_100
    t = np.arange(int(seconds * rate)) / rate
    voiced = sum(np.sin(2 * np.pi * 140 * k * t) / k for k in range(1, 8))
    speech = 0.2 * voiced * (0.55 + 0.45 * np.sin(2 * np.pi * 4 * t) ** 2)
    data = np.concatenate([np.zeros(rate // 10), speech, np.zeros(rate // 10)])
    write_wav(path, (np.clip(data, -1, 1) * 32767).astype(np.int16), rate)


def _play(path: Path) -> None:
    subprocess.run(["paplay", "--device=appliance_mic", str(path)], check=True, timeout=30)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _stats(name: str, values: list[float], unit: str, note: str) -> list[Row]:
    if not values:
        return []
    arr = np.asarray(values)
    return [
        {"area": "live", "name": f"{name} {stat}", "value": float(v), "unit": unit, "note": note}
        for stat, v in (("p50", np.percentile(arr, 50)), ("p95", np.percentile(arr, 95)))
    ]


def run(quick: bool) -> list[Row]:
    with _sound_server() as where:
        return _measure(quick, where)


def _measure(quick: bool, where: str) -> list[Row]:
    work = Path(tempfile.mkdtemp(prefix="appliance-bench-live-"))
    sim = SimProcess("--answer-seconds", "6")
    url = sim.url
    try:
        config = validate(
            {
                "openai": {"api_base": url, "dialect": "ga"},
                "realtime": {
                    "auto_start": True,
                    "provisioning": {"url": f"{url}/provision"},
                    "config": {"turn_detection": {"type": "server_vad"}},
                },
                "audio": {"backend": "pyaudio", "echo": "full-duplex"},
                "control": {"socket": str(work / "control.sock")},
            }
        )
        hub = Hub()
        audio = PyAudioBackend(config.audio)
        blocks: list[tuple[float, np.ndarray]] = []
        audio.output_tap = lambda data, t, _dac: blocks.append(
            (t, np.frombuffer(data, "<i2").copy())
        )
        app = Appliance(config, hub, audio)
        app.playback.measure_latency()
        cuts: list[tuple[float, int]] = []
        barge_in = app._barge_in

        def timed_barge_in(*, cancel_response: bool) -> None:
            item = app.playback.current
            barge_in(cancel_response=cancel_response)
            if item is not None:
                cuts.append((time.perf_counter(), app.playback.progress(item.item_id).played_ms))

        app._barge_in = timed_barge_in  # type: ignore[method-assign]
        states: list[tuple[float, str]] = []
        changed = threading.Condition()

        def on_view(view: Any) -> None:
            with changed:
                states.append((time.perf_counter(), view.state))
                changed.notify_all()

        hub.on_view(on_view)

        def wait_state(name: str, after: float, timeout: float = 20) -> float:
            with changed:
                ok = changed.wait_for(
                    lambda: any(s == name and t >= after for t, s in states), timeout
                )
            if not ok:
                raise RuntimeError(f"the appliance never reached {name!r}")
            return next(t for t, s in states if s == name and t >= after)

        worker = threading.Thread(target=lambda: asyncio.run(app.run()), daemon=True)
        worker.start()
        question, interruption = work / "q.wav", work / "stop.wav"
        _speech_wav(question, 1.0)
        _speech_wav(interruption, 1.0)
        rounds = 2 if quick else 5
        cpu_live = wall_live = 0.0
        for _ in range(rounds):
            begin = time.perf_counter()
            wait_state("listening", 0)
            cpu0, t0 = _cpu(), time.perf_counter()
            _play(question)
            speaking = wait_state("speaking", begin)
            threading.Event().wait(1.5)  # let the model talk a while before interrupting
            _play(interruption)
            wait_state("listening", speaking)
            cpu_live += _cpu() - cpu0
            wall_live += time.perf_counter() - t0
        app.request_stop()
        worker.join(10)
        return _rows(app, config.audio.block_ms, blocks, cuts, cpu_live / wall_live, where, audio)
    finally:
        sim.stop()


def _rows(
    app: Appliance,
    block_ms: int,
    blocks: list[tuple[float, np.ndarray]],
    cuts: list[tuple[float, int]],
    cpu: float,
    where: str,
    audio: PyAudioBackend,
) -> list[Row]:
    note = f"block {block_ms} ms, {where}, output {audio.output_rate} Hz"
    rows: list[Row] = []
    rows += _stats(
        "capture->append latency (from the ADC time of the block's first frame)",
        list(app.capture_to_send_ms),
        "ms",
        note,
    )
    first = [s * 1000 for s in app.playback.stats.first_sample_latency_s]
    rows += _stats("delta->speaker latency (empty buffer)", first, "ms", note)
    times = np.array([t for t, _ in blocks])
    loud = np.array([np.abs(b).max() > 300 for _, b in blocks])
    # the output stream asks for block_frames frames per callback, interleaved
    frames = np.array([len(b) for _, b in blocks]) // max(
        1, round(len(blocks[0][1]) / max(1, audio.block_frames))
    )
    barge_ms: list[float] = []
    errors_ms: list[float] = []
    for cut_time, reported_ms in cuts:
        after = np.nonzero((times >= cut_time) & ~loud)[0]
        if not len(after):
            continue
        silent_at = after[0]
        barge_ms.append((times[silent_at] - cut_time) * 1000)
        start = _answer_start(times, loud, silent_at)
        true_ms = float(frames[start:silent_at].sum()) * 1000 / audio.output_rate
        errors_ms.append(reported_ms - true_ms)
    rows += _stats("barge-in time (speech_started -> silence)", barge_ms, "ms", note)
    rows += _stats(
        "truncate error (reported - played)", errors_ms, "ms", f"{note}, resolution one block"
    )
    rows.append(
        {
            "area": "live",
            "name": "CPU while live (audio path + session)",
            "value": cpu * 100,
            "unit": "%",
            "note": f"{note}, one core = 100 %",
        }
    )
    return rows


def _answer_start(times: np.ndarray, loud: np.ndarray, end: int, gap_s: float = 0.25) -> int:
    """Index of the first audible block of the answer that ends at ``end``: walk back over
    the short pauses between syllables until a silence longer than ``gap_s``."""
    start = end
    for i in range(end - 1, -1, -1):
        if loud[i]:
            start = i
        elif times[start] - times[i] > gap_s:
            break
    return start


if __name__ == "__main__":
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    from appliance.bench.__main__ import format_table

    print(format_table(run("--quick" in sys.argv)))
