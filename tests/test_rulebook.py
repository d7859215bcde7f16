"""The project's own clinical rulebook (docs/clinical-rules.md): every rule id the code uses has an entry, each entry
says whether it is implemented, zoledronic acid's bands there are the thresholds table's, nothing points outside the
repository, and the small renderer the console serves it with."""

import ast
import re
from pathlib import Path

from django.conf import settings

from apps.console import rulebook
from apps.medications.rules.injection import ZOLEDRONIC_ACID_BANDS

ROOT = Path(settings.BASE_DIR)
TEXT = (ROOT / "docs" / "clinical-rules.md").read_text(encoding="utf-8")
RULE_ID = re.compile(r"\b[A-Z][0-9]\b")
ONLY_RULE = re.compile(r"^[ACDEHJMPTZ][0-9](-[ACDEHJMPTZ][0-9])?$")  # the rulebook's families
# The ids of the team's domain notes, every one of which the rulebook carries.
EXPECTED = {
    *(f"M{n}" for n in range(1, 8)),
    *(f"D{n}" for n in range(1, 10)),  # D9: a product decision of issue 14 (missed appointments), like Z1
    *(f"A{n}" for n in range(1, 6)),
    *(f"H{n}" for n in range(1, 5)),
    *(f"C{n}" for n in range(1, 5)),
    *(f"E{n}" for n in range(1, 4)),
    "P1",
    "P2",
    "T1",
    *(f"J{n}" for n in range(1, 5)),
    "Z1",
}
NOT_YET: set[str] = set()


def sections() -> dict[str, str]:
    """Each rule's entry: from its ``### X1`` heading to the next heading."""
    found: dict[str, str] = {}
    for block in re.split(r"(?m)^(?=#{1,3} )", TEXT):
        match = re.match(r"### ([A-Z][0-9])\b", block)
        if match:
            found[match.group(1)] = block
    return found


def ids_used_in_code() -> dict[str, str]:
    """Rule ids the code names, with where: ``DOMAIN`` comments and docstrings, and rule-id strings (``rule="D5"``,
    a catalogue row's ``source``, ``"M1-M5"``)."""
    used: dict[str, str] = {}
    files = [p for p in (*ROOT.glob("apps/**/*.py"), *ROOT.glob("backend/**/*.py")) if "migrations" not in p.parts]
    for path in files:
        source = path.read_text(encoding="utf-8")
        where = str(path.relative_to(ROOT))
        for number, line in enumerate(source.splitlines(), 1):
            if "DOMAIN" in line:
                for rule_id in RULE_ID.findall(re.sub(r"(?i)vitamin d3", "", line.split("DOMAIN", 1)[1])):
                    used.setdefault(rule_id, f"{where}:{number}")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and ONLY_RULE.match(node.value):
                for rule_id in RULE_ID.findall(node.value):
                    used.setdefault(rule_id, f"{where}:{node.lineno}")
    return used


def test_every_rule_of_the_domain_notes_has_one_entry() -> None:
    ids = rulebook.rule_ids(TEXT)
    assert len(ids) == len(set(ids)), "one entry per rule id"
    assert set(ids) == EXPECTED


def test_every_rule_id_the_code_names_is_in_the_rulebook() -> None:
    used = ids_used_in_code()
    assert {"A1", "A3", "D5", "Z1", "H2", "P1", "M6"} <= set(used)  # the walk finds comments and rule strings
    missing = {rule_id: where for rule_id, where in used.items() if rule_id not in set(rulebook.rule_ids(TEXT))}
    assert missing == {}


def test_each_entry_says_what_the_code_does_and_whether_it_is_implemented() -> None:
    for rule_id, entry in sections().items():
        assert "**Status**:" in entry, rule_id
        status = " ".join(entry.split("**Status**:", 1)[1].split())
        if rule_id in NOT_YET:
            assert "not yet implemented" in status, rule_id
        else:
            assert status.strip().startswith("implemented"), rule_id
            assert "**Code**:" in entry, rule_id


