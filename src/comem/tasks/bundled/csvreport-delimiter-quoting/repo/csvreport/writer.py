"""A minimal RFC 4180 CSV writer.

Fields are quoted only when needed: when they contain the delimiter, the quote character,
a line break, or leading/trailing spaces. Quote characters inside a field are doubled.
"""

import io


class CsvWriter:
    def __init__(self, stream=None, delimiter=",", quotechar='"', lineterminator="\r\n"):
        if len(delimiter) != 1 or len(quotechar) != 1:
            raise ValueError("delimiter and quotechar must be single characters")
        if delimiter == quotechar:
            raise ValueError("delimiter and quotechar must differ")
        self.stream = stream if stream is not None else io.StringIO()
        self.delimiter = delimiter
        self.quotechar = quotechar
        self.lineterminator = lineterminator
        self.rows_written = 0

    def _needs_quoting(self, field):
        if field != field.strip():
            return True
        return any(ch in field for ch in (",", self.quotechar, "\n", "\r"))

    def escape(self, field):
        field = "" if field is None else str(field)
        if not self._needs_quoting(field):
            return field
        q = self.quotechar
        return q + field.replace(q, q + q) + q

    def writerow(self, fields):
        self.stream.write(self.delimiter.join(self.escape(f) for f in fields) + self.lineterminator)
        self.rows_written += 1

    def writerows(self, rows):
        for row in rows:
            self.writerow(row)

    def getvalue(self):
        return self.stream.getvalue()
