"""Captions: the conversation's last words, as the screen shows them (pure: no I/O, no clock).

:class:`Captions` holds the recent lines of the conversation, one :class:`Caption` per
conversation item: the assistant's audio transcript as it streams in
(``response.output_audio_transcript.delta``, beta ``response.audio_transcript.delta``) and,
with ``display.captions = "both"``, the visitor's words (``input_audio_transcription``'s
deltas and its completed transcript). The screen word-wraps them and shows the last
``display.caption_lines`` lines (:mod:`appliance.display.captionlayout`).

**The cut rule.** The realtime API gives no word timings. When a barge-in cuts the assistant's
audio at ``played_ms`` (the truncate point), its caption keeps the share of the transcript that
the played share of the audio stands for, cut back to the last whole word::

    shown = len(text) * played_ms // audio_ms     (characters)

``text`` is the transcript received so far for that item and ``audio_ms`` the audio received
so far for it (both arrive together, the transcript keeping pace with the audio); a cut that
falls inside a word drops that word. Later deltas and the final transcript of a cut item are
ignored, so the screen never shows words that were not spoken.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

CaptionMode = Literal["off", "assistant", "both"]
Role = Literal["assistant", "user"]

MAX_ENTRIES = 4
"""Conversation items kept: more than the screen's lines can ever hold."""
MAX_CHARS = 1500
"""Characters kept per item: a longer transcript loses its beginning (at a word), since only
the last lines are shown."""


@dataclass(frozen=True)
class Caption:
    """One item's words: ``role`` is ``"assistant"`` or ``"user"`` (the visitor)."""

    role: Role
    text: str


def cut_point(text: str, played_ms: int, audio_ms: int) -> int:
    """How many characters of ``text`` (the transcript of ``audio_ms`` of audio) were spoken
    once ``played_ms`` of it played: the proportional share, cut back to a word boundary (see
    the module's docstring)."""
    if audio_ms <= 0 or played_ms <= 0:
        return 0
    if played_ms >= audio_ms:
        return len(text)
    shown = len(text) * played_ms // audio_ms
    if shown < len(text) and not text[shown].isspace():
        # inside a word: drop the word
        while shown > 0 and not text[shown - 1].isspace():
            shown -= 1
    while shown > 0 and text[shown - 1].isspace():
        shown -= 1
    return shown


def _tail(text: str) -> str:
    """``text``, or its end of at most :data:`MAX_CHARS` characters starting at a word."""
    if len(text) <= MAX_CHARS:
        return text
    tail = text[-MAX_CHARS:]
    space = tail.find(" ")
    return tail[space + 1 :] if 0 <= space < len(tail) - 1 else tail


@dataclass
class _Entry:
    item_id: str
    role: Role
    text: str = ""
    cut: bool = False


class Captions:
    """The conversation's recent words per item, in the order the items began. Every method
    returns whether what :meth:`shown` gives changed."""

    def __init__(self, mode: CaptionMode = "assistant") -> None:
        self.mode = mode
        self._entries: list[_Entry] = []

    def _entry(self, item_id: str, role: Role) -> _Entry | None:
        """The entry of ``item_id`` (a new one if none); None when ``role`` is not shown."""
        if self.mode == "off" or (role == "user" and self.mode != "both"):
            return None
        for entry in self._entries:
            if entry.item_id == item_id:
                return entry
        entry = _Entry(item_id, role)
        self._entries.append(entry)
        del self._entries[:-MAX_ENTRIES]
        return entry

    def _set(self, item_id: str, role: Role, text: str, *, append: bool) -> bool:
        entry = self._entry(item_id, role)
        if entry is None or entry.cut:
            return False
        new = _tail(entry.text + text if append else text)
        changed = new != entry.text
        entry.text = new
        return changed

    def assistant_delta(self, item_id: str, delta: str) -> bool:
        """More of the assistant's transcript of ``item_id``."""
        return self._set(item_id, "assistant", delta, append=True)

    def assistant_done(self, item_id: str, text: str) -> bool:
        """The assistant's whole transcript of ``item_id`` (unless it was cut)."""
        return self._set(item_id, "assistant", text, append=False)

    def user_delta(self, item_id: str, delta: str) -> bool:
        """More of the visitor's transcribed words (mode ``both`` only)."""
        return self._set(item_id, "user", delta, append=True)

    def user_transcript(self, item_id: str, text: str) -> bool:
        """The visitor's completed transcript of ``item_id`` (mode ``both`` only)."""
        return self._set(item_id, "user", text, append=False)

    def cut_at(self, item_id: str, played_ms: int, audio_ms: int) -> bool:
        """A barge-in cut the assistant's item ``item_id`` after ``played_ms`` of the
        ``audio_ms`` received: keep the words spoken (:func:`cut_point`), ignore the rest and
        anything that still comes for it."""
        for entry in self._entries:
            if entry.item_id == item_id and entry.role == "assistant":
                before = entry.text
                entry.text = before[: cut_point(before, played_ms, audio_ms)]
                entry.cut = True
                return entry.text != before
        if self.mode == "off":
            return False
        # cut before any of its words arrived: none of them will be shown
        self._entries.append(_Entry(item_id, "assistant", cut=True))
        del self._entries[:-MAX_ENTRIES]
        return False

    def clear(self) -> bool:
        """Forget everything (the session stopped)."""
        changed = bool(self.shown())
        self._entries.clear()
        return changed

    def shown(self) -> tuple[Caption, ...]:
        """What the screen shows: the items with words, oldest first."""
        return tuple(Caption(e.role, e.text) for e in self._entries if e.text.strip())
