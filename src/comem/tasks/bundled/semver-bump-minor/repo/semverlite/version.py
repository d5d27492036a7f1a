"""The Version value object."""

from functools import total_ordering

from .parsing import parse_version


@total_ordering
class Version:
    """An immutable semantic version.

    >>> Version(1, 2, 3, prerelease=("rc", 1))
    Version('1.2.3-rc.1')
    """

    __slots__ = ("major", "minor", "patch", "prerelease", "build")

    def __init__(self, major, minor=0, patch=0, prerelease=(), build=()):
        for name, value in (("major", major), ("minor", minor), ("patch", patch)):
            if not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a non-negative int, got {value!r}")
        object.__setattr__(self, "major", major)
        object.__setattr__(self, "minor", minor)
        object.__setattr__(self, "patch", patch)
        object.__setattr__(self, "prerelease", tuple(prerelease))
        object.__setattr__(self, "build", tuple(build))

    def __setattr__(self, name, value):
        raise AttributeError("Version objects are immutable")

    @classmethod
    def parse(cls, text, loose=False):
        major, minor, patch, pre, build = parse_version(text, loose=loose)
        return cls(major, minor, patch, pre, build)

    # -- presentation -------------------------------------------------------------------

    def __str__(self):
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.prerelease:
            text += "-" + ".".join(str(p) for p in self.prerelease)
        if self.build:
            text += "+" + ".".join(self.build)
        return text

    def __repr__(self):
        return f"Version({str(self)!r})"

    # -- comparison (build metadata does not take part) --------------------------------

    def _key(self):
        return (self.major, self.minor, self.patch, self.prerelease)

    def __eq__(self, other):
        if isinstance(other, str):
            other = Version.parse(other)
        if not isinstance(other, Version):
            return NotImplemented
        return self._key() == other._key()

    def __lt__(self, other):
        from .compare import compare

        if isinstance(other, str):
            other = Version.parse(other)
        if not isinstance(other, Version):
            return NotImplemented
        return compare(self, other) < 0

    def __hash__(self):
        return hash(self._key())

    @property
    def is_prerelease(self):
        return bool(self.prerelease)

    # -- bumping --------------------------------------------------------------------------

    def bump_major(self):
        """1.4.2 -> 2.0.0; a prerelease of a major (2.0.0-rc.1) finalizes to 2.0.0."""
        if self.prerelease and self.minor == 0 and self.patch == 0:
            return Version(self.major, 0, 0)
        return Version(self.major + 1, 0, 0)

    def bump_minor(self):
        """1.4.2 -> 1.5.0; a prerelease of a minor (1.5.0-rc.1) finalizes to 1.5.0."""
        if self.prerelease and self.patch == 0:
            return Version(self.major, self.minor, 0)
        return Version(self.major, self.minor + 1, self.patch)

    def bump_patch(self):
        """1.4.2 -> 1.4.3; a prerelease (1.4.3-rc.1) finalizes to 1.4.3."""
        if self.prerelease:
            return Version(self.major, self.minor, self.patch)
        return Version(self.major, self.minor, self.patch + 1)

    def bump_prerelease(self, label="rc"):
        """1.4.2 -> 1.4.3-rc.0; 1.4.3-rc.0 -> 1.4.3-rc.1; 1.4.3-beta -> 1.4.3-beta.0."""
        if not self.prerelease:
            return Version(self.major, self.minor, self.patch + 1, (label, 0))
        pre = list(self.prerelease)
        if isinstance(pre[-1], int):
            pre[-1] += 1
        else:
            pre.append(0)
        return Version(self.major, self.minor, self.patch, tuple(pre))

    def finalize(self):
        """Drop prerelease and build metadata: 1.4.3-rc.1+abc -> 1.4.3."""
        return Version(self.major, self.minor, self.patch)

    def with_build(self, *build):
        return Version(self.major, self.minor, self.patch, self.prerelease, build)
