from __future__ import annotations

import json
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy

from knotwork.engine import DrawingError, default_engine, red_flag_questions
from knotwork.learn.markup import MAX_BODY_CHARS
from knotwork.learn.models import Article
from knotwork.learn.selfcheck import DURATIONS, HOPES, SOURCE_LANGUAGE, flag_question
from knotwork.lib.uploads import ImagePolicy, UploadRejected, clean_image

COVER_POLICY = ImagePolicy(max_bytes=10 * 1024 * 1024, max_output_side=2400, thumbnail_side=640)
MAX_TAGS = 8


class ArticleForm(forms.ModelForm):
    tags_text = forms.CharField(
        label="Tags", required=False, max_length=400, help_text="Separate tags with commas, e.g. neck pain, headaches."
    )
    cover = forms.FileField(
        label="Cover image", required=False, help_text=f"Optional. {COVER_POLICY.accepted}, at most 10 MB. Location data is removed."
    )
    remove_cover = forms.BooleanField(label="Remove the current cover image", required=False)
    platform = forms.BooleanField(label="Publish platform-wide (for every clinic), not for this clinic only", required=False)

    class Meta:
        model = Article
        fields = ["title", "summary", "body", "status", "publish_at", "last_reviewed", "sources", "cover_alt"]
        labels = {
            "body": "Article (Markdown)",
            "publish_at": "Publish at",
            "last_reviewed": "Last reviewed",
            "cover_alt": "Cover image description",
        }
        help_texts = {
            "summary": "One or two sentences shown in lists and search results.",
            "body": "Use ## for section headings. [[muscle:upper-trapezius]] links an atlas muscle and shows a small body map; "
            "[[exercise:chin-tuck]] names an exercise.",
            "status": "Scheduled articles appear on their own at the publish time.",
            "publish_at": "Only for scheduled articles: the date and time it should appear.",
            "last_reviewed": "When someone last checked the content is still accurate.",
            "sources": "One per line: the studies, guidelines or books behind the facts you state.",
            "cover_alt": "What the picture shows, for people who cannot see it. Leave empty if it is decorative.",
        }
        widgets = {
            "summary": forms.Textarea(attrs={"rows": 2, "maxlength": 300}),
            "body": forms.Textarea(attrs={"rows": 22, "class": "learn-editor-body"}),
            "status": forms.RadioSelect,
            "publish_at": forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
            "last_reviewed": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "sources": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args: Any, can_publish_platform: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["body"].widget.attrs["maxlength"] = MAX_BODY_CHARS
        if not can_publish_platform or self.instance.pk is not None:
            del self.fields["platform"]
        if self.instance.pk is None or not self.instance.cover_name:
            del self.fields["remove_cover"]
        if self.instance.pk is not None and not self.is_bound:
            self.initial["tags_text"] = ", ".join(t.name for t in self.instance.tags.all())

    def clean_body(self) -> str:
        body: str = self.cleaned_data["body"]
        if len(body) > MAX_BODY_CHARS:
            raise forms.ValidationError(f"The article is longer than {MAX_BODY_CHARS:,} characters. Split it into two.")
        return body

    def clean_tags_text(self) -> list[str]:
        names = [" ".join(t.split()) for t in self.cleaned_data["tags_text"].split(",") if t.strip()]
        if len(names) > MAX_TAGS:
            raise forms.ValidationError(f"Use at most {MAX_TAGS} tags.")
        if any(len(n) > 50 for n in names):
            raise forms.ValidationError("Each tag must be at most 50 characters.")
        return names

    def clean_cover(self) -> Any:
        upload = self.cleaned_data.get("cover")
        if not upload:
            return None
        try:
            return clean_image(upload, name=upload.name, policy=COVER_POLICY)
        except UploadRejected as exc:
            raise forms.ValidationError(str(exc), code=exc.code) from None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        status, when = data.get("status"), data.get("publish_at")
        # The publication date follows the status (as article_save sets it), so the model's
        # "a live article has a date" constraint holds when the form validates the instance.
        if status == Article.Status.DRAFT:
            data["publish_at"] = None
        elif status == Article.Status.PUBLISHED:
            data["publish_at"] = self.instance.publish_at if self.instance.pk and self.instance.is_live else timezone.now()
        elif status == Article.Status.SCHEDULED:
            if not when:
                self.add_error("publish_at", "Choose when the scheduled article should appear.")
            elif when <= timezone.now() and (self.instance.publish_at != when or self.instance.status != status):
                self.add_error("publish_at", "That time has passed. Choose a future time, or choose Published to publish now.")
        return data


def _no_constants(name: str) -> None:
    raise ValueError(name)


DRAWING_UNREADABLE = gettext_lazy("The drawing could not be read. Clear the body map and mark it again.")


class SelfCheckForm(forms.Form):
    """The public self-check. Nothing from it is saved: the view only reads ``cleaned_data``.

    ``language`` words the red-flag questions (the engine's rule set, translated in the self-check's
    word files); every other label is translated through the catalogues when rendered.
    """

    drawing = forms.CharField(required=False, max_length=20_000, widget=forms.HiddenInput(attrs={"data-bodymap-output": ""}))
    duration = forms.ChoiceField(
        label=gettext_lazy("How long has it been bothering you?"),
        choices=DURATIONS,
        widget=forms.RadioSelect,
    )
    hopes = forms.MultipleChoiceField(
        label=gettext_lazy("What do you hope for?"), required=False, choices=HOPES, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: Any, language: str = SOURCE_LANGUAGE, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.language = language
        for flag in red_flag_questions():
            self.fields[f"rf_{flag.id}"] = forms.ChoiceField(
                label=flag_question(flag, language),
                choices=[("no", gettext_lazy("No")), ("yes", gettext_lazy("Yes"))],
                widget=forms.RadioSelect,
                error_messages={"required": gettext_lazy("Answer yes or no.")},
            )

    def red_flag_fields(self) -> list[forms.BoundField]:
        return [self[f"rf_{f.id}"] for f in red_flag_questions()]

    def clean_drawing(self) -> list[dict[str, Any]]:
        raw = self.cleaned_data["drawing"].strip()
        if not raw:
            return []
        try:
            data = json.loads(raw, parse_constant=_no_constants)
        except (ValueError, RecursionError):
            raise forms.ValidationError(DRAWING_UNREADABLE) from None
        marks = data.get("marks") if isinstance(data, dict) else None
        if not isinstance(marks, list) or len(marks) > len(default_engine().cells):
            raise forms.ValidationError(DRAWING_UNREADABLE)
        try:
            default_engine().parse({"marks": marks})
        except DrawingError:
            raise forms.ValidationError(
                gettext_lazy("The drawing has areas the body map does not know. Clear it and mark it again.")
            ) from None
        return marks

    def red_flag_answers(self) -> dict[str, bool]:
        return {f.id: self.cleaned_data[f"rf_{f.id}"] == "yes" for f in red_flag_questions()}
