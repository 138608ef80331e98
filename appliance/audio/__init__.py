"""Audio: the wire format, the playback buffer, the avatar meter, and the device backends.

The wire is 24 kHz mono PCM16 little-endian. Backends convert between that and the device.
"""

from appliance.audio.pcm import WIRE_RATE

__all__ = ["WIRE_RATE"]
