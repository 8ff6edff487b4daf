"""Check that what Knotwork shows clients is translated (run by `make check`; docs/i18n.md).

    .venv/bin/python tools/check_translations.py [--template FILE ...]

Two checks over the client-facing areas listed below:

1. every message those templates and forms mark for translation has a Spanish and a French
   translation that is not empty and not fuzzy, with the same placeholders as the English (the
   messages are read from the sources themselves, so a string added without `make messages`
   fails too);
2. no template in those areas shows English outside a translate tag: a scan of the HTML text and
   of the attributes people read (alt, title, placeholder, aria-label, …) once every template tag,
   variable and comment is taken out. Brand names and units in ``ALLOWED_WORDS`` pass.

Exit status 0 when both hold, 1 with one line per problem otherwise. ``--template`` checks more
templates (the tests use it on a fixture).
"""

from __future__ import annotations

import argparse
import io
import os
import re
import sys
from collections.abc import Iterable
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LANGUAGES = ("es", "fr")

# The client-facing areas. Directory and public pages are checked whole but for the staff and
# verifier pages named here; of the clients' templates, only the portal's intake pages are.
TEMPLATE_GLOBS = (
    "templates/base.html",
    "templates/_form_errors.html",
    "templates/public/**/*.html",
    "templates/directory/**/*.html",
    "templates/accounts/portal_home.html",
    "templates/clients/portal_intake.html",
    "templates/clients/portal_details.html",
    "templates/clients/intake_step.html",
    "templates/clients/intake_consent.html",
    "templates/clients/consent_resign.html",
    "templates/clients/drawing_form.html",
    "templates/clients/_question.html",
    "templates/clients/_steps.html",
    "templates/clients/_intake_errors.html",
    "templates/clients/_signature.html",
    "templates/clients/_consent_docs.html",
    "templates/clients/_drawing_tools.html",
    "templates/pwa/*.html",
    "templates/video/*.html",
    "templates/clients/_language_note.html",
    "templates/clients/_intake_strings.html",
    # Messages with the clinic, and the client's outcome questionnaires (their items stay in the
    # validated English; the page says so).
    "templates/messaging/*.html",
    "templates/outcomes/portal_measures.html",
    "templates/outcomes/record.html",
    # What is sent to clients: e-mails (HTML and text), rendered in the client's language.
    "templates/bookings/email/*.html",
    "templates/bookings/email/*.txt",
    "templates/bookings/series_email.html",
    "templates/bookings/series_email.txt",
    "templates/care/email/*.txt",
    "templates/outcomes/email/*.txt",
    # Booking pages and the rest of the client portal.
    "templates/bookings/clinic.html",
    "templates/bookings/slots.html",
    "templates/bookings/_slot_grid.html",
    "templates/bookings/confirm.html",
    "templates/bookings/taken.html",
    "templates/bookings/mine.html",
    "templates/bookings/reschedule.html",
    "templates/bookings/appointment.html",
    "templates/bookings/class_public.html",
    "templates/bookings/class_public_rows.html",
    "templates/bookings/class_mine.html",
    "templates/bookings/class_mine_rows.html",
    "templates/bookings/waitlist_join.html",
    "templates/bookings/waitlist_mine.html",
    "templates/bookings/waitlist_claim.html",
    "templates/bookings/waitlist_window.html",
    "templates/billing/_saved_card.html",
    "templates/billing/portal_card.html",
    "templates/billing/portal_pay.html",
    "templates/billing/portal_pay_return.html",
    # Money in the portal and the shop: invoices, memberships, statements, buying online.
    "templates/billing/portal_invoices.html",
    "templates/billing/_status.html",
    "templates/billing/membership_portal.html",
    "templates/billing/statement.html",
    "templates/billing/_statement_balance.html",
    "templates/billing/shop_*.html",
    "templates/billing/_shop_contents.html",
    "templates/billing/_shop_link.html",
    # Receipts and gift cards e-mailed to clients.
    "templates/billing/email/*.txt",
    "templates/care/aftercare.html",
    "templates/care/portal_program.html",
    "templates/care/checkin_form.html",
    "templates/care/checkin_done.html",
    "templates/care/checkin_gone.html",
    # The public Learn pages: articles' interface, search, the exercise library, the self-check.
    "templates/learn/*.html",
)
STAFF_TEMPLATES = frozenset(
    {
        "templates/directory/clinic.html",
        "templates/directory/credential_edit.html",
        "templates/directory/credentials.html",
        "templates/directory/_credential_fields.html",
        "templates/directory/_credential_status.html",
        "templates/directory/_review_card.html",
        "templates/directory/moderation.html",
        "templates/directory/my_profile.html",
        "templates/directory/verify.html",
        "templates/directory/verify_queue.html",
        # The therapist's copy of a new booking: staff read the clinic's language.
        "templates/bookings/email/confirmation_staff.html",
        "templates/bookings/email/confirmation_staff.txt",
        # The Learn editor: writers' pages.
        "templates/learn/manage.html",
        "templates/learn/form.html",
        "templates/learn/_preview.html",
    }
)
# Forms whose labels, help texts and errors clients read, and the code that writes to clients.
PYTHON_SOURCES = (
    "knotwork/clients/forms.py",
    "knotwork/clients/intake/forms.py",
    "knotwork/directory/forms.py",
    "knotwork/pwa/forms.py",
    "knotwork/pwa/views.py",
    "knotwork/clients/portal_views.py",
    "knotwork/clients/intake/services.py",
    "knotwork/clients/documents.py",
    "knotwork/clients/language.py",
    "knotwork/messaging/forms.py",
    "knotwork/bookings/models.py",
    "knotwork/messaging/services.py",
    "knotwork/messaging/views.py",
    "knotwork/bookings/forms.py",
    "knotwork/bookings/waitlist_views.py",
    "knotwork/care/forms.py",
    "knotwork/care/aftercare.py",
    "knotwork/outcomes/charts.py",  # the client's outcome chart (axis, legend, summary)
    "knotwork/care/documents.py",
    # Subjects and texts of what is sent to clients (e-mail, SMS, PDF).
    "knotwork/bookings/tasks.py",
    "knotwork/bookings/waitlist.py",
    "knotwork/bookings/classes.py",
    "knotwork/bookings/series.py",
    "knotwork/care/tasks.py",
    "knotwork/messaging/tasks.py",
    "knotwork/outcomes/tasks.py",
    "knotwork/accounts/services.py",
    # Money: the shop's form and messages, the statement's form, memberships' fee period, receipts
    # and the gift card's e-mail.
    "knotwork/billing/shop_forms.py",
    "knotwork/billing/shop.py",
    "knotwork/billing/shop_views.py",
    "knotwork/billing/statement_views.py",
    "knotwork/billing/membership_models.py",
    "knotwork/billing/receipt_email.py",
    "knotwork/billing/client_text.py",
    "knotwork/billing/fees.py",  # the cancellation policy's sentence, on booking and portal pages
    # The public Learn pages: the self-check's form and result, the exercise library's pages.
    "knotwork/learn/forms.py",
    "knotwork/learn/selfcheck.py",
    "knotwork/learn/views.py",
    "knotwork/learn/exercise_views.py",
)
KEYWORDS = {
    "_": None,
    "gettext": None,
    "gettext_lazy": None,
    "gettext_noop": None,
    "ngettext": (1, 2),
    "ngettext_lazy": (1, 2),
    "pgettext": ((1, "c"), 2),
    "pgettext_lazy": ((1, "c"), 2),
    "npgettext": ((1, "c"), 2, 3),
    "npgettext_lazy": ((1, "c"), 2, 3),
}
# Words that are the same in every language Knotwork speaks.
ALLOWED_WORDS = frozenset({"Knotwork", "PDF", "NMT", "km", "min", "SHA"})
READ_ATTRIBUTES = frozenset({"alt", "title", "placeholder", "aria-label", "aria-description", "data-confirm", "data-bodymap-empty"})

