"""A small LangGraph agent, run on stock LangGraph and on langgraph_rs.

The agent calls a chat model, which asks for a tool; a ToolNode runs it; the
model answers. State is checkpointed with InMemorySaver. Offline it uses
langchain-core's fake chat model; with OPENAI_API_KEY (and langchain-openai) or
ANTHROPIC_API_KEY (and langchain-anthropic) set, a real model.

    python examples/quickstart.py
"""

from __future__ import annotations

import os
import time
from typing import Any

from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition

import langgraph_rs


@tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"It is sunny and 21°C in {city}."


class ScriptedModel(FakeMessagesListChatModel):
    """Offline stand-in for a tool-calling chat model (langchain-core's fake chat
    model): it asks for the weather tool, then answers from the tool's result."""

    responses: list = []

    def bind_tools(self, tools: Any, **kwargs: Any) -> ScriptedModel:
        return self

    def _generate(self, messages: list, stop: Any = None, run_manager: Any = None, **kwargs: Any) -> Any:
        from langchain_core.outputs import ChatGeneration, ChatResult

        if messages and messages[-1].type == "tool":
            reply = AIMessage(content=f"{messages[-1].content} A good day for a walk.")
        else:
            reply = AIMessage(
                content="",
                tool_calls=[{"name": "get_weather", "args": {"city": "Lisbon"}, "id": "call-1"}],
            )
        return ChatResult(generations=[ChatGeneration(message=reply)])


def scripted_model() -> Any:
    return ScriptedModel()


def chat_model() -> tuple[Any, bool]:
    """(model, offline?)"""
    if os.environ.get("OPENAI_API_KEY"):
        try:
            from langchain_openai import ChatOpenAI

            return ChatOpenAI(model=os.environ.get("OPENAI_MODEL", "gpt-4o-mini")), False
        except ImportError:
            pass
    if os.environ.get("ANTHROPIC_API_KEY"):
        try:
            from langchain_anthropic import ChatAnthropic

            return ChatAnthropic(model=os.environ.get("ANTHROPIC_MODEL", "claude-3-5-haiku-latest")), False
        except ImportError:
            pass
    return None, True


def build(model_factory: Any) -> StateGraph:
    tools = [get_weather]

    def agent(state: MessagesState) -> dict:
        model = model_factory().bind_tools(tools)
        return {"messages": [model.invoke(state["messages"])]}

    graph = StateGraph(MessagesState)
    graph.add_node("agent", agent)
    graph.add_node("tools", ToolNode(tools))
    graph.add_edge(START, "agent")
    graph.add_conditional_edges("agent", tools_condition)
    graph.add_edge("tools", "agent")
    return graph


def transcript(result: dict) -> list[tuple[str, str]]:
    return [(m.type, m.content or str(getattr(m, "tool_calls", ""))) for m in result["messages"]]


def per_invoke_us(app: Any, n: int) -> float:
    start = time.perf_counter()
    for i in range(n):
        app.invoke(
            {"messages": [("user", "What's the weather in Lisbon?")]},
            {"configurable": {"thread_id": f"bench-{i}"}},
        )
    return (time.perf_counter() - start) / n * 1e6


def main() -> None:
    real, offline = chat_model()
    factory = scripted_model if offline else (lambda: real)
    question = {"messages": [("user", "What's the weather in Lisbon?")]}
    config = {"configurable": {"thread_id": "quickstart"}}

    stock_app = build(factory).compile(checkpointer=InMemorySaver())
    rs_app = langgraph_rs.compile(build(factory), checkpointer=InMemorySaver())

    stock = transcript(stock_app.invoke(question, config))
    ours = transcript(rs_app.invoke(question, config))
    print(f"model: {'offline fake chat model' if offline else type(real).__name__}")
    print("stock LangGraph :", stock[-1][1])
    print("langgraph_rs    :", ours[-1][1])
    if offline:
        assert ours == stock, (stock, ours)
        assert rs_app.get_state(config).values.keys() == stock_app.get_state(config).values.keys()
        print("results identical:", ours == stock)
        n = 200
        per_invoke_us(stock_app, 20)
        per_invoke_us(rs_app, 20)
        s = per_invoke_us(stock_app, n)
        r = per_invoke_us(rs_app, n)
        print(f"per invoke ({n} runs, 3 supersteps + tool call): stock {s:.0f} µs, langgraph_rs {r:.0f} µs, speedup {s / r:.2f}x")


if __name__ == "__main__":
    main()
