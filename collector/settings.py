"""Typed configuration: ``collector.toml`` (ops) and ``watchlist.yaml`` (marketers).

Both files are validated in one pass and every problem is reported at once, each with its file,
line and field (``config/collector.toml:12: platforms.youtube.interval: ...``), so fixing a config
takes one round trip rather than one per mistake. Each ``[platforms.NAME]`` table is validated by
the config model of the connector registered as NAME. Secrets come from ``${VAR}`` references to
the environment only, and no value read from the environment or typed ``SecretStr`` is ever
echoed in a message.
"""

from __future__ import annotations

import difflib
import os
import re
import sys
import types
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    SecretStr,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)
from pydantic_core import core_schema

from collector.configfiles import (
    EnvExpansion,
    KeyPath,
    SourceDocument,
    SourceError,
    expand_env,
    format_field,
    line_for,
    parse_toml,
    parse_yaml,
)
from collector.logs import MIN_SECRET_LENGTH
from collector.storage.db import DEFAULT_DB_URL, DatabaseURLError, normalise_url
from connectors import registry
from connectors.base import Duration, PlatformConfig

__all__ = [
    "CampaignCreatorEntry",
    "CampaignEntry",
    "ConfigInvalid",
    "ConfigProblem",
    "CreatorEntry",
    "DatabaseSettings",
    "LoggingSettings",
    "SchedulerSettings",
    "Settings",
    "Watchlist",
    "check_files",
    "load_settings",
    "load_watchlist",
]

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class ConfigProblem:
    """One problem in a config file, located by file, line and field."""

    file: Path
    line: int | None
    field: str
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        location = str(self.file) if self.line is None else f"{self.file}:{self.line}"
        return ": ".join(part for part in (location, self.field, self.message) if part)


class ConfigInvalid(Exception):
    """The configuration has errors; ``problems`` holds every one of them, in file order.

    ``warnings`` holds the warning-level problems found along the way, kept apart so callers
    that print ``problems`` as errors stay right.
    """

    def __init__(
        self, problems: Sequence[ConfigProblem], warnings: Sequence[ConfigProblem] = ()
    ) -> None:
        self.problems = list(problems)
        self.warnings = list(warnings)
        super().__init__("\n".join(str(problem) for problem in self.problems))

    def __str__(self) -> str:
        return "\n".join(str(problem) for problem in self.problems)


# -- models ------------------------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _empty_means_default(cls, data: Any) -> Any:
        # ``campaigns:`` with nothing after it is YAML for null; the writer meant "none".
        if isinstance(data, dict):
            return {
                key: value
                for key, value in data.items()
                if not (value is None and key in cls.model_fields and _has_default(cls, key))
            }
        return data


def _has_default(model: type[BaseModel], name: str) -> bool:
    return not model.model_fields[name].is_required()


def _text(value: object) -> object:
    if isinstance(value, str):
        value = value.strip()
        if not value:
            raise ValueError("must not be empty")
    return value


#: What ``str.isspace`` calls whitespace (the same 29 characters), searched at C speed: a large
#: watchlist has 100,000 handles.
_WHITESPACE = re.compile(r"\s")
#: Unicode's control characters (category Cc): C0, DEL and C1.
_CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _handle(value: object) -> str:
    if value is None:
        raise ValueError("handle is empty")
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError("a handle must be written as text")
    handle = str(value).strip()
    handle = handle.removeprefix("@")
    if not handle:
        raise ValueError("handle is empty")
    if _WHITESPACE.search(handle):
        raise ValueError(f"handle {handle!r} contains whitespace")
    control = _CONTROL_CHARACTER.search(handle)
    if control is not None:
        # A NUL or an escape written as "\0" or "\x1b" in a quoted YAML string: no platform has
        # such a handle, and the character would reach URLs, logs and the database.
        raise ValueError(
            f"handle {handle!r} contains a control character (U+{ord(control.group()):04X})"
        )
    return handle


def _currency(value: object) -> object:
    if isinstance(value, str):
        code = value.strip().upper()
        if len(code) == 3 and code.isascii() and code.isalpha():
            return code
    raise ValueError(f"{value!r} is not a 3-letter currency code (for example MAD, EUR, USD)")


