"""The ``rig`` fixture: every HIL test runs on the virtual rig, and on the Pi with APPLIANCE_HIL=1.

On a Raspberry Pi wired as described in the README ("GPIO": hardware-in-the-loop tests)::

    APPLIANCE_HIL=1 .venv/bin/pytest tests/hil -v

Pins can be changed with APPLIANCE_HIL_BUTTON, _PRESS, _LED and _SENSE (BCM numbers) and the
audio section with APPLIANCE_HIL_AUDIO (JSON, default ``{"backend": "pyaudio"}``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hilrig import PiRig, Rig, VirtualRig


@pytest.fixture(params=["virtual", pytest.param("pi", marks=pytest.mark.hil)])
def rig(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Rig]:
    if request.param == "pi":
        if os.environ.get("APPLIANCE_HIL") != "1":
            pytest.skip("needs the Raspberry Pi rig; run with APPLIANCE_HIL=1")
        made: Rig = PiRig(tmp_path)
    else:
        made = VirtualRig(tmp_path)
    try:
        yield made
    finally:
        made.close()
