"""The project's clinical rulebook (docs/clinical-rules.md) as a console page, and links from rule ids to it.

The rulebook is the one source of the rule table: a rule is a level-3 heading that starts with its id
(``### D5 Injection states and alerts``), and its anchor is ``rule-D5``. No Markdown library is a dependency of the
product, so this renders the small subset the rulebook is written in: ``#``-``###`` headings, paragraphs, ``- ``
lists (continuation lines indented), pipe tables with a header row, and inline code, **bold** and *emphasis*.
Everything else is shown as text; all text is HTML-escaped.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.urls import reverse

__all__ = ["RULE_ID", "Rulebook", "link_rule_ids", "load", "render", "rule_anchor", "rule_ids"]

RULEBOOK_PATH = Path(settings.BASE_DIR) / "docs" / "clinical-rules.md"
RULE_ID = re.compile(r"\b[A-Z][0-9]\b")
_RULE_HEADING = re.compile(r"^###\s+([A-Z][0-9])\b")
_HEADING = re.compile(r"^(#{1,3})\s+(.*)$")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_EMPHASIS = re.compile(r"(?<![*\w])\*(?!\s)([^*]+?)(?<!\s)\*(?![*\w])")
_TABLE_RULE = re.compile(r"^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?$")


def rule_anchor(rule_id: str) -> str:
    return f"rule-{rule_id}"


def rule_ids(text: str) -> list[str]:
    """The rule ids the rulebook defines, in order (one ``### X1`` heading each)."""
    return [m.group(1) for line in text.splitlines() if (m := _RULE_HEADING.match(line))]


def _inline(text: str) -> str:
    """Escaped text with `code`, **bold** and *emphasis*; nothing inside a code span is interpreted."""
    parts = text.split("`")
    if len(parts) % 2 == 0:  # an unclosed backtick is just a character
        parts[-2] = parts[-2] + "`" + parts.pop()
    out: list[str] = []
    for index, part in enumerate(parts):
        escaped = html.escape(part, quote=False)
        if index % 2:
            out.append(f"<code>{escaped}</code>")
        else:
            escaped = _BOLD.sub(r"<strong>\1</strong>", escaped)
            out.append(_EMPHASIS.sub(r"<em>\1</em>", escaped))
    return "".join(out)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"


def _cells(line: str) -> list[str]:
    line = line.strip()
    if line.startswith("|"):
        line = line[1:]
    if line.endswith("|"):
        line = line[:-1]
    return [cell.strip() for cell in line.split("|")]


def _table(lines: list[str]) -> str:
    header, body = _cells(lines[0]), lines[1:]
    if body and _TABLE_RULE.match(body[0].strip()):
        body = body[1:]
    head = "".join(f'<th scope="col">{_inline(cell)}</th>' for cell in header)
    # Each cell names its column (data-label): on a phone the table's rows stack and the names lead the cells.
    names = [html.escape(cell.replace("`", "").replace("*", ""), quote=True) for cell in header]
    rows = "".join(
        "<tr>"
        + "".join(f'<td data-label="{n}">{_inline(c)}</td>' for n, c in zip(names, _cells(line), strict=False))
        + "</tr>"
        for line in body
    )
    return f'<table class="table compact"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'


def _heading(level: int, text: str, used: set[str]) -> str:
    match = _RULE_HEADING.match(f"### {text}") if level == 3 else None
    anchor = rule_anchor(match.group(1)) if match else _slug(text)
    base, n = anchor, 2
    while anchor in used:  # ids stay unique even if two headings read alike
        anchor, n = f"{base}-{n}", n + 1
    used.add(anchor)
    return f'<h{level} id="{anchor}">{_inline(text)}</h{level}>'


def render(text: str) -> str:
    """The rulebook's Markdown subset as HTML (escaped; safe to mark safe)."""
    blocks: list[str] = []
    used: set[str] = set()
    paragraph: list[str] = []
    items: list[list[str]] = []
    table: list[str] = []

    def flush() -> None:
        if paragraph:
            blocks.append(f"<p>{_inline(' '.join(paragraph))}</p>")
            paragraph.clear()
        if items:
            blocks.append("<ul>" + "".join(f"<li>{_inline(' '.join(item))}</li>" for item in items) + "</ul>")
            items.clear()
        if table:
            blocks.append(_table(table))
            table.clear()

    for raw in text.splitlines():
        line = raw.rstrip()
        stripped = line.strip()
        if not stripped:
            flush()
            continue
        heading = _HEADING.match(line)
        if heading:
            flush()
            blocks.append(_heading(len(heading.group(1)), heading.group(2).strip(), used))
        elif stripped.startswith("|"):
            if not table:
                flush()
            table.append(stripped)
        elif line.startswith("- "):
            if paragraph or table:
                flush()
            items.append([line[2:].strip()])
        elif items and line.startswith("  "):
            items[-1].append(stripped)  # continuation of the list item
        else:
            if items or table:
                flush()
            paragraph.append(stripped)
    flush()
    return "\n".join(blocks)


@dataclass(frozen=True)
class Rulebook:
    html: str
    rule_ids: frozenset[str]


@lru_cache(maxsize=4)
def _load(path: Path, modified: float) -> Rulebook:
    text = path.read_text(encoding="utf-8")
    return Rulebook(html=render(text), rule_ids=frozenset(rule_ids(text)))


def load(path: Path = RULEBOOK_PATH) -> Rulebook:
    """The rendered rulebook (cached until the file changes)."""
    return _load(path, path.stat().st_mtime)


def link_rule_ids(rule: str, known: frozenset[str]) -> str:
    """``rule`` (e.g. "D5", "M1-M5") as escaped HTML with each known id linked to its rulebook entry."""

    page = reverse("console:rules")

    def link(match: re.Match[str]) -> str:
        rule_id = match.group(0)
        if rule_id not in known:
            return rule_id
        return f'<a class="rule-link" href="{page}#{rule_anchor(rule_id)}">{rule_id}</a>'

    return RULE_ID.sub(link, html.escape(rule))
