"""The knowledge files: complete enough, every entry sourced, no name meaning two drugs."""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from pathlib import Path

import pytest

from medmitra_desktop.analysis.meds import MedsKnowledge, MedsKnowledgeError, load_meds_knowledge
from medmitra_desktop.analysis.meds import knowledge as knowledge_module
from medmitra_desktop.analysis.meds.knowledge import FILES
from medmitra_desktop.analysis.meds.text import term_key

RESOURCES = Path(__file__).resolve().parents[3] / "resources"
MEDS_DIR = RESOURCES / "meds"


def _load(name: str) -> dict:
    return json.loads((MEDS_DIR / name).read_text(encoding="utf-8"))


def _sourced_records(data: object, path: str = "", inherited: str | None = None):
    """Every record that carries `terms`, `generic` or `brand`, with the source that covers it:
    its own or the nearest enclosing section's."""
    if isinstance(data, dict):
        source = data.get("source", inherited)
        if any(k in data for k in ("terms", "generic", "brand")):
            yield path, data, source
        for key, value in data.items():
            if key != "sources":
                yield from _sourced_records(value, f"{path}.{key}", source)
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from _sourced_records(value, f"{path}[{i}]", inherited)


@pytest.mark.parametrize("name", FILES)
def test_every_entry_names_a_known_source(name: str) -> None:
    data = _load(name)
    sources = data["sources"]
    assert sources, f"{name} names no sources"
    for sid, record in sources.items():
        assert record.get("title") and record.get("publisher"), f"{name}: source {sid} incomplete"
    records = list(_sourced_records(data))
    assert records
    for path, _record, source in records:
        assert source in sources, f"{name}{path}: source {source!r} not among {sorted(sources)}"


def test_no_alias_maps_to_two_generics() -> None:
    meaning: dict[tuple[str, ...], set[str]] = defaultdict(set)
    for drug in _load("drugs.json")["drugs"]:
        for term in [drug["generic"], *drug["aliases"]]:
            meaning[term_key(term)].add(drug["generic"])
    for brand in _load("brands.json")["brands"]:
        meaning[term_key(brand["brand"])].add(brand["generic"])
    for item in _load("classes.json")["classes"]["items"]:
        for term in item["terms"]:
            meaning[term_key(term)].add("class:" + item["name"])
    for item in _load("classes.json")["ambiguous_brands"]["items"]:
        for term in item["terms"]:
            meaning[term_key(term)].add("ambiguous:" + item["name"])
    for term in _load("classes.json")["manufacturers"]["terms"]:
        meaning[term_key(term)].add("maker:" + " ".join(term_key(term)))
    clashes = {" ".join(k): sorted(v) for k, v in meaning.items() if len(v) > 1}
    assert clashes == {}


def test_vocabulary_size_and_shape(knowledge: MedsKnowledge) -> None:
    drugs = _load("drugs.json")["drugs"]
    generics = [d["generic"] for d in drugs]
    assert len(generics) >= 250
    assert len(set(generics)) == len(generics)
    assert all(g == g.strip().lower() for g in generics)
    for d in drugs:
        if "components" in d:
            assert len(d["components"]) >= 2, d
    brands = _load("brands.json")["brands"]
    assert len(brands) >= 250
    assert {b["generic"] for b in brands} <= set(generics)
    assert set(knowledge.drugs) == set(generics)


# fmt: off
REQUIRED_GENERICS = [
    "metformin", "glimepiride", "gliclazide", "sitagliptin", "vildagliptin", "teneligliptin",
    "dapagliflozin", "empagliflozin", "amlodipine", "telmisartan", "losartan", "olmesartan",
    "ramipril", "enalapril", "metoprolol", "atenolol", "bisoprolol", "carvedilol",
    "hydrochlorothiazide", "chlorthalidone", "furosemide", "torsemide", "spironolactone",
    "atorvastatin", "rosuvastatin", "aspirin", "clopidogrel", "warfarin", "apixaban",
    "levothyroxine", "carbimazole", "amoxicillin", "azithromycin", "doxycycline",
    "ciprofloxacin", "levofloxacin", "cefixime", "ceftriaxone", "nitrofurantoin",
    "metronidazole", "paracetamol", "ibuprofen", "diclofenac", "aceclofenac", "tramadol",
    "pantoprazole", "omeprazole", "rabeprazole", "esomeprazole", "famotidine", "salbutamol",
    "budesonide", "formoterol", "montelukast", "levocetirizine", "cetirizine", "iron",
    "cholecalciferol", "methylcobalamin", "prednisolone", "levetiracetam", "escitalopram",
]
# fmt: on


@pytest.mark.parametrize(
    "printed",
    [
        *REQUIRED_GENERICS,
        "folic acid",
        "ferrous sulfate",
        "calcium carbonate",
        "insulin glargine",
        "insulin aspart",
        "insulin regular",
        "insulin nph",
        "amoxicillin-clavulanate",
    ],
)
def test_required_generics_are_known(knowledge: MedsKnowledge, printed: str) -> None:
    assert knowledge.generic_for(printed) == printed


