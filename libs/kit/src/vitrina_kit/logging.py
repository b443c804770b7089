"""Structured logs: one JSON object per line, carrying the correlation ids of the unit of work
and the trace and span ids of the span in progress."""

from __future__ import annotations

import logging
import re
import sys
from typing import Literal

import structlog
from opentelemetry import trace


def configure_logging(
    level: str = "INFO", fmt: Literal["json", "console"] = "json", *, service: str | None = None
) -> None:
    """Route structlog and the standard library (uvicorn, aiokafka, sqlalchemy) to one renderer."""
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        add_trace_ids,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        structlog.stdlib.ExtraAdder(),
    ]
    if service:
        shared.insert(0, _add_service(service))
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            scrub,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Warnings raised from now on become JSON lines too, not bare text on stderr.
    logging.captureWarnings(True)
    # uvicorn installs its own handlers; send its records through ours instead.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
    # aiokafka is chatty about routine group coordination at INFO; httpx logs every call's full
    # URL at INFO, and a 1C OData filter or a partner's URL may carry an INN or a token.
    for chatty in ("aiokafka", "httpx", "httpcore"):
        logging.getLogger(chatty).setLevel(max(logging.WARNING, root.level))


def add_trace_ids(
    _logger: object, _method: str, event_dict: structlog.types.EventDict
) -> structlog.types.EventDict:
    """``trace_id`` and ``span_id`` of the span in progress (W3C hex), so a log line leads to its
    trace and a trace to its log lines; nothing outside a span or where tracing is off."""
    span_context = trace.get_current_span().get_span_context()
    if span_context.is_valid:
        event_dict.setdefault("trace_id", format(span_context.trace_id, "032x"))
        event_dict.setdefault("span_id", format(span_context.span_id, "016x"))
    return event_dict


# A second fence behind what each log call chooses to say: runs of 9 to 20 digits standing alone
# (INNs, KPPs, OGRNs, bank accounts and BICs, phone numbers) and bearer tokens / JWTs are masked
# in every text field, error messages and tracebacks included. Ids keep their digits: a UUID's
# groups are joined by dashes, trace ids are longer, offsets and counts are numbers.
_DIGIT_RUN = re.compile(r"(?<![\w.-])\d{9,20}(?![\w.-])")
_TOKEN = re.compile(r"\beyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]*|(?i:bearer)\s+[\w.~+/-]+=*")
_MASK = "***"


def scrub(
    _logger: object, _method: str, event_dict: structlog.types.EventDict
) -> structlog.types.EventDict:
    """Mask what looks like requisites, account numbers or tokens in a log line's text fields."""
    for key, value in event_dict.items():
        if isinstance(value, str):
            event_dict[key] = _masked(value)
        elif isinstance(value, list | tuple):
            event_dict[key] = [_masked(v) if isinstance(v, str) else v for v in value]
    return event_dict


def _masked(text: str) -> str:
    return _TOKEN.sub(_MASK, _DIGIT_RUN.sub(_MASK, text))


def _add_service(service: str) -> structlog.types.Processor:
    def add(
        _logger: object, _method: str, event_dict: structlog.types.EventDict
    ) -> structlog.types.EventDict:
        event_dict.setdefault("service", service)
        return event_dict

    return add
