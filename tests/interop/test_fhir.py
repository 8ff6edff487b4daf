from __future__ import annotations

import base64
import json

from django.urls import reverse

from knotwork.interop import fhir


class FhirBundleTests:
    def test_a_demo_clients_bundle_validates_as_r4_and_round_trips(self, demo_client):
        bundle = json.loads(json.dumps(fhir.bundle_for(demo_client)))
        parsed = fhir.validate(bundle)
        again = json.loads(parsed.model_dump_json(exclude_none=True))
        assert again == bundle
        assert fhir.validate(again).model_dump() == parsed.model_dump()

    def test_it_has_every_resource_type_the_record_needs(self, demo_client):
        bundle = fhir.bundle_for(demo_client)
        types = fhir.resource_types(bundle["entry"])
        assert {"Patient", "Practitioner", "Organization", "Encounter", "Condition", "Observation", "Procedure",
                "QuestionnaireResponse", "DocumentReference"} <= types  # fmt: skip

    def test_nprs_carries_loinc_and_findings_carry_body_site_and_laterality(self, demo_client):
        entries = [e["resource"] for e in fhir.bundle_for(demo_client)["entry"]]
        observations = [r for r in entries if r["resourceType"] == "Observation"]
        nprs = [o for o in observations if any(c.get("code") == "72514-3" for c in o["code"]["coding"])]
        assert nprs and all(c["system"] == fhir.LOINC for c in nprs[0]["code"]["coding"][:1])
        findings = [o for o in observations if o["code"]["coding"][0]["system"] == fhir.CS_TRIGGER_POINT]
        assert findings
        f = findings[0]
        assert f["bodySite"]["coding"][0]["system"] == fhir.CS_REGION
        lat = next(c for c in f["component"] if c["code"]["coding"][0]["code"] == "272741003")
        assert lat["valueCodeableConcept"]["coding"][0]["code"] in {"7771000", "24028007", "51440002"}

    def test_references_all_resolve_inside_the_bundle(self, demo_client):
        bundle = fhir.bundle_for(demo_client)
        urls = {e["fullUrl"] for e in bundle["entry"]}
        text = json.dumps(bundle)
        import re

        refs = set(re.findall(r'"reference": "([^"]+)"', text))
        assert refs and refs <= urls

    def test_signed_documents_are_embedded_pdfs(self, demo_client):
        docs = [e["resource"] for e in fhir.bundle_for(demo_client)["entry"] if e["resource"]["resourceType"] == "DocumentReference"]
        data = base64.b64decode(docs[0]["content"][0]["attachment"]["data"])
        assert data.startswith(b"%PDF") and docs[0]["content"][0]["attachment"]["size"] == len(data)

    def test_the_same_record_exports_to_the_same_ids(self, demo_client):
        a, b = fhir.bundle_for(demo_client), fhir.bundle_for(demo_client)
        assert [e["fullUrl"] for e in a["entry"]] == [e["fullUrl"] for e in b["entry"]]

    def test_an_episode_bundle_holds_that_episode_only(self, demo_client):
        episode = demo_client.episodes.first()
        bundle = fhir.bundle_for(demo_client, episode=episode)
        fhir.validate(bundle)
        conditions = [e for e in bundle["entry"] if e["resource"]["resourceType"] == "Condition"]
        assert len(conditions) == 1 and conditions[0]["fullUrl"] == fhir.ref_of("Condition", episode.pk)


class FhirEndpointTests:
    def test_the_page_and_api_give_the_bundle_to_clinical_staff_only(self, world, as_user, atlas_db_client):
        client, episode = atlas_db_client
        page = reverse("client_fhir", args=[client.pk])
        r = as_user(world.alice).get(page)
        assert r.status_code == 200 and r["Content-Type"].startswith("application/fhir+json")
        fhir.validate(json.loads(r.content))
        assert as_user(world.bob).get(page).status_code == 403
        assert as_user(world.charlie).get(page).status_code == 404
        api = reverse("api:interop_client_fhir", args=[client.pk])
        assert as_user(world.alice).get(api).json()["resourceType"] == "Bundle"
        assert as_user(world.charlie).get(api).status_code == 404
        ep_url = reverse("episode_fhir", args=[client.pk, episode.pk])
        assert as_user(world.alice).get(ep_url).status_code == 200
        assert as_user(world.charlie).get(ep_url).status_code == 404
        assert as_user(world.charlie).get(reverse("api:interop_episode_fhir", args=[episode.pk])).status_code == 404
