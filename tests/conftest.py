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
    """Parallel tasks that ``pause`` finish at least 50 ms apart: 10 ms is within
    the scheduling jitter of a loaded 2-core machine, which would reorder a
    stream on either engine."""
    from tests.fuzz import support

    monkeypatch.setattr(support, "GAP", max(support.GAP, 0.05))
