"""Wake word engines: how often they hear the phrase, how often they wake on other speech,
what they cost.

Two engines, each with its bundled "okay_nabu" model, run on the same generated test set
(:mod:`appliance.rig.wakeset`: the phrase in several espeak-ng voices, speeds and pitches,
in white, pink and babble noise at 20, 10 and 5 dB SNR; and 30 minutes of other speech and
noise, ``--quick`` 3):

* ``pymicro-wakeword`` (microWakeWord: a streaming int8 model on 40 log-mel features per
  10 ms; its manifest's cutoff, 0.85, on the mean of its last 5 probabilities), fed 10 ms;
* ``pyopen-wakeword`` (openWakeWord: a mel-spectrogram model, a shared embedding model and
  the phrase's classifier; cutoff 0.5, its command line's default), fed 80 ms.

Each engine runs in a child process that is handed the whole set as one stream (the
positives, then the negatives): a detection counts once, then nothing for
:data:`REFRACTORY_S`. Reported per engine:

* detection rate per SNR: the clips with a detection between the phrase's start and the
  clip's end (1 s after espeak-ng's audio, which ends in 0.2-0.4 s of silence);
* voice end -> detection: from the voice's last sample to the detection, median;
* false accepts per hour: the detections in the negatives;
* CPU per second of audio: the child's process CPU time (``time.process_time``, all its
  threads) over the whole stream, divided by the audio's length; as a share of one core;
* added PSS: the child's PSS (``/proc/PID/smaps_rollup``) once the set is read and numpy is
  loaded, then with the engine and model loaded and the whole set processed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from appliance.bench import Row, row
from appliance.rig.process import child_env, memory
from appliance.rig.wakeset import RATE, SNRS_DB, Clip, WakeSet, wake_set

AREA = "wake"
REFRACTORY_S = 2.0
"""After a detection, the engine's next ones within this time are the same word."""
CHILD_TIMEOUT_S = 1800.0
"""The longest one engine may take for the whole set (openWakeWord on the full set: minutes)."""


@dataclass(frozen=True)
class Engine:
    name: str  # the package
    label: str  # the row's name
    module: str  # imported in the child
    chunk: int  # samples fed at a time
    cutoff: str  # how the cutoff is chosen, for the notes


ENGINES = (
    Engine("pymicro-wakeword", "microWakeWord", "pymicro_wakeword", 160, "0.85 (the manifest's)"),
    Engine("pyopen-wakeword", "openWakeWord", "pyopen_wakeword", 1280, "0.5"),
)

_CHILD = r"""
import json, sys, time
import numpy as np
engine, path, chunk, refractory = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
with np.load(path, allow_pickle=False) as data:
    stream = np.concatenate([data["positives"], data["negatives"]]).tobytes()
print("base", flush=True); sys.stdin.readline()
if engine == "pymicro_wakeword":
    from pymicro_wakeword import MicroWakeWord, MicroWakeWordFeatures, Model
    model = MicroWakeWord.from_builtin(Model.OKAY_NABU)
    features = MicroWakeWordFeatures()
    cutoff = model.probability_cutoff
    def probabilities(pcm):
        for f in features.process_streaming(pcm):
            p = model.process_streaming_prob(f)
            if p is not None:
                yield p
else:
    from pyopen_wakeword import Model, OpenWakeWord, OpenWakeWordFeatures
    model = OpenWakeWord.from_builtin(Model.OKAY_NABU)
    features = OpenWakeWordFeatures.from_builtin()
    cutoff = 0.5
    def probabilities(pcm):
        for f in features.process_streaming(pcm):
            yield from model.process_streaming(f)
print("loaded", flush=True); sys.stdin.readline()
step = chunk * 2
detections, quiet_until = [], -1
began = time.process_time()
for i in range(0, len(stream), step):
    end = (i + step) // 2
    for p in probabilities(stream[i : i + step]):
        if p > cutoff and end >= quiet_until:
            detections.append(end)
            quiet_until = end + int(refractory * 16000)
cpu = time.process_time() - began
print(json.dumps({"detections": detections, "cpu_s": cpu, "cutoff": cutoff}), flush=True)
print("done", flush=True); sys.stdin.readline()
"""


@dataclass
class Measured:
    detections: list[int]  # sample offsets in positives + negatives
    cpu_s: float
    cutoff: float
    base_pss: float
    loaded_pss: float
    done_pss: float


