"""The audio device's lifecycle under any interleaving of opens, closes and cancellations.

A recording backend blocks inside ``open`` until the test lets it go, so a close or a cancel
can be placed exactly while an open is in flight. The real backends (PyAudio, WAV) are run the
same way in tests/integration/test_soak.py.
"""

from __future__ import annotations

import asyncio
import threading

import pytest

from appliance.audio.backend import AudioError
from appliance.audio.lifecycle import AudioDevice, finish_even_if_cancelled
from appliance.audio.playback import Playback


class RecordingBackend:
    """Records every call and whether two ever overlapped; ``open`` waits for ``release``."""

    name = "recording"

    def __init__(self, *, fail_open: bool = False) -> None:
        self.calls: list[str] = []
        self.active = 0
        self.overlapped = False
        self.entered = threading.Event()
        self.release = threading.Event()
        self.fail_open = fail_open
        self._lock = threading.Lock()
        self.threads: set[str] = set()

    def _enter(self, what: str) -> None:
        with self._lock:
            self.active += 1
            self.overlapped |= self.active > 1
            self.calls.append(what)
            self.threads.add(threading.current_thread().name)

    def _leave(self) -> None:
        with self._lock:
            self.active -= 1

    def open(self, playback, on_capture, on_error) -> None:
        self._enter("open")
        try:
            self.entered.set()
            assert self.release.wait(10), "the test never released the open"
            if self.fail_open:
                raise AudioError("no such device")
        finally:
            self._leave()

    def close(self) -> None:
        self._enter("close")
        self._leave()


def _open(device: AudioDevice) -> asyncio.Task[None]:
    playback = Playback(max_seconds=1)
    return asyncio.get_running_loop().create_task(
        device.open(playback, lambda *_: None, lambda _: None)
    )


async def _until(event: threading.Event) -> None:
    assert await asyncio.to_thread(event.wait, 10)


def test_a_close_during_an_open_waits_for_it_and_closes_exactly_once() -> None:
    async def scenario() -> None:
        backend = RecordingBackend()
        device = AudioDevice(backend)
        opening = _open(device)
        await _until(backend.entered)
        closing = asyncio.create_task(device.close())
        await asyncio.sleep(0)  # let the close be queued behind the open
        assert not closing.done()
        backend.release.set()
        await opening
        await closing
        assert backend.calls == ["open", "close"]
        assert not backend.overlapped
        assert not device.is_open
        await device.close()  # a second close does nothing
        assert backend.calls == ["open", "close"]
        await device.shutdown()

    asyncio.run(scenario())


def test_a_cancelled_open_is_still_closed_by_the_close_that_follows() -> None:
    async def scenario() -> None:
        backend = RecordingBackend()
        device = AudioDevice(backend)
        opening = _open(device)
        await _until(backend.entered)
        opening.cancel()  # a stop while the device is opening
        with pytest.raises(asyncio.CancelledError):
            await opening
        closing = asyncio.create_task(device.close())
        backend.release.set()
        await closing
        assert backend.calls == ["open", "close"]
        assert (device.opens, device.closes) == (1, 1)
        assert not backend.overlapped and not device.is_open
        await device.shutdown()

    asyncio.run(scenario())


def test_a_close_is_finished_even_when_its_task_is_cancelled() -> None:
    async def scenario() -> None:
        backend = RecordingBackend()
        device = AudioDevice(backend)
        backend.release.set()
        await _open(device)
        gate = threading.Event()
        device._executor.submit(gate.wait, 10)  # keeps the device thread busy for a while
        closing = asyncio.create_task(device.close())
        for _ in range(3):
            await asyncio.sleep(0)
        closing.cancel()  # e.g. the session task cancelled again during its teardown
        for _ in range(3):
            await asyncio.sleep(0)
        assert not closing.done(), "the waiter gave up before the device was closed"
        assert device.is_open
        gate.set()
        with pytest.raises(asyncio.CancelledError):
            await closing
        assert backend.calls == ["open", "close"] and not device.is_open
        await device.shutdown()

    asyncio.run(scenario())


def test_a_failed_open_leaves_the_device_closed_and_the_error_raised() -> None:
    async def scenario() -> None:
        backend = RecordingBackend(fail_open=True)
        device = AudioDevice(backend)
        backend.release.set()
        with pytest.raises(AudioError, match="no such device"):
            await _open(device)
        assert not device.is_open and device.opens == 0
        assert backend.calls == ["open", "close"]  # cleaned up after the failure
        await device.close()
        assert backend.calls == ["open", "close"]
        await device.shutdown()

    asyncio.run(scenario())


def test_every_open_and_close_runs_on_the_one_device_thread() -> None:
    async def scenario() -> None:
        backend = RecordingBackend()
        backend.release.set()
        device = AudioDevice(backend)
        for _ in range(5):
            await _open(device)
            await device.close()
        assert len(backend.threads) == 1 and not backend.overlapped
        assert backend.calls == ["open", "close"] * 5
        await device.shutdown()

    asyncio.run(scenario())


def test_finish_even_if_cancelled_returns_the_result_when_not_cancelled() -> None:
    async def scenario() -> None:
        future = asyncio.get_running_loop().create_future()
        waiter = asyncio.create_task(finish_even_if_cancelled(future))
        await asyncio.sleep(0)
        future.set_result(42)
        assert await waiter == 42

    asyncio.run(scenario())


class CueBackend(RecordingBackend):
    """A backend that plays a sound on its own (``play``), or fails to."""

    def __init__(self, *, fail_play: bool = False) -> None:
        super().__init__()
        self.release.set()
        self.played: list[int] = []
        self.fail_play = fail_play

    def play(self, samples) -> None:
        self._enter("play")
        self._leave()
        if self.fail_play:
            raise AudioError("device stalled")
        self.played.append(len(samples))


def test_a_cue_is_mixed_while_open_played_alone_when_closed_and_in_turn() -> None:
    import numpy as np

    async def scenario() -> tuple[CueBackend, Playback]:
        backend = CueBackend()
        device = AudioDevice(backend)
        playback = Playback()
        cue = np.full(100, 7, dtype=np.int16)
        await device.open(playback, lambda *a: None, lambda m: None)
        await device.cue(playback, cue)  # a session has the device: mixed into its output
        assert backend.played == [] and (playback.read(100) == 7).all()
        close = asyncio.ensure_future(device.close())
        await asyncio.sleep(0)  # the close task runs up to its hand-over to the device thread
        await device.cue(playback, cue)  # asked while closing: after the close, alone
        await close
        await device.shutdown()
        return backend, playback

    backend, _ = asyncio.run(scenario())
    assert backend.calls == ["open", "close", "play"] and backend.played == [100]
    assert not backend.overlapped


def test_a_cue_that_cannot_play_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    import numpy as np

    async def scenario() -> None:
        device = AudioDevice(CueBackend(fail_play=True))
        await device.cue(Playback(), np.zeros(10, dtype=np.int16))
        await device.shutdown()

    asyncio.run(scenario())
    assert "a sound cue did not play: device stalled" in caplog.text
