"""Which text the databases can store: no NUL character (PostgreSQL refuses it in text and jsonb) and no lone
surrogate (it has no UTF-8 form, so neither PostgreSQL nor SQLite can take it). JSON can spell both
(`"\\u0000"`, `"\\ud800"`), so every JSON value that comes in is checked here, once, before anything is written."""

import json
import math
import re
from typing import NamedTuple

UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def text_problem(text: str) -> str | None:
    """Why `text` cannot be stored (naming the character), or None when it can."""
    found = UNSTORABLE.search(text)
    if found is None:
        return None
    if found.group() == "\x00":
        return "a NUL character (\\u0000)"
    return f"a lone surrogate (\\u{ord(found.group()):04x})"


def _step(path: str, key) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    name = json.dumps(key)[1:-1]  # escaped, so the message itself is printable and storable
    return f"{path}.{name}" if path else name


class Problem(NamedTuple):
    """Where an unstorable string is (`field`: the top-level key holding it, if any) and what is wrong."""

    field: str | None
    message: str


def json_problem(value) -> Problem | None:
    """The first string or object key in a decoded JSON value that cannot be stored, or number that is not
    finite (Python reads `1e400` as infinity, which no JSON column takes), described with where it is
    (`metadata.k[2]`), or None. Iterative: a value may nest deeper than Python's stack."""
    pending = [(value, "", None)]
    while pending:
        item, where, field = pending.pop()
        if isinstance(item, str):
            problem = text_problem(item)
            if problem:
                return Problem(field, f"{where or 'the value'} holds {problem}, which cannot be stored")
        elif isinstance(item, float) and not math.isfinite(item):
            return Problem(field, f"{where or 'the value'} is not a finite number ({item}), which cannot be stored")
        elif isinstance(item, dict):
            for key, child in item.items():
                problem = text_problem(key) if isinstance(key, str) else None
                if problem:
                    return Problem(field, f"a key in {where or 'the object'} holds {problem}, which cannot be stored")
                pending.append((child, _step(where, key), key if field is None and not where else field))
        elif isinstance(item, list):
            pending.extend((child, _step(where, index), field) for index, child in enumerate(item))
    return None
