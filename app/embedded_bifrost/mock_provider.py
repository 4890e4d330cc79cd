"""The deterministic mock provider behind the embedded server's ``POST /v1/chat/completions``.

No model runs: the same messages always get the same answer and the same token counts, so tests can predict
what a request is charged.

* prompt tokens: ``ceil(characters / 4)`` over the text of every message (at least 1);
* completion tokens: half the prompt tokens, at least :data:`MIN_COMPLETION_TOKENS` and at most
  :data:`MAX_COMPLETION_TOKENS`, and never more than the request's ``max_completion_tokens``/``max_tokens``
  (then ``finish_reason`` is ``length``);
* content: a fixed sentence naming the model, cut to four characters per completion token.

Example:
    >>> reply = complete("gpt-4o-mini", [{"role": "user", "content": "Hello there"}])
    >>> reply.prompt_tokens, reply.completion_tokens, reply.finish_reason
    (3, 8, 'stop')
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["MAX_COMPLETION_TOKENS", "MIN_COMPLETION_TOKENS", "Completion", "complete", "prompt_tokens_of"]

MIN_COMPLETION_TOKENS = 8
MAX_COMPLETION_TOKENS = 256
_CHARS_PER_TOKEN = 4


@dataclass(frozen=True, slots=True)
class Completion:
    """What the mock provider answers.

    Attributes:
        content: The assistant message.
        prompt_tokens: Tokens billed for the input.
        completion_tokens: Tokens billed for the output.
        finish_reason: ``stop``, or ``length`` when the request's token cap cut the answer.
    """

    content: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str

    @property
    def total_tokens(self) -> int:
        """Prompt and completion tokens together."""
        return self.prompt_tokens + self.completion_tokens


def _text_of(content: Any) -> str:
    # OpenAI's content is a string or a list of parts, of which only text parts carry tokens here.
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part["text"] for part in content if isinstance(part, dict) and isinstance(part.get("text"), str))
    return ""


def prompt_tokens_of(messages: Sequence[dict[str, Any]]) -> int:
    """The prompt tokens of a request's messages: a quarter of their characters, rounded up, at least 1."""
    characters = sum(len(_text_of(message.get("content"))) for message in messages)
    return max(1, math.ceil(characters / _CHARS_PER_TOKEN))


def complete(model: str, messages: Sequence[dict[str, Any]], max_tokens: int | None = None) -> Completion:
    """Answer a chat completion.

    Args:
        model: The model name (without the provider), named in the answer.
        messages: The request's messages (already validated to be objects).
        max_tokens: The request's cap on completion tokens, if any (a positive integer).
    """
    prompt_tokens = prompt_tokens_of(messages)
    wanted = min(max(prompt_tokens // 2, MIN_COMPLETION_TOKENS), MAX_COMPLETION_TOKENS)
    completion_tokens = wanted if max_tokens is None else min(wanted, max_tokens)
    sentence = f"This is a deterministic reply from the mock {model} model. "
    length = completion_tokens * _CHARS_PER_TOKEN
    content = (sentence * (length // len(sentence) + 1))[:length].rstrip()
    finish_reason = "length" if completion_tokens < wanted else "stop"
    return Completion(content, prompt_tokens, completion_tokens, finish_reason)
