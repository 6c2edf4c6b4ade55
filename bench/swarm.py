"""Documents through a supervisor graph: throughput and CPU per document.

N documents (1,000; 50 with --quick) are processed at once, one ``ainvoke`` of a
``langgraph_supervisor.create_supervisor`` graph each, with 3 worker agents
(``create_react_agent``). Every model is an offline scripted chat model whose
answer depends only on the conversation it is given, and which awaits
``asyncio.sleep(0.01)`` per call, as a remote model's latency would. Per
document: the supervisor hands off to each worker in turn (4 supervisor calls);
each worker calls its tool once, then answers (2 calls each): 10 model calls.

Reported per engine: documents per second (wall clock) and CPU-seconds per
document = the process's CPU time over the batch / N. The sleeps cost no CPU, so
this is the engine's CPU plus what the fake models and tools themselves compute
(langchain-core's model and tool plumbing), which is the same work on both
engines; the difference between the two columns is the engines' difference.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from harness import Case, Cfg, Row, interleaved, median
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.tools import tool

GROUP = "swarm"
LATENCY = 0.01
WORKERS = ("reader", "tagger", "summarizer")


class SlowScriptedModel(BaseChatModel):
    """Answers the k-th turn of a conversation (k = its own earlier answers in
    it, recognised by ``name``) with ``script[k]``: a list of ``(tool, args)``
    calls or a final string. Each call first awaits ``latency`` seconds."""

    script: list[Any]
    name: str
    latency: float = LATENCY

    @property
    def _llm_type(self) -> str:
        return "slow-scripted"

    def bind_tools(self, tools: Any, **kwargs: Any) -> SlowScriptedModel:  # type: ignore[override]
        return self

    def answer(self, messages: list[BaseMessage]) -> AIMessage:
        k = sum(1 for m in messages if isinstance(m, AIMessage) and m.name == self.name)
        step = self.script[min(k, len(self.script) - 1)]
        if isinstance(step, str):
            return AIMessage(content=step, name=self.name)
        calls = [
            {"name": t, "args": dict(a), "id": f"{self.name}_{k}_{j}", "type": "tool_call"}
            for j, (t, a) in enumerate(step)
        ]
        return AIMessage(content="", tool_calls=calls, name=self.name)

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None,
                  **kwargs: Any) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=self.answer(messages))])

    async def _agenerate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None,
                         **kwargs: Any) -> ChatResult:
        await asyncio.sleep(self.latency)
        return self._generate(messages)


def _tool(worker: str) -> Any:
    @tool(f"{worker}_tool")
    def work(text: str) -> str:
        """Process a document's text."""
        return f"{worker}: {len(text)} chars"

    return work


def supervisor_graph(latency: float = LATENCY) -> Any:
    from langgraph.prebuilt import create_react_agent
    from langgraph_supervisor import create_supervisor

    agents = []
    for w in WORKERS:
        model = SlowScriptedModel(
            name=w, latency=latency, script=[[(f"{w}_tool", {"text": "doc"})], f"{w} done"]
        )
        agents.append(create_react_agent(model, [_tool(w)], name=w))
    boss = SlowScriptedModel(
        name="supervisor", latency=latency,
        script=[[(f"transfer_to_{w}", {})] for w in WORKERS] + ["all done"],
    )
    return create_supervisor(agents, model=boss).compile()


def run_docs(graph: Any, n: int) -> tuple[float, float, list[Any]]:
    """(wall seconds, process CPU seconds, results) for n documents at once."""

    async def many() -> tuple[float, float, list[Any]]:
        wall, cpu = time.perf_counter(), time.process_time()
        out = await asyncio.gather(
            *(graph.ainvoke({"messages": [HumanMessage(f"document {i}")]}) for i in range(n))
        )
        return time.perf_counter() - wall, time.process_time() - cpu, out

    return asyncio.run(many())


def check(results: list[Any]) -> None:
    for r in results:
        last = r["messages"][-1]
        if last.content != "all done":
            raise AssertionError(f"a document did not finish: last message {last!r}")


def swarm(cfg: Cfg) -> list[Row]:
    import harness

    n = cfg.docs
    graph = supervisor_graph()
    for engine in harness.ENGINES:  # warm up, and check the graph does what it should
        harness.use(engine)
        check(run_docs(graph, 2)[2])
    cpu: dict[str, list[float]] = {e: [] for e in harness.ENGINES}

    def batch(engine: str, calls: int) -> float:
        wall, used, results = run_docs(graph, n)
        check(results)
        cpu[engine].append(used / n)
        return n / wall

    rounds = min(cfg.rounds, 3)
    rate, peaks = interleaved(batch, 1, rounds)
    steps = f"{n} docs at once, 3 workers, 10 model calls/doc at {LATENCY * 1e3:.0f} ms each"
    docs = Row(
        f"swarm_{n}_docs_per_s", GROUP, "docs/s", median(rate["stock"]), median(rate["ours"]),
        rss_stock_mb=peaks["stock"], rss_ours_mb=peaks["ours"], rounds=rounds, calls=n, samples=rate,
        note=f"documents per second (higher is better); {steps}",
    ).finish(higher_is_better=True)
    ms = {e: [v * 1e3 for v in vs] for e, vs in cpu.items()}
    cpu_row = Row(
        f"swarm_{n}_cpu_per_doc", GROUP, "CPU ms", median(ms["stock"]), median(ms["ours"]),
        rss_stock_mb=peaks["stock"], rss_ours_mb=peaks["ours"], rounds=rounds, calls=n, samples=ms,
        note="process CPU ms per document (the model sleeps cost none; the fake models' and tools' "
        "own CPU is included, the same on both engines)",
    ).finish()
    return [docs, cpu_row]


def cases(cfg: Cfg) -> list[Case]:
    return [Case("swarm", GROUP, swarm, "supervisor + 3 workers over N documents")]
