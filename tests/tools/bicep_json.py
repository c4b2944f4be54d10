"""Parses Bicep files with pycep-parser and prints them as one unambiguous JSON document.

Used by tests/infra/ and tests/front_doors.rs (through tests/bicep/mod.rs), run with the
interpreter in tools/.venv. pycep-parser's own JSON cannot be used as it is: a reference to a
parameter or variable (`identityClientId`) and the string literal 'identityClientId' both come
out as a plain string, and interpolated strings stay raw text. This script keeps the difference:

- a reference becomes {"$ref": name};
- an interpolated string becomes {"$interp": [literal, expression, literal, ...]}, each
  `${...}` parsed by pycep-parser itself;
- an object with an interpolated key becomes {"$object": [[key, value], ...]};
- everything else is pycep-parser's structure unchanged.

Usage: bicep_json.py ROOT FILE...  (FILE relative to ROOT)
Prints {"parser_load_seconds": s, "files": {FILE: {"seconds": s, "template": {...}}
                                              | {"seconds": s, "error": message}}}.
A file that does not parse is reported with pycep-parser's message; the exit status is 0 either
way, so the caller can name every failing file at once.
"""

import json
import re
import pathlib
import sys
import time

T0 = time.perf_counter()
from pycep import BicepParser  # noqa: E402
from pycep.transformer import BicepElement  # noqa: E402

PARSER = BicepParser()
PARSER_LOAD_SECONDS = time.perf_counter() - T0


def split_interpolation(text):
    """Splits the body of a Bicep string into literal parts and `${...}` expression texts."""
    parts, literal, i = [], [], 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            literal.append({"n": "\n", "r": "\r", "t": "\t"}.get(nxt, nxt))
            i += 2
        elif text.startswith("${", i):
            depth, j = 1, i + 2
            while j < len(text) and depth:
                depth += {"{": 1, "}": -1}.get(text[j], 0)
                j += 1
            parts.append("".join(literal))
            literal = []
            parts.append(("expr", text[i + 2 : j - 1]))
            i = j
        else:
            literal.append(c)
            i += 1
    parts.append("".join(literal))
    return parts


def expression(text):
    """Parses one Bicep expression by parsing it as a variable's value."""
    parsed = PARSER.parse(text=f"var expression = {text}\n")
    return convert(parsed["variables"]["expression"]["value"])


def convert_string(value):
    if "${" not in value and "\\" not in value:
        return value
    parts = split_interpolation(value)
    if len(parts) == 1:
        return parts[0]
    return {"$interp": [expression(p[1]) if isinstance(p, tuple) else p for p in parts if p != ""]}


def convert_key(key):
    if key.startswith("'") and key.endswith("'") and len(key) >= 2:
        return convert_string(key[1:-1])
    return key


TOKEN_REPR = re.compile(r"^\[Token\('\w+', '([^']*)'\)\]$")


def convert(value):
    if isinstance(value, BicepElement):
        return {"$ref": str(value)}
    if isinstance(value, str):
        # pycep-parser 0.5.1 writes some property names (`tenant().tenantId`) as the repr of
        # their token list; keep the name only.
        token = TOKEN_REPR.match(value)
        if token:
            return token.group(1)
        return convert_string(value)
    if isinstance(value, dict):
        keys = {k: convert_key(k) for k in value}
        if any(not isinstance(k, str) for k in keys.values()):
            return {"$object": [[keys[k], convert(v)] for k, v in value.items()]}
        return {keys[k]: convert(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [convert(v) for v in value]
    return value


def main():
    root = pathlib.Path(sys.argv[1])
    files = {}
    for name in sys.argv[2:]:
        started = time.perf_counter()
        try:
            template = convert(PARSER.parse(file_path=root / name))
            files[name] = {"seconds": time.perf_counter() - started, "template": template}
        except Exception as error:  # every parser failure is reported, with its message
            message = f"{type(error).__name__}: {error}".strip()
            files[name] = {"seconds": time.perf_counter() - started, "error": message}
    json.dump({"parser_load_seconds": PARSER_LOAD_SECONDS, "files": files}, sys.stdout)


if __name__ == "__main__":
    main()
