"""Random but realistic payloads for the demo (all drawn from the caller's ``Random``)."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from workflows.technical_assistance._demo_catalogue import EXPERT_POOLS, Partner

__all__ = [
    "activities_and_experts",
    "delivered_record",
    "evaluation",
    "opinion",
    "products",
    "request",
    "roster",
]

_CONTACT_FIRST = (
    "Sokha",
    "Milena",
    "Rosa",
    "Carlos",
    "Amina",
    "Nadia",
    "Ibrahim",
    "Thi Lan",
    "Leyla",
    "Kwame",
    "Ana",
    "Bolormaa",
    "Joseph",
    "Fatou",
    "Daniel",
    "Mariam",
)
_CONTACT_LAST = (
    "Chan",
    "Vukovic",
    "Quispe",
    "Mora",
    "Bello",
    "Haddad",
    "Diallo",
    "Nguyen",
    "Aliyeva",
    "Mensah",
    "Torres",
    "Bat-Erdene",
    "Mwangi",
    "Ndiaye",
    "Perez",
)
_ANALYTICAL = ("diagnostic", "policy_framework", "legislation_design", "strategy")
_KNOW_HOW = ("training", "seminar", "study_visit", "awareness_raising")
_POOL_WEIGHTS = (16, 14, 11, 10, 8, 7, 8, 6, 5, 3, 3, 2)  # FR ES BE PT RO BG DE IE IT NL FI CL


def roster(rng: random.Random) -> list[dict[str, Any]]:
    """The facility's expert roster: 3 to 7 experts per nationality, with their employer."""
    experts = []
    for pool in EXPERT_POOLS:
        for k in range(1, rng.randint(3, 7) + 1):
            employer, employer_type = rng.choice(pool.employers)
            experts.append(
                {
                    "id": f"exp-{pool.nationality.lower()}-{k:02d}",
                    "name": f"{rng.choice(pool.first_names)} {rng.choice(pool.last_names)}",
                    "nationality": pool.nationality,
                    "employer": employer,
                    "employer_type": employer_type,
                }
            )
    return experts


def request(rng: random.Random, partner: Partner, day: date) -> dict[str, Any]:
    """A complete, eligible request from ``partner``."""
    first, last = rng.choice(_CONTACT_FIRST), rng.choice(_CONTACT_LAST)
    slug = "".join(c for c in partner.acronym.lower() if c.isalnum())
    objectives = [
        f"Review EU and international practice on {partner.topic}",
        f"Draft options for {partner.topic} adapted to national conditions",
        f"Strengthen the skills of {partner.acronym} staff on {partner.topic}",
    ][: rng.choice((1, 2, 2, 3))]
    return {
        "institution": {
            "name": partner.name,
            "acronym": partner.acronym,
            "type": partner.type,
            "level": partner.level,
        },
        "country": partner.country,
        "channel": "eu_delegation" if rng.random() < 0.35 else "direct",
        "title": f"Support to the {partner.acronym} on {partner.topic}",
        "areas": list(partner.areas),
        "support_type": partner.support_type,
        "description": f"The {partner.name} asks for peer expertise from EU Member State "
        f"administrations on {partner.topic}.",
        "objectives": objectives,
        "desired_start": (day + timedelta(days=rng.randint(60, 180))).isoformat(),
        "contact": {
            "name": f"{first} {last}",
            "email": f"{first.lower().replace(' ', '')}.{last.lower()}@{slug}.example",
            "phone": f"+{rng.randint(20, 998)} {rng.randint(100, 999)} {rng.randint(1000, 9999)}",
            "position": rng.choice(
                (
                    "Director of Planning",
                    "Head of Cooperation",
                    "Deputy Director General",
                    "Senior Policy Officer",
                )
            ),
        },
    }


def opinion(rng: random.Random) -> dict[str, Any]:
    """The EU Delegation's opinion: mostly favourable."""
    draw = rng.random()
    if draw < 0.85:
        return {"verdict": "favourable", "note": "", "reason": ""}
    if draw < 0.93:
        return {
            "verdict": "waived",
            "note": "",
            "reason": "No reply from the Delegation within the consultation period.",
        }
    return {
        "verdict": "unfavourable",
        "reason": "",
        "note": "Overlaps with a programme funded by another donor; keep it narrow.",
    }


def _team(rng: random.Random, size: int, roster_: list[dict[str, Any]]) -> list[dict[str, Any]]:
    picks: list[dict[str, Any]] = []
    while len(picks) < size:
        pool = EXPERT_POOLS[rng.choices(range(len(EXPERT_POOLS)), _POOL_WEIGHTS)[0]]
        options = [e for e in roster_ if e["nationality"] == pool.nationality and e not in picks]
        if options:
            picks.append(rng.choice(options))
    return picks


