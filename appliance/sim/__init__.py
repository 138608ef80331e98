"""The local realtime simulator: a stand-in for the OpenAI Realtime API on one port.

Run it with ``python -m appliance.sim`` (or ``appliance sim``)::

    python -m appliance.sim [--host 127.0.0.1] [--port 8765] [--api-key sk-sim-local]
                            [--provision-token TOKEN] [--key-ttl 60] [--answer-seconds 1.5]
                            [--refuse-beta] [--log-level INFO]

``--port 0`` picks a free port. Once listening it prints exactly one line,
``appliance-sim listening on http://HOST:PORT``, to standard output. SIGTERM or SIGINT stop
it (exit code 0). In Python: ``async with Simulator() as sim: ... sim.url ...``.

It is strict like the real service: a client event of an unknown type, with an unknown or
misplaced field or a wrong type gets an ``error`` event naming the parameter (the session
stays open); unknown, expired and used keys are refused at the handshake.

Endpoints
---------

``POST /v1/realtime/client_secrets``
    GA key minting. ``Authorization: Bearer <api key>``; body
    ``{"session": {"type": "realtime", ...}, "expires_after"?: {"anchor": "created_at",
    "seconds": N}}``. Replies ``{"value": "ek_...", "expires_at": ..., "session": {...}}``.
    The session config becomes the session's initial config. Bad key: 401; bad body: 400
    with an OpenAI-style ``{"error": {"message", "type", "param", "code"}}``.
``POST /v1/realtime/sessions``
    Beta key minting: flat body (``model``, ``voice``, ``turn_detection``, ...). Replies
    ``{"id": "sess_...", "object": "realtime.session", ..., "client_secret": {"value",
    "expires_at"}}``.
``GET|POST /provision?shape=text|value|client_secret``
    A fresh ephemeral key as plain text, ``{"value": ...}`` or ``{"client_secret":
    {"value": ...}}`` (default ``value``). With ``--provision-token T`` it needs
    ``Authorization: Bearer T``.
``GET /v1/realtime?model=M`` (WebSocket)
    ``Authorization: Bearer <ephemeral key or api key>``. Ephemeral keys are single use and
    expire after ``--key-ttl`` seconds; a refused key gets HTTP 401 with a JSON error whose
    message says why ("unknown ephemeral key", "ephemeral key expired", "ephemeral key
    already used"). ``OpenAI-Beta: realtime=v1`` selects the beta dialect, else GA.

The session does server VAD on the appended audio (see :mod:`appliance.sim.vad` for how
``threshold`` maps to a level), answers with a speech-like voice (:mod:`appliance.sim.voice`)
at 4x real time in 100 ms deltas, with a transcript ("This is the simulator answering.",
"You said: <text>" after a user text message, or the function outputs after function call
results), and cancels an answer on barge-in (``response.done`` with status ``cancelled``).

Admin endpoints (simulator only)
--------------------------------

``POST /sim/script``
    A JSON object (or a list of them), validated and applied in order:

    - ``{"function_calls": [{"name": "get_weather", "arguments": "{\\"city\\":\\"Paris\\"}"},
      ...]}``: the next response outputs these ``function_call`` items (parallel calls, each
      with its own ``call_id``; give ``call_id`` to choose it) instead of audio.
    - ``{"answer_seconds": 6}``: the length of the answers from now on.
    - ``{"transcript": "..."}``: the words of the next answer.
    - ``{"fault": "drop", "after_deltas": 3}``: close the socket abruptly (no close frame)
      after 3 audio deltas of the next answer; ``0`` drops the open session now (or the
      next answer when none is open).
    - ``{"fault": "stall"}``: send nothing more on the open socket (it stays open).
    - ``{"fault": "error", "fatal": false, "code": "...", "message": "...", "type"?:
      "server_error", "close_code"?: 1011}``: send an ``error`` event now; ``fatal`` then
      closes the socket with ``close_code``.
    - ``{"fault": "expire_keys", "enabled"?: true}``: keys minted from now on are already
      expired (``"enabled": false`` ends it).
    - ``{"fault": "http", "path": "/provision", "status": 500, "count": 1, "body"?: "..."}``:
      the next ``count`` requests to ``path`` (any non-``/sim/`` path, including
      ``/v1/realtime``) get that status.
    - ``{"fault": "slow", "path": "/provision", "seconds": 5, "count": 1}``: delay them.
    - ``{"fault": "garbage", "path": "/provision", "count": 1}``: 200 with a body holding
      no key.
    - ``{"fault": "refuse_beta", "enabled"?: true}``: beta connections get an ``error``
      event with code ``beta_api_shape_disabled``, then close code 4000.
    - ``{"fault": "malformed_json"}``: send a text frame that is not JSON.
    - ``{"fault": "unknown_event"}``: send ``{"type": "sim.unknown_thing"}``.
    - ``{"fault": "clear"}``: forget every queued command and fault.

    ``stall``, ``error``, ``malformed_json``, ``unknown_event`` act on the open session at
    once, or on the next session when none is open. Replies ``{"queued": n}``; a bad
    command gets 400 naming the problem.
``DELETE /sim/script``
    Same as ``{"fault": "clear"}``.
``GET /sim/log``
    ``{"connections": [{"dialect", "model", "accepted", "reason"}], "client_events": [...],
    "errors": [...], "http": [{"method", "path", "status"}]}``: every client event received
    in order (base64 audio replaced by ``{"audio_bytes": n}``), every ``error`` event sent,
    every request outside ``/sim/``. ``DELETE /sim/log`` clears it.
``GET /sim/state``
    ``{"sessions_open": n, "keys_issued": n, "user_speaking": bool, "responding": bool}``:
    the last two say whether the server VAD is inside a user's turn and whether a response is
    being produced, in any open session.
"""

from appliance.sim.cli import main
from appliance.sim.server import Simulator
from appliance.sim.session import SimSession

__all__ = ["SimSession", "Simulator", "main"]
