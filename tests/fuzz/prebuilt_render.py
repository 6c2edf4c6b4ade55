"""Render a "prebuilt" family spec (see :mod:`tests.fuzz.prebuilt`) as Python source
defining ``build()`` and ``run(graph, rec)``."""

from __future__ import annotations

import re
from typing import Any

from tests.fuzz.prebuilt_blocks import (
    ANSWER, ASK, COMMAND_IDS, LATER, REVIEW, SUFFIX, TOOL_ERROR, TOOL_IDS, render_run,
)

ECOSYSTEM = ["whole_state", "messages_field", "remember", "with_runtime", "commanding", "failing"]

TITLES = {
    "toolnode": "an agent node and a ToolNode called by {route}",
    "react": "create_react_agent ({version})",
    "agent": "langchain's create_agent with middleware",
    "supervisor": "langgraph-supervisor: a supervisor over two {workers} workers",
    "swarm": "langgraph-swarm: two {workers} agents handing off to each other",
}
ROUTES = {"condition": "tools_condition", "send": "Send", "context": "Send of ToolCallWithContext"}
WORKERS = {"react": "create_react_agent", "agent": "create_agent"}

SAVERS = {
    "none": "None",
    "memory": "InMemorySaver()",
    "sqlite": "SqliteSaver(sqlite3.connect(':memory:', check_same_thread=False))",
}

def _turn(turn: Any) -> str:
    if isinstance(turn, str):
        return repr(turn)
    calls = ", ".join(f"({name!r}, {{}})" if q is None else f"({name!r}, {{'q': {q!r}}})" for name, q in turn)
    return f"[{calls}]"


def _called(agent: dict[str, Any]) -> set[str]:
    return {n for t in agent["script"] if isinstance(t, list) for n, _ in t}


def _extra_tools(agent: dict[str, Any]) -> list[str]:
    """The tools defined in the program that this agent's model calls."""
    return [t for t in ("ask", "later") if t in _called(agent)]


def _ids(spec: dict[str, Any]) -> str | None:
    """The wrapper giving ToolMessages ids (needed when checkpointed), if any."""
    if spec["saver"] == "none":
        return None
    return "command_ids" if len(spec["agents"]) > 1 else "tool_ids"


IMPORTS = [
    ("langchain.agents", ["create_agent"]),
    ("langchain.agents.middleware", [
        "AgentMiddleware", "HumanInTheLoopMiddleware", "ModelCallLimitMiddleware",
        "ToolCallLimitMiddleware", "ToolErrorMiddleware", "after_model", "before_model",
    ]),
    ("langchain.agents.structured_output", ["ToolStrategy"]),
    ("langchain_core.messages", ["HumanMessage", "SystemMessage", "ToolMessage"]),
    ("langchain_core.tools", ["tool"]),
    ("langgraph.checkpoint.memory", ["InMemorySaver"]),
    ("langgraph.checkpoint.sqlite", ["SqliteSaver"]),
    ("langgraph.config", ["get_stream_writer"]),
    ("langgraph.graph", ["END", "START", "MessagesState", "StateGraph"]),
    ("langgraph.prebuilt", ["ToolNode", "create_react_agent", "tools_condition"]),
    ("langgraph.prebuilt.tool_node", ["ToolCallWithContext"]),
    ("langgraph.store.memory", ["InMemoryStore"]),
    ("langgraph.types", ["Command", "Send", "interrupt"]),
    ("langgraph_supervisor", ["create_supervisor"]),
    ("langgraph_supervisor.handoff", ["create_handoff_tool"]),
    ("langgraph_swarm", ["create_handoff_tool", "create_swarm"]),
    ("typing_extensions", ["TypedDict"]),
    ("", []),
    ("tests.ecosystem", [*ECOSYSTEM, "atool_ids", "tool_ids"]),
    ("tests.fuzz.scripted_model", ["ScriptedChatModel"]),
    ("tests.fuzz.support", ["apause", "pause"]),
]


USES = {"tool": r"@tool\b", "interrupt": r"\binterrupt\("}  # (not the words in comments)


