import pytest

from csvreport import CsvWriter


def test_plain_fields_unquoted():
    w = CsvWriter()
    w.writerow(["a", "b", 3])
    assert w.getvalue() == "a,b,3\r\n"


def test_quotes_comma_quote_and_newline():
    w = CsvWriter()
    w.writerow(["x,y", 'say "hi"', "two\nlines", " padded"])
    assert w.getvalue() == '"x,y","say ""hi""","two\nlines"," padded"\r\n'


def test_none_is_empty():
    w = CsvWriter()
    w.writerow([None, "a"])
    assert w.getvalue() == ",a\r\n"


def test_invalid_dialect():
    with pytest.raises(ValueError):
        CsvWriter(delimiter="ab")
    with pytest.raises(ValueError):
        CsvWriter(delimiter='"')