_TRANSLATE_BLOCK = re.compile(r"{%\s*blocktrans(?:late)?\b.*?%}.*?{%\s*endblocktrans(?:late)?\s*%}", re.S)
_COMMENT_BLOCK = re.compile(r"{%\s*comment\b.*?%}.*?{%\s*endcomment\s*%}", re.S)
# Blocks that hold markup values (a class name), not text anyone reads.
_VALUE_BLOCK = re.compile(r"{%\s*block\s+main_class\s*%}.*?{%\s*endblock\b.*?%}", re.S)
_TEMPLATE_BITS = re.compile(r"{#.*?#}|{%.*?%}|{{.*?}}", re.S)
_WORD = re.compile(r"[^\W\d_]{2,}")


def client_templates(root: Path = ROOT) -> list[Path]:
    found: set[Path] = set()
    for pattern in TEMPLATE_GLOBS:
        found.update(p for p in root.glob(pattern) if p.is_file())
    return sorted(p for p in found if p.relative_to(root).as_posix() not in STAFF_TEMPLATES)


# --- 1. messages and their translations ------------------------------------------------------


def messages_used(templates: Iterable[Path], python_sources: Iterable[Path]) -> dict[tuple[str | None, str | tuple[str, ...]], str]:
    """(context, msgid) -> where it is first used, from the templates and Python sources given."""
    from babel.messages.extract import extract_python
    from django.utils.translation.template import templatize

    used: dict[tuple[str | None, str | tuple[str, ...]], str] = {}
    for path in python_sources:
        with path.open("rb") as f:
            for lineno, func, messages, _comments in extract_python(f, KEYWORDS, [], {}):
                for key in _keys(func, messages):
                    used.setdefault(key, f"{_rel(path)}:{lineno}")
    for path in templates:
        # templatize keeps the template's indentation, which Python's tokenizer would refuse.
        code = "\n".join(line.lstrip() for line in templatize(path.read_text(encoding="utf-8"), origin=str(path)).splitlines())
        for lineno, func, messages, _comments in extract_python(io.BytesIO(code.encode()), KEYWORDS, [], {}):
            for key in _keys(func, messages):
                used.setdefault(key, f"{_rel(path)}:{lineno}")
    return used


