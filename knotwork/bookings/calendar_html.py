"""The calendar grid's columns as HTML, built in Python.

A week for ten therapists is 70 columns holding hundreds of appointments, shades and free half
hours; printed through the template language that was about two thirds of the page's time
(thousands of variable lookups and a URL reversal per link). The markup is the same as the
template would print, every value escaped; ``templates/bookings/_calendar_grid.html`` prints
the result (``column.body``). Layout was decided in :mod:`knotwork.bookings.calendar`.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from urllib.parse import quote

from django.core.exceptions import ObjectDoesNotExist
from django.urls import reverse
from django.utils.dateformat import format as date_format
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from knotwork.bookings.calendar import Column, Grid, Placed
from knotwork.bookings.models import Appointment, ClassSession


class _Links:
    """URLs reversed once per page, then filled in per appointment."""

    def __init__(self, here: str) -> None:
        self.book = reverse("appointment_new")
        self._move = reverse("calendar_move", args=[0])
        self._detail = reverse("appointment_detail", args=[0])
        self._class = reverse("class_detail", args=[0])
        self.next = "?next=" + quote(here, safe="/")

    def move(self, pk: int) -> str:
        return self._move.replace("/0/", f"/{pk}/", 1)

    def detail(self, pk: int) -> str:
        return self._detail.replace("/0/", f"/{pk}/", 1)

    def klass(self, pk: int) -> str:
        return self._class.replace("/0/", f"/{pk}/", 1)


def render_columns(grid: Grid, *, can_move: bool, active_statuses: Collection[str], here: str) -> None:
    """Set ``body`` on every column of ``grid``."""
    links = _Links(here)
    for day in grid.days:
        long_day = date_format(day.day, "l j F")
        iso_day = day.day.isoformat()
        for column in day.columns:
            column.body = _column(column, grid, long_day, iso_day, links, can_move=can_move, active=active_statuses)


def _column(
    column: Column, grid: Grid, long_day: str, iso_day: str, links: _Links, *, can_move: bool, active: Collection[str]
) -> SafeString:
    title = escape(column.title)
    therapist = column.therapist
    out = [
        f'<div class="cal-col-body cal-col cal-lanes-{column.lanes}" role="group" aria-label="{title}, {long_day}" data-day="{iso_day}"',
        f' data-therapist="{therapist.pk}">' if therapist else ">",
        f'\n            <div class="cal-bg cal-r1 cal-h{grid.rows}"></div>\n            ',
    ]
    for s in column.shades:
        label = escape(s.label)
        shade = f"cal-shade cal-shade-{s.kind} cal-r{s.row} cal-h{s.span}"
        out.append(f'<div class="{shade}"><span class="cal-shade-label">{label}</span></div>')
    out.append("\n            ")
    if column.openings:
        who = f"?therapist={therapist.pk if therapist else ''}&amp;date={iso_day}&amp;at="
        for o in column.openings:
            at = f"{o.at:%H:%M}"
            out.append(
                f'<a class="cal-open cal-r{o.row} cal-h{o.span}" href="{links.book}{who}{at}">'
                f'<span class="visually-hidden">Book with {title} on {long_day} at </span><span class="cal-open-time">{at}</span></a>'
            )
    out.append("\n            ")
    for p in column.items:
        out.append(_item(p, grid, links, can_move=can_move, active=active))
    out.append("\n          </div>")
    return mark_safe("".join(out))  # noqa: S308  (every value above is escaped or a number)


def _class_of(a: Appointment) -> ClassSession | None:
    """The group class whose time this row holds (loaded with the row), if it is one."""
    try:
        return a.class_session  # type: ignore[attr-defined,no-any-return]
    except ObjectDoesNotExist:
        return None


def _item(p: Placed, grid: Grid, links: _Links, *, can_move: bool, active: Collection[str]) -> str:
    a = p.appointment
    start, end = f"{p.local_start:%H:%M}", f"{p.local_end:%H:%M}"
    group = _class_of(a) if a.client_id is None else None
    if group is not None:  # a class's block: named as the class, opening its page (moved there, not dragged)
        classes = f"cal-appt st-class cal-r{p.row} cal-h{p.span} cal-lane-{p.lane}{' cal-short' if p.short else ''}"
        seats = f"{group.seats_taken} of {group.capacity} seats"
        return (
            f'\n            <a class="{classes}" href="{links.klass(group.pk)}">\n'
            f'              <span class="cal-appt-time">{start}–{end}</span>\n'
            f'              <span class="cal-appt-who">Class: {escape(group.name)}</span>\n'
            f'              <span class="cal-appt-what">Group session · {seats}</span>\n'
            "            </a>\n            "
        )
    classes = f"cal-appt st-{escape(a.status)} cal-r{p.row} cal-h{p.span} cal-lane-{p.lane}{' cal-short' if p.short else ''}"
    movable = a.status in active and can_move
    if movable:
        move = links.move(a.pk)
        day: date = p.local_start.date()
        opening = (
            f'<a class="{classes}" href="{move}{escape(links.next)}" draggable="false"\n'
            f'              data-move="{move}" data-therapist="{a.therapist_id}" data-day="{day.isoformat()}" data-start="{start}"'
            f' data-minutes="{p.minutes}">'
        )
        closing = '<span class="cal-resize" aria-hidden="true"></span></a>'
    elif a.client_id:
        opening, closing = f'<a class="{classes}" href="{links.detail(a.pk)}">', "</a>"
    else:
        opening, closing = f'<div class="{classes}">', "</div>"
    who = str(escape(a.client.full_name)) if a.client is not None else "Being booked online"
    what = str(escape(a.service.name)) if a.service_id else ""
    if grid.by_room:
        what += f" · {escape(a.therapist.display_name)}"
    elif a.room is not None:
        what += f" · {escape(a.room.name)}"
    what += f" · {escape(a.get_status_display())}"
    return (
        f"\n            {opening}\n"
        f'              <span class="cal-appt-time">{start}–{end}</span>\n'
        f'              <span class="cal-appt-who">{who}</span>\n'
        f'              <span class="cal-appt-what">{what}</span>\n'
        f"            {closing}\n            "
    )
