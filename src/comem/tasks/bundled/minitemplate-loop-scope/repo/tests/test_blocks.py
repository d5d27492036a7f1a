from minitemplate import Template


def test_for_loop():
    assert Template("{% for x in xs %}<{{ x }}>{% endfor %}").render(xs=[1, 2]) == "<1><2>"


def test_for_else():
    t = Template("{% for x in xs %}{{ x }}{% else %}empty{% endfor %}")
    assert t.render(xs=[]) == "empty"


def test_loop_info():
    t = Template("{% for x in xs %}{{ loop.index }}{% if loop.last %}.{% else %},{% endif %}{% endfor %}")
    assert t.render(xs="abc") == "1,2,3."


def test_unpacking_and_dict_items():
    t = Template("{% for k, v in d %}{{ k }}={{ v }};{% endfor %}")
    assert t.render(d={"a": 1, "b": 2}) == "a=1;b=2;"


def test_if_elif_else():
    t = Template("{% if n == 1 %}one{% elif n == 2 %}two{% else %}many{% endif %}")
    assert [t.render(n=n) for n in (1, 2, 3)] == ["one", "two", "many"]


def test_boolean_operators():
    t = Template("{% if a and not b or c %}yes{% else %}no{% endif %}")
    assert t.render(a=True, b=False) == "yes"
    assert t.render(a=True, b=True) == "no"
    assert t.render(c=1) == "yes"


def test_nested_loops():
    t = Template("{% for row in rows %}{% for c in row %}{{ c }}{% endfor %}/{% endfor %}")
    assert t.render(rows=[["a", "b"], ["c"]]) == "ab/c/"
