"""Delta pulls (issue 16): the CRDT update that turns the text a student last pulled into the
teacher's text, without the full text on the wire.

Both sides build the same document from the base text alone: a Yjs document acting as client
:data:`BASE_CLIENT_ID` whose ``source`` Text got the whole base text in one insert. Its structs
are then the same on the server (pycrdt) and in every client (pycrdt here, Yjs in the browser:
Yjs and yrs count a string's clock in UTF-16 units alike), so an update made on it applies on
the client's copy: the server edits a fork of it to the teacher's text with minimal edits (as
client :data:`DELTA_CLIENT_ID`) and sends only those edits. A client whose base is not what the
server holds gets the full text instead (the server decides by the pulled seq), and the result
carries a checksum of the teacher's text (:func:`..merge.text_check`), so a wrong base is detected
instead of written into a notebook.
"""

from __future__ import annotations

from typing import Any

import pycrdt

from ..merge import text_check, text_edits
from .ytext import apply_text_edits

__all__ = [
    "BASE_CLIENT_ID",
    "DELTA_CLIENT_ID",
    "SOURCE_KEY",
    "apply_delta",
    "make_delta",
    "text_check",
]

SOURCE_KEY = "source"
BASE_CLIENT_ID = 4  # the base text's one insert (the browser uses the same id: src/logic/delta.ts)
DELTA_CLIENT_ID = 5  # the server's edits from the base to the teacher's text


def _base_doc(base: str) -> tuple[pycrdt.Doc[Any], pycrdt.Text]:
    doc: pycrdt.Doc[Any] = pycrdt.Doc(client_id=BASE_CLIENT_ID)
    text = doc.get(SOURCE_KEY, type=pycrdt.Text)
    if base:
        text.insert(0, base)
    return doc, text


def make_delta(base: str, theirs: str) -> bytes:
    """The update from the document of ``base`` to one reading ``theirs`` (minimal edits)."""
    doc, _ = _base_doc(base)
    before = doc.get_state()
    fork: pycrdt.Doc[Any] = pycrdt.Doc(client_id=DELTA_CLIENT_ID)
    fork_text = fork.get(SOURCE_KEY, type=pycrdt.Text)
    fork.apply_update(doc.get_update())
    edits = text_edits(base, theirs, unit="utf-8")
    if edits:
        with fork.transaction():
            apply_text_edits(fork_text, edits)
    return fork.get_update(before)


def apply_delta(base: str, update: bytes) -> str:
    """The text the document of ``base`` reads after ``update`` (what a client does)."""
    doc, text = _base_doc(base)
    doc.apply_update(update)
    return str(text)
