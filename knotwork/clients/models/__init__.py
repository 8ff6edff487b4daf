"""Client records and everything a client brings to the clinic: intake, consent, screening, drawings."""

from knotwork.clients.models.client import Client, ClientQuerySet, Household
from knotwork.clients.models.intake import (
    ConsentSignature,
    FlagClass,
    IntakeNote,
    IntakeQuestion,
    IntakeStatus,
    IntakeSubmission,
    MedicalClearance,
    PainDrawing,
    ScreeningFlag,
)

__all__ = [
    "Client",
    "ClientQuerySet",
    "ConsentSignature",
    "FlagClass",
    "Household",
    "IntakeNote",
    "IntakeQuestion",
    "IntakeStatus",
    "IntakeSubmission",
    "MedicalClearance",
    "PainDrawing",
    "ScreeningFlag",
]
