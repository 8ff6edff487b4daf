"""Intake: what a client fills in before their first visit, and what the therapist reads.

One package, one hop from ``knotwork/clients``:

- ``definition`` — the standard intake form (``data/intake_form.yaml``) and its translations
  (``data/intake_i18n/``) as plain dataclasses, plus a clinic's own questions;
- ``forms`` — the Django forms each intake step, the consent signature and a pain drawing use;
- ``services`` — starting an intake, saving answers, signing consent, drawings, flags and medical
  clearance (every write audited);
- ``selectors`` — reads, each through ``get_<obj>_for_user()``-style helpers;
- ``screening`` — safety screening: answers in, contraindication / precaution / refer-out flags out
  (pure Python);
- ``views`` — the therapist's review pages (the client's own pages are in ``portal_views``);
- ``api`` — the intake endpoints of the JSON API.

The models stay in ``knotwork/clients/models/intake.py`` with the app's migrations.
"""