def _iso_date(value: object) -> object:
    # pydantic would read 20260218 as a Unix timestamp; a campaign date is a calendar day.
    if isinstance(value, datetime):
        raise ValueError("write a date without a time, as YYYY-MM-DD")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"{value!r} is not a date: write it as YYYY-MM-DD")


Text = Annotated[str, BeforeValidator(_text)]
Handle = Annotated[str, BeforeValidator(_handle)]
Currency = Annotated[str, BeforeValidator(_currency)]
IsoDate = Annotated[date, BeforeValidator(_iso_date)]


class DatabaseSettings(_Model):
    """The ``[database]`` table; ``--db`` and ``COLLECTOR_DB_URL`` override ``url``."""

    url: str = DEFAULT_DB_URL

    @field_validator("url")
    @classmethod
    def _known_backend(cls, url: str) -> str:
        try:
            normalise_url(url)
        except DatabaseURLError as exc:
            raise ValueError(str(exc)) from None
        return url


class SchedulerSettings(_Model):
    """The ``[scheduler]`` table."""

    # How often each platform's dispatcher looks for due accounts; None lets the daemon derive
    # it from the platform's interval.
    tick: Duration | None = None
    # Fraction of the interval added at random to next_due_at, so accounts added together do
    # not stay due together forever.
    jitter: float = Field(default=0.1, ge=0.0, le=0.5)


