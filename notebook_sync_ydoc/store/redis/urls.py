"""Redis URLs without their secrets: for logs, errors and ``health()``."""

from __future__ import annotations

from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit


def redact_url(url: str) -> str:
    """``url`` with its password (userinfo or ``?password=``) replaced by ``***``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable url>"
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        user, sep, _password = userinfo.partition(":")
        netloc = f"{user}:***@{hostport}" if sep else f"{user}@{hostport}"
        if not sep and user:
            # redis://secret@host: redis-py takes a lone userinfo as the password
            netloc = f"***@{hostport}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode(
            [(k, "***" if k.lower() == "password" else v) for k, v in pairs], safe="*"
        )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def secrets_of(url: str) -> list[str]:
    """The password of ``url`` in every spelling it could appear in a message, longest first."""
    out: list[str] = []
    try:
        parts = urlsplit(url)
    except ValueError:
        return out
    for value in (parts.password, parts.username if parts.password is None else None):
        if value:
            out.append(value)
    for k, v in parse_qsl(parts.query, keep_blank_values=True):
        if k.lower() == "password" and v:
            out.append(v)
    more = []
    for s in out:
        more.append(quote(s, safe=""))
        more.append(unquote(s))
    return sorted({s for s in out + more if s}, key=len, reverse=True)


def scrub(text: str, secrets: list[str] | tuple[str, ...]) -> str:
    """``text`` with every secret replaced by ``***``."""
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


class Redactor:
    """A URL shown without its password, and error texts cleaned of it."""

    def __init__(self, url: str, shown: str | None = None) -> None:
        self.redacted_url = redact_url(url) if shown is None else shown
        self._secrets = tuple(secrets_of(url))

    def clean(self, exc: BaseException | str) -> str:
        """The text of ``exc`` with the password replaced by ``***``."""
        return scrub(str(exc), self._secrets)

    def describe(self, exc: BaseException) -> str:
        """``"<ExceptionType>: <cleaned message>"``."""
        return f"{type(exc).__name__}: {self.clean(exc)}"
