"""Catalogue for the demo portfolio: partner institutions and pools of EU experts.

Institutions are public partners of the kind SOCIEUX+ has worked with (the first ten are
named in the facility's publications). Experts are fictitious people; their employers
are real EU public administrations and mandated bodies.
"""

# long module: data, not logic (one literal row per partner and expert, as ruff formats them).

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["EXPERT_POOLS", "INSTITUTIONS", "ExpertPool", "Partner"]


@dataclass(frozen=True, slots=True)
class Partner:
    """A requesting institution and what it typically asks for."""

    country: str
    name: str
    acronym: str
    type: str
    level: str
    areas: tuple[str, ...]
    topic: str
    support_type: str = "analytical"


@dataclass(frozen=True, slots=True)
class ExpertPool:
    """Names and employers to draw experts of one nationality from."""

    nationality: str
    first_names: tuple[str, ...]
    last_names: tuple[str, ...]
    employers: tuple[tuple[str, str], ...]


_A, _K = "analytical", "know_how_transfer"
_PA, _MB, _SP = "public_authority", "mandated_body", "social_partner"

INSTITUTIONS: tuple[Partner, ...] = (
    Partner(
        "KH",
        "National Social Protection Council",
        "NSPC",
        _PA,
        "national",
        ("sp.financing", "sp.insurance.pensions"),
        "financial supervision of social security",
    ),
    Partner(
        "ME",
        "Pension and Disability Insurance Fund",
        "PIO Fund",
        _MB,
        "national",
        ("sp.insurance.pensions", "sp.information"),
        "actuarial modelling of pensions",
    ),
    Partner(
        "PE",
        "Ministry of Labour and Employment Promotion",
        "MTPE",
        _PA,
        "national",
        ("emp.market_information", "sp.information"),
        "labour market indicators",
        _K,
    ),
    Partner(
        "CR",
        "Ministry of Labour and Social Security",
        "MTSS",
        _PA,
        "national",
        ("emp.active_policies", "x.gender"),
        "active labour market policies for women",
    ),
    Partner(
        "CO",
        "Public Employment Service Unit",
        "UAESPE",
        _MB,
        "national",
        ("emp.public_services", "x.disability"),
        "inclusive public employment services",
        _K,
    ),
    Partner(
        "NG",
        "National Social Safety-Nets Coordinating Office",
        "NASSCO",
        _PA,
        "national",
        ("sp.assistance.targeting", "sp.information"),
        "the national social register",
    ),
    Partner(
        "DJ",
        "State Secretariat for Social Affairs",
        "SEAS",
        _PA,
        "national",
        ("sp.assistance.cash_transfers", "sp.information"),
        "a social assistance strategy",
    ),
    Partner(
        "MX",
        "National System for the Comprehensive Protection of Children and Adolescents",
        "SIPINNA",
        _PA,
        "national",
        ("sp.basic_services", "x.human_rights"),
        "child-protection policy monitoring",
    ),
    Partner(
        "CM",
        "Ministry of Employment and Vocational Training",
        "MINEFOP",
        _PA,
        "national",
        ("lab.informal_economy", "emp.skills"),
        "protection of informal workers",
        _K,
    ),
    Partner(
        "AZ",
        "Ministry of Labour and Social Protection of Population",
        "MLSPP",
        _PA,
        "national",
        ("sp.insurance.pensions", "emp.active_policies"),
        "pension reform and activation",
    ),
    Partner(
        "KH",
        "National Social Security Fund",
        "NSSF",
        _MB,
        "national",
        ("sp.insurance.health", "lab.working_conditions"),
        "employment injury insurance",
        _K,
    ),
    Partner(
        "CM",
        "National Employment Fund",
        "FNE",
        _MB,
        "national",
        ("emp.public_services",),
        "job-matching services",
        _K,
    ),
    Partner(
        "GE",
        "Ministry of Internally Displaced Persons, Labour, Health and Social Affairs",
        "MOLHSA",
        _PA,
        "national",
        ("lab.working_conditions", "lab.law_policy"),
        "labour inspection",
    ),
    Partner(
        "AM",
        "Ministry of Labour and Social Affairs",
        "MLSA",
        _PA,
        "national",
        ("sp.assistance.targeting", "sp.assistance.income_guarantee"),
        "targeting of family benefits",
    ),
    Partner(
        "MD",
        "National Employment Agency",
        "ANOFM",
        _MB,
        "national",
        ("emp.public_services", "emp.active_policies"),
        "profiling of jobseekers",
        _K,
    ),
    Partner(
        "UA",
        "Pension Fund of Ukraine",
        "PFU",
        _MB,
        "national",
        ("sp.insurance.pensions", "sp.information"),
        "digital pension administration",
    ),
    Partner(
        "MA",
        "National Social Security Fund",
        "CNSS",
        _MB,
        "national",
        ("sp.insurance.health", "sp.financing"),
        "extending health insurance coverage",
    ),
    Partner(
        "TN",
        "Centre for Social Research and Studies",
        "CRES",
        _MB,
        "national",
        ("sp.financing", "sp.information"),
        "a social protection floor costing",
    ),
    Partner(
        "JO",
        "Social Security Corporation",
        "SSC",
        _MB,
        "national",
        ("sp.insurance.unemployment",),
        "unemployment insurance design",
    ),
    Partner(
        "PS",
        "Ministry of Social Development",
        "MoSD",
        _PA,
        "national",
        ("sp.assistance.cash_transfers", "x.disability"),
        "a disability allowance",
    ),
    Partner(
        "EG",
        "Ministry of Social Solidarity",
        "MoSS",
        _PA,
        "national",
        ("sp.assistance.cash_transfers", "sp.information"),
        "cash transfer evaluation",
    ),
    Partner(
        "BJ",
        "Ministry of Labour and Public Service",
        "MTFP",
        _PA,
        "national",
        ("lab.social_dialogue", "lab.law_policy"),
        "a labour code revision",
    ),
    Partner(
        "SN",
        "General Delegation for Social Protection and National Solidarity",
        "DGPSN",
        _PA,
        "national",
        ("sp.assistance.targeting", "sp.information"),
        "the single national register",
    ),
    Partner(
        "CV",
        "National Social Security Institute",
        "INPS",
        _MB,
        "national",
        ("sp.insurance.pensions", "lab.informal_economy"),
        "coverage of the self-employed",
    ),
    Partner(
        "ET",
        "Ministry of Labour and Social Affairs",
        "MoLSA",
        _PA,
        "national",
        ("lab.law_policy", "sp.assistance.public_works"),
        "urban productive safety nets",
    ),
    Partner(
        "ET",
        "Confederation of Ethiopian Trade Unions",
        "CETU",
        _SP,
        "national",
        ("lab.social_dialogue",),
        "collective bargaining capacity",
        _K,
    ),
    Partner(
        "KE",
        "State Department for Social Protection",
        "SDSP",
        _PA,
        "national",
        ("sp.assistance.social_pensions", "sp.information"),
        "the old-age social pension",
    ),
    Partner(
        "ZM",
        "Ministry of Community Development and Social Services",
        "MCDSS",
        _PA,
        "national",
        ("sp.assistance.cash_transfers", "x.gender"),
        "graduation pathways",
    ),
    Partner(
        "GH",
        "Ministry of Employment and Labour Relations",
        "MELR",
        _PA,
        "national",
        ("lab.informal_economy", "sp.insurance.pensions"),
        "pensions for informal workers",
    ),
    Partner(
        "MZ",
        "National Institute of Social Action",
        "INAS",
        _MB,
        "national",
        ("sp.assistance.cash_transfers", "sp.information"),
        "payment systems",
        _K,
    ),
    Partner(
        "VN",
        "Ministry of Labour, Invalids and Social Affairs",
        "MOLISA",
        _PA,
        "national",
        ("sp.insurance.unemployment", "emp.public_services"),
        "unemployment insurance",
    ),
    Partner(
        "LA",
        "Ministry of Labour and Social Welfare",
        "MoLSW",
        _PA,
        "national",
        ("sp.basic_services.health", "sp.assistance"),
        "a social protection strategy",
    ),
    Partner(
        "MN",
        "Ministry of Labour and Social Protection",
        "MLSP",
        _PA,
        "national",
        ("emp.market_information", "emp.skills"),
        "skills anticipation",
        _K,
    ),
    Partner(
        "PH",
        "Department of Social Welfare and Development",
        "DSWD",
        _PA,
        "national",
        ("sp.assistance.targeting", "x.environment"),
        "shock-responsive social protection",
    ),
    Partner(
        "ID",
        "Workers' Social Security Agency",
        "BPJS Ketenagakerjaan",
        _MB,
        "national",
        ("sp.insurance.accident",),
        "employment injury benefits",
    ),
    Partner(
        "KG",
        "Social Fund of the Kyrgyz Republic",
        "SocFund",
        _MB,
        "national",
        ("sp.insurance.pensions", "sp.financing"),
        "contribution collection",
    ),
    Partner(
        "PY",
        "Ministry of Labour, Employment and Social Security",
        "MTESS",
        _PA,
        "national",
        ("emp.skills", "emp.public_services"),
        "vocational training",
        _K,
    ),
    Partner(
        "EC",
        "Ecuadorian Social Security Institute",
        "IESS",
        _MB,
        "national",
        ("sp.financing", "sp.insurance.health"),
        "actuarial sustainability",
    ),
    Partner(
        "AR",
        "Ministry of Labour, Employment and Social Security",
        "MTEySS",
        _PA,
        "national",
        ("lab.social_dialogue", "lab.working_conditions"),
        "occupational safety and health",
        _K,
    ),
    Partner(
        "UY",
        "Social Security Bank",
        "BPS",
        _MB,
        "national",
        ("sp.insurance", "x.gender"),
        "care credits in pensions",
    ),
    Partner(
        "GT",
        "Ministry of Social Development",
        "MIDES",
        _PA,
        "national",
        ("sp.assistance.cash_transfers", "sp.information"),
        "conditional cash transfers",
    ),
    Partner(
        "DO",
        "Social Policy Coordination Cabinet",
        "GCPS",
        _PA,
        "national",
        ("sp.information", "sp.assistance.targeting"),
        "monitoring social programmes",
    ),
    Partner(
        "FJ",
        "Ministry of Women, Children and Poverty Alleviation",
        "MWCPA",
        _PA,
        "national",
        ("sp.assistance.child_disability_grants", "x.environment"),
        "disaster-responsive child grants",
    ),
    Partner(
        "PE",
        "Regional Labour Directorate of Piura",
        "DRTPE Piura",
        _PA,
        "regional",
        ("emp.public_services", "lab.informal_economy"),
        "regional employment services",
        _K,
    ),
    Partner(
        "CO",
        "Secretariat of Social Inclusion of Medellín",
        "SISF",
        _PA,
        "local",
        ("sp.assistance", "x.gender"),
        "local social assistance",
        _K,
    ),
)
"""Partner institutions; countries are distinct enough to reach 34+ countries."""

