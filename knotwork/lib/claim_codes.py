"""The codes a US insurance claim (a "superbill") carries, checked for form only.

- **NPI** (National Provider Identifier): ten digits, the last a Luhn check digit computed over
  the nine before it with the card-issuer prefix ``80840`` in front (ISO 7812, as CMS specifies).
- **CPT** (procedure): five characters, four digits then a digit (Category I, e.g. ``97140``) or
  ``F`` / ``T`` / ``U`` (Category II, III and proprietary lab codes). An optional two-character
  **modifier** (``59``, ``GP``). The code set is the AMA's and licensed: only the shape is checked,
  and the clinic types the codes it bills.
- **ICD-10-CM** (diagnosis): a letter, a digit, a digit or letter, then optionally a dot and one
  to four more (``M79.1``, ``M62.830``). No code table is shipped; the therapist types the code and
  a description in their own words.
- **Place of service**: the two-digit CMS code (``11`` office, ``12`` home, ``02`` telehealth).

Each ``normalise_*`` returns the code as printed, or raises ``ValidationError`` with a sentence a
person can act on. No other Django import: the rules are plain string checks.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

NPI_PREFIX = "80840"
CPT_RE = re.compile(r"^\d{4}[0-9FTU]$")
MODIFIER_RE = re.compile(r"^[0-9A-Z]{2}$")
ICD10_RE = re.compile(r"^[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$")
POS_RE = re.compile(r"^\d{2}$")
MAX_DIAGNOSES = 12  # a claim form points at diagnoses A to L
MAX_DESCRIPTION = 120


def luhn_ok(digits: str) -> bool:
    """True when the last digit of ``digits`` is the Luhn check digit of the rest."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def npi_check_digit(base: str) -> str:
    """The tenth digit of an NPI whose first nine are ``base``."""
    for d in "0123456789":
        if luhn_ok(NPI_PREFIX + base + d):
            return d
    raise ValueError(base)  # pragma: no cover - one digit always fits


def normalise_npi(value: str) -> str:
    npi = re.sub(r"[\s-]", "", value or "")
    if not npi:
        return ""
    if not (len(npi) == 10 and npi.isascii() and npi.isdigit()):
        raise ValidationError("An NPI is ten digits, e.g. 1234567893.", code="npi_format")
    if npi[0] not in "12":
        raise ValidationError("An NPI starts with 1 or 2. Check the number on the NPPES record.", code="npi_format")
    if not luhn_ok(NPI_PREFIX + npi):
        raise ValidationError("This NPI's check digit does not match: a digit is probably mistyped.", code="npi_check")
    return npi


def normalise_cpt(value: str) -> str:
    code = (value or "").strip().upper()
    if code and not CPT_RE.match(code):
        raise ValidationError("A CPT code is five characters: four digits, then a digit or F, T or U (e.g. 97140).", code="cpt")
    return code


def normalise_modifier(value: str) -> str:
    code = (value or "").strip().upper()
    if code and not MODIFIER_RE.match(code):
        raise ValidationError("A CPT modifier is two letters or digits, e.g. 59 or GP.", code="modifier")
    return code


def normalise_icd10(value: str) -> str:
    code = re.sub(r"\s", "", value or "").upper()
    if len(code) > 3 and "." not in code:
        code = f"{code[:3]}.{code[3:]}"  # "M6283" is typed as often as "M62.83"
    if not ICD10_RE.match(code):
        raise ValidationError(
            f"“{value.strip()[:20]}” is not an ICD-10 code: a letter, two characters, then optionally a dot and up to four more "
            "(e.g. M79.1 or M62.830).",
            code="icd10",
        )
    return code


def normalise_place_of_service(value: str) -> str:
    code = (value or "").strip()
    if not POS_RE.match(code) or code == "00":
        raise ValidationError("A place-of-service code is two digits, e.g. 11 (office) or 02 (telehealth).", code="pos")
    return code


def parse_diagnoses(text: str) -> list[dict[str, str]]:
    """One diagnosis a line, the code first and a description after it (``M79.1 Myalgia`` or
    ``M79.1 - Myalgia``). Raises ValidationError naming each line at fault."""
    found: list[dict[str, str]] = []
    errors: list[str] = []
    for n, raw in enumerate((text or "").splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        code, _, rest = line.partition(" ")
        try:
            code = normalise_icd10(code)
        except ValidationError as exc:
            errors.append(f"Line {n}: {exc.messages[0]}")
            continue
        description = rest.strip().lstrip("-–:").strip()
        if len(description) > MAX_DESCRIPTION:
            errors.append(f"Line {n}: keep the description under {MAX_DESCRIPTION} characters.")
        elif code in {d["code"] for d in found}:
            errors.append(f"Line {n}: {code} is listed twice.")
        else:
            found.append({"code": code, "description": description})
    if len(found) > MAX_DIAGNOSES:
        errors.append(f"A claim takes at most {MAX_DIAGNOSES} diagnosis codes.")
    if errors:
        raise ValidationError(errors)
    return found


def diagnoses_text(diagnoses: list[dict[str, str]]) -> str:
    """The text the form shows for stored diagnoses (the inverse of parse_diagnoses)."""
    return "\n".join(f"{d['code']} {d.get('description', '')}".strip() for d in diagnoses or [])


# Model-field validators (a blank value is the model's own business).
def validate_npi(value: str) -> None:
    normalise_npi(value)


def validate_cpt(value: str) -> None:
    normalise_cpt(value)


def validate_modifier(value: str) -> None:
    normalise_modifier(value)


def validate_place_of_service(value: str) -> None:
    normalise_place_of_service(value)
