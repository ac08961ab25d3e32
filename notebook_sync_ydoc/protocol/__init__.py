"""The wire protocol: the shipped JSON Schema and its validation (:mod:`.validation`), every
message the server builds (:mod:`.messages`), error codes and close codes (:mod:`.codes`)."""

from __future__ import annotations

from .codes import (
    CLOSE_INTERNAL_ERROR,
    CLOSE_POLICY,
    CLOSE_SESSION_ENDED,
    CLOSE_SHUTDOWN,
    CLOSE_SLOW_CLIENT,
    METADATA_KEY,
)
from .messages import encode, error_message
from .validation import (
    ERROR_CODES,
    SESSION_CODE_ALPHABET,
    Message,
    MessageValidator,
    ProtocolError,
    as_text,
    load_schema,
)

__all__ = [
    "CLOSE_INTERNAL_ERROR",
    "CLOSE_POLICY",
    "CLOSE_SESSION_ENDED",
    "CLOSE_SHUTDOWN",
    "CLOSE_SLOW_CLIENT",
    "ERROR_CODES",
    "METADATA_KEY",
    "SESSION_CODE_ALPHABET",
    "Message",
    "MessageValidator",
    "ProtocolError",
    "as_text",
    "encode",
    "error_message",
    "load_schema",
]
