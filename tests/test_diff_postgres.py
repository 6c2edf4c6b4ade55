"""PostgresSaver (sync and async) against a real server on loopback."""

from __future__ import annotations

import uuid
from typing import Any

from langgraph.types import Command

from tests.diff import assert_same
from tests.services import postgres_dsn  # noqa: F401  (fixture)
from tests.test_diff_apis import resumable


def _thread() -> dict:
    # each engine's run gets the same fresh thread id inside one comparison
    return {"configurable": {"thread_id": "pg-" + uuid.uuid4().hex}}


def test_postgres_saver(postgres_dsn: str) -> None:  # noqa: F811
    from langgraph.checkpoint.postgres import PostgresSaver
    from psycopg import Connection

    conn = Connection.connect(postgres_dsn, autocommit=True, prepare_threshold=0)
    PostgresSaver(conn).setup()
    cfg = _thread()

    def build():
        saver = PostgresSaver(conn)
        # both engines write the same thread: start each run from an empty one
        saver.delete_thread(cfg["configurable"]["thread_id"])
        return resumable(saver), saver

    def scenario(g: Any) -> list:
        return [g.invoke({"n": 1, "log": []}, cfg), g.invoke(Command(resume="ok"), cfg), g.get_state(cfg).values]

    assert_same(build, scenario, cfg)
    conn.close()


def test_async_postgres_saver(postgres_dsn: str) -> None:  # noqa: F811
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

    async def scenario(_: Any) -> list:
        cfg = {"configurable": {"thread_id": "apg"}}
        async with AsyncPostgresSaver.from_conn_string(postgres_dsn) as saver:
            await saver.setup()
            await saver.adelete_thread("apg")
            g = resumable(saver)
            out = [await g.ainvoke({"n": 2, "log": []}, cfg), await g.ainvoke(Command(resume="ok"), cfg)]
            out.append([(t.metadata, t.checkpoint["channel_values"]) async for t in saver.alist(cfg)])
            return out

    assert_same(lambda: (None, None), scenario)
