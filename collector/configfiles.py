"""Reading config files with positions: YAML and TOML to plain data plus the line of every key.

:mod:`collector.settings` validates plain Python data with pydantic, whose errors name a path
(``("creators", 2, "accounts", "instagram")``) but not a line. The readers here return, next to the
data, a map from each path to the 1-based line where that key or list item is written, so every
problem can be reported as ``file:line: field: message``. They also expand ``${VAR}`` references,
remembering where each expansion happened so secrets can be kept out of messages.
"""

from __future__ import annotations

import re
import sys
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.events import (
    AliasEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from yaml.nodes import ScalarNode

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
_STR_TAG = "tag:yaml.org,2002:str"

# libyaml parses about ten times faster than PyYAML's own parser (a 100,000-creator watchlist:
# about 1 s of events against 15 s); PyYAML built without it still works, only slower.
_FAST_LOADER: type[Any] | None = getattr(yaml, "CSafeLoader", None)

_Event = yaml.events.Event


def parse_yaml(text: str) -> SourceDocument:
    """Parse one YAML document into plain data and a path -> line map; duplicate keys are problems.

    PyYAML's own ``safe_load`` silently keeps the last of two equal keys, so a marketer who pastes
    a creator's ``accounts`` twice loses the first without a word. Reading the parser's events
    instead keeps every key's position and lets us refuse duplicates. The data is built straight
    from the events, never through PyYAML's node tree: a tree of a 100,000-creator watchlist
    (nodes and marks for every key and value) weighs hundreds of megabytes.

    libyaml reads the file when PyYAML has it; a file libyaml refuses is read again by PyYAML's
    own parser, whose error messages (and lines) are the ones this project reports. Both read
    every file PyYAML accepts alike; libyaml, closer to the YAML spec, also accepts a few that
    PyYAML refuses (a tab inside a plain value, ``?`` inside a flow value), which then go
    through validation like any other.
    """
    # The reader refuses control characters before any parsing; PyYAML's own check, so the
    # message and position are its own whichever parser reads the text.
    bad = yaml.reader.Reader.NON_PRINTABLE.search(text)
    if bad is not None:
        line = text.count("\n", 0, bad.start()) + 1
        message = f"invalid YAML: character {ord(bad.group())!r} is not allowed"
        raise SourceError(line, message)
    if _FAST_LOADER is not None:
        try:
            return _YamlBuilder(_FAST_LOADER(text)).build()
        except yaml.YAMLError:
            pass  # reported below, as PyYAML words it
    try:
        return _YamlBuilder(yaml.SafeLoader(text)).build()
    except yaml.MarkedYAMLError as exc:
        raise SourceError(_yaml_error_line(exc), _yaml_error_message(exc)) from None
    except yaml.YAMLError as exc:
        raise SourceError(None, f"invalid YAML: {exc}") from None


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


def _mark(event: _Event) -> Any:
    """Where an event starts: PyYAML's ``Mark`` or libyaml's (both have ``line``)."""
    return event.start_mark


@dataclass
class _Anchor:
    """An ``&anchor``ed node: its events, replayed wherever an ``*alias`` names it."""

    start_mark: Any
    events: list[_Event]


class _YamlBuilder:
    """Plain data, lines and problems from a loader's events, as PyYAML's composer reads them.

    The composer's rules are kept (one document; an alias names an anchor defined before it; an
    anchor is defined once), and so are its errors, word for word. An alias stands for its
    anchor's node: its events are recorded once and replayed, so the data at the alias is built
    (and located) exactly as a second walk over the same node would build it. A ``path`` of None
    reads a node that is not kept (the value of a refused key): its anchors still count, but it
    adds no lines and no problems.
    """

    def __init__(self, loader: Any) -> None:
        self.loader = loader
        self.document = SourceDocument(data=None, lines={(): 1})
        self.constructor = SafeConstructor()
        self.anchors: dict[str, _Anchor] = {}
        # The anchored nodes being read from the parser: each parser event is added to them.
        self.recording: list[list[_Event]] = []
        # Aliases being expanded, innermost last: events come from these before the parser.
        self.replays: list[Iterator[_Event]] = []
        # Anchored mappings and lists being built; an alias to one of them would never end.
        self.open: set[str] = set()

    def build(self) -> SourceDocument:
        try:
            self.next_event()  # stream start
            event = self.next_event()
            if not isinstance(event, StreamEndEvent):
                first = self.next_event()  # the document start is dropped
                self.document.data = self.node(first, ())
                self.next_event()  # document end
                event = self.next_event()
                if not isinstance(event, StreamEndEvent):
                    raise ComposerError(
                        "expected a single document in the stream",
                        _mark(first),
                        "but found another document",
                        _mark(event),
                    )
        finally:
            self.loader.dispose()
        return self.document

    def next_event(self) -> _Event:
        if self.replays:
            return next(self.replays[-1])
        event: _Event = self.loader.get_event()
        for recording in self.recording:
            recording.append(event)
        return event

    def problem(self, path: KeyPath | None, line: int, message: str) -> None:
        if path is not None:
            self.document.problems.append(SourceProblem(path, line, message))

    def node(self, event: _Event, path: KeyPath | None) -> Any:
        if isinstance(event, AliasEvent):
            return self.alias(event, path)
        anchor: str | None = getattr(event, "anchor", None)
        if anchor is None or self.replays:
            # Anchors inside a replayed node were defined when it was first read.
            return self.content(event, path, anchor)
        if anchor in self.anchors:
            raise ComposerError(
                f"found duplicate anchor {anchor!r}; first occurrence",
                self.anchors[anchor].start_mark,
                "second occurrence",
                _mark(event),
            )
        events = [event]
        if isinstance(event, ScalarEvent):
            value = self.content(event, path, anchor)
            self.anchors[anchor] = _Anchor(_mark(event), events)
            return value
        # A list or mapping is known by its anchor from its first event on, as in the composer,
        # so an alias inside it finds it (and is refused as a loop).
        self.anchors[anchor] = _Anchor(_mark(event), events)
        self.recording.append(events)
        try:
            return self.content(event, path, anchor)
        finally:
            self.recording.pop()

    def alias(self, event: AliasEvent, path: KeyPath | None) -> Any:
        name = str(event.anchor)
        anchor = self.anchors.get(name)
        if anchor is None:
            raise ComposerError(None, None, f"found undefined alias {name!r}", _mark(event))
        if name in self.open:
            self.problem(
                path,
                anchor.start_mark.line + 1,
                "an alias refers to the mapping or list that contains it",
            )
            return None
        replay = iter(anchor.events)
        self.replays.append(replay)
        try:
            return self.node(next(replay), path)
        finally:
            self.replays.pop()

    def content(self, event: _Event, path: KeyPath | None, anchor: str | None) -> Any:
        if isinstance(event, ScalarEvent):
            return self.scalar(event, path)
        if anchor is None:
            return self.collection(event, path)
        self.open.add(anchor)
        try:
            return self.collection(event, path)
        finally:
            self.open.discard(anchor)

    def collection(self, event: _Event, path: KeyPath | None) -> Any:
        if isinstance(event, MappingStartEvent):
            return self.mapping(path)
        if isinstance(event, SequenceStartEvent):
            return self.sequence(path)
        # Not reachable: the parser only starts a node with the events above.
        raise ComposerError(None, None, f"unexpected {event.__class__.__name__}", _mark(event))

    def start_line(self, event: _Event) -> int:
        """The line of the node an event starts (an alias's: its anchor's), as the composer's."""
        if isinstance(event, AliasEvent):
            anchor = self.anchors.get(str(event.anchor))
            if anchor is not None:
                return int(anchor.start_mark.line) + 1
        return int(_mark(event).line) + 1

    def mapping(self, path: KeyPath | None) -> dict[str, Any]:
        result: dict[str, Any] = {}
        first_lines: dict[str, int] = {}
        lines = self.document.lines
        while not isinstance(event := self.next_event(), MappingEndEvent):
            key, line = self.key(event, path)
            if key is None or path is None:
                self.node(self.next_event(), None)  # read, not kept
                continue
            key_path = (*path, key)
            if key in result:
                self.problem(
                    key_path,
                    line,
                    f"duplicate key {key!r} (first written at line {first_lines[key]}); "
                    "YAML would silently keep only the last one",
                )
                self.node(self.next_event(), None)
                continue
            first_lines[key] = line
            lines[key_path] = line
            result[key] = self.node(self.next_event(), key_path)
        return result

    def key(self, event: _Event, path: KeyPath | None) -> tuple[str | None, int]:
        """A mapping key as written, or None (with a problem) for a key that is no plain word."""
        line = self.start_line(event)
        # Read like any node (anchors and aliases count), but only a scalar's text is a key.
        scalar = self.key_scalar(event)
        if scalar is None:
            self.problem(path, line, "a key must be a plain word, not a list or mapping")
            return None, line
        if self.tag(scalar) == _MERGE_TAG:
            self.problem(path, line, "merge keys (<<) are not supported: write keys out")
            return None, line
        # The key as written: YAML would turn a key such as ``no`` or ``2026`` into a bool or an
        # int, and every key in our files is a name. Interned: the same few keys repeat on
        # every creator of a large watchlist.
        return sys.intern(scalar.value), line

    def key_scalar(self, event: _Event) -> ScalarEvent | None:
        if isinstance(event, AliasEvent):
            name = str(event.anchor)
            anchor = self.anchors.get(name)
            if anchor is None or name in self.open:
                self.node(event, None)  # raises for an undefined alias
                return None
            first = anchor.events[0]
            if isinstance(first, ScalarEvent):
                return first
            self.node(event, None)
            return None
        if isinstance(event, ScalarEvent):
            if event.anchor is not None and not self.replays:
                self.node(event, None)  # defines the anchor (or refuses a second one)
            return event
        self.node(event, None)
        return None

    def sequence(self, path: KeyPath | None) -> list[Any]:
        items: list[Any] = []
        lines = self.document.lines
        while not isinstance(event := self.next_event(), SequenceEndEvent):
            if path is None:
                items.append(self.node(event, None))
                continue
            item_path = (*path, len(items))
            lines[item_path] = self.start_line(event)
            items.append(self.node(event, item_path))
        return items

    def tag(self, event: ScalarEvent) -> str:
        tag: str | None = event.tag
        if tag is None:
            tag = self.loader.resolve(ScalarNode, event.value, event.implicit)
        elif tag == "!":
            # The non-specific tag: PyYAML's parser always resolves it as a plain scalar;
            # libyaml does too, except for an empty value, which it leaves as text.
            tag = self.loader.resolve(ScalarNode, event.value, (True, False))
        return str(tag)

    def scalar(self, event: ScalarEvent, path: KeyPath | None) -> Any:
        if path is None:
            return event.value
        tag = self.tag(event)
        if tag == _STR_TAG:
            return event.value  # what the constructor would return, without building a node
        node = ScalarNode(tag, event.value, _mark(event), None, style=event.style)
        try:
            value = self.constructor.construct_object(node, deep=True)
        except ConstructorError as exc:
            self.problem(
                path, int(_mark(event).line) + 1, f"invalid YAML value: {exc.problem or exc}"
            )
            return event.value
        except (ValueError, OverflowError):
            # A date-shaped value that is no date (2026-13-01): the text lets the model say why.
            return event.value
        finally:
            # The constructor remembers every node it built (or failed to); none is built twice.
            self.constructor.constructed_objects.pop(node, None)
            self.constructor.recursive_objects.pop(node, None)
        # A plain (unquoted) scalar: PyYAML's parser says style None, libyaml's says "".
        if not event.style and value is not None and not isinstance(value, str):
            self.document.texts[path] = event.value
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
