"""The native helpers the loop asks about a task's writes answer as the Python
expressions they replace, for writes as tuples and as lists (cached writes come
back from a saver as lists)."""

from __future__ import annotations

import random

import pytest

from langgraph_rs import _native

CHANNELS = ["a", "b", "__interrupt__", "__error__", "branch:to:x"]


def writes(rnd: random.Random) -> list:
    out = []
    for _ in range(rnd.randint(0, 4)):
        pair = (rnd.choice(CHANNELS), rnd.randint(0, 9))
        out.append(pair if rnd.random() < 0.5 else list(pair))
    return out


def test_answers_equal_the_python_expressions() -> None:
    rnd = random.Random(3)
    for _ in range(2000):
        ws = writes(rnd)
        names = frozenset(rnd.sample(CHANNELS, rnd.randint(0, 3)))
        keys = rnd.choice(["a", ["a", "b"], ["__error__"], []])
        assert _native.all_written_in(ws, names) == all(w[0] in names for w in ws)
        expected = any(c == keys for c, _ in ws) if isinstance(keys, str) else any(c in keys for c, _ in ws)
        assert _native.any_written_in(ws, keys) == expected
        updated = [w[0] for w in ws]
        expected = keys in updated if isinstance(keys, str) else any(k in keys for k in updated)
        assert _native.any_in(updated, keys) == expected
        pending: list = [("t0", "a", 1)]
        _native.extend_pending(pending, "t1", ws)
        assert pending == [("t0", "a", 1)] + [("t1", c, v) for c, v in ws]


@pytest.mark.parametrize("bad", [("a",), ("a", 1, 2)])
def test_a_write_that_is_not_a_pair_fails_as_unpacking_does(bad: tuple) -> None:
    with pytest.raises(ValueError) as want:
        [(c, v) for c, v in [bad]]
    with pytest.raises(ValueError) as got:
        _native.extend_pending([], "t", [bad])
    assert str(got.value) == str(want.value)
