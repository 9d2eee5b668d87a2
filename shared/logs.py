"""One logging setup for every Pacer process: the level, text or JSON lines, the report in hand.

``PACER_LOG_LEVEL`` and ``PACER_LOG_FORMAT`` (``text``, ``json``) choose; every line is one
record on stderr. While a service handles a report (the ingest accepting it, the aggregator
applying it, alerting evaluating after it), ``report_context`` marks every line it writes with
``report=<city>/<report_id>``: the id the report has in all three services, so an operator
follows one report with a single grep.

FastStream's own lines (a "Received" and a "Processed" per stream message, "waiting for messages"
per subscriber) are DEBUG: ``stream_logger`` is the logger its brokers get, with
``log_level=logging.DEBUG``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
import time
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

REPORT: ContextVar[str | None] = ContextVar("pacer_report", default=None)
"""``<city>/<report_id>`` of the report being handled in this task, if any."""

TEXT_FORMAT = "%(asctime)s %(levelname)s %(service)s %(name)s: %(message)s"
EXTRA_FIELDS = ("report", "channel", "message_id", "delivery", "subscription")
"""Record attributes a JSON line carries when set (``channel``, ``message_id``: FastStream's)."""
QUIET_LIBRARIES = ("httpx", "httpcore", "uvicorn.access")
"""A line per request or connection at INFO: shown only at DEBUG."""
STREAM_CHATTER = ("callback for ", "is being executed...")
"""FastStream logs this at INFO whenever a subscriber task ends (each stop): a DEBUG line."""


def report_label(city: str, report_id: str) -> str:
    """How lines name a report: ids are unique within their city (contract section 3)."""
    return f"{city}/{report_id}"


@contextlib.contextmanager
def report_context(city: str, report_id: str) -> Iterator[None]:
    """Lines logged inside carry ``report=<city>/<report_id>`` (this task only)."""
    token = REPORT.set(report_label(city, report_id))
    try:
        yield
    finally:
        REPORT.reset(token)


class _Context(logging.Filter):
    """Puts the service and the report in hand on every record the handler writes."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self.service
        if getattr(record, "report", None) is None:
            record.report = REPORT.get()
        return True


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)
        self._second = -1
        self._second_text = ""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        """``logging.Formatter``'s text, its local time written once per second: the ingest logs
        a line per accepted report, and ``localtime`` and ``strftime`` were a tenth of it."""
        if datefmt is not None or self.default_msec_format is None:
            return super().formatTime(record, datefmt)
        second = int(record.created)
        if second != self._second:
            self._second_text = time.strftime(self.default_time_format, self.converter(second))
            self._second = second
        return self.default_msec_format % (self._second_text, record.msecs)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        report = getattr(record, "report", None)
        return f"{line} [report={report}]" if report else line


class TurnBufferedHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """``logging.StreamHandler``, writing the lines of one event-loop turn together.

    In an event loop, a line is kept until the loop's next turn, and the turn's lines go to the
    stream in one write. The ingest logs a line per accepted report. Through a pipe, as under a
    container runtime that reads a service's stderr, the write of each line woke the reader:
    about 40 of the app's ~180 us of CPU per report (through a file the write is cheap;
    bench/NOTES-ingest-latency.md). Outside a loop (startup, other threads), and at WARNING or
    above, a line is written at once, after any kept ones, so lines stay in order and the lines
    a post-mortem needs are never held. ``flush`` writes the kept lines: ``logging.shutdown``
    calls it at exit. A process killed outright (SIGKILL, the OOM killer, or a signal's default
    action, as when uvicorn raises SIGTERM again after its graceful shutdown) loses at most the
    INFO and DEBUG lines of the turn it was in."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._kept: list[str] = []
        self._flush_on: asyncio.AbstractEventLoop | None = None
        """The loop whose next turn writes the kept lines (None: no write is due)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record) + self.terminator
            loop = asyncio._get_running_loop()
            self._kept.append(line)
            if loop is None or record.levelno >= logging.WARNING:
                self._write_kept()
            elif self._flush_on is not loop:  # also a loop that ended before it wrote them
                loop.call_soon(self._write_turn)
                self._flush_on = loop
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)

    def flush(self) -> None:
        self.acquire()
        try:
            self._write_kept()
        finally:
            self.release()

    def _write_turn(self) -> None:
        """On the loop's next turn. A stream that cannot take them (stderr closed, its reader
        gone) loses the lines, as ``StreamHandler`` loses a line it cannot write; nothing is
        raised into the loop, whose own error line would come back here, and fail again."""
        self.acquire()
        try:
            with contextlib.suppress(Exception):  # see the docstring: nowhere left to say it
                self._write_kept()
        finally:
            self.release()

    def _write_kept(self) -> None:
        """With the handler's lock held."""
        self._flush_on = None
        if self._kept:
            text, self._kept = "".join(self._kept), []
            self.stream.write(text)
        if self.stream and hasattr(self.stream, "flush"):
            self.stream.flush()


_JSON_LINE = json.JSONEncoder(ensure_ascii=False, default=str)
"""``json.dumps(entry, ensure_ascii=False, default=str)``'s encoder, built once, not per line."""


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ms), level, logger, service, message, the extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "service": getattr(record, "service", None),
            "message": record.getMessage(),
        }
        for name in EXTRA_FIELDS:
            value = getattr(record, name, None)
            if value not in (None, ""):
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return _JSON_LINE.encode(entry)


def configure_logging(level: str, log_format: str, service: str) -> None:
    """Root logging for this process (replacing any earlier setup): one handler on stderr."""
    handler = TurnBufferedHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(_Context(service))
    root = logging.getLogger()
    for previous in list(root.handlers):
        root.removeHandler(previous)
    root.addHandler(handler)
    root.setLevel(level)
    # No Pacer line prints the caller's file, function or line, its thread or its process, so
    # a record does not gather them (the logging documentation's "Optimization" switches): the
    # frame walk and the three look-ups were ~4 of the ~19 us of CPU the ingest spends on the
    # line of each accepted report.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    quiet = logging.DEBUG if root.level <= logging.DEBUG else logging.WARNING
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(quiet)
    for name in ("uvicorn", "uvicorn.error"):  # serve_http lets uvicorn log through the root
        logging.getLogger(name).setLevel(max(root.level, logging.WARNING))


class _DemoteChatter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.INFO and all(p in record.getMessage() for p in STREAM_CHATTER):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger().isEnabledFor(logging.DEBUG)
        return True


def stream_logger(service: str) -> logging.Logger:
    """The logger for a service's FastStream broker (give the broker ``log_level=DEBUG``)."""
    logger = logging.getLogger(f"pacer.{service}.stream")
    if not any(isinstance(f, _DemoteChatter) for f in logger.filters):
        logger.addFilter(_DemoteChatter())
    return logger
