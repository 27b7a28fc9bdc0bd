"""PPN bodies for the quality tests: ``complete_ppn`` has no findings; tests break one thing at a time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from app.quality.rules import QualityRules, load_rules
from tests.factories import person, ppn

ROOT = Path(__file__).resolve().parents[2]
RULES: QualityRules = load_rules(ROOT / "policies")
PURPOSE = {"X-Access-Purpose": "ppn_quality_assurance"}

# What the factory PPN leaves out (it has no culture notes, so nothing about culture or SEND).
CULTURE_NOTES = "Family speak Sylheti at home and attend the local mosque. No known SEND or disability."


def complete_person(**overrides: Any) -> dict[str, Any]:
    return person(**{"culture_notes": CULTURE_NOTES, **overrides})


def complete_ppn(**overrides: Any) -> dict[str, Any]:
    """The factory PPN, with the culture notes that make it complete."""
    return ppn(**{"person": complete_person(), **overrides})


def without(body: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in names}


def at(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def hours_ago(hours: float) -> datetime:
    return datetime.now(UTC) - timedelta(hours=hours)


def child(n: int, **overrides: Any) -> dict[str, Any]:
    """A complete person who is child ``n`` and nobody else (own name and police person id)."""
    return complete_person(
        **{
            "given_name": f"Child{n}",
            "family_name": f"Quality{n}",
            "identifiers": {"police_person_id": f"WYP-Q-{n}"},
            **overrides,
        }
    )
