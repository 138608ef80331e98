"""The metrics endpoint and textfile (appliance/exporter.py), on real loopback sockets and
real files, with their limits."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import socket
import stat

import numpy as np
import pytest

from appliance import exporter as exporter_module
from appliance.audio.backend import NullBackend
from appliance.audio.echo import RATE, Processor
from appliance.audio.lifecycle import AudioDevice
from appliance.audio.playback import Playback
from appliance.audio.pyaudio_backend import PyAudioBackend
from appliance.bus import Bus
from appliance.config import MetricsConfig, validate
from appliance.exporter import MAX_CLIENTS, MAX_REQUEST_BYTES, Exporter, write_textfile
from appliance.rig.process import until

DEADLINE_S = 10.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make(config: MetricsConfig, backend=None) -> tuple[Exporter, Bus, Playback]:
    bus, playback = Bus(), Playback()
    audio = AudioDevice(backend or NullBackend())
    return Exporter(config, bus, playback=playback, audio=audio), bus, playback


async def ask(port: int, request: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    try:
        reply = await asyncio.wait_for(reader.read(), DEADLINE_S)
    except ConnectionResetError:  # closed before reading the request: no answer
        reply = b""
    writer.close()
    return reply


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 3 * DEADLINE_S))


def test_the_endpoint_serves_what_the_bus_said():
    async def main() -> None:
        port = free_port()
        exp, bus, playback = make(MetricsConfig(listen=f"127.0.0.1:{port}"))
        await exp.start()
        try:
            assert exp.address == ("127.0.0.1", port)
            bus.emit({"type": "started"})
            bus.emit({"type": "stopped", "reason": "idle"})
            playback.stats.underruns = 3
            reply = await ask(port, b"GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n")
        finally:
            await exp.aclose()
        head, _, body = reply.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 OK")
        assert b"Content-Type: text/plain; version=0.0.4" in head
        assert f"Content-Length: {len(body)}".encode() in head
        text = body.decode()
        assert "appliance_sessions_started_total 1\n" in text
        assert 'appliance_sessions_stopped_total{reason="idle"} 1\n' in text
        assert "appliance_output_underruns_total 3\n" in text

    run(main())


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GET / HTTP/1.1\r\n\r\n", b"404"),
        (b"POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n", b"405"),
        (b"nonsense\r\n\r\n", b"400"),
        (b"HEAD /metrics HTTP/1.1\r\n\r\n", b"200"),
        (b"GET /metrics?name[]=x HTTP/1.1\r\n\r\n", b"200"),
    ],
)
def test_the_endpoint_answers_other_requests_plainly(request_bytes, status):
    async def main() -> bytes:
        port = free_port()
        exp, _, _ = make(MetricsConfig(listen=f"127.0.0.1:{port}"))
        await exp.start()
        try:
            return await ask(port, request_bytes)
        finally:
            await exp.aclose()

    reply = run(main())
    assert reply.split(b" ")[1] == status
    if request_bytes.startswith(b"HEAD"):
        assert reply.endswith(b"\r\n\r\n"), "no body for HEAD"


def test_a_request_at_the_size_limit_is_served_and_one_over_it_is_refused():
    async def main() -> tuple[bytes, bytes]:
        port = free_port()
        exp, _, _ = make(MetricsConfig(listen=f"127.0.0.1:{port}"))
        await exp.start()
        try:
            line = b"GET /metrics HTTP/1.1\r\nX: "
            fits = line + b"a" * (MAX_REQUEST_BYTES - len(line) - 4) + b"\r\n\r\n"
            assert len(fits) == MAX_REQUEST_BYTES
            over = line + b"a" * (MAX_REQUEST_BYTES + 1) + b"\r\n\r\n"
            return await ask(port, fits), await ask(port, over)
        finally:
            await exp.aclose()

    fits, over = run(main())
    assert fits.startswith(b"HTTP/1.1 200")
    assert over.startswith(b"HTTP/1.1 431")


def test_a_slow_client_is_dropped_after_the_timeout(monkeypatch):
    monkeypatch.setattr(exporter_module, "REQUEST_TIMEOUT_S", 0.3)

    async def main() -> bytes:
        port = free_port()
        exp, _, _ = make(MetricsConfig(listen=f"127.0.0.1:{port}"))
        await exp.start()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /metrics HTTP/1.1\r\n")  # and never the end of the headers
            reply = await asyncio.wait_for(reader.read(), DEADLINE_S)
            writer.close()
            return reply
        finally:
            await exp.aclose()

    assert run(main()) == b"", "closed without an answer"


def test_at_most_max_clients_are_served_at_once():
    async def main() -> tuple[list[bytes], bytes]:
        port = free_port()
        exp, _, _ = make(MetricsConfig(listen=f"127.0.0.1:{port}"))
        await exp.start()
        try:
            idle = [await asyncio.open_connection("127.0.0.1", port) for _ in range(MAX_CLIENTS)]
            await until(lambda: exp.clients == MAX_CLIENTS, DEADLINE_S, "all clients served")
            refused = await ask(port, b"GET /metrics HTTP/1.1\r\n\r\n")
            for _, writer in idle:
                writer.write(b"GET /metrics HTTP/1.1\r\n\r\n")
            answers = [await asyncio.wait_for(r.read(), DEADLINE_S) for r, _ in idle]
            for _, writer in idle:
                writer.close()
            return answers, refused
        finally:
            await exp.aclose()

    answers, refused = run(main())
    assert refused == b""
    assert all(a.startswith(b"HTTP/1.1 200") for a in answers)


def test_a_port_in_use_is_an_error_in_the_log_not_a_crash(caplog):
    async def main() -> Exporter:
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            exp, _, _ = make(MetricsConfig(listen=f"127.0.0.1:{port}"))
            await exp.start()
            await exp.aclose()
            return exp

    with caplog.at_level(logging.ERROR, logger="appliance"):
        exp = run(main())
    assert exp.address is None
    assert "metrics: cannot listen on 127.0.0.1:" in caplog.text


def test_the_textfile_is_written_whole_readable_by_others_and_removed_at_stop(tmp_path):
    path = tmp_path / "appliance.prom"

    async def main() -> str:
        old = os.umask(0o077)  # as under the unit's UMask=0077
        try:
            exp, bus, _ = make(MetricsConfig(textfile=path, textfile_interval_s=1))
            await exp.start()
            await until(lambda: exp.writes >= 1, DEADLINE_S, "the first write")
            bus.emit({"type": "started"})
            await until(lambda: exp.writes >= 2, DEADLINE_S, "the second write")
            text = path.read_text()
            assert stat.S_IMODE(path.stat().st_mode) == 0o644
            await exp.aclose()
            return text
        finally:
            os.umask(old)

    text = run(main())
    assert "appliance_sessions_started_total 1\n" in text
    assert not path.exists(), "a stopped appliance leaves no textfile behind"
    assert list(tmp_path.iterdir()) == [], "no temporary file left"


def test_a_textfile_that_cannot_be_written_is_logged_once(tmp_path, caplog):
    path = tmp_path / "missing" / "appliance.prom"

    async def main() -> None:
        exp, _, _ = make(MetricsConfig(textfile=path))
        for _ in range(3):
            await exp.write_now(path)
        assert exp.writes == 0
        path.parent.mkdir()
        await exp.write_now(path)
        assert exp.writes == 1

    with caplog.at_level(logging.INFO, logger="appliance"):
        run(main())
    assert caplog.text.count("metrics: cannot write") == 1
    assert "metrics: writing" in caplog.text


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "appliance.prom"
    write_textfile(path, "old 1\n")

    def broken(fd, mode):
        raise OSError("no space left")

    monkeypatch.setattr(os, "fchmod", broken)
    with pytest.raises(OSError):
        write_textfile(path, "new 2\n")
    assert path.read_text() == "old 1\n"
    assert [p.name for p in tmp_path.iterdir()] == ["appliance.prom"]


class PassThroughCanceller:
    """Takes 99 % of the echo away: the microphone holds the reference exactly, times 1.01."""

    def process(self, near: np.ndarray, far: np.ndarray, delay_ms: int) -> np.ndarray:
        return (near.astype(np.int32) - far).clip(-32768, 32767).astype(np.int16)


def test_the_sound_cards_underruns_and_the_echo_cancellers_erle_are_read():
    # the real backend's own counters (no device is opened) and a real processor, fed an echo
    backend = PyAudioBackend(validate({}).audio)
    exp, _, _ = make(MetricsConfig(listen="127.0.0.1:9"), backend=backend)
    assert "appliance_output_device_underruns_total 0\n" in exp.render()
    assert "appliance_echo_erle_db" not in exp.render(), "no canceller: left out"
    backend.stats.output_underflows = 5
    backend.processor = processor = Processor(PassThroughCanceller(), None, lead_ms=0)
    processor.start(RATE, 1)
    assert "appliance_echo_erle_db" not in exp.render(), "nothing measured yet: left out"
    loud = np.full(RATE // 10, 3000, np.int16)
    processor.render(loud.tobytes(), 1.0)
    processor.capture((loud * 1.01).astype(np.int16), 1.0)
    text = exp.render()
    assert "appliance_output_device_underruns_total 5\n" in text
    erle = float(re.search(r"^appliance_echo_erle_db (\S+)$", text, re.MULTILINE).group(1))
    assert erle == pytest.approx(processor.stats.erle_db) and erle > 30
