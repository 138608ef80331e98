"""``scripts/demo``: the whole appliance working end to end, offline, in one command.

Starts the simulator, writes a demo config that points at it (keys from its provisioning URL,
auto-start, a function tool), generates a short spoken question (espeak-ng when installed, else
a speech-like signal) and runs ``appliance run`` with it as the microphone; everything played
goes to ``demo-out.wav``. With a display it opens a window; without one it runs headless. It
prints the events (state changes, transcripts, function calls) as they happen.

With ``--keyserver`` the keys come from a key server between the two (``appliance keyserver``
with a temporary config and SQLite, one device enrolled with ``device add``, its token in a
0600 file the appliance reads): after the answer the session is stopped, its usage report
reaches the key server, and ``appliance keyserver usage`` is printed.

``scripts/demo --wake`` is hands-free on the real audio path instead: the appliance runs on
PyAudio with a private virtual sound server (:mod:`appliance.rig.sound`) and ``[wake]`` on;
espeak-ng says "Okay Nabu, what is the weather like in Paris today?" into its virtual
microphone in one breath, and the speaker is recorded to ``demo-out.wav``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np
import tomli_w

from appliance.audio.wav import write_wav
from appliance.cli import format_event
from appliance.rig.keyserver import KeyServerProcess, enrol, write_config
from appliance.rig.keyserver import cli as keyserver_cli
from appliance.rig.process import ApplianceFailedToStart, ApplianceProcess, poll_until
from appliance.rig.sim import SimProcess
from appliance.rig.speech import write_speech_wav

QUESTION = "Hello! What is the weather like in Paris today?"
DEVICE = "demo-kiosk"
"""The device the demo enrols on its key server."""
USAGE_TIMEOUT_S = 20.0
"""How long the demo waits for the session's usage report to reach the key server."""
WAKE_QUESTION = "Okay Nabu, what is the weather like in Paris today?"
NO_ESPEAK = "scripts/demo --wake speaks with espeak-ng: apt-get install espeak-ng"


def make_question_wav(path: Path) -> str:
    """A spoken question as WAV; returns how it was made."""
    if shutil.which("espeak-ng"):
        spoken = path.with_suffix(".espeak.wav")
        result = subprocess.run(
            ["espeak-ng", "-s", "150", "-w", str(spoken), QUESTION], capture_output=True
        )
        if result.returncode == 0 and spoken.exists():
            from appliance.audio.wav import read_wav

            samples, rate = read_wav(spoken)
            pad = np.zeros(int(0.5 * rate), dtype=np.float32)
            tail = np.zeros(int(4.0 * rate), dtype=np.float32)
            data = np.concatenate([pad, samples * 0.9, tail])
            write_wav(path, (np.clip(data, -1, 1) * 32767).astype(np.int16), rate)
            return "espeak-ng"
    write_speech_wav(path, [(0.5, 1.6)], total_s=6.1, rate=24_000, channels=1)
    return "a synthetic speech-like signal"


def demo_config(sim_url: str, socket: Path, display: str, provisioning: dict | None = None) -> dict:
    return {
        "openai": {"api_base": sim_url, "dialect": "auto"},
        "realtime": {
            "provisioning": provisioning or {"url": f"{sim_url}/provision", "timeout_s": 5},
            "config": {
                "model": "gpt-realtime-2",
                "instructions": "You are a friendly museum guide. Be brief.",
                "voice": "alloy",
                "input_audio_transcription": True,
                "turn_detection": {"type": "server_vad", "silence_duration_ms": 500},
                "tools": [
                    {
                        "type": "function",
                        "name": "get_weather",
                        "description": "Current weather in a city",
                        "parameters": {
                            "type": "object",
                            "properties": {"city": {"type": "string"}},
                            "required": ["city"],
                        },
                    }
                ],
                "function_handler": "appliance.demo:get_weather",
            },
        },
        "display": {"mode": display, "size": [800, 480]},
        "gpio": {"enabled": False},
        "control": {"socket": str(socket)},
    }


def get_weather(call: dict) -> dict:
    """The demo's function handler (Deep Chat signature: {name, arguments})."""
    city = json.loads(call["arguments"]).get("city", "somewhere")
    return {"city": city, "temperature": 22, "unit": "celsius", "sky": "sunny"}


