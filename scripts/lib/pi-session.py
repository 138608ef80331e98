"""One whole session of an installed appliance, for ``scripts/check-pi``.

Run it with the Python of the virtualenv under test (in an emulated Raspberry Pi root, or this
machine's for the reference):

    /opt/appliance/venv/bin/python pi-session.py OUT_DIR [--timeout S]

It starts ``appliance sim`` and ``appliance run`` (as processes, like the demo) with a config
that points at the simulator: keys from its provisioning URL, a window on SDL's dummy video
driver, the microphone read from a WAV (a synthetic speech-like signal, the same on every
machine) and everything played written to a WAV. Then it

1. saves a snapshot of the idle screen (``OUT_DIR/idle.png``) through the control socket,
2. presses start, waits for the answer (a function call, the assistant's transcript, back to
   listening), stops the appliance with SIGTERM (exit status 0 expected),
3. checks the answer WAV (``OUT_DIR/answer.wav``): long enough and not silent.

Writes ``OUT_DIR/result.json`` and prints ``NOTE: ...`` (the summary's note); exits 1 if any
check failed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import tomli_w

from appliance.audio.wav import read_wav
from appliance.control import stream
from appliance.demo import demo_config
from appliance.rig.process import ApplianceProcess
from appliance.rig.sim import SimProcess
from appliance.rig.speech import write_speech_wav


def question_wav(path: Path) -> None:
    """A speech-like signal (the demo's fallback), identical on every machine."""
    write_speech_wav(path, [(0.5, 1.6)], total_s=6.1, rate=24_000, channels=1)


class Follower:
    """The appliance's events, collected; ``answered`` is set when an answer has been spoken
    and the state is back to listening."""

    def __init__(self, socket: Path) -> None:
        self.events: list[dict[str, Any]] = []
        self.answered = threading.Event()
        self.socket = socket
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        spoke = False
        try:
            for event in stream(self.socket, {"cmd": "events"}):
                self.events.append(event)
                if event.get("type") == "transcript" and event.get("role") == "assistant":
                    spoke = True
                if spoke and event.get("type") == "state" and event.get("state") == "listening":
                    self.answered.set()
        except Exception as exc:  # the appliance went away: the checks below say what is missing
            self.events.append({"type": "follower-error", "error": repr(exc)})


def analyse_wav(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {"exists": False}
    samples, rate = read_wav(path)
    samples = np.asarray(samples, dtype=np.float64)
    if samples.ndim > 1:
        samples = samples.mean(axis=1)
    block = max(1, rate // 50)  # 20 ms
    n = len(samples) // block
    levels = (
        np.sqrt(np.mean(samples[: n * block].reshape(n, block) ** 2, axis=1)) if n else np.zeros(0)
    )
    return {
        "exists": True,
        "rate": rate,
        "seconds": round(len(samples) / rate, 3),
        "voiced_seconds": round(float(np.sum(levels > 0.01)) * block / rate, 3),
        "rms": round(float(np.sqrt(np.mean(samples**2))) if len(samples) else 0.0, 5),
        "peak": round(float(np.max(np.abs(samples))) if len(samples) else 0.0, 5),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--timeout", type=float, default=240.0, help="for the answer (s)")
    parser.add_argument("--ready-timeout", type=float, default=240.0, help="for startup (s)")
    args = parser.parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="check-pi-session-"))
    env = dict(os.environ, SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy")
    result: dict[str, Any] = {
        "machine": platform.machine(),
        "python": platform.python_version(),
        "checks": {},
    }
    checks: dict[str, bool] = result["checks"]
    started = time.monotonic()
    sim = SimProcess(env=env)
    result["sim_start_s"] = round(time.monotonic() - started, 1)
    app = None
    try:
        socket = work / "control.sock"
        config = work / "config.toml"
        config.write_text(tomli_w.dumps(demo_config(sim.url, socket, "window")))
        question = work / "question.wav"
        question_wav(question)
        answer = out / "answer.wav"
        answer.unlink(missing_ok=True)
        t0 = time.monotonic()
        app = ApplianceProcess(
            config,
            out / "appliance.log",
            args=("--audio-in", str(question), "--audio-out", str(answer)),
            env=env,
            socket=socket,
            ready_timeout=args.ready_timeout,
        )
        result["startup_s"] = round(time.monotonic() - t0, 1)
        follower = Follower(socket)
        snap = out / "idle.png"
        snap.unlink(missing_ok=True)
        # `appliance snapshot FILE` as a user types it (the command writes the PNG).
        shot = subprocess.run(
            [sys.executable, "-m", "appliance", "snapshot", str(snap), "--socket", str(socket)],
            capture_output=True,
            text=True,
            timeout=180,
            env=env,
        )
        checks["snapshot"] = shot.returncode == 0 and snap.exists()
        if not checks["snapshot"]:
            result["snapshot_error"] = (shot.stdout + shot.stderr)[-2000:]
        status = app.request({"cmd": "status"})
        result["idle_status"] = {k: status.get(k) for k in ("state", "dialect", "model")}
        sim.script(
            {"function_calls": [{"name": "get_weather", "arguments": '{"city": "Paris"}'}]},
        )
        t1 = time.monotonic()
        app.request({"cmd": "start"}, timeout=60)
        checks["answered"] = follower.answered.wait(args.timeout)
        result["answer_s"] = round(time.monotonic() - t1, 1)
        result["transcripts"] = [
            f"{e.get('role')}: {e.get('text')}"
            for e in follower.events
            if e.get("type") == "transcript"
        ]
        checks["function_call"] = any(e.get("type") == "function_call" for e in follower.events)
        result["states"] = [e.get("state") for e in follower.events if e.get("type") == "state"]
        code = app.stop(60)
        app = None
        result["exit_status"] = code
        checks["clean_exit"] = code == 0
        result["answer_wav"] = analyse_wav(answer)
        checks["answer_audio"] = result["answer_wav"].get("voiced_seconds", 0) >= 0.5
    finally:
        if app is not None:
            app.stop(30)
        sim.stop()
    result["ok"] = bool(checks) and all(checks.values())
    (out / "result.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    if not result["ok"]:
        print((out / "appliance.log").read_text(errors="replace")[-4000:], file=sys.stderr)
    wav = result.get("answer_wav", {})
    failed = [name for name, ok in checks.items() if not ok]
    print(
        f"NOTE: {result['machine']}: ready in {result.get('startup_s')} s, answer in "
        f"{result.get('answer_s')} s, {wav.get('voiced_seconds')} s of voice in "
        f"{wav.get('seconds')} s WAV, exit {result.get('exit_status')}"
        + (f"; FAILED: {', '.join(failed)}" if failed else "")
    )
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