class LoggingSettings(_Model):
    """The ``[logging]`` table."""

    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["auto", "json", "console"] = "auto"

    @field_validator("level", "format", mode="before")
    @classmethod
    def _lowercase(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value


class _CreatorFields(_Model):
    """What a creator entry may say; validated here, then kept as a :class:`CreatorEntry`."""

    name: Text
    tags: tuple[Text, ...] = ()
    accounts: dict[str, tuple[Handle, ...]] = Field(default_factory=dict)

    @field_validator("accounts", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        if isinstance(value, dict):
            return {
                platform: handles if isinstance(handles, list | tuple) else [handles]
                for platform, handles in value.items()
            }
        return value


class CreatorEntry:
    """One creator of the watchlist and their handles, by platform; immutable.

    The daemon holds one per creator for its whole life, so this is a slotted object rather than
    a pydantic model (whose instance dict, fields-set and accounts dict cost ~870 bytes a
    creator, 87 MB for 100,000): name, tags and (platform, handles) pairs, with platform and tag
    names interned, ~340 bytes in all. Validation still goes through pydantic
    (``_CreatorFields``), so every error message and location is the model's.
    """

    __slots__ = ("_accounts", "_name", "_tags")

    _name: str
    _tags: tuple[str, ...]
    _accounts: tuple[tuple[str, tuple[str, ...]], ...]

    def __init__(
        self,
        name: str,
        tags: Iterable[str] = (),
        accounts: Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        init = object.__setattr__
        init(self, "_name", name)
        # The same few tags and platforms repeat across thousands of creators: one string each.
        init(self, "_tags", tuple(sys.intern(tag) for tag in tags))
        pairs = (accounts or {}).items()
        init(self, "_accounts", tuple((sys.intern(p), tuple(h)) for p, h in pairs))

    @property
    def name(self) -> str:
        """The creator's name, unique in the watchlist."""
        return self._name

    @property
    def tags(self) -> tuple[str, ...]:
        """Free words to filter and group creators, in file order."""
        return self._tags

    @property
    def accounts(self) -> Mapping[str, tuple[str, ...]]:
        """The creator's handles by platform, in file order (a read-only view built on demand)."""
        return types.MappingProxyType(dict(self._accounts))

    def __setattr__(self, name: str, value: object) -> None:
        # As a frozen pydantic model answers, so callers see the same error as before.
        raise ValidationError.from_exception_data(
            type(self).__name__, [{"type": "frozen_instance", "loc": (name,), "input": value}]
        )

    def __delattr__(self, name: str) -> None:
        raise ValidationError.from_exception_data(
            type(self).__name__, [{"type": "frozen_instance", "loc": (name,), "input": None}]
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CreatorEntry):
            return NotImplemented
        # Accounts compare as a mapping, regardless of order, as the model's dict did.
        return (
            self.name == other.name
            and self.tags == other.tags
            and dict(self._accounts) == dict(other._accounts)
        )

    def __hash__(self) -> int:
        return hash((self.name, self.tags, frozenset(self._accounts)))

    def __repr__(self) -> str:
        accounts = dict(self._accounts)
        return f"CreatorEntry(name={self.name!r}, tags={self.tags!r}, accounts={accounts!r})"

    def __reduce__(
        self,
    ) -> tuple[type[CreatorEntry], tuple[str, tuple[str, ...], dict[str, tuple[str, ...]]]]:
        # Slots plus a refusing __setattr__: copy and pickle must go through __init__.
        return (CreatorEntry, (self.name, self.tags, dict(self._accounts)))

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        """Validated as ``_CreatorFields`` (same errors, same locations), kept as this class."""

        def validate(value: Any, fields: core_schema.ValidatorFunctionWrapHandler) -> CreatorEntry:
            if isinstance(value, CreatorEntry):
                return value
            checked: _CreatorFields = fields(value)
            return cls(
                _fresh(checked.name),
                [_fresh(tag) for tag in checked.tags],
                {
                    platform: [_fresh(handle) for handle in handles]
                    for platform, handles in checked.accounts.items()
                },
            )

        return core_schema.no_info_wrap_validator_function(
            validate,
            handler(_CreatorFields),
            serialization=core_schema.plain_serializer_function_ser_schema(
                lambda entry: {
                    "name": entry.name,
                    "tags": entry.tags,
                    "accounts": dict(entry._accounts),
                }
            ),
        )


def _fresh(text: str) -> str:
    """A copy of ``text`` in a new object.

    The names and handles a validated watchlist keeps were allocated while its file was parsed,
    among the parse's temporaries (plain data, line map). Kept as they are, a few bytes in each
    1 MiB arena of that memory pin the whole arena for the daemon's life: a 100,000-creator
    watchlist held ~75 MB more resident memory than with copies, made here, side by side.
    """
    return text.encode("utf-8", "surrogatepass").decode("utf-8", "surrogatepass")


class CampaignCreatorEntry(_Model):
    """A creator's part in a campaign, with what they were paid."""

    name: Text
    cost: Decimal | None = Field(default=None, ge=0, allow_inf_nan=False)
    currency: Currency | None = None


class CampaignEntry(_Model):
    """A campaign: its dates, what identifies its posts, and the creators paid for it."""

    name: Text
    brand: str | None = None
    start: IsoDate | None = None
    end: IsoDate | None = None
    hashtags: tuple[str, ...] = ()
    mentions: tuple[str, ...] = ()
    promo_codes: tuple[str, ...] = ()
    links: tuple[str, ...] = ()
    creators: tuple[CampaignCreatorEntry, ...] = ()


class Watchlist(_Model):
    """The validated ``watchlist.yaml``."""

    creators: tuple[CreatorEntry, ...] = ()
    campaigns: tuple[CampaignEntry, ...] = ()

    def accounts(self) -> list[tuple[str, str, str]]:
        """Every (platform, handle, creator name), in file order."""
        return [
            (platform, handle, creator.name)
            for creator in self.creators
            for platform, handles in creator.accounts.items()
            for handle in handles
        ]


class _TomlFile(_Model):
    watchlist: Text = "watchlist.yaml"
    database: DatabaseSettings = DatabaseSettings()
    scheduler: SchedulerSettings = SchedulerSettings()
    logging: LoggingSettings = LoggingSettings()
    # Each table is validated by its connector's own model, one by one, below.
    platforms: dict[str, Any] = Field(default_factory=dict)


@dataclass(frozen=True)
class Settings:
    """Everything ``collector.toml`` and its watchlist say, validated and frozen."""

    path: Path
    watchlist_path: Path
    database: DatabaseSettings
    scheduler: SchedulerSettings
    logging: LoggingSettings
    platforms: dict[str, PlatformConfig]
    watchlist: Watchlist
    warnings: tuple[ConfigProblem, ...] = ()
    env_values: tuple[str, ...] = field(default=(), repr=False)

    def secrets(self) -> list[str]:
        """Every secret value (SecretStr fields and ``${VAR}`` expansions), longest first."""
        found = set(self.env_values)
        for config in self.platforms.values():
            found.update(_secret_values(config))
        return sorted((secret for secret in found if secret), key=lambda s: (-len(s), s))


def _secret_values(model: BaseModel) -> list[str]:
    values: list[str] = []
    for value in model.__dict__.values():
        if isinstance(value, SecretStr):
            values.append(value.get_secret_value())
        elif isinstance(value, BaseModel):
            values.extend(_secret_values(value))
    return values


# -- problem collection ------------------------------------------------------------------------


class _Report:
    """Collects the problems of one file, turning paths into lines and field names."""

    def __init__(self, file: Path, document: SourceDocument | None = None) -> None:
        self.file = file
        self.lines = document.lines if document else {}
        self.data = document.data if document else None
        self.problems: list[ConfigProblem] = []

    def add(
        self,
        path: KeyPath,
        message: str,
        *,
        severity: Severity = "error",
        line: int | None = None,
    ) -> None:
        self.problems.append(
            ConfigProblem(
                file=self.file,
                line=line if line is not None else line_for(self.lines, path),
                field=format_field(path),
                message=message,
                severity=severity,
            )
        )

    def add_file_problem(self, line: int | None, message: str) -> None:
        self.problems.append(ConfigProblem(self.file, line, "", message))

    def add_validation(
        self,
        exc: ValidationError,
        *,
        model: type[BaseModel],
        prefix: KeyPath = (),
        skip: Collection[KeyPath] = (),
    ) -> None:
        for error in exc.errors(include_url=False, include_input=False):
            loc = tuple(error["loc"])
            path = _data_path(self.data, (*prefix, *loc))
            if any(path[: len(skipped)] == skipped for skipped in skip):
                continue
            self.add(path, _error_message(error, model, loc))

    def errors(self) -> list[ConfigProblem]:
        return [problem for problem in self.problems if problem.severity == "error"]


def _data_path(data: Any, loc: KeyPath) -> KeyPath:
    """Keep the part of a pydantic ``loc`` that names keys and items, dropping union tags."""
    path: list[str | int] = []
    node: Any = data
    following = True
    for part in loc:
        if not following:
            break
        if isinstance(node, dict) and isinstance(part, str):
            path.append(part)
            following = part in node
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            path.append(part)
            node = node[part]
        else:
            break
    return tuple(path)


_PLAIN_MESSAGES = {
    "tuple_type": "expected a list",
    "list_type": "expected a list",
    "dict_type": "expected a table of keys and values",
    "model_type": "expected a table of keys and values",
    "model_attributes_type": "expected a table of keys and values",
    "string_type": "expected text",
}


def _error_message(error: Any, model: type[BaseModel], loc: KeyPath) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return _unknown_key_message(str(loc[-1]), _known_keys(model, loc[:-1]))
    if kind == "missing":
        return f"required key {loc[-1]!r} is missing"
    if kind in _PLAIN_MESSAGES:
        return str(_PLAIN_MESSAGES[kind])
    message = str(error["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    return message


def _unknown_key_message(key: str, known: Sequence[str] | None) -> str:
    if not known:
        return f"unknown key {key!r}"
    close = difflib.get_close_matches(key, known, n=1)
    if close:
        return f"unknown key {key!r} (did you mean {close[0]!r}?)"
    return f"unknown key {key!r} (expected one of: {', '.join(known)})"


def _known_keys(model: type[BaseModel], loc: KeyPath) -> list[str] | None:
    """The keys the model accepts at ``loc``, to suggest the right spelling of a typo."""
    annotation: Any = model
    for part in loc:
        annotation = _unwrap(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if not isinstance(part, str) or part not in annotation.model_fields:
                return None
            annotation = annotation.model_fields[part].annotation
            continue
        origin, args = get_origin(annotation), get_args(annotation)
        if origin in (tuple, list) and isinstance(part, int) and args:
            annotation = args[0]
        elif origin is dict and isinstance(part, str) and len(args) == 2:
            annotation = args[1]
        else:
            return None
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return list(annotation.model_fields)
    return None


def _unwrap(annotation: Any) -> Any:
    """Strip ``Annotated[...]`` and ``X | None`` down to X (a CreatorEntry to its model)."""
    while True:
        if annotation is CreatorEntry:
            return _CreatorFields
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            members = [arg for arg in get_args(annotation) if arg is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation


def _scrub(problems: Iterable[ConfigProblem], secrets: Iterable[str]) -> list[ConfigProblem]:
    """Mask every secret value in messages, whatever a connector's validator chose to echo."""
    # Very short values are not masked, as in the logs: masking "a" would garble every message.
    ordered = sorted(
        {secret for secret in secrets if len(secret) >= MIN_SECRET_LENGTH}, key=len, reverse=True
    )
    scrubbed = []
    for problem in problems:
        message = problem.message
        for secret in ordered:
            message = message.replace(secret, "***")
        scrubbed.append(
            problem
            if message == problem.message
            else ConfigProblem(problem.file, problem.line, problem.field, message, problem.severity)
        )
    return scrubbed


def _sorted_unique(problems: Iterable[ConfigProblem]) -> list[ConfigProblem]:
    """Drop repeats and order each file's problems by line, keeping files in first-seen order."""
    unique = list(dict.fromkeys(problems))
    file_order = {file: index for index, file in enumerate(dict.fromkeys(p.file for p in unique))}
    return sorted(unique, key=lambda p: (file_order[p.file], p.line or 0))


def _split(problems: Iterable[ConfigProblem]) -> tuple[list[ConfigProblem], list[ConfigProblem]]:
    ordered = _sorted_unique(problems)
    return (
        [p for p in ordered if p.severity == "error"],
        [p for p in ordered if p.severity == "warning"],
    )


def _read(path: Path, report: _Report) -> str | None:
    try:
        # utf-8-sig: editors on Windows save a byte-order mark that tomllib would reject.
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        report.add_file_problem(None, "file not found")
    except IsADirectoryError:
        report.add_file_problem(None, "is a directory, not a file")
    except UnicodeDecodeError as exc:
        report.add_file_problem(None, f"not UTF-8 text ({exc.reason} at byte {exc.start})")
    except OSError as exc:
        report.add_file_problem(None, f"cannot be read: {exc.strerror or exc}")
    return None


# -- watchlist ---------------------------------------------------------------------------------

# Watchlist keys whose values YAML is right to type (dates, amounts); every other scalar is read
# as written, so handle ``no`` stays "no" rather than False and promo code ``007`` keeps its zeros.
_TYPED_KEYS = frozenset({"start", "end", "cost"})


def _restore_source_text(document: SourceDocument) -> None:
    for path, text in document.texts.items():
        names = [part for part in path if isinstance(part, str)]
        if names and names[-1] in _TYPED_KEYS:
            continue
        parent: Any = document.data
        for part in path[:-1]:
            parent = parent[part]
        parent[path[-1]] = text


def _check_watchlist(
    path: Path,
    *,
    configured: Collection[str] | None,
    disabled: Collection[str] = (),
    configured_in: Path | None = None,
) -> tuple[Watchlist | None, list[ConfigProblem]]:
    report = _Report(path)
    text = _read(path, report)
    if text is None:
        return None, report.problems
    try:
        document = parse_yaml(text)
    except SourceError as exc:
        report.add_file_problem(exc.line, exc.message)
        return None, report.problems
    del text  # 8 MB for 100,000 creators, not needed past the parse
    report = _Report(path, document)
    for problem in document.problems:
        report.add(problem.path, problem.message, line=problem.line)
    if document.data is None:
        document.data = {}
    if not isinstance(document.data, dict):
        report.add_file_problem(1, "expected a mapping with the keys 'creators' and 'campaigns'")
        return None, report.problems
    _restore_source_text(document)
    report.data = document.data

    watchlist: Watchlist | None = None
    try:
        watchlist = Watchlist.model_validate(document.data)
    except ValidationError as exc:
        report.add_validation(exc, model=Watchlist)
    _cross_check_watchlist(
        report, document.data, configured, disabled, configured_in or Path("collector.toml")
    )
    if report.errors():
        watchlist = None
    return watchlist, report.problems


def _cross_check_watchlist(
    report: _Report,
    data: dict[str, Any],
    configured: Collection[str] | None,
    disabled: Collection[str],
    toml_name: Path,
) -> None:
    """Checks that span entries, run on the raw data so they still run beside pydantic errors."""
    installed = registry.available()
    creator_names: dict[str, tuple[str, int | None]] = {}
    handles: dict[tuple[str, str], tuple[int | None, str]] = {}
    uncollected: dict[str, tuple[KeyPath, int]] = {}

    creators = data.get("creators")
    for index, creator in enumerate(creators if isinstance(creators, list) else []):
        if not isinstance(creator, dict):
            continue
        name = creator.get("name")
        name_path: KeyPath = ("creators", index, "name")
        if isinstance(name, str) and name.strip():
            name = name.strip()
            seen = creator_names.get(name.casefold())
            if seen is not None:
                report.add(name_path, f"creator {name!r} is already listed at line {seen[1]}")
            else:
                creator_names[name.casefold()] = (name, line_for(report.lines, name_path))
        owner = name if isinstance(name, str) else f"creators[{index}]"

        accounts = creator.get("accounts")
        for platform, value in (accounts if isinstance(accounts, dict) else {}).items():
            platform_path: KeyPath = ("creators", index, "accounts", platform)
            if platform not in installed:
                report.add(platform_path, _unknown_platform_message(platform, installed))
                continue
            items = list(enumerate(value)) if isinstance(value, list) else [(None, value)]
            if configured is not None and (platform not in configured or platform in disabled):
                first, count = uncollected.get(platform, (platform_path, 0))
                uncollected[platform] = (first, count + len(items))
            for position, raw in items:
                try:
                    handle = _handle(raw)
                except ValueError:
                    continue  # pydantic reports it
                handle_path = platform_path if position is None else (*platform_path, position)
                line = line_for(report.lines, handle_path)
                key = (platform, handle.casefold())
                if key in handles:
                    first_line, first_owner = handles[key]
                    report.add(
                        handle_path,
                        f"handle {handle!r} on {platform} is already listed at line "
                        f"{first_line} (creator {first_owner!r}); each account belongs to one "
                        "creator",
                    )
                else:
                    handles[key] = (line, owner)

    for platform, (first_path, count) in uncollected.items():
        reason = (
            f"[platforms.{platform}] has enabled = false"
            if platform in disabled
            else f"{toml_name} has no [platforms.{platform}] table"
        )
        accounts_word = "account" if count == 1 else "accounts"
        report.add(
            first_path,
            f"{count} {accounts_word} on {platform} will not be collected: {reason}",
            severity="warning",
        )

    _cross_check_campaigns(report, data.get("campaigns"), creator_names)


def _cross_check_campaigns(
    report: _Report, campaigns: Any, creator_names: Mapping[str, tuple[str, int | None]]
) -> None:
    known = [name for name, _ in creator_names.values()]
    campaign_lines: dict[str, int | None] = {}
    for index, campaign in enumerate(campaigns if isinstance(campaigns, list) else []):
        if not isinstance(campaign, dict):
            continue
        name = campaign.get("name")
        if isinstance(name, str) and name.strip():
            name_path: KeyPath = ("campaigns", index, "name")
            key = name.strip().casefold()
            if key in campaign_lines:
                report.add(
                    name_path,
                    f"campaign {name.strip()!r} is already listed at line {campaign_lines[key]}",
                )
            else:
                campaign_lines[key] = line_for(report.lines, name_path)

        start, end = _as_date(campaign.get("start")), _as_date(campaign.get("end"))
        if start is not None and end is not None and end < start:
            report.add(
                ("campaigns", index, "end"),
                f"the campaign ends ({end.isoformat()}) before it starts ({start.isoformat()})",
            )

        members = campaign.get("creators")
        listed: set[str] = set()
        for position, member in enumerate(members if isinstance(members, list) else []):
            member_name = member.get("name") if isinstance(member, dict) else None
            if not isinstance(member_name, str) or not member_name.strip():
                continue
            member_name = member_name.strip()
            member_path: KeyPath = ("campaigns", index, "creators", position, "name")
            if member_name in listed:
                report.add(member_path, f"{member_name!r} is listed twice in this campaign")
            listed.add(member_name)
            if member_name in known:
                continue
            hint = ""
            same = creator_names.get(member_name.casefold())
            close = difflib.get_close_matches(member_name, known, n=1)
            if same is not None:
                hint = f" (did you mean {same[0]!r}?)"
            elif close:
                hint = f" (did you mean {close[0]!r}?)"
            report.add(member_path, f"{member_name!r} is not a creator of this watchlist{hint}")


def _as_date(value: object) -> date | None:
    try:
        checked = _iso_date(value)
    except ValueError:
        return None
    return checked if isinstance(checked, date) else None


def _unknown_platform_message(name: str, installed: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, installed, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"unknown platform {name!r} ({hint}installed: {', '.join(installed) or 'none'})"


def load_watchlist(
    path: Path | str, *, platforms: Collection[str] | None = None
) -> tuple[Watchlist, list[ConfigProblem]]:
    """Validate a watchlist; returns it with its warnings, or raises ConfigInvalid.

    ``platforms`` are the platforms collector.toml configures: accounts on other platforms are
    warnings. Given the ``Settings.platforms`` mapping, disabled platforms are warned about too.
    """
    disabled: set[str] = set()
    if isinstance(platforms, Mapping):
        disabled = {name for name, config in platforms.items() if not _enabled(config)}
    watchlist, problems = _check_watchlist(Path(path), configured=platforms, disabled=disabled)
    errors, warnings = _split(problems)
    if errors or watchlist is None:
        raise ConfigInvalid(errors, warnings)
    return watchlist, warnings


def _enabled(config: object) -> bool:
    if isinstance(config, PlatformConfig):
        return config.enabled
    if isinstance(config, dict):
        return config.get("enabled", True) is not False
    return True


# -- collector.toml ----------------------------------------------------------------------------


@dataclass
class _PlatformsResult:
    configs: dict[str, PlatformConfig] = field(default_factory=dict)
    secrets: list[str] = field(default_factory=list)


def load_settings(path: Path | str, *, environ: Mapping[str, str] | None = None) -> Settings:
    """Validate collector.toml and its watchlist; raise ConfigInvalid with every problem of both."""
    settings, problems = _check_settings(Path(path), os.environ if environ is None else environ)
    errors, warnings = _split(problems)
    if errors or settings is None:
        raise ConfigInvalid(errors, warnings)
    return settings


def _check_settings(
    path: Path, environ: Mapping[str, str]
) -> tuple[Settings | None, list[ConfigProblem]]:
    report = _Report(path)
    text = _read(path, report)
    if text is None:
        return None, report.problems
    try:
        document = parse_toml(text)
    except SourceError as exc:
        report.add_file_problem(exc.line, exc.message)
        return None, report.problems
    report = _Report(path, document)

    expansion = expand_env(document.data, environ)
    data: dict[str, Any] = expansion.data
    report.data = data
    raw_platforms = data.get("platforms")
    tables = raw_platforms if isinstance(raw_platforms, dict) else {}
    disabled = {name for name, table in tables.items() if not _enabled(table)}
    # A disabled platform's missing secret is fine: nothing will use it.
    quiet = {
        missing.path
        for missing in expansion.missing
        if len(missing.path) >= 2 and missing.path[0] == "platforms" and missing.path[1] in disabled
    }
    for missing in expansion.missing:
        if missing.path in quiet:
            continue
        state = "is empty" if missing.empty else "is not set"
        report.add(
            missing.path,
            f"environment variable {missing.name} {state} "
            "(secrets are read from the environment only)",
        )
    for malformed in expansion.malformed:
        report.add(
            malformed,
            "malformed ${...}: write ${NAME} with NAME made of letters, digits and _, "
            "or $${ for a literal ${",
        )
    skip = {missing.path for missing in expansion.missing}

    top: _TomlFile | None = None
    try:
        top = _TomlFile.model_validate(data)
    except ValidationError as exc:
        report.add_validation(exc, model=_TomlFile, skip=skip)

    platforms = _check_platforms(report, tables, expansion, skip)
    if isinstance(raw_platforms, dict) and not any(_enabled(t) for t in tables.values()):
        report.add(
            ("platforms",), "no platform is enabled: nothing will be collected", severity="warning"
        )
    elif "platforms" not in data:
        report.add((), "no [platforms.NAME] table: nothing will be collected", severity="warning")

    watchlist_path, watchlist, watchlist_problems = _settings_watchlist(
        path, data, report, configured=list(tables), disabled=disabled
    )
    secrets = [*expansion.values, *platforms.secrets]
    problems = _scrub([*report.problems, *watchlist_problems], secrets)
    if top is None or watchlist is None or any(p.severity == "error" for p in problems):
        return None, problems
    settings = Settings(
        path=path,
        watchlist_path=watchlist_path,
        database=top.database,
        scheduler=top.scheduler,
        logging=top.logging,
        platforms=platforms.configs,
        watchlist=watchlist,
        warnings=tuple(_split(problems)[1]),
        env_values=tuple(dict.fromkeys(expansion.values)),
    )
    return settings, problems


def _check_platforms(
    report: _Report,
    tables: Mapping[str, Any],
    expansion: EnvExpansion,
    skip: Collection[KeyPath],
) -> _PlatformsResult:
    result = _PlatformsResult()
    installed = registry.available()
    for name, table in tables.items():
        table_path: KeyPath = ("platforms", name)
        if name not in installed:
            report.add(table_path, _unknown_platform_message(name, installed))
            continue
        if not isinstance(table, dict):
            report.add(table_path, f"expected a table: write it as [platforms.{name}]")
            continue
        try:
            model = registry.load(name).config_model
        except registry.PluginError as exc:
            report.add(table_path, str(exc))
            continue

        for key in _secret_fields(model):
            value = table.get(key)
            if not isinstance(value, str) or not value:
                continue
            result.secrets.append(value)
            if (*table_path, key) not in expansion.expanded_paths:
                report.add(
                    (*table_path, key),
                    f'{key} is a secret written in the file: write {key} = "${{VAR}}" '
                    "and set VAR in the environment",
                    severity="warning",
                )
        errors_before = len(report.errors())
        try:
            result.configs[name] = model.model_validate(table)
        except ValidationError as exc:
            report.add_validation(exc, model=model, prefix=table_path, skip=skip)
            if not _enabled(table) and len(report.errors()) == errors_before:
                unset = [p[2] for p in skip if p[:2] == table_path and len(p) == 3]
                result.configs[name] = _without_unset_secrets(model, table, unset)
    return result


def _without_unset_secrets(
    model: type[PlatformConfig], table: Mapping[str, Any], unset: Sequence[str | int]
) -> PlatformConfig:
    """A disabled platform's config whose only errors were its unset secrets.

    Nothing reads a disabled platform's secrets, but `plan` and the dashboard still list the
    platform, so every other key is validated as usual and the unset ones are left as None.
    """
    names = [key for key in unset if isinstance(key, str) and key in model.model_fields]
    optional: dict[str, Any] = {
        key: (_or_none(model.model_fields[key].annotation), None) for key in names
    }
    lenient = create_model(model.__name__, __base__=model, __module__=model.__module__, **optional)
    partial = {key: value for key, value in table.items() if key not in names}
    try:
        config: PlatformConfig = lenient.model_validate(partial)
    except ValidationError:
        # Unreachable for ordinary models; never let a disabled platform fail the whole load.
        config = model.model_construct(**table)
    return config


def _or_none(annotation: Any) -> Any:
    return annotation | None


def _secret_fields(model: type[BaseModel]) -> list[str]:
    return [
        name for name, info in model.model_fields.items() if _unwrap(info.annotation) is SecretStr
    ]


def _settings_watchlist(
    toml_path: Path,
    data: Mapping[str, Any],
    report: _Report,
    *,
    configured: Collection[str],
    disabled: Collection[str],
) -> tuple[Path, Watchlist | None, list[ConfigProblem]]:
    value = data.get("watchlist", "watchlist.yaml")
    if not isinstance(value, str) or not value.strip():
        return toml_path, None, []  # the model reports the bad value
    # Relative to the TOML file, not the working directory, so `collector run --config
    # /etc/collector/collector.toml` works from anywhere.
    watchlist_path = toml_path.parent / Path(value.strip()).expanduser()
    if not watchlist_path.is_file():
        state = "is a directory" if watchlist_path.is_dir() else "not found"
        report.add(("watchlist",), f"watchlist file {watchlist_path} {state}")
        return watchlist_path, None, []
    watchlist, problems = _check_watchlist(
        watchlist_path, configured=configured, disabled=disabled, configured_in=toml_path
    )
    return watchlist_path, watchlist, problems


# -- config check ------------------------------------------------------------------------------


def check_files(
    paths: Sequence[Path | str], *, environ: Mapping[str, str] | None = None
) -> list[ConfigProblem]:
    """Every problem (errors and warnings) of the given collector.toml and watchlist files."""
    env = os.environ if environ is None else environ
    problems: list[ConfigProblem] = []
    for raw in paths:
        path = Path(raw)
        suffix = path.suffix.lower()
        if suffix == ".toml":
            problems.extend(_check_settings(path, env)[1])
        elif suffix in (".yaml", ".yml"):
            problems.extend(_check_watchlist(path, configured=None)[1])
        elif not path.exists():
            problems.append(ConfigProblem(path, None, "", "file not found"))
        else:
            problems.append(
                ConfigProblem(
                    path, None, "", "unknown kind of file: expected .toml (settings) or .yaml"
                )
            )
    return _sorted_unique(problems)
