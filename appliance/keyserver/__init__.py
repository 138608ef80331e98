"""The key server: the real OpenAI API key on one server, ephemeral keys for every device.

``appliance keyserver serve --config FILE`` (needs ``pip install 'appliance[server]'``).
Devices enrol with ``appliance keyserver device add NAME``, which prints a bearer token once;
each ``POST /key`` with that token mints a short-lived key upstream with the device group's
pinned session configuration, within the device's rate limit, daily budget and the fleet's
cap. Devices report each session's usage to ``POST /usage``.

Modules, one job each: :mod:`~appliance.keyserver.config` (the TOML file),
:mod:`~appliance.keyserver.store` (SQLite or PostgreSQL, migrations),
:mod:`~appliance.keyserver.tokens` (device tokens), :mod:`~appliance.keyserver.limits`
(rate limit, budgets: atomic SQL), :mod:`~appliance.keyserver.mint` (the upstream call),
:mod:`~appliance.keyserver.usage` (reports, the cost table), :mod:`~appliance.keyserver.web`
(the HTTP server), :mod:`~appliance.keyserver.cli` (the commands).

Nothing here is imported by the kiosk.
"""
