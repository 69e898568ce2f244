"""Reading config files with positions: YAML and TOML to plain data plus the line of every key.

:mod:`collector.settings` validates plain Python data with pydantic, whose errors name a path
(``("creators", 2, "accounts", "instagram")``) but not a line. The readers here return, next to the
data, a map from each path to the 1-based line where that key or list item is written, so every
problem can be reported as ``file:line: field: message``. They also expand ``${VAR}`` references,
remembering where each expansion happened so secrets can be kept out of messages.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

__all__ = [
    "EnvExpansion",
    "KeyPath",
    "MissingVariable",
    "SourceDocument",
    "SourceError",
    "SourceProblem",
    "expand_env",
    "format_field",
    "line_for",
    "parse_toml",
    "parse_yaml",
    "toml_key_lines",
]

KeyPath = tuple[str | int, ...]

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


class SourceError(Exception):
    """The file is not valid YAML or TOML; nothing else in it can be checked."""

    def __init__(self, line: int | None, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


@dataclass(frozen=True)
class SourceProblem:
    """A problem the reader itself found in a file that otherwise parsed (a duplicate key)."""

    path: KeyPath
    line: int | None
    message: str


@dataclass
class SourceDocument:
    """Plain data read from a file, with the line of every key and list item."""

    data: Any
    lines: dict[KeyPath, int] = field(default_factory=dict)
    # The source text of unquoted YAML scalars that YAML typed as something other than a string
    # (``no`` -> False, ``007`` -> 7), so a handle or promo code can be read as written.
    texts: dict[KeyPath, str] = field(default_factory=dict)
    problems: list[SourceProblem] = field(default_factory=list)


def format_field(path: KeyPath) -> str:
    """``("creators", 0, "accounts")`` -> ``"creators[0].accounts"``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
            continue
        # Quoted as TOML quotes it, so `scenarios."salma.beauty"` is not read as two keys.
        name = part if _BARE_KEY.fullmatch(part) else '"' + part.replace('"', '\\"') + '"'
        text += f".{name}" if text else name
    return text


def line_for(lines: Mapping[KeyPath, int], path: KeyPath) -> int | None:
    """The line of ``path`` or, when it is not written (a missing key), of its nearest parent."""
    for end in range(len(path), -1, -1):
        line = lines.get(path[:end])
        if line is not None:
            return line
    return None


# -- YAML --------------------------------------------------------------------------------------

_MERGE_TAG = "tag:yaml.org,2002:merge"


def parse_yaml(text: str) -> SourceDocument:
    """Parse one YAML document into plain data and a path -> line map; duplicate keys are problems.

    PyYAML's own ``safe_load`` silently keeps the last of two equal keys, so a marketer who pastes
    a creator's ``accounts`` twice loses the first without a word. Walking the composed node tree
    instead keeps every key's position and lets us refuse duplicates.
    """
    try:
        # The reader refuses control characters as soon as it is built, not only when parsing.
        loader = yaml.SafeLoader(text)
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        message = f"invalid YAML: character {exc.character!r} is not allowed"
        raise SourceError(line, message) from None
    try:
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        raise SourceError(_yaml_error_line(exc), _yaml_error_message(exc)) from None
    except yaml.YAMLError as exc:
        raise SourceError(None, f"invalid YAML: {exc}") from None
    finally:
        loader.dispose()
    document = SourceDocument(data=None, lines={(): 1})
    if root is not None:
        document.data = _YamlWalker(document).walk(root, ())
    return document


def _yaml_error_line(exc: yaml.MarkedYAMLError) -> int | None:
    mark = exc.problem_mark or exc.context_mark
    return None if mark is None else mark.line + 1


def _yaml_error_message(exc: yaml.MarkedYAMLError) -> str:
    problem = exc.problem or "cannot be parsed"
    if not exc.context:
        return f"invalid YAML: {problem}"
    context_mark, problem_mark = exc.context_mark, exc.problem_mark
    # PyYAML often marks the line after the mistake; the context's line is where to look.
    if context_mark is not None and (
        problem_mark is None or context_mark.line != problem_mark.line
    ):
        return f"invalid YAML: {problem} ({exc.context} at line {context_mark.line + 1})"
    return f"invalid YAML: {problem} ({exc.context})"