def _imports(spec: dict[str, Any], body: str) -> list[str]:
    """The imports of the names ``body`` uses."""
    lines = [m for m in ("sqlite3", "warnings") if re.search(rf"\b{m}\.", body)]
    lines = [f"import {m}" for m in lines] + ([""] if lines else [])
    for module, names in IMPORTS:
        if module == "langgraph_supervisor.handoff" and spec["kind"] != "supervisor":
            continue
        if module == "langgraph_swarm" and spec["kind"] != "swarm":
            continue
        used = sorted(n for n in names if re.search(USES.get(n, rf"(?<![\w.]){n}\b"), body))
        if not module:
            lines.append("")
        elif used and len(f"from {module} import {', '.join(used)}") > 100:
            lines += [f"from {module} import (", *[f"    {n}," for n in used], ")"]
        elif used:
            lines.append(f"from {module} import {', '.join(used)}")
    return lines


def _header(spec: dict[str, Any]) -> list[str]:
    lines = []
    if any(c["extra"] and c["extra"].startswith("context=") for c in spec["calls"]):
        lines += ["", "# with a context, the ToolRuntime among a tool's pydantic arguments warns when dumped"]
        lines.append('warnings.filterwarnings("ignore", message="Pydantic serializer warnings")')
    lines += ["", 'HI = {"messages": [HumanMessage("hi", id="h1")]}', 'MORE = {"messages": [HumanMessage("more", id="h2")]}']
    extra = {t for a in spec["agents"] for t in _extra_tools(a)}
    blocks = [ASK] if "ask" in extra else []
    blocks += [LATER] if "later" in extra else []
    if _ids(spec) == "command_ids":
        blocks.append(COMMAND_IDS)
    if (spec["kind"] == "agent" or spec["workers"] == "agent") and _ids(spec):
        blocks.append(TOOL_IDS.format(ids=_ids(spec)))
    if spec["errors"] == "all" and "agent" in (spec["kind"], spec["workers"]):
        blocks.append(TOOL_ERROR)
    if "wrap" in spec["hooks"]:
        blocks.append(SUFFIX)
    if spec["structured"]:
        blocks.append(ANSWER)
    if spec["hitl"]:
        blocks.append(f"DECISIONS = {spec['hitl']['decisions']!r}\n\n" + REVIEW)
    for block in blocks:
        lines += ["", "", block.strip("\n")]
    lines += ["", "", "# each model's answers, turn by turn: (parallel) tool calls, a final answer last"]
    for agent in spec["agents"]:
        lines += [f"{agent['name'].upper()} = ["] + [f"    {_turn(t)}," for t in agent["script"]] + ["]"]
    return lines + [""]


def _tool_list(spec: dict[str, Any], agent: dict[str, Any]) -> list[str]:
    names = list(agent["tools"]) + _extra_tools(agent)
    others = [a["name"] for a in spec["agents"] if a is not agent]
    if spec["kind"] == "swarm":
        names += [f'create_handoff_tool(agent_name="{name}")' for name in others]
    if spec["kind"] == "supervisor" and agent is spec["agents"][0]:
        names += [f'create_handoff_tool(agent_name="{name}")' for name in others]
    return names


def _tool_node(spec: dict[str, Any], agent: dict[str, Any], bare_list_ok: bool) -> str:
    """The agent's tools: a ToolNode (whose ToolMessages get ids when checkpointed)."""
    tools = f"[{', '.join(_tool_list(spec, agent))}]"
    args = [tools]
    if spec["errors"] != "default":
        args.append(f"handle_tool_errors={spec['errors'] == 'all'}")
    if ids := _ids(spec):
        args.append(f"wrap_tool_call={ids}, awrap_tool_call=a{ids}")
    if bare_list_ok and len(args) == 1:
        return tools
    return f"ToolNode({', '.join(args)})"


def _model(spec: dict[str, Any], agent: dict[str, Any]) -> str:
    tokens = ", stream_tokens=True" if spec["tokens"] else ""
    return f"ScriptedChatModel(script={agent['name'].upper()}, prefix={agent['name']!r}{tokens})"


def _compile_args(spec: dict[str, Any]) -> list[str]:
    args = ["checkpointer=saver"]
    if spec["store"]:
        args.append("store=InMemoryStore()")
    if spec["ib"] and len(spec["agents"]) == 1:
        args.append('interrupt_before=["tools"]')
    return args


