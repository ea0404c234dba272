"""Logging that never carries a secret: a filter scrubs token-like values from every record."""

from __future__ import annotations

import logging
import re

from flask import Flask

# key=value / "key": "value" pairs whose value is a credential, and bearer-style headers.
_SECRET_PAIR = re.compile(
    r"(?i)((?:access_token|refresh_token|id_token|client_secret|code_verifier|app_password|password|"
    r"accessJwt|refreshJwt|code|token|secret)[\"']?\s*[:=]\s*[\"']?)([^\s\"'&,;}]+)"
)
_BEARER = re.compile(r"(?i)\b(bearer|basic|dpop|oauth)\s+[A-Za-z0-9._~+/=-]{8,}")

REDACTED = "[redacted]"


def redact(text: str) -> str:
    """Replace anything that looks like a credential in `text`."""
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
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


def install_redaction(app: Flask) -> None:
    """Attach the filter to every handler of the root and app loggers (handlers added later get it too)."""
    for logger in (logging.getLogger(), app.logger, logging.getLogger("werkzeug")):
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
        for handler in logger.handlers:
            if _FILTER not in handler.filters:
                handler.addFilter(_FILTER)