def activities_and_experts(
    rng: random.Random, partner: Partner, day: date, roster_: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """An action plan of 1 to 4 activities starting after ``day``, and its experts."""
    count = rng.choices((1, 2, 3, 4), (12, 48, 33, 7))[0]
    types = _ANALYTICAL if partner.support_type == "analytical" else _KNOW_HOW
    thematic = [a for a in partner.areas if not a.startswith("x.")]
    start = day + timedelta(days=rng.randint(75, 150))
    activities, experts = [], []
    for k in range(1, count + 1):
        kind = rng.choice(types if rng.random() < 0.75 else _ANALYTICAL + _KNOW_HOW)
        mode = rng.choices(("on_site", "remote", "hybrid"), (75, 15, 10))[0]
        length = rng.randint(14, 45) if kind in _ANALYTICAL else rng.randint(5, 21)
        size = rng.choices((1, 2, 3), (30, 50, 20))[0] if count < 4 else rng.choice((1, 2))
        team = _team(rng, size, roster_)
        days = [
            rng.choice((16, 17, 18, 18)) if mode != "remote" else rng.randint(5, 12) for _ in team
        ]
        experts += [
            {
                **e,
                "expertise": rng.choice(thematic),
                "principal": i == 0,
                "days": d,
                "activity_id": f"A{k}",
            }
            for i, (e, d) in enumerate(zip(team, days, strict=True))
        ]
        activities.append(
            {
                "id": f"A{k}",
                "type": kind,
                "mode": mode,
                "title": f"{kind.replace('_', ' ').capitalize()} on {partner.topic}",
                "expert_days": sum(days) + rng.randint(0, 4),
                "start": start.isoformat(),
                "end": (start + timedelta(days=length - 1)).isoformat(),
            }
        )
        start += timedelta(days=length + rng.randint(20, 120))
    return activities, experts


def delivered_record(
    rng: random.Random, activity: dict[str, Any], worked: int
) -> tuple[dict[str, Any], date]:
    """A delivered activity inside its window, and the day its report comes in."""
    start = date.fromisoformat(activity["start"])
    end = date.fromisoformat(activity["end"])
    actual_start = min(end, start + timedelta(days=rng.randint(0, 2)))
    actual_end = max(actual_start, end - timedelta(days=rng.randint(0, 2)))
    record = {
        "activity_id": activity["id"],
        "status": "delivered",
        "actual_start": actual_start.isoformat(),
        "actual_end": actual_end.isoformat(),
        "participants": {
            "female": rng.randint(6, 40),
            "male": rng.randint(6, 40),
            "other": rng.choice((0, 0, 0, 1)),
        },
        "days_worked": max(1, worked - rng.randint(0, 2)),
        "report_reference": f"AR-{actual_end.year}-{rng.randint(1, 999):03d}",
        "report_validated": True,
    }
    return record, actual_end + timedelta(days=rng.randint(5, 20))


def evaluation(rng: random.Random, objectives: int) -> dict[str, Any]:
    """Partner, expert and participant feedback; mostly positive, as published."""
    score = rng.choices((5, 4, 3, 2), (55, 35, 8, 2))[0]
    ratings = ("achieved", "partly_achieved", "not_achieved")
    return {
        "evaluation": {
            "partner": {"score": score, "would_recommend": score >= 3 or rng.random() < 0.3},
            "experts_score": rng.choice((4, 4, 5, 5, 3)),
            "participants_score": round(rng.uniform(3.6, 4.9), 1),
            "achievements": [
                {"objective": i, "rating": rng.choices(ratings, (70, 25, 5))[0]}
                for i in range(1, objectives + 1)
            ],
        }
    }


def products(rng: random.Random, partner: Partner) -> dict[str, Any]:
    """One to three knowledge products sharing the results."""
    kinds = {
        "news": (f"{partner.acronym} and EU peers work on {partner.topic}", "General public"),
        "case_study": (f"Case study: {partner.topic}", "Partner institutions"),
        "policy_brief": (f"Policy brief: options for {partner.topic}", "Policy makers"),
        "knowledge_product": (f"Toolkit on {partner.topic}", "Practitioners"),
    }
    chosen = rng.sample(sorted(kinds), rng.choice((1, 1, 2, 3)))
    return {
        "products": [
            {"type": k, "title": kinds[k][0][:200], "audience": kinds[k][1]} for k in chosen
        ]
    }
