import pytest

import langgraph_rs


@pytest.fixture(autouse=True)
def _stock_between_tests():
    """Every test starts and ends on LangGraph's own executor."""
    langgraph_rs.uninstall()
    yield
    langgraph_rs.uninstall()
