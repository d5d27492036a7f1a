import pytest

from iniconf import ParseError, parse


def test_sections_and_options():
    parsed = parse("[a]\nx = 1\nY: 2\n\n[b]\nz=3\n")
    assert parsed.sections == {"a": {"x": "1", "y": "2"}, "b": {"z": "3"}}


def test_default_section_is_separate():
    parsed = parse("[DEFAULT]\nx = 1\n[a]\ny = 2\n")
    assert parsed.defaults == {"x": "1"}
    assert parsed.sections == {"a": {"y": "2"}}


def test_comments_and_inline_comments():
    parsed = parse("# top\n[a]\n; note\nport = 8080  # http\nurl = http://x/#frag\n")
    assert parsed.sections["a"] == {"port": "8080", "url": "http://x/#frag"}


def test_continuation_lines():
    parsed = parse("[a]\nitems = one,\n    two,\n    three\n")
    assert parsed.sections["a"]["items"] == "one,\ntwo,\nthree"


@pytest.mark.parametrize(
    "text, lineno",
    [
        ("x = 1\n", 1),
        ("[a]\nx = 1\n[a]\n", 3),
        ("[a]\nx = 1\nX = 2\n", 3),
        ("[a\n", 1),
        ("[a]\njust words\n", 2),
    ],
)
def test_errors_carry_line_numbers(text, lineno):
    with pytest.raises(ParseError) as info:
        parse(text, source="app.ini")
    assert info.value.lineno == lineno
    assert str(info.value).startswith(f"app.ini:{lineno}:")
