"""Real services for the tests, started on loopback from the test setup.

``postgres_dsn``: a throwaway PostgreSQL cluster (Debian's ``postgresql``
package: installed with apt-get when missing and we are root) in a temporary
directory, on a free port (``langgraph_rs.conformance.services``, which also
starts the services LangGraph's own suite looks for). Tests using it are
skipped, with the reason, only when no server can be had.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from langgraph_rs.conformance import services


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    if services.postgres_bin() is None:
        pytest.skip("PostgreSQL server binaries are not installed (Debian package postgresql)")
    with services.postgres(services.free_port()) as dsn:
        yield dsn
