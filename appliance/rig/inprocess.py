"""In-process harnesses for tests and benchmarks: the appliance's worker in this process.

* :class:`MachineLoop`: a real :class:`~appliance.state.Machine` on a real asyncio loop, attached
  to a :class:`~appliance.hub.Hub`, without the session: front ends (GPIO, screen) can be
  driven and timed against it.
* :func:`running_worker`: the whole :class:`~appliance.app.Appliance` on this asyncio loop,
  with no audio device, for as long as an ``async with`` block runs.
* :class:`InProcessAppliance`: the whole :class:`~appliance.app.Appliance` on a worker thread,
  with GPIO on a given pin factory, as ``appliance run`` runs it minus the signals and the
  screen.

For ``appliance run`` as a separate process, see :mod:`appliance.rig.process`.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from appliance.hub import Hub
from appliance.state import Effect, Input, Machine, View

WORKER_DEADLINE_S = 5.0
"""How long :func:`running_worker` waits for the worker to serve inputs (and twice that for it
to stop)."""


@contextlib.asynccontextmanager
async def running_worker(
    settings: dict[str, Any], prepare: Callable[[Any], None] | None = None
) -> AsyncIterator[Any]:
    """The :class:`~appliance.app.Appliance` for ``settings`` (validated here) running on this
    loop with no audio device (:class:`~appliance.audio.backend.NullBackend`), once it serves
    inputs; stopped, and waited for, when the block ends however it ends. ``prepare(app)`` runs
    before the worker starts (to listen to its hub or bus from the first moment)."""
    from appliance.app import Appliance
    from appliance.audio.backend import NullBackend
    from appliance.config import validate
    from appliance.rig.process import until

    app = Appliance(validate(settings), Hub(), NullBackend())
    if prepare is not None:
        prepare(app)
    worker = asyncio.get_running_loop().create_task(app.run())
    try:
        await until(app.running.is_set, WORKER_DEADLINE_S, "the worker to serve inputs")
        yield app
    finally:
        app.request_stop()
        await asyncio.wait_for(worker, 2 * WORKER_DEADLINE_S)


class MachineLoop:
    """A real :class:`Machine` on a real asyncio loop in its own thread, attached to a Hub.

    Each posted input is applied with ``machine.handle(given)`` and the view shown with
    ``hub.show(machine.view)``, as the appliance's worker does. ``on_effect(effect)`` is
    called on the loop thread for every effect (answer ``Connect`` by posting ``Connected()``).
    :attr:`applied` and :attr:`effects` record ``(monotonic time, item)`` for every input and
    effect. Use as a context manager, or call :meth:`close`.
    """

    def __init__(
        self, hub: Hub | None = None, *, on_effect: Callable[[Effect], None] | None = None
    ) -> None:
        self.hub = hub or Hub()
        self.machine = Machine()
        self.on_effect = on_effect
        self.applied: list[tuple[float, Input]] = []
        self.effects: list[tuple[float, Effect]] = []
        self._changed = threading.Condition()
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._serve, args=(ready,), name="machine-loop", daemon=True
        )
        self._thread.start()
        ready.wait()
        self.hub.attach(self.loop, self.handle)

    def _serve(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(ready.set)
        self.loop.run_forever()

    def handle(self, given: Input) -> None:
        """Apply one input (on the loop thread)."""
        effects = self.machine.handle(given)
        now = time.monotonic()
        self.hub.show(self.machine.view)
        with self._changed:
            self.applied.append((now, given))
            self.effects.extend((now, effect) for effect in effects)
            self._changed.notify_all()
        if self.on_effect is not None:
            for effect in effects:
                self.on_effect(effect)

    def post_later(self, delay: float, given: Input) -> None:
        """Apply ``given`` after ``delay`` seconds (thread-safe)."""
        self.loop.call_soon_threadsafe(self.loop.call_later, delay, self.handle, given)

    def wait_until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
        """Block until ``predicate()`` is true (checked after each input); False on timeout."""
        with self._changed:
            return self._changed.wait_for(predicate, timeout)

    def wait_view(self, predicate: Callable[[View], bool], timeout: float = 5.0) -> bool:
        """Block until ``predicate(hub.view)`` is true; False on timeout."""
        return self.wait_until(lambda: predicate(self.hub.view), timeout)

    def count(self, kind: type) -> int:
        """How many inputs of type ``kind`` were applied so far."""
        with self._changed:
            return sum(isinstance(given, kind) for _, given in self.applied)

    def close(self) -> None:
        if self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
        self.loop.close()

    def __enter__(self) -> MachineLoop:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class InProcessAppliance:
    """The appliance's worker (and GPIO on ``pin_factory``) in this process, audio written to
    ``audio_out``. Use as a context manager, or call :meth:`stop`."""

    def __init__(self, config_path: Path, pin_factory: Any, audio_out: Path) -> None:
        from appliance.app import Appliance
        from appliance.config import load
        from appliance.gpio import start_gpio
        from appliance.service import make_audio

        config = load(config_path)
        self.hub = Hub()
        self.app = Appliance(
            config, self.hub, make_audio(config, None, audio_out), config_path=config_path
        )
        self._worker = threading.Thread(
            target=lambda: asyncio.run(self.app.run()), name="appliance-worker"
        )
        self._worker.start()
        if not self.app.running.wait(10):
            raise RuntimeError("the appliance worker did not start")
        self.gpio = start_gpio(self.hub, config.gpio, pin_factory=pin_factory)
        if self.gpio is None:
            self.stop()
            raise RuntimeError("start_gpio returned None on the given pins")

    def stop(self) -> None:
        if self.gpio is not None:
            self.gpio.close()
            self.gpio = None
        self.hub.stopping.set()
        self.app.request_stop()
        self._worker.join(15)
        if self._worker.is_alive():
            raise RuntimeError("the appliance worker did not stop")

    def __enter__(self) -> InProcessAppliance:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
