"""The tables of an HTML report, read as a user reads them: by their column headers."""

from html.parser import HTMLParser


class _Tables(HTMLParser):
    """Every <table> of a page as a list of rows, each a list of cell texts (th and td alike);
    `headers[i]` is true when table i's first row is made of <th> cells."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tables: list[list[list[str]]] = []
        self.headers: list[bool] = []
        self._open: list[int] = []  # indices into self.tables of the tables being read
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
            self.headers.append(False)
            self._open.append(len(self.tables) - 1)
        elif not self._open:
            return
        elif tag == "tr":
            self.tables[self._open[-1]].append([])
        elif tag in ("td", "th"):
            rows = self.tables[self._open[-1]]
            if not rows:
                rows.append([])
            if tag == "th" and len(rows) == 1:
                self.headers[self._open[-1]] = True
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._open:
            self.tables[self._open[-1]][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table" and self._open:
            self._open.pop()

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def tables(page: str) -> list[list[list[str]]]:
    """Every table of `page` that has a header row: its rows of cell texts, headers first."""
    parser = _Tables()
    parser.feed(page)
    parser.close()
    return [t for t, has_headers in zip(parser.tables, parser.headers) if has_headers and t]


def table(page: str, headers: list[str]) -> list[dict]:
    """The rows of the one table of `page` whose header row is exactly `headers`, each as
    {header: cell text}. Fails, listing the tables there are, when there is not exactly one."""
    found = [t for t in tables(page) if t[0] == list(headers)]
    if len(found) != 1:
        there = [t[0] for t in tables(page)]
        raise AssertionError(f"{len(found)} table(s) headed {headers}; the page has {there}")
    rows = found[0][1:]
    for row in rows:
        assert len(row) == len(headers), f"a row of {len(row)} cells under {headers}: {row}"
    return [dict(zip(headers, row)) for row in rows]


def keyed(rows: list[dict], header: str) -> dict[str, dict]:
    """`rows` by the text of their `header` cell (which must be unique), e.g. pools by name."""
    out = {r[header]: r for r in rows}
    assert len(out) == len(rows), f"{header} repeats in {rows}"
    return out
