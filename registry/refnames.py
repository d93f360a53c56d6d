"""Git's reference-name rules (``git check-ref-format``), in Python.

A release is an annotated tag ``<kind>/<name>/v<version>``. A name or version
that git refuses as a tag must never get past loading: ``release`` writes its
row before its tags, and a tag git refuses would fail that release and every
later one. Running ``git check-ref-format`` once per name would cost a process
per file, so the rules of git's ``check_refname_format`` (refs.c) are repeated
here; a property test compares this function with the real command.
"""

from __future__ import annotations

# git's "disposition 4" characters (plus '*', which only refspec patterns may hold)
_BAD_CHARS = frozenset([chr(c) for c in range(0x20)] + ["\x7f", " ", ":", "?", "[", "\\", "^",
                                                        "~", "*"])


def refname_problem(refname: str) -> str | None:
    """Why git refuses ``refname`` as a full reference name, or ``None`` when it accepts it.

    The rules (``git help check-ref-format``): at least two ``/``-separated components,
    none empty, none starting with ``.`` or ending with ``.lock``; no ``..``, no ``@{``,
    no control characters, space, ``~ ^ : ? * [ \\``; not ending with ``.``; not ``@``.
    """
    if refname == "@":
        return "is the single character '@'"
    bad = next((ch for ch in refname if ch in _BAD_CHARS), None)
    if bad is not None:
        return f"contains the character {bad!r}"
    if ".." in refname:
        return "contains '..'"
    if "@{" in refname:
        return "contains '@{'"
    components = refname.split("/")
    if len(components) < 2:
        return "has no '/'"
    for component in components:
        if not component:
            return "has an empty component (a leading, trailing or doubled '/')"
        if component.startswith("."):
            return f"has a component starting with '.' ({component!r})"
        if component.endswith(".lock"):
            return f"has a component ending with '.lock' ({component!r})"
    if refname.endswith("."):
        return "ends with '.'"
    return None


def tag_problem(tag: str) -> str | None:
    """Why git refuses ``tag`` as a tag name (checked as ``refs/tags/<tag>``), or ``None``."""
    return refname_problem(f"refs/tags/{tag}")