def _has_display() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--headless", action="store_true", help="no window even with a display")
    parser.add_argument("--out", type=Path, default=Path("demo-out.wav"), help="played audio")
    parser.add_argument("--timeout", type=float, default=45.0, help="give up after (seconds)")
    parser.add_argument(
        "--keyserver", action="store_true", help="keys from a local key server, usage shown"
    )
    parser.add_argument(
        "--wake",
        action="store_true",
        help="hands-free: say the wake word and the question into a virtual microphone",
    )
    args = parser.parse_args(argv)
    display = "none" if args.headless or not _has_display() else "window"
    if args.wake:
        return run_wake(args, display)

    work = Path(tempfile.mkdtemp(prefix="appliance-demo-"))
    try:
        sim = SimProcess()
    except RuntimeError as exc:
        print(exc, file=sys.stderr)
        return 1
    sim_url = sim.url
    print(f"simulator:  {sim_url}")
    question = work / "question.wav"
    print(f"microphone: {question.name} ({make_question_wav(question)}): {QUESTION!r}")
    print(f"speaker:    {args.out}")
    print(f"screen:     {'a window' if display == 'window' else 'none (headless)'}")
    keyserver = None
    provisioning = None
    if args.keyserver:
        try:
            keyserver, provisioning = _start_keyserver(work / "keyserver", sim_url)
        except RuntimeError as exc:
            print(exc, file=sys.stderr)
            sim.stop()
            return 1
    socket = work / "control.sock"
    config = work / "config.toml"
    config.write_text(tomli_w.dumps(demo_config(sim_url, socket, display, provisioning)))
    log_path = work / "appliance.log"
    try:
        app = ApplianceProcess(
            config,
            log_path,
            args=("--audio-in", str(question), "--audio-out", str(args.out)),
            socket=socket,
            ready_timeout=20,
        )
    except ApplianceFailedToStart as exc:
        print(exc, file=sys.stderr)
        if keyserver is not None:
            keyserver.stop()
        sim.stop()
        return 1
    answered = threading.Event()
    try:
        _follow_events(socket, answered)
        # The simulator cannot understand speech; ask it to call the demo's function the way a
        # real model would for this question, then press "start".
        sim.script(
            {
                "function_calls": [
                    {"name": "get_weather", "arguments": json.dumps({"city": "Paris"})}
                ]
            },
            timeout=5,
        )
        app.request({"cmd": "start"})
        done = answered.wait(args.timeout)
        if keyserver is not None and done:
            app.request({"cmd": "stop"})
            if not _show_usage(keyserver):
                return 1
        if display == "window" and done:
            print("\nThe window stays open: click the buttons, Ctrl-C to quit.")
            with _suppress_interrupt():
                app.proc.wait()
    finally:
        app.stop(10)
        if keyserver is not None:
            keyserver.stop()
        sim.stop()
    if not answered.is_set():
        print("\nno answer came; the appliance log:\n" + log_path.read_text(), file=sys.stderr)
        return 1
    print(f"\nDone: the model's answer is in {args.out} (play it with `aplay {args.out}`).")
    shutil.rmtree(work, ignore_errors=True)
    return 0


def _start_keyserver(folder: Path, sim_url: str) -> tuple[KeyServerProcess, dict]:
    """The key server minting from the simulator, one device enrolled; it and the appliance's
    ``realtime.provisioning`` (its URL and the token file)."""
    config = write_config(folder, sim_url)
    migrated = keyserver_cli(config, "migrate")
    if migrated.returncode != 0:
        raise RuntimeError(f"appliance keyserver migrate failed: {migrated.stderr}")
    token_file = folder / "provisioning.token"
    token_file.touch(mode=0o600)
    token_file.write_text(enrol(config, DEVICE) + "\n")
    server = KeyServerProcess(config)
    print(f"key server: {server.url} (device {DEVICE}, token in {token_file.name}, mode 0600)")
    return server, {"url": f"{server.url}/key", "token_file": str(token_file), "timeout_s": 5}


def _show_usage(server: KeyServerProcess) -> bool:
    """Wait for the session's usage report on the key server, then print ``usage``."""
    reported = poll_until(
        lambda: any(e["path"] == "/usage" and e["status"] == 200 for e in server.access_log()),
        USAGE_TIMEOUT_S,
        0.1,
    )
    if not reported:
        print("\nthe usage report did not reach the key server:", file=sys.stderr)
        print("".join(server.output), file=sys.stderr)
        return False
    print("\n$ appliance keyserver usage")
    print(keyserver_cli(server.config, "usage").stdout.rstrip())
    return True


