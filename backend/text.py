"""Text folding for search: "Martínez", "MARTINEZ" and "martinez" are one key, on every database.

Names are searched through a stored key (`User.search_name`) written with the row, not the database's own
folding: SQLite has no `unaccent`, and PostgreSQL's needs an extension and an immutable wrapper to be indexed.
One Python function for both the stored key and the query keeps the two databases in agreement.
"""

import unicodedata

# Letters NFKD does not split into a base and an accent.
_EXTRA = str.maketrans(
    {"\u0131": "i", "ø": "o", "đ": "d", "ł": "l", "ħ": "h", "æ": "ae", "œ": "oe", "ß": "ss", "þ": "th"}
)


def search_key(text: str) -> str:
    """Lower case, accents removed, spaces collapsed."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(bare.translate(_EXTRA).split())