def measure(engine: Engine, wake: WakeSet) -> Measured:
    """Run ``engine`` on the set in a child process; its detections, CPU and PSS."""
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            _CHILD,
            engine.module,
            str(wake.path),
            str(engine.chunk),
            str(REFRACTORY_S),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=child_env(),
    )
    assert child.stdin is not None and child.stdout is not None
    readings: dict[str, float] = {}
    result: dict = {}
    try:
        for stage in ("base", "loaded", "done"):
            line = child.stdout.readline().strip()
            if stage == "done" and line.startswith("{"):
                result = json.loads(line)
                line = child.stdout.readline().strip()
            if line != stage:
                raise RuntimeError(
                    f"{engine.name}: the child did not report {stage!r} (got {line!r}); "
                    "is it installed? (pip install -e '.[dev]')"
                )
            readings[stage] = memory(child.pid).pss
            child.stdin.write("\n")
            child.stdin.flush()
    finally:
        child.stdin.close()
        try:
            child.wait(timeout=CHILD_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    return Measured(
        result["detections"],
        result["cpu_s"],
        result["cutoff"],
        readings["base"],
        readings["loaded"],
        readings["done"],
    )


# --- scoring (pure) ------------------------------------------------------------------------------


def hits(detections: Sequence[int], clips: Sequence[Clip]) -> list[bool]:
    """Per clip: a detection fell between its phrase's start and its end."""
    ordered = sorted(detections)
    out = []
    for clip in clips:
        out.append(any(clip.phrase_start <= d < clip.end for d in ordered))
    return out


def detection_rates(detections: Sequence[int], clips: Sequence[Clip]) -> dict[float, float]:
    """Per SNR, the share of its clips detected (0..1)."""
    found = hits(detections, clips)
    rates = {}
    for snr in sorted({c.snr_db for c in clips}, reverse=True):
        chosen = [f for f, c in zip(found, clips, strict=True) if c.snr_db == snr]
        rates[snr] = sum(chosen) / len(chosen)
    return rates


def false_accepts(detections: Sequence[int], positives_len: int) -> int:
    """The detections in the negatives (which follow the positives in the stream)."""
    return sum(1 for d in detections if d >= positives_len)


def latencies_ms(detections: Sequence[int], clips: Sequence[Clip]) -> list[float]:
    """Per detected clip, from the end of the voice to the detection (the first in the
    clip)."""
    ordered = sorted(detections)
    out = []
    for clip in clips:
        inside = [d for d in ordered if clip.phrase_start <= d < clip.end]
        if inside:
            out.append(1000 * (inside[0] - clip.voice_end) / RATE)
    return out


# --- rows ----------------------------------------------------------------------------------------


def run(quick: bool) -> list[Row]:
    wake = wake_set(quick=quick)
    voices = sorted({c.voice for c in wake.clips})
    setup = (
        f"test set: {len(wake.clips)} clips of the phrase ({len(voices)} voices, "
        f"{len({c.speed for c in wake.clips})} speeds, {len({c.pitch for c in wake.clips})} "
        f"pitches; white/pink/babble noise), {wake.negative_s / 60:.0f} min of other speech "
        "and noise"
    )
    audio_s = wake.positive_s + wake.negative_s
    rows: list[Row] = []
    for engine in ENGINES:
        print(f"   {engine.name} on {audio_s / 60:.1f} min of audio", file=sys.stderr, flush=True)
        m = measure(engine, wake)
        positives_len = len(wake.positives)
        rates = detection_rates(m.detections, wake.clips)
        for snr in SNRS_DB:
            n = sum(1 for c in wake.clips if c.snr_db == snr)
            rows.append(
                row(
                    AREA,
                    f"{engine.label}: detected at {snr:g} dB SNR",
                    100 * rates[snr],
                    "%",
                    f"{engine.name}, okay_nabu, cutoff {m.cutoff:g}; {n} clips; {setup}",
                    digits=1,
                )
            )
        wrong = false_accepts(m.detections, positives_len)
        rows.append(
            row(
                AREA,
                f"{engine.label}: false accepts",
                wrong / (wake.negative_s / 3600),
                "/h",
                f"{wrong} in {wake.negative_s / 60:.0f} min of other speech (some close to the "
                f"phrase: 'okay', 'nobody', 'a new book') and noise at 20/10/5 dB; {setup}",
                digits=1,
            )
        )
        delays = latencies_ms(m.detections[:], wake.clips)
        if delays:
            delays.sort()
            rows.append(
                row(
                    AREA,
                    f"{engine.label}: voice end -> detection, median",
                    delays[len(delays) // 2],
                    "ms",
                    f"from the last sample of the voice (above -50 dBFS) to the detection, fed "
                    f"{1000 * engine.chunk / RATE:g} ms at a time (negative: before it ended)",
                    delays,
                    digits=0,
                )
            )
        per_s = 1000 * m.cpu_s / audio_s
        rows.append(
            row(
                AREA,
                f"{engine.label}: CPU per second of audio",
                per_s,
                "ms",
                f"= {per_s / 10:.2f} % of one core; process CPU time {m.cpu_s:.1f} s for "
                f"{audio_s:.0f} s of audio fed {engine.chunk} samples at a time (16 kHz "
                "int16), features + model + cutoff, no sound card",
                digits=2,
            )
        )
        rows.append(
            row(
                AREA,
                f"{engine.label}: added PSS",
                m.done_pss - m.base_pss,
                "MiB",
                f"engine + TFLite runtime + model, after the whole set (PSS {m.base_pss:.1f} -> "
                f"{m.loaded_pss:.1f} loaded -> {m.done_pss:.1f} MiB), in a Python process "
                "already holding numpy",
                digits=1,
            )
        )
    return rows


if __name__ == "__main__":
    from appliance.bench.__main__ import format_table

    print(format_table(run("--quick" in sys.argv)))
