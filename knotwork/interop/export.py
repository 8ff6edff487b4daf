"""The client data export: a ZIP with a readable PDF summary, the FHIR bundle, one CSV per table
and the files (signed consents, signed visit notes, progress reports, photos, attachments).

Which rows belong to the client is not a hand-kept list: :func:`client_rows` walks Django's
reverse relations from the client row, recursively, through every model that points at a row
already collected. A model added later is therefore exported automatically, unless it is named
in :data:`EXCLUDED` with the reason it is left out. Secret columns (:data:`REDACTED_FIELDS`) are
blanked: they prove nothing to the client and would help an attacker.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from django.core.files.storage import default_storage
from django.db import models
from django.utils import timezone

from knotwork.clients.models import Client
from knotwork.lib.csv import neutralise
from knotwork.lib.pdf import Document

# model label -> why its rows are not in the export. Keep the reason honest: docs/interop.md lists these.
EXCLUDED: dict[str, str] = {
    "interop.dataexport": "The export requests themselves: bookkeeping about exports, not part of the record.",
    "directory.reviewreport": "Reports other people made about a review; they are the reporters' data, not the client's.",
}
REDACTED_FIELDS = frozenset({"token_hash", "secret_hash", "password"})


def _reverse_relations(model: type[models.Model]) -> Iterator[Any]:
    for rel in model._meta.get_fields(include_hidden=True):
        if rel.auto_created and not rel.concrete and (rel.one_to_many or rel.one_to_one or rel.many_to_many):
            yield rel


def client_rows(client: Client) -> dict[type[models.Model], set[Any]]:
    """Every row linked to ``client``: model -> primary keys, found by walking reverse relations to a fixed point."""
    found: dict[type[models.Model], set[Any]] = defaultdict(set)
    found[Client].add(client.pk)
    frontier: dict[type[models.Model], set[Any]] = {Client: {client.pk}}
    while frontier:
        nxt: dict[type[models.Model], set[Any]] = defaultdict(set)
        for model, pks in frontier.items():
            for rel in _reverse_relations(model):
                related = rel.related_model
                if related._meta.label_lower in EXCLUDED or related is Client:
                    continue
                name = rel.field.name
                child = set(related._default_manager.filter(**{f"{name}__in": list(pks)}).values_list("pk", flat=True))
                new = child - found[related]
                if new:
                    found[related] |= new
                    nxt[related] |= new
        frontier = nxt
    return {m: pks for m, pks in found.items() if pks}


def _value(row: models.Model, f: models.Field) -> Any:  # type: ignore[type-arg]
    if f.name in REDACTED_FIELDS:
        return "(withheld)"
    value = getattr(row, f.attname)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    if hasattr(value, "name") and isinstance(f, models.FileField):
        return value.name
    return "" if value is None else value


def table_csv(model: type[models.Model], pks: set[Any]) -> tuple[str, int]:
    """One table as CSV text: every concrete column (foreign keys as ids) and many-to-many ids."""
    fields = list(model._meta.concrete_fields)
    m2m = list(model._meta.many_to_many)
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([f.attname for f in fields] + [f.name for f in m2m])
    rows = model._default_manager.filter(pk__in=pks).order_by("pk")
    if m2m:
        rows = rows.prefetch_related(*[f.name for f in m2m])
    n = 0
    for row in rows:
        extra = [" ".join(str(o.pk) for o in getattr(row, f.name).all()) for f in m2m]
        writer.writerow([neutralise(_value(row, f)) for f in fields] + extra)
        n += 1
    return buf.getvalue(), n


def _stored_files(rows: dict[type[models.Model], set[Any]]) -> Iterator[tuple[str, str]]:
    """(name in the ZIP, storage name) of every uploaded file the client's rows point at."""
    for model, pks in rows.items():
        file_fields = [f for f in model._meta.concrete_fields if isinstance(f, models.FileField)]
        # Photos keep their storage names in plain columns (private storage under random names).
        name_fields = [
            f for f in model._meta.concrete_fields if f.name in ("image_name", "thumbnail_name") and not isinstance(f, models.FileField)
        ]
        if not file_fields and not name_fields:
            continue
        for row in model._default_manager.filter(pk__in=pks).order_by("pk"):
            for f in file_fields:
                name = getattr(row, f.attname)
                if name:
                    yield f"files/{model._meta.label_lower}-{row.pk}-{str(name).rsplit('/', 1)[-1]}", str(name)
            for nf in name_fields:
                name = getattr(row, nf.attname)
                if name and nf.name == "image_name":
                    yield f"files/{model._meta.label_lower}-{row.pk}-{str(name).rsplit('/', 1)[-1]}", str(name)