@pytest.mark.parametrize(
    ("printed", "generic"),
    [
        ("Glycomet", "metformin"),
        ("Ecosprin", "aspirin"),
        ("Thyronorm", "levothyroxine"),
        ("Eltroxin", "levothyroxine"),
        ("Thyroxine", "levothyroxine"),
        ("Crocin", "paracetamol"),
        ("Dolo", "paracetamol"),
        ("Acetaminophen", "paracetamol"),
        ("Tylenol", "paracetamol"),
        ("Telma", "telmisartan"),
        ("Amlong", "amlodipine"),
        ("Amlip", "amlodipine"),
        ("Pan", "pantoprazole"),
        ("Pantocid", "pantoprazole"),
        ("Augmentin", "amoxicillin-clavulanate"),
        ("Lipitor", "atorvastatin"),
        ("Albuterol", "salbutamol"),
        ("Frusemide", "furosemide"),
        ("Glyburide", "glibenclamide"),
        ("Lantus", "insulin glargine"),
        ("NovoRapid", "insulin aspart"),
        ("Telma-H", "telmisartan-hydrochlorothiazide"),
        ("Telma AM", "telmisartan-amlodipine"),
        ("Glycomet GP", "glimepiride-metformin"),
        ("Ziten", "teneligliptin"),
        ("Vitamin D3", "cholecalciferol"),
    ],
)
def test_brands_and_synonyms_map_to_generics(
    knowledge: MedsKnowledge, printed: str, generic: str
) -> None:
    assert knowledge.generic_for(printed) == generic


def test_sig_vocabulary_covers_the_brief(knowledge: MedsKnowledge) -> None:
    for term, canonical in [
        ("PO", "oral"), ("oral", "oral"), ("IV", "IV"), ("IM", "IM"), ("SC", "SC"),
        ("s/c", "SC"), ("inhaled", "inhaled"), ("topical", "topical"), ("SL", "SL"),
    ]:  # fmt: skip
        assert knowledge.routes.lookup(term) == canonical, term
    for term, per_day in [
        ("OD", 1), ("BD", 2), ("BID", 2), ("TDS", 3), ("TID", 3), ("QID", 4), ("HS", 1),
        ("QHS", 1), ("q8h", 3), ("once daily", 1), ("twice a day", 2),
    ]:  # fmt: skip
        assert knowledge.frequencies.lookup(term).per_day == per_day, term
    for term in ("SOS", "PRN"):
        assert knowledge.frequencies.lookup(term).prn
    assert knowledge.frequencies.lookup("stat").canonical.startswith("immediately")
    for term, canonical in [("AC", "before food"), ("PC", "after food")]:
        assert knowledge.food.lookup(term) == canonical
    for unit in ("mg", "mcg", "g", "ml", "IU", "units", "puffs", "drops", "tablets"):
        assert knowledge.dose_units.get(unit.lower()) == unit, unit


def test_allergy_vocabulary_covers_the_brief(knowledge: MedsKnowledge) -> None:
    for term in ("rash", "hives", "anaphylaxis", "swelling"):
        assert knowledge.reactions.lookup(term), term
    for term, severity in [("mild", "mild"), ("moderate", "moderate"), ("severe", "severe")]:
        assert knowledge.severities.lookup(term) == severity
    assert knowledge.allergy_cues_before.search("allergic to penicillin")
    assert knowledge.nkda.search("NKDA")
    assert knowledge.nkda.search("no known drug allergies")


def test_loading_twice_gives_independent_objects() -> None:
    """No module-level singleton: the caller owns what it loads."""
    a, b = load_meds_knowledge(RESOURCES), load_meds_knowledge(RESOURCES)
    assert a is not b
    assert not any(isinstance(v, MedsKnowledge) for v in vars(knowledge_module).values())


@pytest.fixture
def copy_of_resources(tmp_path: Path) -> Path:
    shutil.copytree(MEDS_DIR, tmp_path / "meds")
    return tmp_path


def _edit(root: Path, name: str, change) -> None:
    path = root / "meds" / name
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data), encoding="utf-8")


def test_loader_rejects_an_alias_meaning_two_drugs(copy_of_resources: Path) -> None:
    _edit(copy_of_resources, "brands.json",
          lambda d: d["brands"].append({"brand": "Glycomet", "generic": "aspirin",
                                        "markets": ["IN"], "source": "india_labels"}))  # fmt: skip
    with pytest.raises(MedsKnowledgeError, match="Glycomet"):
        load_meds_knowledge(copy_of_resources)


def test_loader_rejects_an_entry_without_source(copy_of_resources: Path) -> None:
    _edit(copy_of_resources, "drugs.json", lambda d: d["drugs"][0].pop("source"))
    with pytest.raises(MedsKnowledgeError, match="source"):
        load_meds_knowledge(copy_of_resources)


def test_loader_rejects_a_brand_of_an_unknown_generic(copy_of_resources: Path) -> None:
    _edit(copy_of_resources, "brands.json",
          lambda d: d["brands"].append({"brand": "Nosuch", "generic": "nosuchdrug",
                                        "markets": ["IN"], "source": "india_labels"}))  # fmt: skip
    with pytest.raises(MedsKnowledgeError, match="nosuchdrug"):
        load_meds_knowledge(copy_of_resources)


def test_loader_rejects_a_frequency_term_with_two_meanings(copy_of_resources: Path) -> None:
    def change(d: dict) -> None:
        d["frequencies"]["items"][0]["terms"].append("bd")

    _edit(copy_of_resources, "sig.json", change)
    with pytest.raises(MedsKnowledgeError, match="bd"):
        load_meds_knowledge(copy_of_resources)


def test_loader_reports_a_missing_or_broken_file(copy_of_resources: Path) -> None:
    (copy_of_resources / "meds" / "context.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(MedsKnowledgeError, match=r"context\.json"):
        load_meds_knowledge(copy_of_resources)
    (copy_of_resources / "meds" / "context.json").unlink()
    with pytest.raises(MedsKnowledgeError, match="missing"):
        load_meds_knowledge(copy_of_resources)
