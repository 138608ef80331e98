"""Sessions end completely: after many start/stop cycles, no ended session, connection or task
is still held. (Each session task once kept its predecessor, and so every connection with its
compression buffers: about 100 KiB a press, found by the real-path soak.)"""

from __future__ import annotations

import asyncio
import gc
import threading
import time

from rig import session_config
from websockets.asyncio.client import ClientConnection

from appliance import state
from appliance.app import Appliance
from appliance.audio.backend import NullBackend
from appliance.config import validate
from appliance.hub import Hub
from appliance.realtime.session import Session


def test_ended_sessions_leave_nothing_behind(sim, tmp_path):
    config = session_config(sim, "ga")
    config["realtime"]["config"].pop("function_handler")
    config.update(control={"socket": str(tmp_path / "control.sock")}, gpio={"enabled": False})
    hub = Hub()
    app = Appliance(validate(config), hub, NullBackend())
    worker = threading.Thread(target=lambda: asyncio.run(app.run()), name="appliance-worker")
    worker.start()
    assert app.running.wait(10)
    changed = threading.Condition()
    hub.on_view(lambda _view: _notify(changed))

    def reach(wanted: str) -> None:
        with changed:
            assert changed.wait_for(lambda: app.shown.state == wanted, 10), wanted

    try:
        for _ in range(30):
            hub.post(state.Start())
            reach("listening")
            hub.post(state.Stop())
            reach("idle")
        deadline = time.monotonic() + 10
        while True:
            gc.collect()
            alive = [o for o in gc.get_objects() if type(o) in (ClientConnection, Session)]
            if len(alive) <= 2 or time.monotonic() > deadline:
                break
            threading.Event().wait(0.05)  # a poll interval while the last teardown ends
        assert len(alive) <= 2, f"{len(alive)} connections/sessions still alive after 30 cycles"
    finally:
        app.request_stop()
        worker.join(15)


def _notify(condition: threading.Condition) -> None:
    with condition:
        condition.notify_all()