def test_zoledronic_acid_bands_in_the_rulebook_are_the_thresholds_table() -> None:
    """Z1 states the bands and their reasoning; the numbers are the ones the code uses (one table)."""
    z1 = sections()["Z1"]
    b = ZOLEDRONIC_ACID_BANDS
    assert f"| `due_soon` | {b.due_soon_days}..1 days before due" in z1
    assert f"| `due` | due date to day {b.on_time_days} after; coordinator alert (normal) from day " in z1
    assert f"from day {b.due_alert_from_day}" in z1
    assert f"| `late` | days {b.on_time_days + 1}-{b.late_until_days} after due" in z1
    assert f"| `critical` | from day {b.late_until_days + 1} after due" in z1
    for reason in ("No rebound effect", "Critical once a whole interval is missed", "Alert from day 14"):
        assert reason in z1
    assert "`ZOLEDRONIC_ACID_BANDS` in `apps/medications/rules/injection.py`" in z1
    code = (ROOT / "apps/medications/rules/injection.py").read_text(encoding="utf-8")
    table = code.split("ZOLEDRONIC_ACID_BANDS = InjectionBands(", 1)[1].split("\n)\n", 1)[0]
    for field in ("due_soon_days", "on_time_days", "late_until_days", "due_alert_from_day"):
        assert re.search(rf"{field}=\d+,\s+# DOMAIN Z1", table), field


def test_nothing_in_the_readme_or_the_docs_points_outside_the_repository() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name, text in [("README.md", readme), *((p.name, p.read_text()) for p in (ROOT / "docs").glob("*.md"))]:
        assert "../shared" not in text and "/work/" not in text, name
    assert "docs/clinical-rules.md" in readme and "docs/api.md" in readme and "/console/rules/" in readme


# --- the renderer --------------------------------------------------------------------------------------------------
def test_headings_get_anchors_rule_headings_get_rule_anchors() -> None:
    html = rulebook.render("# Book\n\n## Oral bisphosphonates\n\n### A1 How to take it\n\n### A1 How to take it\n")
    assert '<h1 id="book">Book</h1>' in html
    assert '<h2 id="oral-bisphosphonates">Oral bisphosphonates</h2>' in html
    assert '<h3 id="rule-A1">A1 How to take it</h3>' in html
    assert '<h3 id="rule-A1-2">' in html  # ids stay unique


def test_paragraphs_lists_and_tables() -> None:
    text = (
        "First line\nsecond line.\n\n- one\n  continued\n- two\nAfter the list.\n\n"
        "| state | when |\n|---|---|\n| `due` | day 0 |\n"
    )
    html = rulebook.render(text)
    assert "<p>First line second line.</p>" in html
    assert "<ul><li>one continued</li><li>two</li></ul>" in html
    assert "<p>After the list.</p>" in html
    assert '<thead><tr><th scope="col">state</th><th scope="col">when</th></tr></thead>' in html
    # each cell names its column (a phone shows the table as stacked rows, labelled)
    row = '<tr><td data-label="state"><code>due</code></td><td data-label="when">day 0</td></tr>'
    assert f"<tbody>{row}</tbody>" in html


def test_inline_markup_and_escaping() -> None:
    html = rulebook.render("**Code**: *design* `a*b*c` <script>alert(1)</script> & 5 < 6")
    assert html == (
        "<p><strong>Code</strong>: <em>design</em> <code>a*b*c</code> &lt;script&gt;alert(1)&lt;/script&gt; "
        "&amp; 5 &lt; 6</p>"
    )


def test_rule_ids_link_to_their_entries_and_unknown_ones_stay_text() -> None:
    known = frozenset({"M1", "M5", "D5"})
    assert rulebook.link_rule_ids("D5", known) == '<a class="rule-link" href="/console/rules/#rule-D5">D5</a>'
    assert rulebook.link_rule_ids("M1-M5", known) == (
        '<a class="rule-link" href="/console/rules/#rule-M1">M1</a>-'
        '<a class="rule-link" href="/console/rules/#rule-M5">M5</a>'
    )
    assert rulebook.link_rule_ids("X9 <b>", known) == "X9 &lt;b&gt;"
