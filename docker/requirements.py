"""Print the pinned requirements of polyad's core and the given extras, read from pyproject.toml.

Used by the image builds so that the pins live in one place (pyproject.toml)::

    python docker/requirements.py pyproject.toml --extras ray,vision --exclude torch > requirements.txt

Self-references (``polyad[torch,ray]`` inside an extra) are expanded; ``--exclude`` drops packages that
the image installs separately (torch comes from the PyTorch index, CPU or CUDA build).
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from pathlib import Path

__all__ = ["requirements"]

_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirements(pyproject: Path, extras: list[str], exclude: set[str] = frozenset()) -> list[str]:
    """Core dependencies plus those of ``extras`` (recursively), in order, without duplicates."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    own = _canonical(project["name"])
    optional: dict[str, list[str]] = project.get("optional-dependencies", {})
    out: list[str] = []
    seen_extras: set[str] = set()

    def add(lines: list[str]) -> None:
        for line in lines:
            match = _NAME.match(line)
            if match is None:
                raise ValueError(f"cannot read the requirement {line!r}")
            name = _canonical(match.group(1))
            if name == own:  # polyad[a,b]: expand the referenced extras
                inner = line[match.end() :].strip()
                add_extras([e.strip() for e in inner.strip("[]").split(",") if e.strip()])
            elif name not in exclude and line not in out:
                out.append(line)

    def add_extras(names: list[str]) -> None:
        for extra in names:
            if extra in seen_extras:
                continue
            if extra not in optional:
                raise ValueError(f"unknown extra {extra!r}; pyproject.toml defines {', '.join(sorted(optional))}")
            seen_extras.add(extra)
            add(optional[extra])

    add(project.get("dependencies", []))
    add_extras(extras)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("pyproject", type=Path)
    parser.add_argument("--extras", default="", help="comma-separated extras, e.g. ray,vision")
    parser.add_argument("--exclude", default="", help="comma-separated package names to leave out")
    args = parser.parse_args(argv)
    extras = [e.strip() for e in args.extras.split(",") if e.strip()]
    exclude = {_canonical(e) for e in args.exclude.split(",") if e.strip()}
    try:
        lines = requirements(args.pyproject, extras, exclude)
    except ValueError as error:
        parser.error(str(error))
    sys.stdout.write("".join(f"{line}\n" for line in lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
