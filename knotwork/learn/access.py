"""Who may write which article.

- A clinic's articles: staff whose role may edit clinical content (owners and therapists; the
  front desk reads them like everyone else but gets a 403 on the editor).
- Platform-wide articles: platform editors. An editor is a superuser (``User.is_superuser``);
  the learn app keeps this one check here rather than adding a field to accounts.
- Anyone else, including another clinic's staff, gets a 404: an article's drafts are not
  revealed to outsiders.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404
from django.shortcuts import get_object_or_404

from knotwork.accounts.models import Capability, Membership
from knotwork.accounts.permissions import membership_for, require
from knotwork.learn.models import Article

# Writing education material for clients is clinical work: the roles that edit clinical content.
WRITE_CAPABILITY = Capability.EDIT_CLINICAL
EDITOR_ROLE = "editor"


def is_editor(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_superuser)


def get_article_for_user(user: Any, article_id: int) -> tuple[Article, Membership | None]:
    """The article to edit, and the membership that allows it (None for a platform editor)."""
    article = get_object_or_404(Article.objects.select_related("clinic", "author"), pk=article_id)
    if article.clinic_id is None:
        if not is_editor(user):
            raise Http404("No such article")
        return article, None
    return article, require(membership_for(user, article.clinic_id), WRITE_CAPABILITY)


def can_preview(user: Any, article: Article) -> bool:
    """Whether ``user`` may see the article before it is live (its writers)."""
    if article.clinic_id is None:
        return is_editor(user)
    membership = membership_for(user, article.clinic_id)
    return membership is not None and membership.can(WRITE_CAPABILITY)


def role_label(membership: Membership | None) -> str:
    return membership.role if membership is not None else EDITOR_ROLE
