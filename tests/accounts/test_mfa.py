from __future__ import annotations

import pytest
from django.urls import reverse

from knotwork.lib.testing import PASSWORD, make_user, totp_now

pytestmark = pytest.mark.django_db


class StaffMfaTests:
    def test_staff_without_an_authenticator_are_sent_to_set_one_up(self, world, client):
        from knotwork.accounts.models import Membership

        newbie = make_user("new@a.example", mfa=False)
        Membership.objects.create(user=newbie, clinic=world.clinic_a, role="therapist")
        client.force_login(newbie)
        for url in (reverse("home"), reverse("client_index"), reverse("client_detail", args=[world.client_a.pk])):
            response = client.get(url)
            assert response.status_code == 302
            assert response["Location"] == reverse("mfa_activate_totp")

    def test_the_api_refuses_staff_without_mfa_with_the_error_shape(self, world, client):
        from knotwork.accounts.models import Membership

        newbie = make_user("new@a.example", mfa=False)
        Membership.objects.create(user=newbie, clinic=world.clinic_a, role="therapist")
        client.force_login(newbie)
        response = client.get("/api/clients")
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "mfa_required"

    def test_a_portal_client_does_not_need_mfa(self, world, client):
        client.force_login(make_user("ada@mail.example", mfa=False))
        assert client.get(reverse("home")).status_code == 200

    def test_signing_in_asks_for_the_code_and_accepts_the_right_one(self, world, client):
        response = client.post(reverse("account_login"), {"login": "alice@a.example", "password": PASSWORD})
        assert response.status_code == 302
        assert response["Location"] == reverse("mfa_authenticate")
        assert client.get(reverse("home")).status_code == 200  # not yet signed in: the public page
        assert "_auth_user_id" not in client.session
        bad = client.post(reverse("mfa_authenticate"), {"code": "000000"})
        assert bad.status_code == 200 and "_auth_user_id" not in client.session
        good = client.post(reverse("mfa_authenticate"), {"code": totp_now(world.alice)})
        assert good.status_code == 302
        assert client.session["_auth_user_id"] == str(world.alice.pk)

    def test_repeated_wrong_passwords_are_throttled(self, world, client):
        for _ in range(6):
            response = client.post(reverse("account_login"), {"login": "alice@a.example", "password": "wrong"})
        assert response.status_code in (200, 429)
        assert b"Too many failed login attempts" in response.content or response.status_code == 429


class StaffSessionTests:
    def test_a_staff_session_ends_after_30_idle_minutes(self, world, as_user):
        from datetime import timedelta

        from django.utils import timezone

        c = as_user(world.alice)
        assert c.get(reverse("home")).status_code == 200
        session = c.session
        session["knotwork.last_activity"] = (timezone.now() - timedelta(minutes=31)).timestamp()
        session.save()
        response = c.get(reverse("client_index"))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))
        assert "_auth_user_id" not in c.session

    def test_activity_within_30_minutes_keeps_the_session(self, world, as_user):
        from datetime import timedelta

        from django.utils import timezone

        c = as_user(world.alice)
        c.get(reverse("home"))
        session = c.session
        session["knotwork.last_activity"] = (timezone.now() - timedelta(minutes=29)).timestamp()
        session.save()
        assert c.get(reverse("client_index")).status_code == 200

    def test_the_activity_stamp_is_written_at_most_once_a_minute(self, world, as_user):
        from datetime import timedelta

        from django.utils import timezone

        c = as_user(world.alice)
        c.get(reverse("home"))
        recent = (timezone.now() - timedelta(seconds=10)).timestamp()
        session = c.session
        session["knotwork.last_activity"] = recent
        session.save()
        c.get(reverse("client_index"))
        assert c.session["knotwork.last_activity"] == recent
        older = (timezone.now() - timedelta(minutes=5)).timestamp()
        session = c.session
        session["knotwork.last_activity"] = older
        session.save()
        c.get(reverse("client_index"))
        assert c.session["knotwork.last_activity"] > older
