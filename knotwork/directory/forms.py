from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.conf.locale import LANG_INFO
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from knotwork.directory.models import Condition, Credential, Gender, NmtLevel, Review, ReviewReport, TherapistProfile, pack
from knotwork.directory.search import DEFAULT_RADIUS_KM, SORTS, SearchParams
from knotwork.lib.claim_codes import normalise_npi

LANGUAGE_CHOICES = sorted(
    ((code, info["name"]) for code, info in LANG_INFO.items() if "name" in info and "-" not in code), key=lambda c: c[1]
)
LANGUAGE_NAMES = dict(LANGUAGE_CHOICES)
RATING_CHOICES = [(5, _("5 stars")), (4, _("4 stars")), (3, _("3 stars")), (2, _("2 stars")), (1, _("1 star"))]
RADIUS_CHOICES = [(5, "5 km"), (10, "10 km"), (25, "25 km"), (50, "50 km"), (100, "100 km"), (200, "200 km")]

SORT_LABELS = {"distance": _("Distance"), "rating": _("Rating"), "availability": _("Availability")}


def language_label(code: str) -> str:
    return LANGUAGE_NAMES.get(code, code)


class ProfileForm(forms.Form):
    display_name = forms.CharField(label="Name shown to the public", max_length=120)
    headline = forms.CharField(
        label="Headline", max_length=140, required=False, help_text="One line, e.g. “NMT for headaches and jaw pain”."
    )
    bio = forms.CharField(label="About you", max_length=3000, required=False, widget=forms.Textarea(attrs={"rows": 7}))
    conditions = forms.MultipleChoiceField(
        label="What you focus on", choices=Condition.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    modalities = forms.CharField(
        label="Techniques you use",
        max_length=400,
        required=False,
        help_text="Separate with commas, e.g. NMT, muscle energy technique, myofascial release.",
    )
    languages = forms.MultipleChoiceField(
        label="Languages you treat in",
        choices=LANGUAGE_CHOICES,
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 6}),
        help_text="Hold Ctrl (or ⌘ on a Mac) to choose several.",
    )
    nmt_level = forms.TypedChoiceField(
        label="NMT certification level",
        choices=NmtLevel.choices,
        coerce=int,
        help_text="Shown as verified only after a verifier has checked your certificate.",
    )
    gender = forms.ChoiceField(
        label="Gender (optional)", choices=Gender.choices, required=False, help_text="Some clients prefer to choose."
    )
    gender_description = forms.CharField(label="Your own words (if self-described)", max_length=40, required=False)
    accepting_new_clients = forms.BooleanField(label="I am accepting new clients", required=False)
    npi = forms.CharField(
        label="NPI (US only)", max_length=12, required=False,
        help_text="Your ten-digit National Provider Identifier, printed on US superbills. Not shown on your public page.",
    )  # fmt: skip
    is_published = forms.BooleanField(label="Publish my profile (the clinic owner approves it before it goes public)", required=False)

    @classmethod
    def for_profile(cls, profile: TherapistProfile, data: Any = None) -> ProfileForm:
        initial = {
            "display_name": profile.display_name,
            "headline": profile.headline,
            "bio": profile.bio,
            "conditions": profile.condition_list,
            "modalities": ", ".join(profile.modalities or []),
            "languages": profile.language_list,
            "nmt_level": profile.nmt_level,
            "gender": profile.gender,
            "gender_description": profile.gender_description,
            "accepting_new_clients": profile.accepting_new_clients,
            "npi": profile.npi,
            "is_published": profile.is_published,
        }
        return cls(data, initial=initial)

    def clean_modalities(self) -> list[str]:
        items = [m.strip() for m in self.cleaned_data["modalities"].split(",") if m.strip()]
        if len(items) > 10 or any(len(m) > 40 for m in items):
            raise forms.ValidationError("List at most 10 techniques of up to 40 characters each.")
        return items

    def clean_npi(self) -> str:
        return normalise_npi(self.cleaned_data.get("npi") or "")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("gender") == Gender.SELF_DESCRIBED and not (data.get("gender_description") or "").strip():
            self.add_error("gender_description", "Describe it in your own words, or choose another option.")
        return data

    def values(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["conditions"] = pack(data["conditions"])
        data["languages"] = pack(data["languages"])
        return data


class PhotoForm(forms.Form):
    photo = forms.FileField(label="Profile photo", help_text="JPEG, PNG, WebP or HEIC; we remove location and camera data.")


class CredentialForm(forms.Form):
    kind = forms.ChoiceField(label="Type", choices=Credential.Kind.choices)
    title = forms.CharField(label="Title as printed", max_length=120)
    issuer = forms.CharField(label="Issuing board or body", max_length=120)
    jurisdiction = forms.CharField(label="Jurisdiction", max_length=80, required=False, help_text="State, province or country.")
    number = forms.CharField(label="Licence or certificate number", max_length=60, required=False)
    nmt_level = forms.TypedChoiceField(label="NMT level", choices=NmtLevel.choices, coerce=int, required=False, empty_value=None)
    issued_on = forms.DateField(label="Issued on", required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    expires_on = forms.DateField(
        label="Expires on",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="Required for licences.",
    )
    document = forms.FileField(label="Document", required=False, help_text="PDF or a photo of the certificate, up to 10 MB.")

    @classmethod
    def for_credential(cls, credential: Credential, data: Any = None, files: Any = None) -> CredentialForm:
        initial = {
            f: getattr(credential, f) for f in ("kind", "title", "issuer", "jurisdiction", "number", "nmt_level", "issued_on", "expires_on")
        }
        return cls(data, files, initial=initial)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind = data.get("kind")
        data["nmt_level"] = data.get("nmt_level") or 0
        if kind == Credential.Kind.LICENCE and not data.get("expires_on"):
            self.add_error("expires_on", "A licence needs its expiry date.")
        if kind == Credential.Kind.LICENCE and not (data.get("number") or "").strip():
            self.add_error("number", "Give the licence number so the verifier can look it up.")
        if kind == Credential.Kind.NMT and not data.get("nmt_level"):
            self.add_error("nmt_level", "Choose the level on the certificate.")
        issued, expires = data.get("issued_on"), data.get("expires_on")
        if issued and expires and expires <= issued:
            self.add_error("expires_on", "The expiry date must be after the issue date.")
        return data


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(
        label="Decision",
        choices=[("verify", "Verified"), ("needs_info", "Needs more information"), ("reject", "Rejected")],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        label="Reason (the therapist sees this)", max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class ReviewForm(forms.Form):
    overall = forms.TypedChoiceField(label=_("Overall"), choices=RATING_CHOICES, coerce=int)
    communication = forms.TypedChoiceField(label=_("Communication"), choices=RATING_CHOICES, coerce=int)
    pressure_respected = forms.TypedChoiceField(label=_("Respected my pressure limits"), choices=RATING_CHOICES, coerce=int)
    results = forms.TypedChoiceField(label=_("Results"), choices=RATING_CHOICES, coerce=int)
    text = forms.CharField(
        label=_("Your review (optional)"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("Please leave out names, contact details and health details you would not want public."),
    )
    display = forms.ChoiceField(
        label=_("Show me as"), choices=Review.Display.choices, widget=forms.RadioSelect, initial=Review.Display.FIRST_NAME
    )

    @classmethod
    def for_review(cls, review: Review, data: Any = None) -> ReviewForm:
        fields = ("overall", "communication", "pressure_respected", "results", "text", "display")
        return cls(data, initial={f: getattr(review, f) for f in fields})


class ReplyForm(forms.Form):
    reply = forms.CharField(label="Your public reply", max_length=1500, widget=forms.Textarea(attrs={"rows": 4}))


class ReportForm(forms.Form):
    reason = forms.ChoiceField(label=_("Why"), choices=ReviewReport.Reason.choices)
    note = forms.CharField(label=_("Anything the moderators should know"), max_length=500, required=False)


class ModerateForm(forms.Form):
    decision = forms.ChoiceField(choices=[("publish", "Publish"), ("remove", "Remove"), ("keep", "Keep")])
    note = forms.CharField(label="Note", max_length=300, required=False)


class RecommendForm(forms.Form):
    email = forms.EmailField(label=_("Your friend's e-mail address"))


class SearchForm(forms.Form):
    near = forms.CharField(label=_("Near"), max_length=100, required=False)
    radius_km = forms.TypedChoiceField(
        label=_("Within"), choices=RADIUS_CHOICES, coerce=int, required=False, empty_value=None, initial=DEFAULT_RADIUS_KM
    )
    condition = forms.ChoiceField(label=_("Help with"), choices=[("", _("Anything")), *Condition.choices], required=False)
    verified = forms.BooleanField(label=_("Licence verified"), required=False)
    nmt_certified = forms.BooleanField(label=_("NMT certified"), required=False)
    free_consultation = forms.BooleanField(label=_("Free consultation"), required=False)
    available_within_days = forms.TypedChoiceField(
        label=_("Free time within"),
        choices=[("", _("Any time")), (3, _("3 days")), (7, _("7 days")), (14, _("14 days")), (30, _("30 days"))],
        coerce=int,
        required=False,
        empty_value=None,
    )
    # Language names come translated from Django's own catalogue (its LANGUAGES are marked for it).
    language = forms.ChoiceField(
        label=_("Language"),
        choices=[("", pgettext_lazy("any language", "Any")), *[(code, _(name)) for code, name in LANGUAGE_CHOICES]],
        required=False,
    )
    gender = forms.ChoiceField(
        label=_("Therapist"),
        choices=[
            ("", pgettext_lazy("any therapist", "Any")),
            (Gender.WOMAN, _("Woman")),
            (Gender.MAN, _("Man")),
            (Gender.NON_BINARY, _("Non-binary")),
        ],
        required=False,
    )
    price_min = forms.DecimalField(label=_("Session price from"), min_value=Decimal(0), max_digits=8, decimal_places=2, required=False)
    price_max = forms.DecimalField(
        label=pgettext_lazy("price range", "to"), min_value=Decimal(0), max_digits=8, decimal_places=2, required=False
    )
    sort = forms.ChoiceField(
        label=_("Sort by"), choices=[("", _("Best match")), *[(s, SORT_LABELS.get(s, s.title())) for s in SORTS]], required=False
    )

    def params(self, page: int) -> SearchParams:
        d = self.cleaned_data
        return SearchParams(
            near=d["near"] or "",
            radius_km=float(d["radius_km"] or DEFAULT_RADIUS_KM),
            condition=d["condition"] or "",
            verified=d["verified"],
            nmt_certified=d["nmt_certified"],
            free_consultation=d["free_consultation"],
            available_within_days=d["available_within_days"],
            language=d["language"] or "",
            gender=d["gender"] or "",
            price_min=d["price_min"],
            price_max=d["price_max"],
            sort=d["sort"] or "",
            page=page,
            page_size=20,
        )
