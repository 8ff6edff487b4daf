"""`knotwork mfa-reset`: an operator removes every sign-in factor of someone who lost them all."""

from __future__ import annotations

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from django.core.management import CommandError, call_command
from django.test import Client as HttpClient
from django.urls import reverse

from knotwork.accounts.models import Membership, Role
from knotwork.audit.models import Action, AuditEvent
from knotwork.lib.testing import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def locked_out(world):
    """A therapist with an authenticator app and recovery codes, both lost."""
    user = make_user("lost@a.example")
    RecoveryCodes.activate(user)
    Membership.objects.create(user=user, clinic=world.clinic_a, role=Role.THERAPIST)
    return user


def test_every_factor_goes_each_removal_is_audited_and_the_person_enrols_again(locked_out, capsys):
    kinds = set(Authenticator.objects.filter(user=locked_out).values_list("type", flat=True))
    assert kinds == {Authenticator.Type.TOTP, Authenticator.Type.RECOVERY_CODES}
    call_command("mfa_reset", "LOST@a.example", reason="Identity checked in person with a photo ID by the owner")
    assert "Removed 2 sign-in factor(s)" in capsys.readouterr().out
    assert not Authenticator.objects.filter(user=locked_out).exists()
    events = list(AuditEvent.objects.filter(action=Action.MFA).order_by("pk"))
    reset, *removals = events
    assert reset.detail["change"] == "reset by an operator" and "photo ID" in reset.detail["reason"] and reset.detail["count"] == 2
    assert sorted(e.detail["type"] for e in removals) == sorted(kinds) and {e.detail["change"] for e in removals} == {"removed"}
    c = HttpClient()
    c.force_login(locked_out)
    assert c.get(reverse("client_index"))["Location"] == reverse("mfa_activate_totp")  # staff must enrol a new factor


@pytest.mark.parametrize(
    ("email", "reason", "message"),
    [
        ("lost@a.example", "because", "at least 10 characters"),
        ("nobody@a.example", "Identity checked by phone call-back", "No account"),
    ],
)
def test_a_missing_reason_or_an_unknown_account_changes_nothing(locked_out, email, reason, message):
    with pytest.raises(CommandError, match=message):
        call_command("mfa_reset", email, reason=reason)
    assert Authenticator.objects.filter(user=locked_out).count() == 2
    assert not AuditEvent.objects.filter(action=Action.MFA).exists()


def test_an_account_without_factors_is_told_so(world):
    make_user("nofactor@a.example", mfa=False)
    with pytest.raises(CommandError, match="no sign-in factors"):
        call_command("mfa_reset", "nofactor@a.example", reason="Identity checked in person at the desk")
