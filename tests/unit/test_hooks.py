"""Event hooks: real processes, real pipes, a real event loop."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from pathlib import Path

import pytest

from appliance.config import HooksConfig
from appliance.hooks import QUEUE_SIZE, HookRunner, hook_env
from appliance.rig.process import until

LOGGER = "appliance.hooks"


def script(tmp_path: Path, name: str, body: str) -> str:
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return str(path)


def alive(pid: int) -> bool:
    """True if ``pid`` runs (zombies, which nobody reaps in a container, count as dead)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def test_hook_gets_event_json_on_stdin_and_env(tmp_path: Path) -> None:
    out = tmp_path / "out"
    hook = script(
        tmp_path,
        "record",
        f'cat > "{out}.json"\n'
        f'printf "%s\\n%s\\n%s\\n%s\\n" "$APPLIANCE_EVENT" "$APPLIANCE_ROLE" "$APPLIANCE_TEXT" '
        f'"${{NOTIFY_SOCKET:-unset}}" > "{out}.env"\n'
        f'touch "{out}.done"\n',
    )
    event = {"type": "transcript", "role": "user", "text": "hello ünïcode", "time": 1.5}

    async def main() -> None:
        runner = HookRunner(
            HooksConfig(transcript=[[hook]], timeout_s=10),
            environ={"PATH": os.environ["PATH"], "NOTIFY_SOCKET": "/run/systemd/notify"},
        )
        runner.dispatch(event)
        runner.dispatch({"type": "state", "state": "idle"})  # no hook for it: ignored
        await until(lambda: Path(f"{out}.done").exists(), 10, "the hook to finish")
        await runner.aclose()

    asyncio.run(main())
    assert json.loads(Path(f"{out}.json").read_text()) == event
    assert Path(f"{out}.env").read_text().splitlines() == [
        "transcript",
        "user",
        "hello ünïcode",
        "unset",  # the service's private variables are not passed on
    ]


def test_hook_env_flattens_plain_fields() -> None:
    env = hook_env(
        {"type": "error", "message": "no key", "fatal": True, "code": None, "extra": {"a": 1}},
        {"HOME": "/home/x", "WATCHDOG_USEC": "1"},
    )
    assert env["APPLIANCE_EVENT"] == "error"
    assert env["APPLIANCE_TEXT"] == "no key"
    assert env["APPLIANCE_MESSAGE"] == "no key"
    assert env["APPLIANCE_FATAL"] == "true"
    assert env["APPLIANCE_CODE"] == ""
    assert "APPLIANCE_EXTRA" not in env
    assert "WATCHDOG_USEC" not in env
    assert env["HOME"] == "/home/x"


def test_slow_hook_is_killed_with_its_children_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pids = tmp_path / "pids"
    hook = script(
        tmp_path,
        "slow",
        f'sleep 60 &\necho $! > "{pids}.tmp"\necho $$ >> "{pids}.tmp"\n'
        f'mv "{pids}.tmp" "{pids}"\necho "still thinking" >&2\nwait\n',
    )
    caplog.set_level(logging.DEBUG, logger=LOGGER)

    async def main() -> float:
        runner = HookRunner(HooksConfig(started=[[hook]], timeout_s=0.5))
        began = time.monotonic()
        runner.dispatch({"type": "started"})
        await until(lambda: "timed out" in caplog.text, 10, "'timed out' in caplog.text")
        took = time.monotonic() - began
        await runner.aclose()
        return took

    took = asyncio.run(main())
    assert 0.4 < took < 5
    record = next(r for r in caplog.records if "timed out" in r.getMessage())
    assert record.levelno == logging.ERROR
    assert "still thinking" in record.getMessage()
    child, shell = (int(x) for x in pids.read_text().split())
    deadline = time.monotonic() + 5
    while (alive(child) or alive(shell)) and time.monotonic() < deadline:
        time.sleep(0.02)  # waiting for the kernel to finish the kill, not synchronising
    assert not alive(child)
    assert not alive(shell)


def test_failing_hook_is_logged_with_status_and_stderr(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    hook = script(
        tmp_path,
        "fail",
        'echo "lamp: device busy" >&2\necho "key sk-abcdefghijklmnop leaked" >&2\nexit 3\n',
    )
    caplog.set_level(logging.DEBUG, logger=LOGGER)

    async def main() -> None:
        runner = HookRunner(HooksConfig(error=[[hook]]))
        runner.dispatch({"type": "error", "message": "boom"})
        await until(lambda: "failed" in caplog.text, 10, "'failed' in caplog.text")
        await runner.aclose()

    asyncio.run(main())
    message = next(r.getMessage() for r in caplog.records if "failed" in r.getMessage())
    assert "exit status 3" in message
    assert "lamp: device busy" in message
    assert "abcdefghijklmnop" not in caplog.text


def test_missing_program_is_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER)

    async def main() -> None:
        runner = HookRunner(HooksConfig(stopped=[[str(tmp_path / "nope"), "x"]]))
        runner.dispatch({"type": "stopped"})
        await until(
            lambda: "could not start" in caplog.text, 10, "'could not start' in caplog.text"
        )
        await runner.aclose()

    asyncio.run(main())


