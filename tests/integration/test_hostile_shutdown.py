"""Hostile conditions at the end of a run: a full disk under the output WAV and the snapshot.

The disk is a real tmpfs of 64 KiB, filled by the test; the appliance is the real
``appliance run`` process, stopped with SIGTERM; the snapshot is the real command line.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fault_matrix import row
from rig import session_config

from appliance.rig.process import peak_rss_mib, wait_until

pytestmark = pytest.mark.hostile

DISK_BYTES = 64 * 1024
"""The small disk's size (a tmpfs): the output WAV (48 kB a second) fills it in about a second."""
HEADROOM_BYTES = 16 * 1024
"""What the session-time test leaves free: the WAV outgrows it while the session runs."""
PEAK_RSS_MIB = 400
"""The appliance's peak memory through the whole run (it is about 150 MiB headless)."""
STOP_S = 10.0
"""SIGTERM to exit, at most (a clean stop takes well under a second)."""
NO_SPACE = "No space left on device"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs mounted for the test (unmounted after it)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK_BYTES}", "tmpfs", str(disk)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {mounted.stderr.strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "--lazy", str(disk)], check=False)


def fill(disk: Path, leave: int = 0) -> Path:
    """Fill ``disk`` with one file until only ``leave`` bytes (about) are free."""
    filler = disk / "filler"
    with filler.open("wb") as out:
        while True:
            free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
            if free <= leave:
                break
            try:
                out.write(b"\0" * min(4096, free - leave))
                out.flush()
            except OSError:
                break
    return filler


def stop_and_check(app) -> str:
    """SIGTERM: exit 0 in time, one error line naming the cause and the file, no crash."""
    peak = peak_rss_mib(app.proc.pid)
    started = time.monotonic()
    code = app.stop()
    elapsed = time.monotonic() - started
    log = app.log()
    assert code == 0, log
    assert elapsed < STOP_S
    assert peak < PEAK_RSS_MIB
    assert "Traceback" not in log and "worker crashed" not in log, log
    errors = [line for line in log.splitlines() if NO_SPACE in line]
    assert len(errors) == 1, log
    return errors[0]


@row("disk_full_audio_out")
def test_a_full_disk_under_the_output_wav_at_shutdown(fault, sim, start, small_disk: Path) -> None:
    """Nothing fits: the WAV's header and first frames fail at the final close."""
    out = small_disk / "out.wav"
    filler = fill(small_disk)
    app = start(session_config(sim, "ga"), use_wav=False, extra_args=("--audio-out", str(out)))
    error = stop_and_check(app)
    assert str(out) in error and "ERROR" in error
    assert sorted(small_disk.iterdir()) == [filler]  # no partial WAV, no temporary file
    assert fault.log in error


def test_a_disk_filling_up_during_a_session(sim, start, small_disk: Path) -> None:
    """The WAV outgrows the disk while a session runs: the session goes on, the log says once
    why there is no recording, SIGTERM exits 0."""
    out = small_disk / "out.wav"
    filler = fill(small_disk, leave=HEADROOM_BYTES)
    app = start(session_config(sim, "ga"), use_wav=False, extra_args=("--audio-out", str(out)))
    app.ctl("start")
    app.wait_state("listening")
    wait_until(lambda: NO_SPACE in app.log(), 10, "the full disk to be noticed")
    assert app.ctl("status")["state"] == "listening"  # a lost recording does not end a session
    error = stop_and_check(app)
    assert str(out) in error
    assert sorted(small_disk.iterdir()) == [filler]


def test_a_good_output_wav_still_appears_whole_at_the_end(sim, start, tmp_path: Path) -> None:
    """The WAV is written beside its name and renamed into place when the run ends."""
    import wave

    out = tmp_path / "recorded.wav"
    app = start(session_config(sim, "ga"), use_wav=False, extra_args=("--audio-out", str(out)))
    app.ctl("start")
    app.wait_state("listening")
    assert app.stop() == 0
    with wave.open(str(out), "rb") as wav:
        assert wav.getframerate() == 24_000 and wav.getnframes() > 0
    assert [p.name for p in out.parent.iterdir() if p.name.startswith(".")] == []


def test_a_snapshot_to_a_full_disk(sim, start, small_disk: Path) -> None:
    """A clear error, exit 1, and no file: neither a new empty one nor a truncated old one."""
    app = start(session_config(sim, "ga"))
    old = small_disk / "old.png"
    old.write_bytes(b"the previous snapshot")
    filler = fill(small_disk)
    started = time.monotonic()
    for target in (small_disk / "new.png", old):
        result = app.cli("snapshot", str(target))
        assert result.returncode == 1
        assert result.stderr.strip() == f"error: cannot write {target}: {NO_SPACE}"
    assert time.monotonic() - started < 20
    assert sorted(small_disk.iterdir()) == sorted([filler, old])
    assert old.read_bytes() == b"the previous snapshot"
    assert app.ctl("status")["state"] == "idle"  # the appliance did not notice
