import gc

import pytest

import langgraph_rs


@pytest.fixture(autouse=True)
def _stock_between_tests():
    """Every test starts and ends on LangGraph's own executor."""
    langgraph_rs.uninstall()
    yield
    langgraph_rs.uninstall()


@pytest.fixture
def spaced_pauses(monkeypatch: pytest.MonkeyPatch) -> None:
    """Parallel tasks that ``pause`` finish at least 80 ms apart: 10 ms is within
    the scheduling jitter of a loaded 2-core machine, and a full garbage
    collection after a test that left many objects behind stops every thread
    for tens of ms; either would reorder a stream on either engine (50 ms was
    seen to, once in a few hundred runs)."""
    from tests.fuzz import support

    gc.collect()
    monkeypatch.setattr(support, "GAP", max(support.GAP, 0.08))
