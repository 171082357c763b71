"""Cutting extracted text into search chunks.

A chunk is a few paragraphs (at most `max_chars`): small enough that its rank and headline are
about one topic, large enough to answer from. Paragraphs are kept whole where they fit; longer
ones are cut at sentence ends, then at spaces, and only a single word longer than `max_chars`
is cut mid-word. The last sentences or paragraphs of a chunk (up to `overlap_chars`) are
repeated at the start of the next, so a passage that straddles a boundary is found in one piece.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Sentence ends, Latin and Arabic (؟ question mark, ۔ full stop), followed by white space.
_SENTENCE_END = re.compile(r"(?<=[.!?؟۔…])\s+")
_BLANK_LINES = re.compile(r"\n\s*\n")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACES = re.compile(r"[ \t\u00a0]+")


@dataclass(frozen=True)
class _Unit:
    text: str
    starts_paragraph: bool


def text_normalize(text: str) -> str:
    """Unix newlines, no control characters, single spaces, at most one blank line in a row."""
    text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _hard_split(text: str, max_chars: int) -> list[str]:
    pieces: list[str] = []
    current = ""
    for word in text.split():
        while len(word) > max_chars:
            if current:
                pieces.append(current)
                current = ""
            pieces.append(word[:max_chars])
            word = word[max_chars:]
        candidate = f"{current} {word}" if current else word
        if len(candidate) > max_chars:
            pieces.append(current)
            current = word
        else:
            current = candidate
    if current:
        pieces.append(current)
    return pieces


def _units(text: str, max_chars: int) -> list[_Unit]:
    units: list[_Unit] = []
    for paragraph in _BLANK_LINES.split(text):
        paragraph = paragraph.strip()
        if not paragraph:
            continue
        if len(paragraph) <= max_chars:
            units.append(_Unit(paragraph, starts_paragraph=True))
            continue
        first = True
        for sentence in _SENTENCE_END.split(paragraph):
            pieces = [sentence] if len(sentence) <= max_chars else _hard_split(sentence, max_chars)
            for piece in pieces:
                units.append(_Unit(piece, starts_paragraph=first))
                first = False
    return units


def _joined(units: list[_Unit]) -> str:
    text = ""
    for index, unit in enumerate(units):
        if index:
            text += "\n\n" if unit.starts_paragraph else " "
        text += unit.text
    return text


def text_chunks(*, text: str, max_chars: int, overlap_chars: int) -> list[str]:
    """The chunks of `text` in order (none for blank text); each at most `max_chars` long."""
    if max_chars < 1 or overlap_chars < 0 or overlap_chars >= max_chars:
        raise ValueError("need max_chars ≥ 1 and 0 ≤ overlap_chars < max_chars")
    chunks: list[str] = []
    current: list[_Unit] = []
    fresh = 0  # units in `current` not carried over from the previous chunk
    for unit in _units(text_normalize(text), max_chars):
        if current and len(_joined([*current, unit])) > max_chars:
            if fresh:
                chunks.append(_joined(current))
            current = _overlap(current, overlap_chars, max_chars - len(unit.text) - 2)
            fresh = 0
        current.append(unit)
        fresh += 1
    if current and fresh:
        chunks.append(_joined(current))
    return chunks


def _overlap(units: list[_Unit], overlap_chars: int, room: int) -> list[_Unit]:
    """The trailing units of a finished chunk that fit both the overlap and the next chunk."""
    carried: list[_Unit] = []
    for unit in reversed(units):
        candidate = [unit, *carried]
        if len(_joined(candidate)) > min(overlap_chars, room):
            break
        carried = candidate
    return carried