def _keys(func: str, messages: object) -> list[tuple[str | None, str | tuple[str, ...]]]:
    items = messages if isinstance(messages, tuple) else (messages,)
    while items and items[-1] is None:  # ngettext's count, a variable: not a message
        items = items[:-1]
    if not items or any(not isinstance(m, str) for m in items):
        return []  # a variable (e.g. a language name from Django's own catalogue): nothing to check here
    texts = [str(m) for m in items]
    if func.startswith("np"):
        return [(texts[0], (texts[1], texts[2]))]
    if func.startswith("p"):
        return [(texts[0], texts[1])]
    if func.startswith("n"):
        return [(None, (texts[0], texts[1]))]
    return [(None, texts[0])]


def catalogue_problems(used: dict[tuple[str | None, str | tuple[str, ...]], str], root: Path = ROOT) -> list[str]:
    from babel.messages.pofile import read_po

    problems: list[str] = []
    for lang in LANGUAGES:
        po = root / "locale" / lang / "LC_MESSAGES" / "django.po"
        if not po.exists():
            problems.append(f"{_rel(po)}: missing (run `make messages`)")
            continue
        with po.open("rb") as f:
            catalog = read_po(f)
        for message, errors in catalog.check():
            if not message.fuzzy:  # fuzzy entries are not compiled; a used one is reported below
                problems.extend(f"{_rel(po)}: {message.id!r}: {error}" for error in errors)
        for (context, msgid), where in sorted(used.items(), key=lambda kv: kv[1]):
            message = catalog.get(msgid, context=context)
            label = f"{where}: {lang}: {msgid!r}" + (f" (context {context!r})" if context else "")
            if message is None:
                problems.append(f"{label} is not in the catalogue (run `make messages` and translate it)")
            elif message.fuzzy:
                problems.append(f"{label} is marked fuzzy: check the translation and remove the flag")
            elif not message.string or (isinstance(message.string, tuple) and not all(message.string)):
                problems.append(f"{label} has no translation")
    return problems


# --- 2. English outside translate tags -------------------------------------------------------


class _TextScan(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[int, str]] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        values = dict(attrs)
        for name, value in attrs:
            if value and (name in READ_ATTRIBUTES or (tag == "meta" and name == "content" and values.get("name") == "description")):
                self._check(value)
        if tag == "input" and values.get("type") in ("submit", "button") and values.get("value"):
            self._check(values["value"] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self._check(data)

    def _check(self, text: str) -> None:
        words = [w for w in _WORD.findall(text) if w not in ALLOWED_WORDS]
        if words:
            self.found.append((self.getpos()[0], " ".join(text.split())))


def untranslated_text(path: Path) -> list[str]:
    source = path.read_text(encoding="utf-8")

    def blank(match: re.Match[str]) -> str:
        # Keep the line count so reports point at the right line.
        return "\n" * match.group(0).count("\n")

    stripped = source
    for pattern in (_COMMENT_BLOCK, _VALUE_BLOCK, _TRANSLATE_BLOCK, _TEMPLATE_BITS):
        stripped = pattern.sub(blank, stripped)
    scan = _TextScan()
    scan.feed(stripped)
    scan.close()
    return [f"{_rel(path)}:{line}: English outside a translate tag: {text!r}" for line, text in scan.found]


def _rel(path: Path) -> str:
    try:
        return path.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return str(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--template", action="append", type=Path, default=[], help="check this template too")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    templates = [*client_templates(), *args.template]
    used = messages_used(templates, [ROOT / p for p in PYTHON_SOURCES])
    problems = catalogue_problems(used)
    for path in templates:
        problems.extend(untranslated_text(path))
    for line in problems:
        print(line)
    count = len(templates)
    if problems:
        print(f"{len(problems)} translation problem(s) in what clients see ({count} templates checked); see docs/i18n.md")
        return 1
    languages = ", ".join(LANGUAGES)
    print(f"translations: {len(used)} messages in {count} templates and {len(PYTHON_SOURCES)} Python modules, all in {languages}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