def _call(func: str, args: list[str], indent: str = "    ") -> list[str]:
    if len(", ".join(args)) < 70:
        return [f"{func}({', '.join(args)})"]
    return [f"{func}(", *[f"{indent}    {a}," for a in args], f"{indent})"]


def _build_toolnode(spec: dict[str, Any]) -> list[str]:
    agent = spec["agents"][0]
    lines = [f"    model = {_model(spec, agent)}", ""]
    a, aw = ("async ", "await ") if spec["is_async"] else ("", "")
    lines += [f"    {a}def agent(state: MessagesState):"]
    lines += [f'        return {{"messages": [{aw}model.{a[:1]}invoke(state["messages"])]}}', ""]
    route = "tools_condition"
    if spec["route"] != "condition":
        route = "route"
        lines += ["    def route(state: MessagesState):", '        calls = state["messages"][-1].tool_calls']
        lines += ["        if not calls:", "            return END"]
        if spec["route"] == "send":
            lines.append('        return [Send("tools", [call]) for call in calls]')
        else:
            send = 'Send("tools", ToolCallWithContext(__type="tool_call_with_context", tool_call=call, state=state))'
            lines += ["        return [", f"            {send}", "            for call in calls", "        ]"]
        lines.append("")
    lines += [
        "    g = StateGraph(MessagesState)",
        '    g.add_node("agent", agent)',
        f'    g.add_node("tools", {_tool_node(spec, agent, False)})',
        '    g.add_edge(START, "agent")',
        f'    g.add_conditional_edges("agent", {route}, ["tools", END])',
        '    g.add_edge("tools", "agent")',
        f"    return g.compile({', '.join(_compile_args(spec))}), saver",
    ]
    return lines


def _hook(spec: dict[str, Any], name: str, body: list[str], deco: str | None = None) -> list[str]:
    a = "async " if spec["is_async"] else ""
    head = [f"    @{deco}"] if deco else []
    return head + [f"    {a}def {name}(state{', runtime' if deco else ''}):"] + [f"        {b}" for b in body] + [""]


def _build_react(spec: dict[str, Any]) -> list[str]:
    agent = spec["agents"][0]
    lines: list[str] = []
    args = [_model(spec, agent), _tool_node(spec, agent, True)]
    if spec["prompt"]:
        args.append('prompt="Answer briefly."')
    if "pre" in spec["hooks"]:
        lines += _hook(spec, "pre_model", [
            'get_stream_writer()({"pre_model": len(state["messages"])})',
            'return {"llm_input_messages": [SystemMessage("context"), *state["messages"]]}',
        ])
        args.append("pre_model_hook=pre_model")
    if "post" in spec["hooks"]:
        lines += _hook(spec, "post_model", ['get_stream_writer()({"post_model": len(state["messages"])})', "return {}"])
        args.append("post_model_hook=post_model")
    args += [f'version="{spec["version"]}"', *_compile_args(spec)]
    return [""] + lines + ["    graph = " + "\n".join(_call("create_react_agent", args)), "    return graph, saver"]


