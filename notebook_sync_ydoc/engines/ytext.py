"""Shared pycrdt helpers: minimal edits to a Text, and reading Yjs varUint-encoded data.

Used by the YDoc engine (cell documents), the follow rooms (their notebook document) and the
Python student client (its notebook). pycrdt Text positions count UTF-8 bytes, so edits are made
with ``text_edits(unit="utf-8")``.
"""

from __future__ import annotations

from pycrdt import Text

from ..merge import Edit, text_edits

__all__ = ["VarReader", "apply_text_edits", "edit_text", "state_vector"]


def edit_text(text: Text, new: str) -> bool:
    """Edit ``text`` to read ``new`` with minimal edits (prefix and suffix kept, then per line
    hunk). The caller opens the transaction if it wants one Yjs update. Returns whether
    anything changed."""
    edits = text_edits(str(text), new, unit="utf-8")
    apply_text_edits(text, edits)
    return bool(edits)


def apply_text_edits(text: Text, edits: list[Edit]) -> None:
    """Apply :func:`..merge.text_edits` output (descending positions, UTF-8 units) in order."""
    for edit in edits:
        if edit.delete:
            del text[edit.position : edit.position + edit.delete]
        if edit.insert:
            text.insert(edit.position, edit.insert)


class VarReader:
    """Reads lib0 encoding: varUint and length-prefixed bytes. Raises IndexError or ValueError
    on truncated or malformed input."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def var_uint(self) -> int:
        value = shift = 0
        for _ in range(8):  # 56 bits: more than any Yjs number
            byte = self.data[self.pos]  # IndexError on truncated input
            self.pos += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return value
        raise ValueError("varUint too long")

    def var_bytes(self) -> bytes:
        length = self.var_uint()
        end = self.pos + length
        if end > len(self.data):
            raise ValueError("truncated")
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk


def state_vector(doc_state: bytes) -> dict[int, int]:
    """client id -> clock of an encoded state vector (``Doc.get_state()``)."""
    reader = VarReader(doc_state)
    result: dict[int, int] = {}
    for _ in range(reader.var_uint()):
        client = reader.var_uint()
        result[client] = reader.var_uint()
    return result
