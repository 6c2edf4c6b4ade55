"""Conformance: LangGraph's own test suite run with langgraph_rs swapped in.

``python -m langgraph_rs.conformance`` downloads the LangGraph sdist the project
is pinned to, runs its ``tests/`` with the :mod:`.plugin` loaded (which calls
``langgraph_rs.install()`` and fails every test during which LangGraph's own
Python loop ran), and prints the counts. ``expected_pass.txt`` is the ratchet:
``--check`` fails when a listed test no longer passes.
"""

LANGGRAPH_VERSION = "1.2.22"