def _middleware(spec: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(hook definitions, the middleware list) of create_agent."""
    hooks = spec["hooks"]
    lines: list[str] = []
    middleware = ["ToolIds()"] if _ids(spec) else []
    if spec["errors"] == "all":
        middleware.append("ToolErrorMiddleware(tool_error)")
    if "wrap" in hooks:
        middleware.append("Suffix()")
    if spec["hitl"]:
        gated = ", ".join(f"{t!r}: True" for t in spec["hitl"]["tools"])
        middleware.append(f'HumanInTheLoopMiddleware({{{gated}}}, interrupt_mode="{spec["hitl"]["mode"]}")')
    if "before" in hooks:
        lines += _hook(spec, "before", ['runtime.stream_writer({"before_model": len(state["messages"])})'], "before_model")
        middleware.append("before")
    if "after" in hooks:
        lines += _hook(spec, "after", ['runtime.stream_writer({"after_model": len(state["messages"])})'], "after_model")
        middleware.append("after")
    if "jump" in hooks:
        body = ['answers = [m for m in state["messages"] if m.type == "ai"]']
        body += ["if len(answers) >= 2:", '    return {"jump_to": "end"}']
        lines += _hook(spec, "stop", body, 'after_model(can_jump_to=["end"])')
        middleware.append("stop")
    if "model_limit" in hooks:
        middleware.append('ModelCallLimitMiddleware(thread_limit=4, run_limit=2, exit_behavior="end")')
    if "tool_limit" in hooks:
        middleware.append("ToolCallLimitMiddleware(run_limit=2)")
    return lines, middleware


def _build_agent(spec: dict[str, Any]) -> list[str]:
    agent = spec["agents"][0]
    lines, middleware = _middleware(spec)
    if len(", ".join(middleware)) > 60:
        lines += ["    middleware = [", *[f"        {m}," for m in middleware], "    ]"]
        middleware = ["middleware=middleware"]
    else:
        middleware = [f"middleware=[{', '.join(middleware)}]"]
    args = [_model(spec, agent), f"[{', '.join(_tool_list(spec, agent))}]", *middleware]
    if spec["prompt"]:
        args.append('system_prompt="Answer briefly."')
    if spec["structured"]:
        args.append("response_format=ToolStrategy(Answer)")
    args += _compile_args(spec)
    return [""] + lines + ["    graph = " + "\n".join(_call("create_agent", args)), "    return graph, saver"]


def _worker(spec: dict[str, Any], agent: dict[str, Any]) -> list[str]:
    if spec["workers"] == "agent":
        args = [_model(spec, agent), f"[{', '.join(_tool_list(spec, agent))}]"]
        middleware = ["ToolIds()"] if _ids(spec) else []
        middleware += ["ToolErrorMiddleware(tool_error)"] if spec["errors"] == "all" else []
        args += [f"middleware=[{', '.join(middleware)}]"] if middleware else []
    else:
        args = [_model(spec, agent), _tool_node(spec, agent, True)]
    args += ['interrupt_before=["tools"]'] if spec["ib"] and agent["tools"] else []
    args.append(f'name="{agent["name"]}"')
    func = "create_agent" if spec["workers"] == "agent" else "create_react_agent"
    return [f'    {agent["name"]} = ' + "\n".join(_call(func, args))]


def _build_supervisor(spec: dict[str, Any]) -> list[str]:
    sup, *workers = spec["agents"]
    lines = [line for w in workers for line in _worker(spec, w)]
    args = [
        f"[{', '.join(w['name'] for w in workers)}]",
        f"model={_model(spec, sup)}",
        f"tools={_tool_node(spec, sup, False)}",
        f'output_mode="{spec["output_mode"]}"',
        f"add_handoff_back_messages={spec['handback']}",
    ]
    lines += ["    workflow = " + "\n".join(_call("create_supervisor", args))]
    return lines + [f"    return workflow.compile({', '.join(_compile_args(spec))}), saver"]


def _build_swarm(spec: dict[str, Any]) -> list[str]:
    lines = [line for a in spec["agents"] for line in _worker(spec, a)]
    names = ", ".join(a["name"] for a in spec["agents"])
    lines.append(f'    workflow = create_swarm([{names}], default_active_agent="{spec["agents"][0]["name"]}")')
    return lines + [f"    return workflow.compile({', '.join(_compile_args(spec))}), saver"]


BUILDERS = {
    "toolnode": _build_toolnode,
    "react": _build_react,
    "agent": _build_agent,
    "supervisor": _build_supervisor,
    "swarm": _build_swarm,
}


def async_run(spec: dict[str, Any]) -> bool:
    """Whether ``run`` is async: async programs, and sync ones run with ainvoke/astream."""
    return spec["is_async"] or any(c["method"] in ("ainvoke", "astream") for c in spec["calls"])


def render(spec: dict[str, Any]) -> str:
    title = TITLES[spec["kind"]].format(
        route=ROUTES.get(spec["route"] or ""), version=spec["version"], workers=WORKERS.get(spec["workers"] or "")
    )
    lines = _header(spec) + ["", "def build():", f"    saver = {SAVERS[spec['saver']]}"]
    lines += BUILDERS[spec["kind"]](spec)
    body = "\n".join(lines) + "\n\n" + render_run(spec["calls"], async_run(spec))
    head = [f'"""A generated program (tests.fuzz.prebuilt): {title}."""', "", *_imports(spec, body)]
    return "\n".join(head) + "\n" + body
