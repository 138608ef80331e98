"""The whole appliance live on real PyAudio streams against the simulator, timed at the DAC.

The real :class:`~appliance.app.Appliance` runs in this process on the virtual sound server
(full-duplex, no screen). Each round asks a spoken question, lets the model answer for a while,
interrupts it by speaking into the microphone, lets it answer that, and interrupts the second
answer with a press (the toggle, as the screen or the button posts it). The output stream's
tap gives every block handed to the device with the moment its first frame reaches the DAC
(PortAudio's ``outputBufferDacTime``), so the figures end where the listener is:

* capture -> append: a microphone block's ADC time (its first frame, from PortAudio's
  ``inputBufferAdcTime``) to its ``input_audio_buffer.append`` being sent;
* delta -> DAC: the frame of an answer's first ``output_audio.delta`` handed over by the
  websocket (before JSON and base64 decoding) to that audio's first sample at the DAC (the
  block's DAC time plus the sample's place in the block);
* barge-in: the ``speech_started`` frame handed over by the websocket (or the press) to the
  end of the answer's audio at the DAC. The clear flushes the device (its output stream is
  aborted, which drops what it holds, and started again), so the end is the moment that abort
  returned, or, without a flush, where the first block filled after the clear begins at the
  DAC (what the device held played out); whichever comes first. The answer's last non-silent
  sample is just before it, unless the cut fell in a pause between words (then that sample
  came earlier, and timing it would make the barge-in look faster than it is, even negative);
* truncate error: the ``audio_end_ms`` sent in the truncate minus the answer's audio that
  really reached the DAC (device frames from its first sample to the end above; sample-exact
  without a flush, to the DAC time estimate of the block that was playing with one);
* CPU % of the process while live, the device's output buffer (callback -> DAC), output
  underruns and input overruns (PortAudio's status flags), and how long a flush takes.
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from appliance.app import Appliance
from appliance.audio.pcm import WIRE_RATE
from appliance.audio.pyaudio_backend import PyAudioBackend
from appliance.bench import Row, row
from appliance.bench.audio import sound_path
from appliance.config import validate
from appliance.hub import Hub
from appliance.realtime.protocol import AudioDelta, Protocol, SpeechStarted
from appliance.rig.process import wait_for
from appliance.rig.sim import SimProcess
from appliance.rig.speech import write_speech_wav
from appliance.state import Toggle


def _speech_wav(path: Path, seconds: float) -> None:
    write_speech_wav(path, [(0.1, seconds)], seconds + 0.2, rate=44_100, channels=1, level=0.4)


def _play(path: Path) -> None:
    subprocess.run(["paplay", "--device=appliance_mic", str(path)], check=True, timeout=30)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


NO_CUES = {"start": "off", "stop": "off", "error": "off"}


@dataclass
class Block:
    """One block handed to the output device."""

    at: float  # perf_counter in the callback, after the block was filled
    dac: float  # perf_counter when its first frame reaches the DAC
    samples: np.ndarray  # int16, interleaved


@dataclass
class Cut:
    """One barge-in."""

    kind: str  # "speech" or "press"
    trigger: float  # speech_started received, or the press
    at: float  # the playback cleared
    reported_ms: int  # audio_end_ms sent in the truncate


@dataclass
class Trace:
    """What the hooks saw, all on ``time.perf_counter``."""

    blocks: list[Block] = field(default_factory=list)
    first_deltas: list[float] = field(default_factory=list)  # an answer's first delta received
    speech_started: list[float] = field(default_factory=list)
    presses: list[float] = field(default_factory=list)
    cuts: list[Cut] = field(default_factory=list)


class _Hooks:
    """Timestamps at the websocket frame, the barge-in and the DAC.

    Frames are timed where :meth:`Protocol.receive` gets them from the websocket (before JSON
    and base64 decoding), and what they hold is read from its result: the first audio delta
    of each item (answer), and ``speech_started``.
    """

    def __init__(self, app: Appliance, audio: PyAudioBackend, trace: Trace) -> None:
        self._receive = Protocol.receive
        seen_items: set[str] = set()
        original = self._receive

        def receive(proto: Protocol, frame: str | bytes) -> list[Any]:
            received = time.perf_counter()
            happenings = original(proto, frame)
            for happening in happenings:
                if isinstance(happening, AudioDelta) and happening.item_id not in seen_items:
                    seen_items.add(happening.item_id)
                    trace.first_deltas.append(received)
                elif isinstance(happening, SpeechStarted):
                    trace.speech_started.append(received)
            return happenings

        Protocol.receive = receive  # type: ignore[method-assign]

        link = app.link
        barge_in = link.barge_in

        def timed_barge_in(*, cancel_response: bool) -> None:
            item = app.playback.current
            barge_in(cancel_response=cancel_response)
            at = time.perf_counter()
            if item is None:
                return
            progress = app.playback.progress(item.item_id)
            reported = progress.played_ms if progress is not None else item.played_ms
            if cancel_response and trace.presses:
                trace.cuts.append(Cut("press", trace.presses[-1], at, reported))
            elif not cancel_response and trace.speech_started:
                trace.cuts.append(Cut("speech", trace.speech_started[-1], at, reported))

        link.barge_in = timed_barge_in  # type: ignore[method-assign]

        def tap(data: bytes, now: float, dac: float) -> None:
            trace.blocks.append(Block(now, dac, np.frombuffer(data, "<i2").copy()))

        audio.output_tap = tap

    def close(self) -> None:
        Protocol.receive = self._receive  # type: ignore[method-assign]


def run(quick: bool) -> list[Row]:
    with sound_path() as where:
        return _measure(quick, where)


def _measure(quick: bool, where: str) -> list[Row]:
    work = Path(tempfile.mkdtemp(prefix="appliance-bench-live-"))
    sim = SimProcess("--answer-seconds", "6")
    url = sim.url
    hooks: _Hooks | None = None
    try:
        config = validate(
            {
                "openai": {"api_base": url, "dialect": "ga"},
                "realtime": {
                    "auto_start": True,
                    "provisioning": {"url": f"{url}/provision"},
                    "config": {"turn_detection": {"type": "server_vad"}},
                },
                # no sound cues: the output must hold the answers alone (first_sound)
                "audio": {"backend": "pyaudio", "echo": "full-duplex", "cues": NO_CUES},
                "control": {"socket": str(work / "control.sock")},
            }
        )
        hub = Hub()
        audio = PyAudioBackend(config.audio)
        app = Appliance(config, hub, audio)
        trace = Trace()
        hooks = _Hooks(app, audio, trace)
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

        def wait_quiet(timeout: float = 20) -> None:
            """Listening, and nothing played for a while (the last answer is over)."""
            quiet = wait_for(
                lambda: (
                    states
                    and states[-1][1] == "listening"
                    and not app.playback.playing
                    and not app.playback.queued_ms
                ),
                timeout,
                interval=0.05,
            )
            if not quiet:
                raise RuntimeError("the appliance never went quiet")
            time.sleep(0.3)  # the device plays out what it holds

        worker = threading.Thread(target=lambda: asyncio.run(app.run()), daemon=True)
        worker.start()
        question, interruption = work / "q.wav", work / "stop.wav"
        _speech_wav(question, 1.0)
        _speech_wav(interruption, 1.0)
        rounds = 2 if quick else 5
        # interrupt at varied points of the answers (in a word, between words)
        waits = np.random.default_rng(1).uniform(1.0, 2.0, size=(rounds, 2))
        cpu_live = wall_live = 0.0
        wait_state("listening", 0)
        for first_wait, second_wait in waits:
            wait_quiet()
            cpu0, t0 = _cpu(), time.perf_counter()
            begin = time.perf_counter()
            _play(question)
            speaking = wait_state("speaking", begin)
            threading.Event().wait(first_wait)  # let the model talk before interrupting
            _play(interruption)  # speech_started -> barge-in; then the model answers that
            again = wait_state("speaking", wait_state("listening", speaking))
            threading.Event().wait(second_wait)
            trace.presses.append(time.perf_counter())
            hub.post(Toggle())  # a press while it speaks interrupts it
            wait_state("listening", again)
            cpu_live += _cpu() - cpu0
            wall_live += time.perf_counter() - t0
        wait_quiet()
        app.request_stop()
        worker.join(10)
        rows = _rows(trace, audio, config.audio.block_ms, where)
        rows += _device_rows(audio, where)
        rows.append(
            row(
                "live",
                "CPU while live",
                100 * cpu_live / wall_live,
                "%",
                "this process: the appliance's worker and audio streams (no screen) and the "
                f"bench's taps; 100 = one core; {where}, block {config.audio.block_ms} ms",
                digits=1,
            )
        )
        rows += _stats(
            "capture->append",
            list(app.link.capture_to_send_ms),
            f"from a microphone block's ADC time (its first frame) to its append sent: "
            f"includes the {config.audio.block_ms} ms block being captured, the input device "
            f"buffer, conversion to 24 kHz and the hop to the worker; {where}",
        )
        return rows
    finally:
        if hooks is not None:
            hooks.close()
        sim.stop()


def _device_rows(audio: PyAudioBackend, where: str) -> list[Row]:
    """Underruns, overruns and the cost of a flush, from the backend's counters."""
    stats = audio.stats
    setup = (
        f"audio.output_latency_ms {audio.output_latency_ms} (periods of "
        f"{audio.output_period_frames} frames at {audio.output_rate} Hz); {where}"
    )
    rows = [
        row(
            "live",
            "output underruns / input overruns",
            float(stats.output_underflows + stats.input_overflows),
            "count",
            f"PortAudio status flags over the whole run: {stats.output_underflows} output "
            f"underflows ({stats.output_underflows_playing} while an answer played) in "
            f"{stats.output_callbacks} callbacks, {stats.input_overflows} input "
            f"overflows in {stats.input_callbacks}; the first callback after each (re)start of "
            f"the output stream is not counted; {setup}",
        )
    ]
    rows += _stats(
        "flush (abort the output stream)",
        [s * 1000 for s in stats.flush_s],
        "Pa_AbortStream on the clearing thread (the worker): the device drops what it holds; "
        f"{setup}",
    )
    rows += _stats(
        "restart after a flush",
        [s * 1000 for s in stats.restart_s],
        f"Pa_StartStream on the backend's restart thread, after the abort; {setup}",
    )
    return rows


