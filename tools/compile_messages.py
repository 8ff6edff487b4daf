"""Compile the translation catalogues (locale/<lang>/LC_MESSAGES/*.po) into the .mo files Django reads.

    .venv/bin/python tools/compile_messages.py [--force] [PO ...]

Babel does the compiling, so a fresh machine needs no system gettext (Django's `compilemessages`
calls msgfmt). A catalogue is compiled only when its .mo is missing or older than the .po, and each
.mo is written to a temporary file and renamed into place, so parallel builds never read half a
file. A catalogue whose translations break their placeholders (``%(name)s`` missing or renamed)
is refused: it would raise at render time. The .mo files are build output and not committed.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"


class CatalogueError(Exception):
    pass


def compile_catalogue(po: Path, *, force: bool = False) -> bool:
    """Compile one .po beside itself; True when a .mo was written."""
    mo = po.with_suffix(".mo")
    if not force and mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
        return False
    with po.open("rb") as f:
        catalog = read_po(f)
    # Fuzzy entries (msgmerge's guesses) are left out of the .mo, so their placeholders do not matter.
    problems = [f"{po}: {message.id!r}: {error}" for message, errors in catalog.check() if not message.fuzzy for error in errors]
    if problems:
        raise CatalogueError("\n".join(problems))
    tmp = mo.with_name(f".{mo.name}.{os.getpid()}.tmp")
    with tmp.open("wb") as f:
        write_mo(f, catalog, use_fuzzy=False)
    os.replace(tmp, mo)
    return True


def compile_all(root: Path = LOCALE_DIR, *, force: bool = False) -> list[Path]:
    return [po for po in sorted(root.glob("*/LC_MESSAGES/*.po")) if compile_catalogue(po, force=force)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("po", nargs="*", type=Path, help="catalogues to compile (default: every one under locale/)")
    parser.add_argument("--force", action="store_true", help="compile even when the .mo is up to date")
    args = parser.parse_args(argv)
    try:
        written = [po for po in args.po if compile_catalogue(po, force=args.force)] if args.po else compile_all(force=args.force)
    except CatalogueError as exc:
        print(exc, file=sys.stderr)
        return 1
    for po in written:
        print(f"compiled {po.with_suffix('.mo')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
