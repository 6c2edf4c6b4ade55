"""Programs whose divergence is known and open: the seed, and why.

A known seed still runs and its outcome is printed (``KNOWN``), but it does not
fail the run; once it no longer diverges the run says so (``FIXED``), so the
entry is removed. Every entry is a defect to fix, not a difference to accept:
each names what the engine does not model yet.
"""

from __future__ import annotations

KNOWN: dict[int, str] = {}
