"""The route inventory: every URL name and API operation, who may use it, and which path
parameters name tenant objects. tests/security/test_routes.py fails when a route exists without
an entry here, or an entry names a route that no longer exists.

Roles (documentation that the generated tests enforce where they can):
- ``public``: anyone, no sign-in (these are the only routes an anonymous visitor may get a 200 from);
- ``public-token``: anyone holding a secret token that is itself in the URL;
- ``authenticated``: any signed-in account (the view decides what it shows, e.g. own settings);
- ``client``: a client's portal login, only for their own record;
- ``staff:<capability>``: clinic staff whose role grants the capability (knotwork.accounts.models.Capability);
- ``staff-or-client:<capability>``: staff with the capability, or the client the record belongs to (read-only);
- ``platform``: platform staff (credential verifiers, review moderators);
- ``writer``: staff allowed to write education articles.

``ids`` maps a path parameter to the object type it names (see tests/security/objects.py):
those routes are attacked cross-tenant by tests/security/test_cross_tenant.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Route:
    role: str
    why: str = ""
    ids: dict[str, str] = field(default_factory=dict)


VD, ED, VC, EC, MS, VA, MC = (
    "staff:view_demographics",
    "staff:edit_demographics",
    "staff:view_clinical",
    "staff:edit_clinical",
    "staff:manage_staff",
    "staff:view_audit",
    "staff:manage_clinic",
)
SC = "staff-or-client:view_clinical"
SD = "staff-or-client:view_demographics"

C = {"client_id": "client"}
V = {"visit_id": "visit"}

ROUTES: dict[str, Route] = {
    # --- site, accounts, audit -------------------------------------------------------------
    "home": Route("public", "landing page"),
    "healthz": Route("public", "load-balancer health check"),
    "invitation_accept": Route("public-token", "the invitation link itself, before sign-in"),
    "switch_clinic": Route("authenticated"),
    "staff": Route(MS),
    "staff_remove": Route(MS, ids={"pk": "membership"}),
    "invitation_revoke": Route(ED, ids={"pk": "invitation"}),
    "account_settings": Route("authenticated"),
    "token_create": Route(VD),
    "token_revoke": Route("authenticated", "own tokens only", ids={"pk": "api_token"}),
    "audit_log": Route(VA),
    "audit_export": Route(VA),
    # --- clients, intake, consent, screening, drawings -------------------------------------
    "client_index": Route(VD),
    "client_new": Route(ED),
    "client_detail": Route(SD, ids={"pk": "client"}),
    "client_edit": Route(ED, ids={"pk": "client"}),
    "client_invite": Route(ED, ids={"pk": "client"}),
    "client_erase": Route(MS, "owner only: erasure request", ids={"pk": "client"}),
    "intake_questions": Route(MC),
    "intake_question_archive": Route(MC, ids={"pk": "intake_question"}),
    "previsit_summary": Route(VC, ids=C),
    "intake_review": Route(VC, ids=C),
    "intake_mark_reviewed": Route(EC, ids={**C, "intake_id": "intake"}),
    "intake_request_info": Route(EC, ids={**C, "intake_id": "intake"}),
    "flag_acknowledge": Route(EC, ids={**C, "flag_id": "flag"}),
    "flag_clear": Route(EC, ids={**C, "flag_id": "flag"}),
    "drawing_list": Route(VC, ids=C),
    "drawing_new": Route(EC, ids=C),
    "consent_pdf": Route(VD, ids={**C, "consent_id": "consent"}),
    "portal_intake": Route("client", ids=C),
    "portal_intake_start": Route("client", ids=C),
    "portal_intake_step": Route("client", ids=C),
    "portal_drawing_new": Route("client", ids=C),
    "portal_consent_pdf": Route("client", ids={"consent_id": "consent"}),
    # --- assessment ------------------------------------------------------------------------
    "assessment_new": Route(EC, ids=C),
    "assessment_compare": Route(VC, ids=C),
    "assessment_norms": Route(VC),
    "assessment_detail": Route(VC, ids={"pk": "assessment"}),
    "assessment_edit": Route(EC, ids={"pk": "assessment"}),
    "assessment_delete": Route(EC, ids={"pk": "assessment"}),
    "assessment_finding_add": Route(EC, ids={"pk": "assessment"}),
    "assessment_finding_delete": Route(EC, ids={"pk": "posture_finding"}),
    "assessment_photo_upload": Route(EC, ids={"pk": "assessment"}),
    "assessment_photo": Route(VC, ids={"pk": "photo"}),
    "assessment_photo_image": Route(VC, ids={"pk": "photo"}),
    "assessment_photo_thumbnail": Route(VC, ids={"pk": "photo"}),
    "assessment_photo_delete": Route(EC, ids={"pk": "photo"}),
    "assessment_rom": Route(EC, ids={"pk": "assessment"}),
    "assessment_rom_delete": Route(EC, ids={"pk": "rom"}),
    "assessment_test_add": Route(EC, ids={"pk": "assessment"}),
    "assessment_test_delete": Route(EC, ids={"pk": "movement_test"}),
    # --- care: episodes, plans, visits, programs, feedback, aftercare ----------------------
    "episode_new": Route(EC, ids=C),
    "episode_detail": Route(VC, ids={**C, "episode_id": "episode"}),
    "episode_status": Route(EC, ids={**C, "episode_id": "episode"}),
    "plan_edit": Route(EC, ids={**C, "episode_id": "episode"}),
    "visit_new": Route(EC, ids={**C, "episode_id": "episode"}),
    "client_visit_history": Route(VC, ids=C),
    "trigger_point_history": Route(VC, ids=C),
    "program_edit": Route(EC, ids=C),
    "program_add": Route(EC, ids=C),
    "program_item_update": Route(EC, ids={**C, "item_id": "program_item"}),
    "program_item_remove": Route(EC, ids={**C, "item_id": "program_item"}),
    "care_settings": Route(MC),
    "visit_detail": Route(VC, ids=V),
    "visit_checkin": Route(EC, ids=V),
    "visit_notes": Route(EC, ids=V),
    "visit_carry_forward": Route(EC, ids=V),
    "finding_add": Route(EC, ids=V),
    "finding_remove": Route(EC, ids={**V, "finding_id": "tp_finding"}),
    "technique_add": Route(EC, ids=V),
    "technique_remove": Route(EC, ids={**V, "application_id": "technique"}),
    "visit_sign": Route(EC, ids=V),
    "addendum_add": Route(EC, ids=V),
    "visit_pdf": Route(VC, ids=V),
    "feedback_start": Route(EC, ids=V),
    "feedback_revoke": Route(EC, ids=V),
    "feedback_feed": Route(VC, ids=V),
    "aftercare": Route(VC, ids=V),
    "aftercare_pdf": Route(VC, ids=V),
    "aftercare_email": Route(EC, ids=V),
    "feedback_page": Route("public-token", "the client's pressure-feedback page, by its short-lived token"),
    "feedback_press": Route("public-token", "the client's pressure-feedback buttons"),
    "checkin_answer": Route("public-token", "post-visit check-in link sent to the client"),
    "portal_program": Route("client", ids=C),
    "portal_program_log": Route("client", ids=C),
    "portal_aftercare": Route("client", ids=V),
    "portal_aftercare_pdf": Route("client", ids=V),
    # --- outcomes ---------------------------------------------------------------------------
    "outcomes_progress": Route(VC, ids={**C, "episode_id": "episode"}),
    "outcomes_report_pdf": Route(VC, ids={**C, "episode_id": "episode"}),
    "outcomes_schedule": Route(EC, ids={**C, "episode_id": "episode"}),
    "outcomes_record": Route(EC, ids={**C, "episode_id": "episode"}),
    "outcomes_response_remove": Route(EC, ids={"response_id": "outcome_response"}),
    "outcomes_analytics": Route(VC, "clinic-wide outcome figures, no names"),
    "outcomes_analytics_csv": Route(VC, "clinic-wide outcome figures, no names"),
    "portal_measures": Route("client", ids=C),
    "portal_measure_answer": Route("client", ids={**C, "episode_id": "episode"}),
    # --- interop: client data export and FHIR ----------------------------------------------
    "client_data_export": Route(VC, ids=C),
    "client_fhir": Route(VC, ids=C),
    "episode_fhir": Route(VC, ids={**C, "episode_id": "episode"}),
    "portal_data_export": Route("client", ids=C),
    "data_export_download": Route("authenticated", "signed, expiring token for the requester's own export"),
    # --- bookings --------------------------------------------------------------------------
    "book_confirm": Route("public", "public booking: asks the visitor to sign in before confirming"),
    "book_clinic": Route("public", "public booking: services and therapists of a clinic"),
    "book_slots": Route("public", "public booking: free slots only, no names"),
    "book_hold": Route("public", "public booking: a short hold while the visitor signs in (rate limited)"),
    "calendar_feed": Route("public-token", "a therapist's private feed, authenticated by the secret token in its URL"),
    "my_appointments": Route("authenticated"),
    "appointment_detail": Route(SD, ids={"pk": "appointment"}),
    "appointment_cancel": Route(SD, ids={"pk": "appointment"}),
    "appointment_reschedule": Route(SD, ids={"pk": "appointment"}),
    "appointment_outcome": Route(ED, ids={"pk": "appointment"}),
    "appointment_ics": Route(SD, ids={"pk": "appointment"}),
    "schedule": Route(VD),
    "appointment_new": Route(ED),
    "calendar_feed_manage": Route(VD),
    "booking_settings": Route(MC),
    "service_new": Route(MC),
    "service_edit": Route(MC, ids={"pk": "service"}),
    "service_archive": Route(MC, ids={"pk": "service"}),
    "room_add": Route(MC),
    "room_edit": Route(MC, ids={"pk": "room"}),
    "availability_edit": Route(VD, "a therapist's own hours; the owner (manage_clinic) anyone's", ids={"pk": "membership"}),
    "availability_remove": Route(VD, "a therapist's own hours; the owner (manage_clinic) anyone's", ids={"pk": "availability"}),
    "availability_exception_remove": Route(VD, "a therapist's own exceptions; the owner anyone's", ids={"pk": "availability_exception"}),
    # --- directory -------------------------------------------------------------------------
    "directory_search": Route("public", "therapist directory"),
    "directory_places": Route("public", "place names for the directory search box"),
    "directory_sitemap": Route("public", "published profiles for search engines"),
    "directory_profile": Route("public", "published therapist profile"),
    "directory_photo": Route("public", "published profile photo"),
    "directory_recommend": Route("authenticated", "clients recommend a published therapist"),
    "directory_my_profile": Route(VC),
    "directory_my_photo": Route(VC),
    "directory_my_photo_preview": Route(VC),
    "directory_credentials": Route(VC),
    "directory_credential_edit": Route(VC, ids={"pk": "credential"}),
    "directory_credential_delete": Route(VC, ids={"pk": "credential"}),
    "directory_credential_document": Route(VC, "the credential's owner, their clinic owner, or a verifier", ids={"pk": "credential"}),
    "directory_clinic": Route(MS),
    "directory_profile_approve": Route(MS, ids={"pk": "profile"}),
    "directory_review_reply": Route(VC, ids={"pk": "review"}),
    "directory_verify_queue": Route("platform"),
    # Platform staff work across clinics, so tenancy does not apply to their routes (no ``ids``).
    "directory_verify": Route("platform"),
    "directory_moderation": Route("platform"),
    "directory_review_moderate": Route("platform"),
    "directory_my_reviews": Route("authenticated"),
    "directory_review_new": Route("client", ids={"appointment_id": "appointment"}),
    # No ids yet: the directory demo's reviews have no author login to act as the positive control.
    "directory_review_edit": Route("client", "the review's author only"),
    "directory_review_report": Route("authenticated", "anyone signed in may report a published review"),
    # --- messaging -------------------------------------------------------------------------
    "inbox": Route("authenticated", "staff see their clinic's threads, clients their own"),
    "thread_new": Route("authenticated"),
    "thread_detail": Route(SC, ids={"pk": "thread"}),
    "message_attachment": Route(SC, ids={"pk": "attachment"}),
    # --- atlas and engine ------------------------------------------------------------------
    "atlas_index": Route("public", "atlas: reference material without client data"),
    "muscle_detail": Route("public", "atlas"),
    "atlas_refers": Route("public", "atlas"),
    "explain": Route(VC),
    "explain_results": Route(VC),
    # --- learn -----------------------------------------------------------------------------
    "learn_index": Route("public", "education articles"),
    "learn_search": Route("public", "education articles"),
    "learn_tag": Route("public", "education articles"),
    "learn_article": Route("public", "education articles"),
    "learn_cover": Route("public", "article cover images (published articles only)"),
    "learn_manage": Route("writer"),
    "learn_article_new": Route("writer"),
    "learn_preview": Route("writer"),
    "learn_article_edit": Route("writer", ids={"pk": "article"}),
    "learn_article_delete": Route("writer", ids={"pk": "article"}),
    "self_check": Route("public", "public self-check; stores nothing"),
    # --- API -------------------------------------------------------------------------------
    "api:api-root": Route("public", "API index (redirect/404 only)"),
    "api:openapi-json": Route("public", "API description"),
    "api:openapi-view": Route("public", "API documentation page"),
    "api:health": Route("public", "API liveness"),
    "api:me": Route("authenticated"),
    "api:list_clients": Route(VD),
    "api:create_client": Route(ED),
    "api:get_client": Route(VD, ids={"client_id": "client"}),
    "api:update_client": Route(ED, ids={"client_id": "client"}),
    "api:atlas_regions": Route("public", "atlas API"),
    "api:atlas_muscles": Route("public", "atlas API"),
    "api:atlas_muscle": Route("public", "atlas API"),
    "api:atlas_region_referrers": Route("public", "atlas API"),
    "api:explain_drawing": Route(VC),
    "api:assessment_list": Route(VC, ids=C),
    "api:assessment_create": Route(EC, ids=C),
    "api:assessment_implicated_muscles": Route(VC, ids=C),
    "api:assessment_get": Route(VC, ids={"assessment_id": "assessment"}),
    "api:assessment_finding_create": Route(EC, ids={"assessment_id": "assessment"}),
    "api:assessment_rom_create": Route(EC, ids={"assessment_id": "assessment"}),
    "api:assessment_photo_create": Route(EC, ids={"assessment_id": "assessment"}),
    "api:assessment_photo_get": Route(VC, ids={"photo_id": "photo"}),
    "api:assessment_photo_download": Route(VC, ids={"photo_id": "photo"}),
    "api:assessment_landmarks_put": Route(EC, ids={"photo_id": "photo"}),
    "api:booking_slots": Route("public", "free slots only, no names"),
    "api:booking_holds": Route("authenticated"),
    "api:booking_create": Route("authenticated", "clients book themselves; staff book for their clinic"),
    "api:booking_detail": Route(SD, ids={"appointment_id": "appointment"}),
    "api:booking_cancel": Route(SD, ids={"appointment_id": "appointment"}),
    "api:booking_reschedule": Route(SD, ids={"appointment_id": "appointment"}),
    "api:thread_list": Route("authenticated"),
    "api:thread_create": Route("authenticated"),
    "api:thread_get": Route(SC, ids={"thread_id": "thread"}),
    "api:thread_reply": Route(SC, ids={"thread_id": "thread"}),
    "api:learn_articles": Route("public", "published articles"),
    "api:learn_article": Route("public", "published articles"),
    "api:care_episodes": Route(VC),
    "api:care_episode_create": Route(EC),
    "api:care_episode": Route(VC, ids={"episode_id": "episode"}),
    "api:care_plan_create": Route(EC, ids={"episode_id": "episode"}),
    "api:care_visits": Route(VC),
    "api:care_visit_create": Route(EC),
    "api:care_visit": Route(VC, ids=V),
    "api:care_visit_update": Route(EC, ids=V),
    "api:care_visit_checkin": Route(EC, ids=V),
    "api:care_finding_create": Route(EC, ids=V),
    "api:care_finding_delete": Route(EC, ids={**V, "finding_id": "tp_finding"}),
    "api:care_technique_create": Route(EC, ids=V),
    "api:care_technique_delete": Route(EC, ids={**V, "application_id": "technique"}),
    "api:care_visit_sign": Route(EC, ids=V),
    "api:care_addendum_create": Route(EC, ids=V),
    "api:interop_client_fhir": Route(VC, ids={"client_id": "client"}),
    "api:interop_episode_fhir": Route(VC, ids={"episode_id": "episode"}),
    "api:interop_export": Route(VC, ids={"export_id": "data_export"}),
    "api:interop_export_create": Route(VC, ids={"client_id": "client"}),
    "api:outcomes_create": Route(EC, ids={"episode_id": "episode"}),
    "api:outcomes_delete": Route(EC, ids={"response_id": "outcome_response"}),
    "api:outcomes_list": Route(VC, ids={"episode_id": "episode"}),
    "api:outcomes_measures": Route("authenticated", "the measure definitions (reference data)"),
    "api:directory_therapists": Route("public", "published therapist profiles"),
    "api:directory_therapist": Route("public", "published therapist profile"),
}

# allauth's sign-in, sign-up, reset and confirmation pages are public by nature.
PUBLIC_PREFIXES = ("accounts/",)
PUBLIC_ROLES = ("public", "public-token")
