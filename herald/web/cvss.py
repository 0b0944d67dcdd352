"""The CVSS calculator's metric choices, and scoring a vector for it and for previews.

The browser script (``static/herald/desk.js``) builds the vector from these
choices; the score always comes from here, through ``check_cvss`` and the
``cvss`` library, the same code that scores on save, so the number shown while
typing is the number that is stored.
"""

from __future__ import annotations

from typing import Any

from herald.advisories.validation import check_cvss
from herald.core.errors import ValidationError

# (metric, label, help, [(value, label), ...]) in the specification's vector order.
Metric = tuple[str, str, str, list[tuple[str, str]]]

_CIA3 = [("H", "High"), ("L", "Low"), ("N", "None")]
V31: list[Metric] = [
    ("AV", "Attack vector", "Where the attacker must be.",
     [("N", "Network"), ("A", "Adjacent"), ("L", "Local"), ("P", "Physical")]),
    ("AC", "Attack complexity", "Conditions beyond the attacker's control.",
     [("L", "Low"), ("H", "High")]),
    ("PR", "Privileges required", "What access the attacker needs first.",
     [("N", "None"), ("L", "Low"), ("H", "High")]),
    ("UI", "User interaction", "Whether someone else must take part.",
     [("N", "None"), ("R", "Required")]),
    ("S", "Scope", "Whether the impact reaches beyond the vulnerable component.",
     [("U", "Unchanged"), ("C", "Changed")]),
    ("C", "Confidentiality", "Impact on data secrecy.", _CIA3),
    ("I", "Integrity", "Impact on data correctness.", _CIA3),
    ("A", "Availability", "Impact on the service staying up.", _CIA3),
]  # fmt: skip

V40: list[Metric] = [
    ("AV", "Attack vector", "Where the attacker must be.",
     [("N", "Network"), ("A", "Adjacent"), ("L", "Local"), ("P", "Physical")]),
    ("AC", "Attack complexity", "Defences the attacker must defeat.",
     [("L", "Low"), ("H", "High")]),
    ("AT", "Attack requirements", "Conditions of the deployment the attack needs.",
     [("N", "None"), ("P", "Present")]),
    ("PR", "Privileges required", "What access the attacker needs first.",
     [("N", "None"), ("L", "Low"), ("H", "High")]),
    ("UI", "User interaction", "Whether someone else must take part.",
     [("N", "None"), ("P", "Passive"), ("A", "Active")]),
    ("VC", "Confidentiality (vulnerable system)", "Data secrecy in the vulnerable system.",
     _CIA3),
    ("VI", "Integrity (vulnerable system)", "Data correctness in the vulnerable system.", _CIA3),
    ("VA", "Availability (vulnerable system)", "The vulnerable system staying up.", _CIA3),
    ("SC", "Confidentiality (subsequent systems)", "Data secrecy in systems beyond it.", _CIA3),
    ("SI", "Integrity (subsequent systems)", "Data correctness in systems beyond it.", _CIA3),
    ("SA", "Availability (subsequent systems)", "Systems beyond it staying up.", _CIA3),
]  # fmt: skip

FIELDS = {"cvss_v3_vector": ("CVSS:3.1", V31), "cvss_v4_vector": ("CVSS:4.0", V40)}


def calculator_spec() -> dict[str, Any]:
    """What the script needs to build the calculator, keyed by the vector field's name."""
    return {
        name: {
            "prefix": prefix,
            "metrics": [
                {"key": key, "label": label, "help": help_text, "values": values}
                for key, label, help_text, values in metrics
            ],
        }
        for name, (prefix, metrics) in FIELDS.items()
    }


def score(field: str, vector: str) -> dict[str, Any]:
    """``{"vector", "score", "severity"}`` for a valid vector, ``{"error"}`` otherwise."""
    if field not in FIELDS:
        return {"error": "Unknown CVSS field."}
    try:
        scored = check_cvss(vector[:400], field)
    except ValidationError as exc:
        return {"error": " ".join(exc.messages)}
    if scored is None:
        return {"vector": "", "score": None, "severity": ""}
    return {"vector": scored.vector, "score": str(scored.score), "severity": scored.severity}
