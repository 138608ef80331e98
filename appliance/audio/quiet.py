"""Keep ALSA's and JACK's chatter off stderr through their own error hooks.

While PortAudio probes devices, ALSA prints dozens of ``ALSA lib ...`` lines (cards that do not
exist on this machine) and JACK prints ``jack server is not running`` (the appliance never uses
JACK). Both libraries let a program replace the function that prints: ALSA's
``snd_lib_error_set_handler`` and JACK's ``jack_set_error_function`` /
``jack_set_info_function``. :func:`silence_audio_libraries` installs no-op handlers once per
process, so nothing ever touches file descriptor 2 (an earlier approach swapped fd 2 around
each PortAudio call, which is not thread-safe and could send the whole log to a deleted file).

Real failures are not lost: PortAudio still reports them as errors of the calls that failed,
and those reach the log with the device's name.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import threading

log = logging.getLogger(__name__)

# void handler(const char *file, int line, const char *function, int err, const char *fmt, ...)
# The variadic tail is ignored: the handler reads none of it.
_ALSA_HANDLER = ctypes.CFUNCTYPE(
    None, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p
)
# void handler(const char *message)
_JACK_HANDLER = ctypes.CFUNCTYPE(None, ctypes.c_char_p)

_lock = threading.Lock()
_keep: list[object] = []  # the libraries and handlers, kept alive for the whole process
_silenced: list[str] | None = None  # set once the handlers are installed


def _ignore_alsa(_file: bytes, _line: int, _function: bytes, _err: int, _fmt: bytes) -> None:
    return None


def _ignore_jack(_message: bytes) -> None:
    return None


def _load(*names: str) -> ctypes.CDLL | None:
    for name in names:
        path = ctypes.util.find_library(name.split(".so")[0].removeprefix("lib")) or name
        for candidate in (name, path):
            try:
                return ctypes.CDLL(candidate)
            except OSError:
                continue
    return None


def silence_audio_libraries() -> list[str]:
    """Install the no-op handlers (once; later calls do nothing). Returns the libraries that
    were silenced, e.g. ``["alsa", "jack"]``; a library that is not installed is skipped."""
    global _silenced
    with _lock:
        if _silenced is not None:
            return list(_silenced)
        silenced: list[str] = []
        alsa = _load("libasound.so.2")
        if alsa is not None and hasattr(alsa, "snd_lib_error_set_handler"):
            handler = _ALSA_HANDLER(_ignore_alsa)
            alsa.snd_lib_error_set_handler.argtypes = [_ALSA_HANDLER]
            alsa.snd_lib_error_set_handler(handler)
            _keep.extend((alsa, handler))
            silenced.append("alsa")
        jack = _load("libjack.so.0")
        if jack is not None and hasattr(jack, "jack_set_error_function"):
            error, info = _JACK_HANDLER(_ignore_jack), _JACK_HANDLER(_ignore_jack)
            jack.jack_set_error_function.argtypes = [_JACK_HANDLER]
            jack.jack_set_error_function(error)
            if hasattr(jack, "jack_set_info_function"):
                jack.jack_set_info_function.argtypes = [_JACK_HANDLER]
                jack.jack_set_info_function(info)
            _keep.extend((jack, error, info))
            silenced.append("jack")
        _silenced = silenced
        log.debug("silenced the audio libraries' stderr chatter: %s", silenced or "none found")
        return silenced
