"""Turn a command's byte stream, however large, into a short observation that is valid UTF-8.

Memory stays bounded while a command prints without limit: only the first and last halves of
`max_bytes` are kept. The end survives on purpose, because that is where test summaries and
tracebacks are.
"""

from __future__ import annotations

MAX_LINE_CHARS = 2000
MAX_OUTPUT_CHARS = 8000  # of an observation, after the line limit: about 2,000 tokens


def truncation_divider(omitted_lines: int) -> str:
    return f"<Observation truncated in middle for saving context: {omitted_lines} lines omitted>"


def split_lines(text: str) -> list[str]:
    """Split on "\\n" only (like `cat -n` and grep count lines), without a phantom last line."""
    lines = text.split("\n")
    return lines[:-1] if lines and lines[-1] == "" else lines


def cap_line(line: str, max_chars: int = MAX_LINE_CHARS) -> str:
    if len(line) <= max_chars:
        return line
    return f"{line[:max_chars]}... <line truncated: {len(line) - max_chars} more characters>"


def decode(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


class OutputCapture:
    """Keeps the first and last `max_bytes // 2` bytes of a stream and counts what it dropped."""

    def __init__(self, max_bytes: int) -> None:
        self._half = max(1, max_bytes // 2)
        self._head = bytearray()
        self._tail = bytearray()
        self.dropped_bytes = 0
        self.total_bytes = 0
        self._newlines = 0
        self._ends_with_newline = True

    def feed(self, chunk: bytes) -> None:
        if not chunk:
            return
        self.total_bytes += len(chunk)
        self._newlines += chunk.count(b"\n")
        self._ends_with_newline = chunk.endswith(b"\n")
        room = self._half - len(self._head)
        if room > 0:
            self._head += chunk[:room]
            chunk = chunk[room:]
        self._tail += chunk
        excess = len(self._tail) - self._half
        if excess > 0:
            del self._tail[:excess]
            self.dropped_bytes += excess

    @property
    def total_lines(self) -> int:
        if self.total_bytes == 0:
            return 0
        return self._newlines + (0 if self._ends_with_newline else 1)

    def render(self, max_lines: int, max_chars: int = MAX_OUTPUT_CHARS) -> str:
        """The kept text with at most `max_lines` lines and `max_chars` characters: the first and last half, a
        divider between."""
        first_n = max(1, max_lines // 2)
        last_n = max(1, max_lines - first_n)
        if self.dropped_bytes == 0:
            lines = split_lines(decode(bytes(self._head + self._tail)))
            if len(lines) > max_lines:
                omitted = len(lines) - first_n - last_n
                lines = [*lines[:first_n], truncation_divider(omitted), *lines[-last_n:]]
        else:
            # Decoded separately so a character cut at either edge costs only a replacement char.
            head = split_lines(decode(bytes(self._head)))[:first_n]
            tail = split_lines(decode(bytes(self._tail)))[-last_n:]
            omitted = max(0, self.total_lines - len(head) - len(tail))
            lines = [*head, truncation_divider(omitted), *tail]
        return cap_chars("\n".join(cap_line(line) for line in lines), max_chars)


def cap_chars(text: str, max_chars: int = MAX_OUTPUT_CHARS) -> str:
    """At most about `max_chars` characters: the first and last half, cut at line ends, and a note between that says
    how to see the rest."""
    if len(text) <= max_chars:
        return text
    half = max_chars // 2
    head, tail = text[:half], text[-half:]
    head = head[: head.rfind("\n")] if "\n" in head else head
    tail = tail[tail.find("\n") + 1 :] if "\n" in tail else tail
    omitted = len(text) - len(head) - len(tail)
    return (f"{head}\n<Observation truncated in middle for saving context: {omitted} characters omitted. To see them, "
            f"write the output to a file and read parts of it with `sed -n`, `grep` or `head`/`tail`>\n{tail}")
