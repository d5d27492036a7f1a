import pytest

from minitemplate import Template, TemplateSyntaxError


def test_variables_and_filters():
    t = Template("Hello {{ user.name|title }}! You have {{ items|length }} items.")
    assert t.render(user={"name": "ada lovelace"}, items=[1, 2, 3]) == "Hello Ada Lovelace! You have 3 items."


def test_missing_variables_render_empty():
    assert Template("[{{ nope }}][{{ a.b.c }}]").render(a={}) == "[][]"


def test_default_and_join():
    t = Template('{{ nickname|default("anon") }}: {{ tags|join(", ") }}')
    assert t.render(tags=["x", "y"]) == "anon: x, y"


def test_comments_removed():
    assert Template("a{# hidden #}b").render() == "ab"


def test_set_tag():
    assert Template("{% set greeting = 'hi' %}{{ greeting|upper }}").render() == "HI"


def test_autoescape_and_safe():
    t = Template("{{ html }}|{{ html|safe }}", autoescape=True)
    assert t.render(html="<b>&</b>") == "&lt;b&gt;&amp;&lt;/b&gt;|<b>&</b>"


@pytest.mark.parametrize("src", ["{{ }}", "{% for x %}{% endfor %}", "{% if x %}", "{{ a", "{% bogus %}", "{{ a|up( }}"])
def test_syntax_errors(src):
    with pytest.raises(TemplateSyntaxError):
        Template(src)
