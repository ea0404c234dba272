"""Logging that never carries a secret: a filter scrubs token-like values from every record."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from flask import Flask

# key=value / "key": "value" pairs whose value is a credential, and bearer-style headers.
_SECRET_PAIR = re.compile(
    r"(?i)((?:access_token|refresh_token|id_token|client_secret|code_verifier|app_password|password|"
    r"accessJwt|refreshJwt|code|token|secret)[\"']?\s*[:=]\s*[\"']?)([^\s\"'&,;}]+)"
)
_BEARER = re.compile(r"(?i)\b(bearer|basic|dpop|oauth)\s+[A-Za-z0-9._~+/=-]{8,}")
# Stella's own personal API tokens, recognisable by their prefix wherever they appear.
_API_TOKEN = re.compile(r"\bstl_[A-Za-z0-9_-]{16,}")

REDACTED = "[redacted]"


def redact(text: str) -> str:
    """Replace anything that looks like a credential in `text`."""
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    text = _API_TOKEN.sub(REDACTED, text)
    return _SECRET_PAIR.sub(lambda m: f"{m.group(1)}{REDACTED}", text)


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


_FILTER = RedactingFilter()
_installed = False


def _redacting_factory(previous: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    """Wrap the log-record factory so every record, from any logger (urllib3 included), is scrubbed at birth."""

    def make_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: leave it to logging's own error handling
            return record
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return record

    return make_record


def install_redaction(app: Flask) -> None:
    """Scrub credentials from every log record in this process; exception text is scrubbed by handler filters."""
    global _installed
    if not _installed:
        logging.setLogRecordFactory(_redacting_factory(logging.getLogRecordFactory()))
        _installed = True
    for logger in (logging.getLogger(), app.logger, logging.getLogger("werkzeug")):
        for handler in logger.handlers:
            if _FILTER not in handler.filters:
                handler.addFilter(_FILTER)
