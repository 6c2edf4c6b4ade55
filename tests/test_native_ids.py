"""Checkpoint ids made natively (rust/py/ids.rs) against LangGraph's
``str(uuid6(clock_seq=step))``: the same layout, and one increasing order when
both generators hand out ids in turn."""

from __future__ import annotations

import uuid

import langgraph.checkpoint.base.id as lg_id
import pytest

from langgraph_rs import _native


@pytest.mark.parametrize("step", [-2, -1, 0, 1, 7, 0x3FFF, 0x4001])
def test_an_id_is_a_uuid6_carrying_the_step_as_langgraphs(step: int) -> None:
    ours = uuid.UUID(_native.checkpoint_id(step))
    theirs = lg_id.uuid6(clock_seq=step)
    assert ours.version == theirs.version == 6
    assert ours.variant == theirs.variant == uuid.RFC_4122
    assert ours.clock_seq == theirs.clock_seq == step & 0x3FFF
    assert abs(lg_id.UUID(str(ours)).time - theirs.time) < 10**9  # 100 s in 100-ns units: one clock


def test_ids_of_both_generators_interleave_in_one_increasing_order() -> None:
    ids = []
    for i in range(2000):
        if i % 3:
            ids.append(_native.checkpoint_id(i))
        else:
            ids.append(str(lg_id.uuid6(clock_seq=i)))
    times = [lg_id.UUID(i).time for i in ids]
    assert times == sorted(times)
    assert len(set(times)) == len(times)
    # the ids sort as they were made: savers list checkpoints by id
    assert ids == sorted(ids)


def test_the_node_part_is_random() -> None:
    nodes = {uuid.UUID(_native.checkpoint_id(1)).node for _ in range(64)}
    assert len(nodes) > 60


def test_timestamps_are_langgraphs_isoformat_of_now() -> None:
    from datetime import datetime, timezone

    before = datetime.now(timezone.utc)
    stamps = [_native.now_iso() for _ in range(200)]
    after = datetime.now(timezone.utc)
    for ts in stamps:
        parsed = datetime.fromisoformat(ts)
        assert parsed.isoformat() == ts  # the same text datetime.isoformat() writes
        assert parsed.tzinfo == timezone.utc
        assert before <= parsed <= after
