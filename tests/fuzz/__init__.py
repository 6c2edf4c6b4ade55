"""A differential fuzzer: random LangGraph programs run on stock LangGraph and on
langgraph_rs, compared in full (``python -m tests.fuzz --graphs N --seed S``).

Programs come from *families*, each a module with three functions:

    generate(rng: random.Random) -> spec     # a plain-data description
    render(spec) -> str                      # Python source defining build() and run(graph, rec)
    candidates(spec) -> Iterator[spec]       # smaller specs, for shrinking a divergent one

A program is reproducible from its seed alone: the seed picks the family and
drives the generator (``python -m tests.fuzz --replay SEED``).
"""

from __future__ import annotations

import importlib
import random
from types import ModuleType

# family name -> (module, weight)
FAMILIES: dict[str, tuple[str, int]] = {
    "stategraph": ("tests.fuzz.stategraph", 6),
    "functional": ("tests.fuzz.functional", 2),
    "pregel": ("tests.fuzz.pregel", 1),
    "prebuilt": ("tests.fuzz.prebuilt", 2),
}


def family(name: str) -> ModuleType:
    return importlib.import_module(FAMILIES[name][0])


def available() -> list[str]:
    """Families whose module exists (others are skipped, not failed)."""
    out = []
    for name, (mod, _) in FAMILIES.items():
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as exc:
            if exc.name != mod:
                raise
            continue
        out.append(name)
    return out


def program(seed: int, families: list[str]) -> tuple[str, object, str]:
    """(family, spec, source) of the program with this seed."""
    rng = random.Random(seed)
    weights = [FAMILIES[f][1] for f in families]
    name = rng.choices(families, weights)[0]
    fam = family(name)
    spec = fam.generate(rng)
    return name, spec, fam.render(spec)
