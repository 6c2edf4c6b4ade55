"""An offline chat model whose answer depends only on the conversation it is given.

``ScriptedChatModel(script=[turn0, turn1, ...])`` answers the ``k``-th model turn of a
conversation (``k`` = how many of its own answers, recognised by their
``prefix``, it already holds) with ``script[k]``
(the last entry once the script is used up). A turn is either a string (a final
answer) or a list of ``(tool_name, args)`` pairs (tool calls, with ids
``call_<k>_<j>``). Because the answer is a function of the input alone, the
model gives the same result on every run, in any thread order, and again when a
node re-runs after an interrupt. ``bind_tools`` returns the model itself.

With ``stream_tokens=True`` the answer is streamed word by word (so the
``"messages"`` stream mode sees several chunks); the tool calls come in the last
chunk.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from typing import Any

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult


def _turn(messages: Sequence[BaseMessage], prefix: str) -> int:
    """How many answers of the model with this prefix the conversation holds."""
    mine = (f"{prefix} turn ", f"{prefix}: ")
    return sum(1 for m in messages if isinstance(m, AIMessage) and str(m.content).startswith(mine))


class ScriptedChatModel(BaseChatModel):
    script: list[Any]
    prefix: str = "m"
    stream_tokens: bool = False
    fixed_ids: bool = False

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def bind_tools(self, tools: Any, **kwargs: Any) -> ScriptedChatModel:  # type: ignore[override]
        return self

    def answer(self, messages: Sequence[BaseMessage]) -> AIMessage:
        k = _turn(messages, self.prefix)
        step = self.script[min(k, len(self.script) - 1)]
        msg_id = f"{self.prefix}-ai-{k}" if self.fixed_ids else None
        if isinstance(step, str):
            return AIMessage(content=f"{self.prefix}: {step}", id=msg_id)
        calls = [
            {"name": name, "args": dict(args), "id": f"call_{self.prefix}_{k}_{j}", "type": "tool_call"}
            for j, (name, args) in enumerate(step)
        ]
        return AIMessage(content=f"{self.prefix} turn {k}", tool_calls=calls, id=msg_id)

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=self.answer(messages))])

    def _stream(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        if not self.stream_tokens:
            msg = self.answer(messages)
            yield ChatGenerationChunk(
                message=AIMessageChunk(content=msg.content, id=msg.id, tool_calls=msg.tool_calls)
            )
            return
        msg = self.answer(messages)
        words = re.split(r"(\s)", str(msg.content))
        for i, word in enumerate(words):
            last = i == len(words) - 1
            chunk = ChatGenerationChunk(
                message=AIMessageChunk(
                    content=word,
                    id=msg.id,
                    tool_call_chunks=[
                        {"name": c["name"], "args": json.dumps(c["args"], sort_keys=True), "id": c["id"], "index": j}
                        for j, c in enumerate(msg.tool_calls)
                    ]
                    if last
                    else [],
                )
            )
            if run_manager is not None:
                run_manager.on_llm_new_token(word, chunk=chunk)
            yield chunk