def _stats(name: str, values: list[float], note: str, unit: str = "ms") -> list[Row]:
    """Two rows, p50 (with the samples) and p95."""
    if not values:
        return []
    return [
        row("live", f"{name} p50", float(np.percentile(values, 50)), unit, note, values),
        row("live", f"{name} p95", float(np.percentile(values, 95)), unit, note),
    ]


def _rows(trace: Trace, audio: PyAudioBackend, block_ms: int, where: str) -> list[Row]:
    blocks = trace.blocks
    if not blocks:
        raise RuntimeError("the output stream handed no blocks to the device")
    rate = audio.output_rate
    channels = max(1, round(len(blocks[0].samples) / max(1, audio.block_frames)))
    at = np.array([b.at for b in blocks])
    frames = np.array([len(b.samples) // channels for b in blocks])
    loud = [np.nonzero(np.abs(b.samples) > 0)[0] // channels for b in blocks]
    device_ms = float(np.median([(b.dac - b.at) * 1000 for b in blocks]))
    setup = f"block {block_ms} ms, output {rate} Hz, {where}"
    buffer = f"incl. the device buffer ~{device_ms:.0f} ms"

    def first_sound(after: float) -> tuple[int, int] | None:
        """(block, frame) of the first non-silent sample in a block filled after ``after``,
        provided the output was silent for 200 ms before."""
        start = int(np.searchsorted(at, after))
        before = int(np.searchsorted(at, after - 0.2))
        if any(len(loud[i]) for i in range(before, start)):
            return None
        for i in range(start, len(blocks)):
            if len(loud[i]):
                return i, int(loud[i][0])
        return None

    starts: list[tuple[int, int]] = []
    delta_ms: list[float] = []
    for received in trace.first_deltas:
        found = first_sound(received)
        if found is None:
            continue
        i, frame = found
        starts.append(found)
        delta_ms.append((blocks[i].dac + frame / rate - received) * 1000)

    barge: dict[str, list[float]] = {"speech": [], "press": []}
    errors_ms: list[float] = []
    flushes = sorted(audio.stats.flushed_at)
    for cut in trace.cuts:
        # the first block filled after the playback was cleared is silent, and so is all
        # that follows: without a flush the answer's audio ends at the DAC where that block
        # begins (its last non-silent sample is just before, unless the cut fell in a pause
        # between words)
        silent = next(
            (i for i in range(int(np.searchsorted(at, cut.at)), len(blocks)) if not len(loud[i])),
            None,
        )
        if silent is None:
            continue
        end = blocks[silent].dac
        # with a flush (the output stream aborted by the clear), it ends when the abort
        # returned: blocks handed to the device and due at the DAC later never played
        flushed = next((f for f in flushes if cut.trigger <= f <= cut.at + 1.0), None)
        if flushed is not None and flushed < end:
            end = flushed
        barge[cut.kind].append((end - cut.trigger) * 1000)
        begun = [s for s in starts if s[0] < silent]
        if begun:
            b0, f0 = begun[-1]
            if end == blocks[silent].dac:
                heard = int(frames[b0:silent].sum()) - f0
            else:
                # whole blocks due before the end, and the part of the one playing then
                due = [i for i in range(b0, silent) if blocks[i].dac < end]
                heard = -f0
                if due:
                    last = due[-1]
                    heard += int(frames[b0:last].sum())
                    heard += min(int(frames[last]), round((end - blocks[last].dac) * rate))
            errors_ms.append(cut.reported_ms - heard * 1000 / rate)

    rows: list[Row] = []
    latency = audio.output_latency_ms
    period_ms = audio.output_period_frames * 1000 / rate
    rows += _stats(
        "delta->DAC",
        delta_ms,
        "an answer's first output_audio.delta frame handed over by the websocket to its first "
        f"sample at the DAC: decoding, the playback buffer, the wait for the next output "
        f"callback (up to one period, {period_ms:.0f} ms), resampling, {buffer}; into silence; "
        f"goal: p95 <= one block + audio.output_latency_ms = {block_ms + latency} ms; {setup}",
    )
    end = (
        "the end of the answer's audio at the DAC (its last sample: the moment the abort that "
        "flushed the device returned, or without a flush the first frame of the first block "
        "filled after the playback was cleared)"
    )
    goal = "goal <= 20 ms"
    rows += _stats(
        "barge-in (speech_started -> answer ends at DAC)",
        barge["speech"],
        f"the speech_started frame handed over by the websocket to {end}: clearing the "
        f"playback and flushing the device (aborting its output stream); {goal}; {setup}",
    )
    rows += _stats(
        "barge-in (press -> answer ends at DAC)",
        barge["press"],
        f"a press of the toggle (posted to the worker, as the screen and the button do) to "
        f"{end}: the hop to the worker, clearing the playback, flushing the device; {goal}; "
        f"{setup}",
    )
    rows += _stats(
        "truncate error (reported - heard)",
        errors_ms,
        "audio_end_ms sent in the truncate minus the answer's audio that reached the DAC "
        "(device frames from its first sample to the end above); positive: the server is told "
        "more than was heard; negative: the device played on for the moment between the clear "
        f"and the abort; goal: within one block ({block_ms} ms); {setup}",
    )
    rows.append(
        row(
            "live",
            "output device buffer",
            device_ms,
            "ms",
            "from an output callback to its block's first frame at the DAC (PortAudio "
            f"outputBufferDacTime), median over {len(blocks)} blocks; {setup}",
        )
    )
    rows.append(
        row(
            "live",
            "answers / barge-ins measured",
            float(len(delta_ms)),
            "count",
            f"{len(delta_ms)} answers timed of {len(trace.first_deltas)}, "
            f"{len(barge['speech'])} speech and {len(barge['press'])} press barge-ins of "
            f"{len(trace.cuts)}; wire audio {WIRE_RATE} Hz",
        )
    )
    return rows


if __name__ == "__main__":
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    from appliance.bench.__main__ import format_table

    print(format_table(run("--quick" in sys.argv)))