def run_wake(args: argparse.Namespace, display: str) -> int:
    """``--wake``: the appliance listens for "Okay Nabu" on a virtual microphone; the word and
    the question are said in one breath; the answer is recorded from the virtual speaker."""
    from appliance.rig.sound import Unavailable, sound_server
    from appliance.rig.speech import espeak_wav

    if shutil.which("espeak-ng") is None:
        print(
            "scripts/demo --wake speaks with espeak-ng: apt-get install espeak-ng", file=sys.stderr
        )
        return 1
    work = Path(tempfile.mkdtemp(prefix="appliance-demo-"))
    spoken = espeak_wav(work / "said.wav", WAKE_QUESTION, voice="en-us", rate=48_000)
    try:
        (work / "sound").mkdir()
        server_context = sound_server(work / "sound")
        server = server_context.__enter__()
    except Unavailable as exc:
        print(f"scripts/demo --wake needs the virtual sound server: {exc}", file=sys.stderr)
        return 1
    sim: SimProcess | None = None
    app: ApplianceProcess | None = None
    answered = threading.Event()
    log_path = work / "appliance.log"
    try:
        sim = SimProcess()
        print(f"simulator:  {sim.url}")
        print(f"microphone: a virtual one ({server.address}); espeak-ng will say {WAKE_QUESTION!r}")
        print(f"speaker:    a virtual one, recorded to {args.out}")
        socket = work / "control.sock"
        config = demo_config(sim.url, socket, display)
        config["audio"] = {"backend": "pyaudio", "echo": "half-duplex"}
        config["wake"] = {"enabled": True, "model": "okay_nabu"}
        path = work / "config.toml"
        path.write_text(tomli_w.dumps(config))
        app = ApplianceProcess(path, log_path, socket=socket, ready_timeout=20, env=server.env())
        _follow_events(socket, answered)
        sim.script(
            {
                "function_calls": [
                    {"name": "get_weather", "arguments": json.dumps({"city": "Paris"})}
                ]
            },
            timeout=5,
        )
        if not _wait_for_wake(app, 20):
            print("the appliance did not start listening for the word", file=sys.stderr)
            return 1
        print("\nListening for 'Okay Nabu'; saying it now...\n")
        with server.record() as recorder:
            server.play(spoken)
            done = answered.wait(args.timeout)
            heard = recorder.samples()
        write_wav(args.out, (np.clip(heard, -1, 1) * 32767).astype(np.int16), recorder.rate)
        if display == "window" and done:
            print("\nThe window stays open: say nothing, click the buttons, Ctrl-C to quit.")
            with _suppress_interrupt():
                app.proc.wait()
    except (ApplianceFailedToStart, RuntimeError) as exc:
        print(exc, file=sys.stderr)
        return 1
    finally:
        if app is not None:
            app.stop(10)
        if sim is not None:
            sim.stop()
        server_context.__exit__(None, None, None)
    if not answered.is_set():
        print("\nno answer came; the appliance log:\n" + log_path.read_text(), file=sys.stderr)
        return 1
    print(f"\nDone: started by the wake word; the answer is in {args.out}.")
    shutil.rmtree(work, ignore_errors=True)
    return 0


def _wait_for_wake(app: ApplianceProcess, timeout: float) -> bool:
    from appliance.rig.process import poll_until

    return bool(poll_until(lambda: app.request({"cmd": "status"}).get("wake"), timeout))


def _follow_events(socket: Path, answered: threading.Event) -> None:
    from appliance.control import stream

    def run() -> None:
        spoke = False
        try:
            for event in stream(socket, {"cmd": "events"}):
                print("  " + format_event(event), flush=True)
                if event.get("type") == "transcript" and event.get("role") == "assistant":
                    spoke = True
                if spoke and event.get("type") == "state" and event.get("state") == "listening":
                    answered.set()
        except Exception:
            answered.set() if spoke else None

    threading.Thread(target=run, daemon=True).start()


class _suppress_interrupt:
    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, *_: object) -> bool:
        return kind is KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
