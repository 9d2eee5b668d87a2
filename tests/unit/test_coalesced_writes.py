"""An HTTP connection's writes of one loop turn go out together (``shared.serving``)."""

from __future__ import annotations

import asyncio
from typing import Any

from shared.serving import _CoalescedWrites


class RecordingTransport:
    """What the connection's real transport was asked to do, in order."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.closing = False

    def write(self, data: bytes) -> None:
        self.calls.append(("write", data))

    def close(self) -> None:
        self.calls.append(("close", None))
        self.closing = True

    def write_eof(self) -> None:
        self.calls.append(("write_eof", None))

    def abort(self) -> None:
        self.calls.append(("abort", None))
        self.closing = True

    def is_closing(self) -> bool:
        return self.closing

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 8000) if name == "sockname" else default


def run(steps: Any) -> RecordingTransport:
    """Runs ``steps(writes)`` on a loop, then lets the loop turn twice more."""
    transport = RecordingTransport()

    async def main() -> None:
        writes = _CoalescedWrites(transport, asyncio.get_running_loop())  # type: ignore[arg-type]
        await steps(writes, transport)
        await asyncio.sleep(0)
        await asyncio.sleep(0)

    asyncio.run(main())
    return transport


def test_an_answers_head_and_body_go_out_in_one_write_on_the_next_turn() -> None:
    async def steps(writes: _CoalescedWrites, transport: RecordingTransport) -> None:
        writes.write(b"HTTP/1.1 202 Accepted\r\ncontent-length: 2\r\n\r\n")
        writes.write(b"{}")
        writes.write(b"")  # h11's end of a sized message
        assert transport.calls == []  # nothing yet: the turn is not over
        await asyncio.sleep(0)
        assert transport.calls == [
            ("write", b"HTTP/1.1 202 Accepted\r\ncontent-length: 2\r\n\r\n{}")
        ]
        writes.write(b"next")  # the next answer on the kept-alive connection: its own write

    assert run(steps).calls[1:] == [("write", b"next")]


def test_what_is_held_is_written_before_the_connection_closes_or_half_closes() -> None:
    async def steps(writes: _CoalescedWrites, transport: RecordingTransport) -> None:
        writes.write(b"head")
        writes.write_eof()
        writes.write(b"body")
        writes.close()

    assert run(steps).calls == [
        ("write", b"head"),
        ("write_eof", None),
        ("write", b"body"),
        ("close", None),
    ]


def test_a_long_answer_is_not_held_past_the_bound() -> None:
    chunk = b"x" * 40_000

    async def steps(writes: _CoalescedWrites, transport: RecordingTransport) -> None:
        writes.write(chunk)
        assert transport.calls == []
        writes.write(chunk)  # 80,000 bytes held: past the bound, out at once
        assert transport.calls == [("write", chunk + chunk)]
        writes.write(b"end")

    assert run(steps).calls == [("write", chunk + chunk), ("write", b"end")]


def test_an_aborted_or_lost_connection_takes_nothing_more() -> None:
    async def aborted(writes: _CoalescedWrites, transport: RecordingTransport) -> None:
        writes.write(b"held")
        writes.abort()

    assert run(aborted).calls == [("abort", None)]

    async def lost(writes: _CoalescedWrites, transport: RecordingTransport) -> None:
        writes.write(b"held")
        transport.closing = True  # the peer went away before the next turn

    assert run(lost).calls == []


def test_everything_else_is_the_transports_own() -> None:
    async def steps(writes: _CoalescedWrites, transport: RecordingTransport) -> None:
        assert writes.get_extra_info("sockname") == ("127.0.0.1", 8000)
        assert not writes.is_closing()
        writes.writelines([b"a", b"b"])

    assert run(steps).calls == [("write", b"ab")]
