"""Engine failures carry their kind (engine/include/lens/error.h) and the language
maps them by kind alone (kernel/lang/engine_error.c): a failure for memory or an
interrupt that only says so in its words would become a RuntimeError. This scan
fails on any plain lens_fail(...) whose message speaks of memory or an
interrupt, and on any language code that picks an exception by looking for those
words in a message."""
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]
# the engine, the device kernels and the language (whose lens_errors reach
# lang_engine_error); the kernel's protocol code reports its errors as log lines
SOURCES = ["engine", "kernels", "kernel/lang"]

# words that mean the failure is a MemoryError or a KeyboardInterrupt
MEMORY_OR_INTERRUPT = re.compile(r"out of memory|memory limit|cannot allocate|^interrupted$", re.IGNORECASE)
STRING = re.compile(r'\s*"((?:[^"\\]|\\.)*)"')


def sources():
    for top in SOURCES:
        for path in sorted((ROOT / top).rglob("*")):
            if path.suffix in (".c", ".h", ".cu", ".cuh"):
                yield path


def strip_comments(text):
    return re.sub(r"/\*.*?\*/|//[^\n]*", lambda m: re.sub(r"[^\n]", " ", m.group(0)), text, flags=re.S)


def plain_fail_messages(text):
    """(line, format) for every lens_fail(err, "..." "...", ...) call: the
    format is the concatenation of the string literals after the first argument."""
    for m in re.finditer(r"\blens_fail\s*\(", text):
        i, depth = m.end(), 0
        while i < len(text) and not (depth == 0 and text[i] == ","):
            if text[i] in "([":
                depth += 1
            elif text[i] in ")]":
                if depth == 0:
                    break
                depth -= 1
            i += 1
        fmt, j = "", i + 1
        while (s := STRING.match(text, j)):
            fmt += s.group(1)
            j = s.end()
        yield text.count("\n", 0, m.start()) + 1, fmt


def message_tests(text):
    """(line, literal) for every strstr(..., "...") that reads a message."""
    for m in re.finditer(r"\bstrstr\s*\(\s*[^,()]*(?:msg|->m\b|\bm\b)[^,()]*,\s*\"((?:[^\"\\]|\\.)*)\"", text):
        yield text.count("\n", 0, m.start()) + 1, m.group(1)


def test_the_scan_reads_calls_across_lines():
    sample = 'x = lens_fail(f(a, b), "this needs %s, over the "\n   "memory limit of %s", a, l);\nlens_fail(err, "interrupted");'
    got = [fmt for _, fmt in plain_fail_messages(sample)]
    assert got == ["this needs %s, over the memory limit of %s", "interrupted"]
    assert all(MEMORY_OR_INTERRUPT.search(f) for f in got)
    assert not MEMORY_OR_INTERRUPT.search("tensor is not interrupted here")
    assert [lit for _, lit in message_tests('if (strstr(err->msg, "memory")) x;')] == ["memory"]


def test_no_engine_failure_for_memory_or_interrupt_lacks_its_kind():
    bad, calls = [], 0
    for path in sources():
        text = strip_comments(path.read_text(errors="replace"))
        for line, fmt in plain_fail_messages(text):
            calls += 1
            if MEMORY_OR_INTERRUPT.search(fmt):
                bad.append(f"{path.relative_to(ROOT)}:{line}: lens_fail(\"{fmt}\") needs lens_fail_kind/lens_fail_oom")
    assert calls > 250, calls   # the sources were read
    assert bad == [], "\n".join(bad)


def test_the_language_never_reads_a_message_for_memory_or_an_interrupt():
    bad = []
    for path in sources():
        text = strip_comments(path.read_text(errors="replace"))
        for line, literal in message_tests(text):
            if re.search(r"memory|interrupt", literal, re.IGNORECASE):
                bad.append(f"{path.relative_to(ROOT)}:{line}: strstr(..., \"{literal}\")")
    assert bad == [], "\n".join(bad)
