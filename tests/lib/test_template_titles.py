"""Every page title is plain text: a `head_title` block never swallows page markup.

An edit that put a section before the block's `{% endblock %}` rendered the section inside
`<title>` (and a second time in the page), which no page test noticed.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TITLE = re.compile(r"{%\s*block\s+head_title\s*%}(.*?){%\s*endblock", re.S)


def test_every_head_title_block_holds_plain_text_on_one_line() -> None:
    bad = []
    for path in sorted(ROOT.glob("templates/**/*.html")) + sorted(ROOT.glob("knotwork/**/templates/**/*.html")):
        for title in TITLE.findall(path.read_text(encoding="utf-8")):
            if "<" in title or "\n" in title:
                bad.append(f"{path.relative_to(ROOT)}: {title[:60]!r}")
    assert bad == []
