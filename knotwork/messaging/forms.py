from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from knotwork.accounts.models import Membership
from knotwork.clients.models import Client
from knotwork.messaging.attachments import MAX_BYTES, MAX_FILES
from knotwork.messaging.models import Thread, kinds_for
from knotwork.messaging.services import MAX_BODY

if TYPE_CHECKING:
    from django.utils.functional import _StrPromise

    Words = str | _StrPromise

ADMIN, CLINICAL = Thread.Kind.ADMIN, Thread.Kind.CLINICAL

# What each kind is called, and who reads it, in the words of the person choosing.
CLIENT_KINDS: dict[str, tuple[Words, Words]] = {
    ADMIN: (
        _("About booking, payment or forms"),
        _("The front desk reads and answers it. Your therapist and the clinic owner can read it too."),
    ),
    CLINICAL: (_("For my therapist (health questions)"), _("Only your therapist and the clinic owner can read it, not the front desk.")),
}
STAFF_KINDS: dict[str, tuple[Words, Words]] = {
    ADMIN: (_("Booking, payment or forms"), _("The front desk, therapists and the owner can read it.")),
    CLINICAL: (_("Clinical"), _("Only therapists and the owner can read it; the front desk cannot.")),
}


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "application/pdf,image/jpeg,image/png,image/webp,image/heic"}))
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> Any:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(d, initial) for d in data]
        return [single(data, initial)] if data else []


ATTACH_HELP = format_lazy(
    _("Optional. Up to {files} files: PDF or photos (JPEG, PNG, WebP, HEIC), {megabytes} MB each."),
    files=MAX_FILES,
    megabytes=MAX_BYTES // (1024 * 1024),
)


class KindRadioSelect(forms.RadioSelect):
    """Radio buttons that each point to their own line of help (who can read that kind)."""

    def __init__(self, *args: Any, help_texts: dict[str, Words] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.help_texts = help_texts or {}

    def create_option(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        option = super().create_option(*args, **kwargs)
        option["help"] = self.help_texts.get(str(option["value"]), "")
        if option["attrs"].get("id"):
            option["attrs"]["aria-describedby"] = f"{option['attrs']['id']}_help"
        return option

    def id_for_label(self, id_: str, index: str | None = None) -> str:
        # The error summary links to the first button, so a keyboard user lands in the group.
        return super().id_for_label(id_, "0" if index is None else index)


CHOOSE_KIND = _("Choose who the message is for: booking, payment or forms, or your therapist (clinical).")
ADMIN_ONLY = _("You can start only conversations about booking, payment or forms; a therapist starts clinical ones.")


def kind_field(
    *, kinds: list[str], words: dict[str, tuple[Words, Words]], required: bool, label: Words, invalid: Words
) -> forms.ChoiceField:
    return forms.ChoiceField(
        label=label,
        choices=[(k, words[k][0]) for k in kinds],
        required=required,
        widget=KindRadioSelect(help_texts={k: words[k][1] for k in kinds}),
        error_messages={"required": CHOOSE_KIND, "invalid_choice": invalid},
    )


class ReplyForm(forms.Form):
    body = forms.CharField(label=_("Message"), max_length=MAX_BODY, required=False, widget=forms.Textarea(attrs={"rows": 4}))
    files = MultipleFileField(label=_("Attach files"), required=False, help_text=ATTACH_HELP)  # type: ignore[assignment]


class NewThreadForm(ReplyForm):
    """A new conversation. A client must choose its kind; staff get the most private kind their
    role may start preselected (the front desk can start only admin threads)."""

    subject = forms.CharField(label=_("Subject"), max_length=120, help_text=_("A few words, e.g. “Question before my first visit”."))
    field_order = ["client", "kind", "subject", "body", "files"]

    def __init__(self, *args: Any, clients: Any = None, by_clinic: bool = False, staff: Membership | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if clients is not None:
            field = ClinicClientChoice if by_clinic else forms.ModelChoiceField
            self.fields["client"] = field(queryset=clients, label=_("Clinic") if by_clinic else _("Client"))
        if staff is None:
            self.fields["kind"] = kind_field(
                kinds=Thread.Kind.values, words=CLIENT_KINDS, required=True, label=_("Who is it for?"), invalid=CHOOSE_KIND
            )
            self.default_kind = ""
        else:
            kinds = kinds_for(staff, write=True)
            self.default_kind = kinds[-1] if kinds else ""  # clinical for clinicians, admin for the front desk
            invalid = CHOOSE_KIND if CLINICAL in kinds else ADMIN_ONLY
            self.fields["kind"] = kind_field(kinds=kinds, words=STAFF_KINDS, required=False, label=_("Who can read it?"), invalid=invalid)
            self.fields["kind"].initial = self.default_kind
        self.order_fields(self.field_order)

    def clean_kind(self) -> str:
        return self.cleaned_data.get("kind") or self.default_kind


class ClinicClientChoice(forms.ModelChoiceField):
    """A client's own records, shown by clinic: the person picks whom to write to."""

    def label_from_instance(self, obj: Client) -> str:
        return obj.clinic.name


class ThreadKindForm(forms.Form):
    """A clinician moves a thread to the other kind, confirming what that changes."""

    kind = forms.ChoiceField(choices=Thread.Kind.choices, widget=forms.HiddenInput)
    confirm = forms.BooleanField(
        label=_("Yes, change who can read this conversation"),
        error_messages={"required": _("Tick the box to confirm the change.")},
    )

    def __init__(self, *args: Any, thread: Thread, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.target = ADMIN if thread.kind == CLINICAL else CLINICAL
        self.fields["kind"].initial = self.target
        if self.target == ADMIN:
            self.confirmation = (
                "Move this conversation to booking, payment or forms? The front desk will be able to read every message "
                "in it, including earlier ones. Do this only if nothing in it is clinical."
            )
        else:
            self.confirmation = (
                "Make this conversation clinical? The front desk will no longer see it; therapists and the owner still will."
            )
