"""The logging setup: level, text or JSON lines, the report in hand, FastStream's chatter."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator

import pytest

from shared.logs import (
    TEXT_FORMAT,
    TextFormatter,
    TurnBufferedHandler,
    configure_logging,
    report_context,
    stream_logger,
)


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return capsys.readouterr().err.splitlines()


def test_json_lines_carry_the_service_and_the_report_in_hand(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("INFO", "json", "aggregator")
    log = logging.getLogger("pacer.aggregator")
    with report_context("jinan", "r-1"):
        log.info("applied %s report", "5g-sites")
    log.warning("no report in hand")

    first, second = (json.loads(line) for line in lines(capsys))
    assert first["report"] == "jinan/r-1"
    assert (first["service"], first["logger"], first["level"]) == ("aggregator", log.name, "info")
    assert first["message"] == "applied 5g-sites report"
    assert first["time"].endswith("+00:00")
    assert "report" not in second and second["level"] == "warning"


def test_an_exception_stays_inside_its_json_line(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", "json", "ingest")
    try:
        raise ValueError("boom\nsecond line")
    except ValueError:
        logging.getLogger("pacer.ingest").exception("failed")
    [line] = lines(capsys)
    assert "ValueError: boom" in json.loads(line)["exception"]


def test_text_lines_name_the_service_and_end_with_the_report(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("INFO", "text", "alerting")
    with report_context("qingdao", "x"):
        logging.getLogger("pacer.alerting").info("evaluated")
    [line] = lines(capsys)
    assert line.endswith(" INFO alerting pacer.alerting: evaluated [report=qingdao/x]")


@pytest.mark.parametrize(
    "instants",
    [
        [1_700_000_000.0, 1_700_000_000.999, 1_700_000_001.0005, 1_700_000_000.5],
        [0.0, 59.9999, 60.0, 86_399.999, 86_400.0],
    ],
)
def test_text_lines_carry_the_time_logging_itself_writes(instants: list[float]) -> None:
    """The formatter writes the seconds once per second; every line's time is still logging's
    own, to the millisecond, across second and day boundaries and back in time."""
    ours, theirs = TextFormatter(), logging.Formatter(TEXT_FORMAT)
    for created in instants:
        record = logging.makeLogRecord({"msg": "m", "service": "ingest", "report": None})
        record.created, record.msecs = created, (created - int(created)) * 1000
        assert ours.formatTime(record) == theirs.formatTime(record)
        assert ours.formatTime(record, "%H:%M") == theirs.formatTime(record, "%H:%M")


def test_the_report_belongs_to_its_task_only() -> None:
    seen: dict[str, list[str | None]] = {}

    async def handle(name: str, city: str | None) -> None:
        from shared.logs import REPORT

        if city is None:
            await asyncio.sleep(0.01)
            seen[name] = [REPORT.get()]
            return
        with report_context(city, name):
            await asyncio.sleep(0.02)
            seen[name] = [REPORT.get()]
        seen[name].append(REPORT.get())

    async def both() -> None:
        await asyncio.gather(handle("a", "jinan"), handle("b", None))

    asyncio.run(both())
    assert seen == {"a": ["jinan/a", None], "b": [None]}


def test_the_level_hides_debug_and_keeps_http_client_lines_quiet(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("INFO", "text", "alerting")
    logging.getLogger("pacer.alerting").debug("hidden")
    logging.getLogger("httpx").info("HTTP Request: POST ... 200")
    assert lines(capsys) == []

    configure_logging("DEBUG", "text", "alerting")
    logging.getLogger("pacer.alerting").debug("shown")
    assert len(lines(capsys)) == 1


@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
def test_faststream_chatter_is_debug(level: str, capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(level, "json", "aggregator")
    stream = stream_logger("aggregator")
    # As FastStream writes them with log_level=DEBUG (per message) and INFO (a task's end).
    stream.log(logging.DEBUG, "Received", extra={"message_id": "1-0", "channel": "reports"})
    stream.log(logging.INFO, "callback for Task-17 is being executed...")
    stream.log(logging.ERROR, "ValueError: bad entry", extra={"message_id": "1-0"})

    written = [json.loads(line) for line in lines(capsys)]
    if level == "INFO":
        assert [(w["level"], w["message"]) for w in written] == [("error", "ValueError: bad entry")]
    else:
        assert [w["level"] for w in written] == ["debug", "debug", "error"]
        assert written[0]["message_id"] == "1-0" and written[0]["channel"] == "reports"


class RecordingStream:
    def __init__(self) -> None:
        self.writes: list[str] = []

    def write(self, text: str) -> None:
        self.writes.append(text)

    def flush(self) -> None:
        pass


def turn_buffered(stream: RecordingStream) -> logging.Logger:
    handler = TurnBufferedHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log = logging.getLogger("pacer.test.turns")
    log.handlers, log.propagate, log.level = [handler], False, logging.INFO
    return log


def test_the_lines_of_one_loop_turn_are_written_together_on_the_next() -> None:
    stream = RecordingStream()
    log = turn_buffered(stream)

    async def handle() -> None:
        for n in range(3):
            log.info("accepted %d", n)
        assert stream.writes == []  # kept until the turn is over
        await asyncio.sleep(0)
        assert stream.writes == ["accepted 0\naccepted 1\naccepted 2\n"]
        log.info("accepted 3")
        await asyncio.sleep(0)

    asyncio.run(handle())
    assert stream.writes[1:] == ["accepted 3\n"]


def test_lines_outside_a_loop_are_written_at_once_and_after_kept_ones() -> None:
    stream = RecordingStream()
    log = turn_buffered(stream)
    log.info("at startup")
    assert stream.writes == ["at startup\n"]

    loop = asyncio.new_event_loop()
    try:
        loop.call_soon(log.info, "in the loop's last turn")
        loop.call_soon(loop.stop)  # the loop stops before the turn that would write the line
        loop.run_forever()
    finally:
        loop.close()
    assert stream.writes == ["at startup\n"]
    log.info("after the loop")
    assert stream.writes[1:] == ["in the loop's last turn\nafter the loop\n"]


def test_flush_writes_the_kept_lines_as_logging_shutdown_does() -> None:
    stream = RecordingStream()
    log = turn_buffered(stream)

    async def last_turn() -> None:
        log.info("kept")
        log.handlers[0].flush()
        assert stream.writes == ["kept\n"]

    asyncio.run(last_turn())
    assert stream.writes == ["kept\n"]


def test_a_second_loop_writes_its_own_turns_lines() -> None:
    stream = RecordingStream()
    log = turn_buffered(stream)

    async def one(line: str) -> None:
        log.info(line)
        await asyncio.sleep(0)

    asyncio.run(one("first loop"))
    asyncio.run(one("second loop"))
    assert stream.writes == ["first loop\n", "second loop\n"]


def test_a_stream_that_cannot_be_written_loses_the_turns_lines_and_the_loop_goes_on() -> None:
    class BrokenPipe(RecordingStream):
        def write(self, text: str) -> None:
            super().write(text)
            raise BrokenPipeError("the reader went away")

    stream = BrokenPipe()
    log = turn_buffered(stream)
    errors: list[object] = []

    async def handle() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda _, context: errors.append(context))
        log.info("lost")
        for _ in range(5):
            await asyncio.sleep(0)
        log.info("lost too")
        await asyncio.sleep(0)

    asyncio.run(handle())
    assert stream.writes == ["lost\n", "lost too\n"]  # each turn's lines tried once, then gone
    assert errors == []


def test_a_warning_is_written_at_once_after_the_lines_kept_before_it() -> None:
    stream = RecordingStream()
    log = turn_buffered(stream)

    async def handle() -> None:
        log.info("accepted")
        log.warning("redis is slow")
        assert stream.writes == ["accepted\nredis is slow\n"]  # not held to the turn's end
        log.info("accepted again")
        await asyncio.sleep(0)

    asyncio.run(handle())
    assert stream.writes == ["accepted\nredis is slow\n", "accepted again\n"]


def test_every_service_logs_through_the_turn_buffered_handler(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("INFO", "text", "ingest")

    async def handle() -> None:
        logging.getLogger("pacer.ingest").info("accepted")
        assert lines(capsys) == []  # kept until the turn is over
        await asyncio.sleep(0)
        [line] = lines(capsys)
        assert line.endswith(" INFO ingest pacer.ingest: accepted")

    asyncio.run(handle())