def test_dispatch_never_blocks_the_loop(tmp_path: Path) -> None:
    started = tmp_path / "started"
    hook = script(tmp_path, "slow", f'touch "{started}"\nexec sleep 30\n')

    async def main() -> tuple[float, float]:
        loop = asyncio.get_running_loop()
        runner = HookRunner(HooksConfig(state=[[hook]] * 1, timeout_s=20))
        t0 = time.monotonic()
        for i in range(50):
            runner.dispatch({"type": "state", "state": f"s{i}"})
        dispatch_s = time.monotonic() - t0
        await until(started.exists, 10, "started.exists")  # the slow hook is running now
        fired = asyncio.Event()
        scheduled = time.monotonic()
        loop.call_later(0.05, fired.set)
        await asyncio.wait_for(fired.wait(), 5)
        lateness = time.monotonic() - scheduled - 0.05
        await runner.aclose(grace_s=0.1)
        return dispatch_s, lateness

    dispatch_s, lateness = asyncio.run(main())
    assert dispatch_s < 0.5
    assert lateness < 0.25


def test_queue_is_bounded_and_drops_are_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    log_file = tmp_path / "seen"
    gate = tmp_path / "gate"
    hook = script(
        tmp_path,
        "gated",
        f'while [ ! -e "{gate}" ]; do sleep 0.01; done\necho "$APPLIANCE_STATE" >> "{log_file}"\n',
    )
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    total = QUEUE_SIZE * 3

    async def main() -> None:
        runner = HookRunner(HooksConfig(state=[[hook]]))
        for i in range(total):
            runner.dispatch({"type": "state", "state": str(i)})
        await until(lambda: runner.running == 1, 10, "runner.running == 1")
        gate.touch()
        await until(
            lambda: "dropped while it was busy" in caplog.text,
            10,
            "'dropped while it was busy' in caplog.text",
        )
        await runner.aclose()

    asyncio.run(main())
    seen = [int(x) for x in log_file.read_text().split()]
    assert seen == sorted(seen)  # one at a time, in order
    assert seen[-1] == total - 1  # the newest events win
    assert len(seen) <= QUEUE_SIZE + 2
    assert "dropping its oldest waiting state event" in caplog.text


def test_running_processes_are_bounded(tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    hooks = [
        [script(tmp_path, f"h{i}", f'while [ ! -e "{gate}" ]; do sleep 0.01; done\n')]
        for i in range(5)
    ]

    async def main() -> int:
        runner = HookRunner(HooksConfig(started=hooks), max_running=2)
        runner.dispatch({"type": "started"})
        await until(lambda: runner.running == 2, 10, "runner.running == 2")
        most = 0
        deadline = time.monotonic() + 0.3
        while time.monotonic() < deadline:  # watch a while: never more than two
            most = max(most, runner.running)
            await asyncio.sleep(0.01)
        gate.touch()
        await runner.aclose()
        return most

    assert asyncio.run(main()) == 2


def test_update_switches_commands(tmp_path: Path) -> None:
    out = tmp_path / "out"
    old = script(tmp_path, "old", f'echo old >> "{out}"\n')
    new = script(tmp_path, "new", f'echo new >> "{out}"\n')

    async def main() -> None:
        runner = HookRunner(HooksConfig(started=[[old]]))
        runner.dispatch({"type": "started"})
        await until(
            lambda: out.exists() and "old" in out.read_text(),
            10,
            "out.exists() and 'old' in out.read_text()",
        )
        runner.update(HooksConfig(started=[[new]]))
        runner.dispatch({"type": "started"})
        await until(lambda: "new" in out.read_text(), 10, "'new' in out.read_text()")
        await runner.aclose()

    asyncio.run(main())
    assert out.read_text().split() == ["old", "new"]


def test_aclose_kills_what_still_runs(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    hook = script(
        tmp_path,
        "slow",
        f'echo $$ > "{pid_file}.tmp"\nmv "{pid_file}.tmp" "{pid_file}"\nexec sleep 60\n',
    )

    async def main() -> float:
        runner = HookRunner(HooksConfig(stopped=[[hook]], timeout_s=60))
        runner.dispatch({"type": "stopped"})
        await until(pid_file.exists, 10, "pid_file.exists")
        t0 = time.monotonic()
        await runner.aclose(grace_s=0.2)
        runner.dispatch({"type": "stopped"})  # closed: ignored
        return time.monotonic() - t0

    assert asyncio.run(main()) < 5
    assert not alive(int(pid_file.read_text()))


def test_aclose_lets_queued_hooks_finish(tmp_path: Path) -> None:
    out = tmp_path / "out"
    hook = script(tmp_path, "quick", f'cat >> "{out}"\n')

    async def main() -> None:
        runner = HookRunner(HooksConfig(stopped=[[hook]]))
        runner.dispatch({"type": "stopped", "n": 1})
        await runner.aclose()

    asyncio.run(main())
    assert json.loads(out.read_text()) == {"type": "stopped", "n": 1}