EXPERT_POOLS: tuple[ExpertPool, ...] = (
    ExpertPool(
        "FR",
        ("Claire", "Julien", "Isabelle", "Thomas", "Nathalie"),
        ("Martin", "Bernard", "Dubois", "Lefèvre", "Moreau"),
        (
            ("Caisse nationale d'assurance vieillesse", "mandated_body"),
            ("France Travail", "agency"),
            ("Ministère du Travail, de la Santé et des Solidarités", "public_administration"),
        ),
    ),
    ExpertPool(
        "ES",
        ("Javier", "Lucía", "Carmen", "Pablo"),
        ("Ruiz", "García", "Fernández", "López"),
        (
            ("Instituto Nacional de la Seguridad Social", "mandated_body"),
            ("Servicio Público de Empleo Estatal", "agency"),
        ),
    ),
    ExpertPool(
        "BE",
        ("Pieter", "Sophie", "Koen", "Anne"),
        ("Peeters", "Janssens", "Lambert", "Dupont"),
        (
            ("FPS Social Security", "public_administration"),
            ("National Social Security Office", "mandated_body"),
        ),
    ),
    ExpertPool(
        "PT",
        ("João", "Ana", "Rui", "Marta"),
        ("Silva", "Santos", "Ferreira", "Costa"),
        (
            ("Instituto da Segurança Social", "mandated_body"),
            ("Instituto do Emprego e Formação Profissional", "agency"),
        ),
    ),
    ExpertPool(
        "RO",
        ("Andrei", "Ioana", "Mihai", "Elena"),
        ("Popescu", "Ionescu", "Dumitrescu", "Stan"),
        (
            ("National House of Public Pensions", "mandated_body"),
            ("National Agency for Employment", "agency"),
        ),
    ),
    ExpertPool(
        "BG",
        ("Georgi", "Maria", "Ivan", "Desislava"),
        ("Petrov", "Ivanova", "Dimitrov", "Georgieva"),
        (
            ("National Social Security Institute of Bulgaria (NOI)", "mandated_body"),
            ("Ministry of Labour and Social Policy", "public_administration"),
        ),
    ),
    ExpertPool(
        "DE",
        ("Katrin", "Stefan", "Jonas", "Miriam"),
        ("Schmidt", "Müller", "Weber", "Becker"),
        (
            ("Deutsche Rentenversicherung Bund", "mandated_body"),
            ("Bundesagentur für Arbeit", "agency"),
            ("German Trade Union Confederation", "social_partner"),
        ),
    ),
    ExpertPool(
        "IE",
        ("Siobhán", "Declan", "Aoife", "Cian"),
        ("Murphy", "Kelly", "O'Brien", "Walsh"),
        (
            ("Department of Social Protection", "public_administration"),
            ("University College Dublin", "university"),
        ),
    ),
    ExpertPool(
        "IT",
        ("Giulia", "Marco", "Francesca"),
        ("Rossi", "Bianchi", "Romano"),
        (("Istituto Nazionale della Previdenza Sociale", "mandated_body"),),
    ),
    ExpertPool(
        "NL",
        ("Sanne", "Joost"),
        ("de Vries", "Bakker"),
        (("Sociale Verzekeringsbank", "mandated_body"),),
    ),
    ExpertPool(
        "FI",
        ("Aino", "Mikko"),
        ("Virtanen", "Korhonen"),
        (("Kela, the Social Insurance Institution of Finland", "mandated_body"),),
    ),
    ExpertPool(
        "CL",
        ("Camila", "Felipe"),
        ("González", "Muñoz"),
        (("Superintendencia de Pensiones de Chile", "partner_country_institution"),),
    ),
)
"""EU nationalities (plus Chile, for triangular cooperation) with their employers."""
