"""Python logging → the logMessage event, without blocking the caller."""

from __future__ import annotations

import asyncio
import logging
import traceback
from typing import Any

from dmcs.sal.topics.writer import TopicWriter


class LogForwarder(logging.Handler):
    """Publishes each record of the CSC's logger as a logMessage event."""

    def __init__(self, writer: TopicWriter) -> None:
        super().__init__()
        self.writer = writer
        self._loop = asyncio.get_running_loop()
        self._pending: set[asyncio.Future[bool]] = set()

    def emit(self, record: logging.LogRecord) -> None:
        fields = dict(
            name=record.name, level=record.levelno, message=record.getMessage()[:2000],
            traceback="".join(traceback.format_exception(*record.exc_info))[:4000]
            if record.exc_info else "",
            filePath=record.pathname, functionName=record.funcName,
            lineNumber=record.lineno, process=record.process or 0, timestamp=record.created,
        )
        self._loop.call_soon_threadsafe(self._publish, fields)

    def _publish(self, fields: dict[str, Any]) -> None:
        task = asyncio.ensure_future(self.writer.set_write(**fields))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