class _YamlWalker:
    def __init__(self, document: SourceDocument) -> None:
        self.document = document
        self.constructor = SafeConstructor()
        self.open_nodes: set[int] = set()

    def problem(self, path: KeyPath, node: Node, message: str) -> None:
        self.document.problems.append(SourceProblem(path, node.start_mark.line + 1, message))

    def walk(self, node: Node, path: KeyPath) -> Any:
        if isinstance(node, ScalarNode):
            return self.scalar(node, path)
        if id(node) in self.open_nodes:
            self.problem(path, node, "an alias refers to the mapping or list that contains it")
            return None
        self.open_nodes.add(id(node))
        try:
            if isinstance(node, MappingNode):
                return self.mapping(node, path)
            if isinstance(node, SequenceNode):
                return self.sequence(node, path)
        finally:
            self.open_nodes.discard(id(node))
        self.problem(path, node, "unsupported YAML node")
        return None

    def mapping(self, node: MappingNode, path: KeyPath) -> dict[str, Any]:
        result: dict[str, Any] = {}
        first_lines: dict[str, int] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, ScalarNode):
                self.problem(path, key_node, "a key must be a plain word, not a list or mapping")
                continue
            if key_node.tag == _MERGE_TAG:
                self.problem(path, key_node, "merge keys (<<) are not supported: write keys out")
                continue
            # The key as written: YAML would turn a key such as ``no`` or ``2026`` into a bool or
            # an int, and every key in our files is a name.
            key = key_node.value
            key_path = (*path, key)
            if key in result:
                self.problem(
                    key_path,
                    key_node,
                    f"duplicate key {key!r} (first written at line {first_lines[key]}); "
                    "YAML would silently keep only the last one",
                )
                continue
            first_lines[key] = line
            self.document.lines[key_path] = line
            result[key] = self.walk(value_node, key_path)
        return result

    def sequence(self, node: SequenceNode, path: KeyPath) -> list[Any]:
        items: list[Any] = []
        for index, item in enumerate(node.value):
            item_path = (*path, index)
            self.document.lines[item_path] = item.start_mark.line + 1
            items.append(self.walk(item, item_path))
        return items

    def scalar(self, node: ScalarNode, path: KeyPath) -> Any:
        try:
            value = self.constructor.construct_object(node, deep=True)
        except ConstructorError as exc:
            self.problem(path, node, f"invalid YAML value: {exc.problem or exc}")
            return node.value
        except (ValueError, OverflowError):
            # A date-shaped value that is no date (2026-13-01): the text lets the model say why.
            return node.value
        if node.style is None and value is not None and not isinstance(value, str):
            self.document.texts[path] = node.value
        return value


# -- TOML --------------------------------------------------------------------------------------

_TOML_POSITION = re.compile(r"\s*\(at (?:line (\d+), column (\d+)|end of document)\)\s*$")