def _documents(client: Client) -> Iterator[tuple[str, bytes]]:
    """The documents Knotwork renders: signed consents, signed visit notes, a progress report per episode."""
    from knotwork.care.documents import note_pdf
    from knotwork.care.models import Episode, Visit
    from knotwork.care.selectors import latest_plan, visit_full
    from knotwork.clients.documents import consent_pdf
    from knotwork.clients.models import ConsentSignature
    from knotwork.outcomes.report import progress_pdf
    from knotwork.outcomes.selectors import episode_progress

    for sig in ConsentSignature.objects.filter(client=client).select_related("clinic", "client").order_by("signed_at"):
        yield f"documents/consent-{sig.document}-v{sig.version}-{sig.pk}.pdf", consent_pdf(sig)
    for pk in Visit.objects.filter(client=client).signed().order_by("started_at").values_list("pk", flat=True):
        yield f"documents/visit-note-{pk}.pdf", note_pdf(visit_full(pk)).content
    for ep in Episode.objects.filter(client=client).select_related("client", "clinic").order_by("started_on"):
        yield (
            f"documents/progress-report-episode-{ep.pk}.pdf",
            progress_pdf(episode_progress(ep), plan=latest_plan(ep), author_name=ep.clinic.name),
        )


def summary_pdf(client: Client, counts: dict[str, int], files: list[str]) -> bytes:
    from knotwork.care.models import Episode

    clinic = client.clinic
    doc = Document(title="Your data", subtitle=f"{clinic.name} - {client.full_name}",
                   footer=f"{clinic.name} - data export for {client.full_name} - {timezone.localdate():%d %b %Y}")  # fmt: skip
    doc.paragraph("This archive holds everything the clinic keeps about you in Knotwork: this summary, your record as a FHIR R4 "
                  "bundle (fhir/bundle.json, readable by other health software), one spreadsheet (CSV) per kind of record, and "
                  "your documents and files.")  # fmt: skip
    doc.section("Your details")
    doc.facts([("Name", client.full_name), ("Date of birth", f"{client.date_of_birth:%d %B %Y}" if client.date_of_birth else "-"),
               ("Email", client.email or "-"), ("Phone", client.phone or "-"), ("Address", client.address or "-"),
               ("Clinic", clinic.name)])  # fmt: skip
    episodes = list(Episode.objects.filter(client=client).order_by("started_on"))
    if episodes:
        doc.section("Episodes of care")
        doc.table(["Complaint", "Started", "Status"], [[e.complaint, f"{e.started_on:%d %b %Y}", e.get_status_display()] for e in episodes],
                  widths=(100, 32, 42))  # fmt: skip
    doc.section("What is in this archive")
    doc.table(["Records", "Rows"], [[label, n] for label, n in sorted(counts.items())], widths=(130, 44))
    if files:
        doc.section("Documents and files")
        for name in files:
            doc.paragraph(name, size=9)
    return doc.output()


def build_zip(client: Client) -> tuple[bytes, dict[str, int]]:
    """The archive's bytes and the row count per table."""
    from knotwork.interop.fhir import bundle_for

    rows = client_rows(client)
    counts: dict[str, int] = {}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for model, pks in sorted(rows.items(), key=lambda kv: kv[0]._meta.label_lower):
            text, n = table_csv(model, pks)
            label = model._meta.label_lower
            zf.writestr(f"csv/{label}.csv", text)
            counts[label] = n
        zf.writestr("fhir/bundle.json", json.dumps(bundle_for(client), indent=1, ensure_ascii=False))
        files = []
        for name, data in _documents(client):
            zf.writestr(name, data)
            files.append(name)
        for zip_name, storage_name in _stored_files(rows):
            if default_storage.exists(storage_name):
                with default_storage.open(storage_name, "rb") as fh:
                    zf.writestr(zip_name, fh.read())
                files.append(zip_name)
        zf.writestr("summary.pdf", summary_pdf(client, counts, files))
        zf.writestr("README.txt", README)
    return buf.getvalue(), counts


README = """This archive is a copy of your record at your clinic, made by Knotwork.

summary.pdf        a readable summary and a list of everything below
fhir/bundle.json   your record as a FHIR R4 Bundle (a standard other health software reads)
csv/               one spreadsheet per kind of record; columns ending in _id point to rows of other files
documents/         signed consents, signed visit notes and progress reports (PDF)
files/             photos and attachments as they were uploaded

Security tokens are shown as "(withheld)". Ask your clinic if anything is missing or wrong.
"""
