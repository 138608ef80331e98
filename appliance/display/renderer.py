"""Which path SDL takes to put pygame's frames on the screen, chosen before the window opens.

pygame draws every frame in memory (a software surface); SDL then presents it, either straight
through the video driver (X11: shared memory, no GL) or, by default, by uploading it as a
texture to an accelerated renderer (OpenGL / OpenGL ES). With a GPU the texture path is
cheap. Without one (Xvfb, a VM, many desktops without DRI) the "accelerated" renderer is
Mesa's llvmpipe: software OpenGL, which here cost 8.1 ms per screen update instead of 0.7 ms,
+74 MiB PSS (36 MiB of it libLLVM) and two llvmpipe threads at 40 % of a core. So:

* X11: the texture path only when the X server offers direct rendering (DRI3 or DRI2, which
  is how Mesa reaches a GPU) and ``LIBGL_ALWAYS_SOFTWARE`` is not set; otherwise
  ``SDL_FRAMEBUFFER_ACCELERATION=0`` (SDL's X11 framebuffer: shared memory, no GL).
* KMSDRM and Wayland: SDL 2 has no software framebuffer there; GL is the only way (a Pi has
  a GPU: vc4/v3d).
* ``SDL_FRAMEBUFFER_ACCELERATION`` already set: the user's choice is kept.

After the window is open :func:`describe` says what SDL really uses (its renderer, and the
OpenGL renderer string, e.g. ``llvmpipe`` or ``V3D 4.2``), for the log.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
from typing import Any

HINT = "SDL_FRAMEBUFFER_ACCELERATION"
SOFTWARE_GL = ("llvmpipe", "softpipe", "swrast", "software rasterizer", "lavapipe")
_GL_RENDERER = 0x1F01


def choose(driver: str) -> str:
    """Before ``set_mode``: keep SDL off software OpenGL where it has another way. Returns
    why the choice was made (for the log)."""
    if HINT in os.environ:
        return f"{HINT}={os.environ[HINT]!r} was set outside"
    if driver != "x11":
        return f"SDL's default on {driver}"
    software = os.environ.get("LIBGL_ALWAYS_SOFTWARE", "").strip().lower()
    if software not in ("", "0", "false"):
        reason = "LIBGL_ALWAYS_SOFTWARE is set"
    else:
        extensions = _x11_direct_rendering()
        if extensions is None:
            reason = "cannot ask the X server about direct rendering"
        elif extensions:
            return f"the X server offers direct rendering ({'/'.join(extensions)}): GPU"
        else:
            reason = "the X server offers no direct rendering (DRI3/DRI2): no GPU"
    os.environ[HINT] = "0"
    return f"{reason}, so {HINT}=0: no software OpenGL"


def _x11_direct_rendering() -> list[str] | None:
    """The direct-rendering extensions (DRI3, DRI2) the X server on ``$DISPLAY`` offers, or
    None if it cannot be asked."""
    try:
        x11 = ctypes.CDLL("libX11.so.6")
    except OSError:
        return None
    x11.XOpenDisplay.restype = ctypes.c_void_p
    x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
    x11.XQueryExtension.argtypes = [ctypes.c_void_p, ctypes.c_char_p] + [
        ctypes.POINTER(ctypes.c_int)
    ] * 3
    x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
    display = x11.XOpenDisplay(None)
    if not display:
        return None
    try:
        found = []
        for name in ("DRI3", "DRI2"):
            opcode, event, error = ctypes.c_int(), ctypes.c_int(), ctypes.c_int()
            if x11.XQueryExtension(
                display,
                name.encode(),
                ctypes.byref(opcode),
                ctypes.byref(event),
                ctypes.byref(error),
            ):
                found.append(name)
        return found
    finally:
        x11.XCloseDisplay(display)


class _RendererInfo(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("flags", ctypes.c_uint32),
        ("num_texture_formats", ctypes.c_uint32),
        ("texture_formats", ctypes.c_uint32 * 16),
        ("max_texture_width", ctypes.c_int),
        ("max_texture_height", ctypes.c_int),
    ]


_display_window: Any = None
"""pygame's ``Window`` for the display module's window, kept for as long as the process runs.
Making one (``Window.from_display_module()``) stores it in SDL's data of the window, where
pygame's event conversion finds it for every window event (``event.window``); a temporary
one, freed, left a dangling pointer there, and ``pygame.event.get()`` crashed (SIGSEGV) once
its memory was reused (pygame 2.6)."""


def describe() -> tuple[str, bool]:
    """After ``set_mode`` (on the thread that opened the window): what presents the frames,
    e.g. ``"opengl on llvmpipe (LLVM 15.0.6, 256 bits)"`` or ``"the video driver's own
    framebuffer, no OpenGL"``, and whether that is software OpenGL."""
    try:
        sdl = _sdl_library()
        if sdl is None:
            return "unknown (SDL's library not found)", False
        from pygame._sdl2.video import Window

        sdl.SDL_GetWindowFromID.restype = ctypes.c_void_p
        sdl.SDL_GetWindowFromID.argtypes = [ctypes.c_uint32]
        sdl.SDL_GetRenderer.restype = ctypes.c_void_p
        sdl.SDL_GetRenderer.argtypes = [ctypes.c_void_p]
        sdl.SDL_GetRendererInfo.argtypes = [ctypes.c_void_p, ctypes.POINTER(_RendererInfo)]
        global _display_window
        _display_window = Window.from_display_module()
        window = sdl.SDL_GetWindowFromID(_display_window.id)
        renderer = sdl.SDL_GetRenderer(window) if window else None
        if not renderer:
            return "the video driver's own framebuffer, no OpenGL", False
        info = _RendererInfo()
        if sdl.SDL_GetRendererInfo(renderer, ctypes.byref(info)) != 0:
            return "a renderer SDL does not describe", False
        name = (info.name or b"?").decode(errors="replace")
        gl = _gl_renderer(sdl)
        if gl is None:
            return f"{name} renderer", name == "software"
        software = any(word in gl.lower() for word in SOFTWARE_GL)
        return f"{name} on {gl}{' (software OpenGL)' if software else ''}", software
    except Exception as exc:  # never let the description stop the screen
        return f"unknown ({type(exc).__name__}: {exc})", False


def _sdl_library() -> Any:
    """The SDL 2 library pygame runs on (already loaded: found in this process's mappings)."""
    with contextlib.suppress(OSError), open("/proc/self/maps", encoding="utf-8") as maps:
        for line in maps:
            path = line.rstrip("\n").partition("/")[2]
            name = os.path.basename(path)
            if path and name.startswith("libSDL2-2") and ".so" in name:
                return ctypes.CDLL("/" + path)
    return None


def _gl_renderer(sdl: Any) -> str | None:
    """The current OpenGL context's ``GL_RENDERER`` string (SDL's renderer made its context
    current on this thread), or None without one."""
    sdl.SDL_GL_GetCurrentContext.restype = ctypes.c_void_p
    if not sdl.SDL_GL_GetCurrentContext():
        return None
    sdl.SDL_GL_GetProcAddress.restype = ctypes.c_void_p
    sdl.SDL_GL_GetProcAddress.argtypes = [ctypes.c_char_p]
    address = sdl.SDL_GL_GetProcAddress(b"glGetString")
    if not address:
        return None
    get_string = ctypes.CFUNCTYPE(ctypes.c_char_p, ctypes.c_uint)(address)
    value = get_string(_GL_RENDERER)
    return value.decode(errors="replace") if value else None
