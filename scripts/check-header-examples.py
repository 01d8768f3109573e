#!/usr/bin/env python3
"""Every @code example of the public headers is compiled.

Usage: check-header-examples.py <source dir>

The examples of include/muster/**/*.hpp are compiled in
tests/consumer/header_examples.cpp (by the consumer test, against the
installed package). This checks that each example's text is there: its
lines, stripped of the comment marker and surrounding whitespace, appear
one after the other in that file (blank lines and #include lines aside:
the compiled file includes the headers once, at its top). A comment line
starting with "// ..." in an example elides code: the parts it separates
are found in order, with anything between them. An example that
is added or edited in a header without being compiled fails here, with the
header, the line and the first line not found.
"""
import pathlib
import re
import sys

MARKER = re.compile(r"^\s*///\s?")


def examples(header):
    """(line number, [stripped lines]) of each @code block of a header."""
    block, start = None, 0
    for number, line in enumerate(header.read_text().splitlines(), 1):
        if not MARKER.match(line):
            block = None
            continue
        text = MARKER.sub("", line, count=1)
        if text.strip() == "@code":
            block, start = [], number
        elif text.strip() == "@endcode":
            if block is not None:
                yield start, block
            block = None
        elif block is not None:
            block.append(text.strip())


def significant(lines):
    return [line for line in lines if line and not line.startswith("#include")]


def find(needle, haystack, start=0):
    """Where needle ends as a contiguous run of haystack[start:], or -1."""
    for i in range(start, len(haystack) - len(needle) + 1):
        if haystack[i : i + len(needle)] == needle:
            return i + len(needle)
    return -1


def parts(lines):
    """The runs of lines between "// ..." elisions."""
    run = []
    for line in lines:
        if not line.startswith("// ..."):
            run.append(line)
        elif run:
            yield run
            run = []
    if run:
        yield run


def find_all(lines, haystack):
    """The first line of an example not found in order, or None."""
    at = 0
    for run in parts(lines):
        end = find(run, haystack, at)
        if end < 0:
            return run[longest_prefix(run, haystack)]
        at = end
    return None


def longest_prefix(needle, haystack):
    best = 0
    for i in range(len(haystack)):
        n = 0
        while n < len(needle) and i + n < len(haystack) and haystack[i + n] == needle[n]:
            n += 1
        best = max(best, n)
    return min(best, len(needle) - 1)


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    root = pathlib.Path(sys.argv[1])
    compiled_path = root / "tests/consumer/header_examples.cpp"
    compiled = significant(line.strip() for line in compiled_path.read_text().splitlines())
    headers = sorted((root / "include").rglob("*.hpp"))
    count, missing = 0, []
    for header in headers:
        for start, block in examples(header):
            lines = significant(block)
            if not lines:
                continue
            count += 1
            first_missing = find_all(lines, compiled)
            if first_missing is not None:
                missing.append(
                    f"{header.relative_to(root)}:{start}: not compiled from: {first_missing}")
    if count == 0:
        print(f"no @code examples found under {root / 'include'}", file=sys.stderr)
        return 1
    for m in missing:
        print(m, file=sys.stderr)
    if missing:
        print(
            f"{len(missing)} of {count} header examples are not in {compiled_path.relative_to(root)}"
            " (copy each there, into a function, and make it compile)",
            file=sys.stderr,
        )
        return 1
    print(f"all {count} header examples are compiled in {compiled_path.relative_to(root)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
