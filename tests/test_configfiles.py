"""parse_yaml: plain data and the line of every key, read from the parser's events.

Every test runs on both parsers the reader may use: libyaml (when PyYAML has it) and PyYAML's
own, which reads any file libyaml refuses so that errors are worded as PyYAML words them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from collector import configfiles
from collector.configfiles import SourceDocument, SourceError, SourceProblem, parse_yaml

EXAMPLE = Path(__file__).resolve().parents[1] / "config" / "watchlist.example.yaml"
LIBYAML = getattr(yaml, "CSafeLoader", None)


@pytest.fixture(params=["libyaml", "pyyaml"])
def parser(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Which parser reads the file first."""
    monkeypatch.setattr(
        configfiles, "_FAST_LOADER", LIBYAML if request.param == "libyaml" else None
    )
    return str(request.param)


def source_error(text: str) -> SourceError:
    with pytest.raises(SourceError) as excinfo:
        parse_yaml(text)
    return excinfo.value


def as_tuple(document: SourceDocument) -> tuple[object, ...]:
    return (document.data, document.lines, document.texts, document.problems)


def test_keys_and_items_are_mapped_to_their_lines(parser: str) -> None:
    document = parse_yaml("creators:\n  - name: A\n    accounts:\n      demo: [a, b]\n")

    assert document.data == {"creators": [{"name": "A", "accounts": {"demo": ["a", "b"]}}]}
    assert document.lines == {
        (): 1,
        ("creators",): 1,
        ("creators", 0): 2,
        ("creators", 0, "name"): 2,
        ("creators", 0, "accounts"): 3,
        ("creators", 0, "accounts", "demo"): 4,
        ("creators", 0, "accounts", "demo", 0): 4,
        ("creators", 0, "accounts", "demo", 1): 4,
    }


def test_the_installed_pyyaml_has_libyaml() -> None:
    # The pinned PyYAML wheels bundle libyaml, which a 100,000-creator watchlist needs (ten
    # times PyYAML's own parser); without it every "libyaml" case below would test PyYAML twice.
    assert LIBYAML is not None


def test_both_parsers_read_the_example_watchlist_alike(monkeypatch: pytest.MonkeyPatch) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    fast = parse_yaml(text)
    monkeypatch.setattr(configfiles, "_FAST_LOADER", None)

    assert as_tuple(fast) == as_tuple(parse_yaml(text))


def test_unquoted_scalars_typed_by_yaml_keep_their_text(parser: str) -> None:
    document = parse_yaml("a: no\nb: 007\nc: 'no'\nd: !\n")

    assert document.data == {"a": False, "b": 7, "c": "no", "d": None}
    assert document.texts == {("a",): "no", ("b",): "007"}


def test_an_alias_is_read_as_its_anchor_at_the_anchors_lines(parser: str) -> None:
    document = parse_yaml("base: &shared\n  tags: [a, b]\ncopy: *shared\n")

    assert document.data["copy"] == {"tags": ["a", "b"]}
    assert document.data["copy"] is not document.data["base"]
    assert document.lines[("copy",)] == 3
    assert document.lines[("copy", "tags", 1)] == 2


def test_an_alias_inside_its_own_anchor_is_a_problem_at_the_anchor(parser: str) -> None:
    document = parse_yaml("loop: &a\n  self: *a\n")

    assert document.data == {"loop": {"self": None}}
    assert document.problems == [
        SourceProblem(
            ("loop", "self"), 1, "an alias refers to the mapping or list that contains it"
        )
    ]


def test_an_undefined_alias_is_an_error_at_its_line(parser: str) -> None:
    error = source_error("a: 1\nb: *nope\n")

    assert (error.line, error.message) == (2, "invalid YAML: found undefined alias 'nope'")


def test_an_anchor_defined_twice_is_an_error_at_the_second(parser: str) -> None:
    error = source_error("a: &x 1\nb: &x 2\n")

    assert error.line == 2
    assert error.message == (
        "invalid YAML: second occurrence (found duplicate anchor 'x'; first occurrence at line 1)"
    )


def test_a_second_document_is_an_error_at_its_start(parser: str) -> None:
    error = source_error("a: 1\n---\nb: 2\n")

    assert error.line == 2
    assert error.message.startswith("invalid YAML: but found another document")


def test_a_syntax_error_is_worded_by_pyyaml_whichever_parser_read_first(parser: str) -> None:
    # libyaml words this "did not find expected ',' or ']'"; the file is read again by PyYAML.
    error = source_error("a: [1, 2\nb: 3\n")

    assert error.line == 2
    assert error.message == (
        "invalid YAML: expected ',' or ']', but got ':' (while parsing a flow sequence at line 1)"
    )


def test_a_control_character_is_refused_at_its_line(parser: str) -> None:
    error = source_error("a: 1\nb: x\x00y\n")

    assert (error.line, error.message) == (2, "invalid YAML: character 0 is not allowed")


def test_the_value_of_a_duplicate_key_adds_no_lines(parser: str) -> None:
    document = parse_yaml("a: 1\na: [x, &k y]\nb: *k\n")

    # The refused value is read (its anchor still counts) but not kept or located.
    assert document.data == {"a": 1, "b": "y"}
    assert document.lines == {(): 1, ("a",): 1, ("b",): 3}
    assert [problem.line for problem in document.problems] == [2]


def test_keys_that_are_lists_or_merges_are_problems(parser: str) -> None:
    document = parse_yaml("? [x]\n: 1\n<<: {b: 2}\nc: 3\n")

    assert document.data == {"c": 3}
    assert [(problem.line, problem.message) for problem in document.problems] == [
        (1, "a key must be a plain word, not a list or mapping"),
        (3, "merge keys (<<) are not supported: write keys out"),
    ]


def test_an_empty_file_is_no_data(parser: str) -> None:
    assert parse_yaml("# nothing yet\n").data is None