def parse_toml(text: str) -> SourceDocument:
    """Parse TOML into plain data and a path -> line map (``tomllib`` gives no positions)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = _TOML_POSITION.search(message)
        line: int | None = None
        if match is not None:
            message = message[: match.start()]
            if match.group(1):
                line = int(match.group(1))
                message += f" (column {match.group(2)})"
            else:
                line = max(1, text.count("\n") + (0 if text.endswith("\n") else 1))
                message += " (at the end of the file)"
        raise SourceError(line, f"invalid TOML: {message}") from None
    return SourceDocument(data=data, lines=toml_key_lines(text))


def toml_key_lines(text: str) -> dict[KeyPath, int]:
    """Map every table header and ``key =`` line of valid TOML text to its path.

    Only called on text ``tomllib`` accepted, so the scanner can trust the syntax; it tracks
    strings, comments and multi-line arrays only so as not to mistake their contents for keys.
    Keys inside inline tables and array items are not mapped: they report their parent's line.
    """
    return _TomlScanner(text).scan()


class _TomlScanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.line = 1
        self.lines: dict[KeyPath, int] = {(): 1}
        self.array_counts: dict[KeyPath, int] = {}

    def scan(self) -> dict[KeyPath, int]:
        text = self.text
        table: KeyPath = ()
        while self.pos < len(text):
            char = text[self.pos]
            if char in " \t\r":
                self.pos += 1
            elif char == "\n":
                self.line += 1
                self.pos += 1
            elif char == "#":
                self.skip_comment()
            elif char == "[":
                table = self.header()
            else:
                self.key_value(table)
        return self.lines

    def header(self) -> KeyPath:
        is_array = self.text.startswith("[[", self.pos)
        self.pos += 2 if is_array else 1
        keys = self.key()
        self.pos = self.text.index("]", self.pos) + (2 if is_array else 1)
        path = (*self.resolve(keys[:-1]), keys[-1])
        self.set_prefixes(path)
        if not is_array:
            self.lines[path] = self.line
            return path
        index = self.array_counts.get(path, -1) + 1
        self.array_counts[path] = index
        self.lines.setdefault(path, self.line)
        self.lines[(*path, index)] = self.line
        return (*path, index)

    def resolve(self, keys: list[str]) -> KeyPath:
        # A [table] under an [[array]] belongs to the array's last element.
        path: KeyPath = ()
        for key in keys:
            path = (*path, key)
            if path in self.array_counts:
                path = (*path, self.array_counts[path])
        return path

    def key_value(self, table: KeyPath) -> None:
        path = (*table, *self.key())
        self.set_prefixes(path)
        self.lines[path] = self.line
        self.pos = self.text.index("=", self.pos) + 1
        self.skip_value()

    def set_prefixes(self, path: KeyPath) -> None:
        for end in range(1, len(path)):
            self.lines.setdefault(path[:end], self.line)

    def key(self) -> list[str]:
        text = self.text
        keys: list[str] = []
        while True:
            while text[self.pos] in " \t":
                self.pos += 1
            char = text[self.pos]
            if char == '"':
                end = self.basic_string_end(self.pos)
                # Let tomllib decode the escapes of a quoted key rather than re-implement them.
                keys.append(str(tomllib.loads(f"k = {text[self.pos : end]}")["k"]))
                self.pos = end
            elif char == "'":
                end = text.index("'", self.pos + 1)
                keys.append(text[self.pos + 1 : end])
                self.pos = end + 1
            else:
                match = _BARE_KEY.match(text, self.pos)
                if match is None:  # not reachable for text tomllib accepted
                    raise ValueError(f"unexpected {char!r} at line {self.line}")
                keys.append(match.group(0))
                self.pos = match.end()
            while self.pos < len(text) and text[self.pos] in " \t":
                self.pos += 1
            if self.pos < len(text) and text[self.pos] == ".":
                self.pos += 1
                continue
            return keys

    def basic_string_end(self, start: int) -> int:
        """Index just past the closing quote of the single-line basic string at ``start``."""
        pos = start + 1
        while self.text[pos] != '"':
            pos += 2 if self.text[pos] == "\\" else 1
        return pos + 1

    def skip_comment(self) -> None:
        end = self.text.find("\n", self.pos)
        self.pos = len(self.text) if end < 0 else end

    def skip_value(self) -> None:
        text = self.text
        depth = 0
        while self.pos < len(text):
            char = text[self.pos]
            if text.startswith('"""', self.pos) or text.startswith("'''", self.pos):
                self.skip_multiline_string(text[self.pos])
            elif char == '"':
                self.pos = self.basic_string_end(self.pos)
            elif char == "'":
                self.pos = text.index("'", self.pos + 1) + 1
            elif char == "#":
                self.skip_comment()
            elif char == "\n":
                self.line += 1
                self.pos += 1
                if depth == 0:
                    return
            else:
                if char in "[{":
                    depth += 1
                elif char in "]}":
                    depth -= 1
                self.pos += 1

    def skip_multiline_string(self, quote: str) -> None:
        text = self.text
        delimiter = quote * 3
        pos = self.pos + 3
        while True:
            pos = text.index(delimiter, pos)
            if quote == "'" or not _escaped(text, pos):
                break
            pos += 1
        end = pos + 3
        # Up to two quotes may sit just inside the closing delimiter (``"""a""""``).
        while end < len(text) and text[end] == quote and end - pos < 5:
            end += 1
        self.line += text.count("\n", self.pos, end)
        self.pos = end


def _escaped(text: str, pos: int) -> bool:
    backslashes = 0
    while pos - backslashes - 1 >= 0 and text[pos - backslashes - 1] == "\\":
        backslashes += 1
    return backslashes % 2 == 1


# -- ${VAR} expansion --------------------------------------------------------------------------

_REFERENCE = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$\{")


@dataclass(frozen=True)
class MissingVariable:
    """A ``${VAR}`` whose variable is unset (or set to the empty string)."""

    path: KeyPath
    name: str
    empty: bool


@dataclass
class EnvExpansion:
    """Data with every ``${VAR}`` replaced, and what happened along the way."""

    data: Any
    missing: list[MissingVariable] = field(default_factory=list)
    malformed: list[KeyPath] = field(default_factory=list)
    # Every value read from the environment: all of them are treated as secrets.
    values: list[str] = field(default_factory=list)
    expanded_paths: set[KeyPath] = field(default_factory=set)


def expand_env(data: Any, environ: Mapping[str, str]) -> EnvExpansion:
    """Replace ``${VAR}`` in every string value by the environment's value; ``$${`` is a literal."""
    expansion = EnvExpansion(data=None)
    expansion.data = _expand(data, (), environ, expansion)
    return expansion


def _expand(value: Any, path: KeyPath, environ: Mapping[str, str], out: EnvExpansion) -> Any:
    if isinstance(value, dict):
        return {key: _expand(item, (*path, key), environ, out) for key, item in value.items()}
    if isinstance(value, list):
        return [_expand(item, (*path, index), environ, out) for index, item in enumerate(value)]
    if not isinstance(value, str) or "${" not in value:
        return value

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$${":
            return "${"
        name = match.group(1)
        if name is None:
            out.malformed.append(path)
            return match.group(0)
        found = environ.get(name)
        if not found:
            out.missing.append(MissingVariable(path, name, empty=found is not None))
            return ""
        out.values.append(found)
        out.expanded_paths.add(path)
        return found

    return _REFERENCE.sub(replace, value)
