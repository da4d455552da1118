#!/usr/bin/python3
"""Reads a run directory back with tools independent of bbreport and checks it.

  check_run.py RUN_DIR [--revenue 384476.14] [--rejected N] [--purchases N]
                       [--customers N] [--data DIR]

PDF: pdfinfo, pdftotext, pdffonts (poppler); workbook: openpyxl; HTML:
html.parser; manifest: json. Exits 1 with the list of failed checks.
"""
import argparse
import hashlib
import html.parser
import json
import os
import re
import subprocess
import sys
import tempfile
from decimal import Decimal

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
    return cond


def run(*cmd):
    return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout


def check_manifest(d, a):
    m = json.load(open(os.path.join(d, "manifest.json")))
    check(m["status"] == "ok", "manifest status ok")
    check(re.fullmatch(r"[0-9a-f]{10}", m["run_id"]), "run id is 10 hex digits")
    check(os.path.basename(d.rstrip("/")).endswith("_" + m["run_id"]), "directory named after the run id")
    check(len(m["stages"]) >= 6 and all(s["wall_ms"] >= 0 for s in m["stages"]), "stage timings")
    for inp in m["inputs"]:
        if inp["present"]:
            h = hashlib.sha256(open(inp["path"], "rb").read()).hexdigest()
            check(h == inp["sha256"], f"sha256 of {inp['file']}")
            check(inp["rows"] == inp["accepted"] + inp["rejected"], f"row counts of {inp['file']}")
    for out in m["outputs"]:
        data = open(os.path.join(d, out["path"]), "rb").read()
        check(hashlib.sha256(data).hexdigest() == out["sha256"], f"sha256 of {out['path']}")
    if a.rejected is not None:
        total = sum(i.get("rejected", 0) for i in m["inputs"])
        check(total == a.rejected, f"rejected rows {total} == {a.rejected}")
    if a.purchases is not None:
        check(m["counts"]["purchases"] == a.purchases, f"purchases {m['counts']['purchases']} == {a.purchases}")
    if a.customers is not None:
        check(m["counts"]["customers"] == a.customers, f"customers {m['counts']['customers']} == {a.customers}")
    if a.revenue is not None:
        check(Decimal(m["counts"]["revenue"]) == Decimal(a.revenue), f"revenue {m['counts']['revenue']} == {a.revenue}")
    check("libraries" in m and "options" in m, "libraries and options recorded")
    return m


def check_pdf(d, m):
    pdf = os.path.join(d, "report.pdf")
    info = run("pdfinfo", pdf)
    pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))
    check(pages >= 4, f"PDF has {pages} pages (cover, contents, sections)")
    check(re.search(r"Title:\s+\S", info) is not None, "PDF has a title")
    text = run("pdftotext", "-q", "-layout", pdf, "-")
    page_texts = text.split("\f")
    for p in range(2, pages + 1):
        check(f"Page {p} of {pages}" in page_texts[p - 1], f"'Page {p} of {pages}' on page {p}")
    for want in ["Contents", "Summary", "Sales", "Data quality", "About this report",
                 m["run_id"], "As of " + m["as_of"]]:
        check(want in text, f"PDF text contains {want!r}")
    outlines = json.loads(run("qpdf", "--json", "--json-key=outlines", pdf))["outlines"]
    titles = [o["title"] for o in outlines]
    for want in ["Contents", "Summary", "Sales", "Data quality", "Methods", "About this report"]:
        check(want in titles, f"bookmark {want!r} (bookmarks: {titles})")
    check(all(1 <= o["destpageposfrom1"] <= pages for o in outlines), "bookmarks point at pages")
    pos = [o["destpageposfrom1"] for o in outlines]
    check(pos == sorted(pos), "bookmarks in page order")
    # Every page renders (poppler), and no page is blank.
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["pdftoppm", "-q", "-r", "20", "-gray", pdf, os.path.join(tmp, "p")], check=False)
        images = sorted(f for f in os.listdir(tmp) if f.endswith(".pgm"))
        check(len(images) == pages, f"pdftoppm rendered {len(images)} of {pages} pages")
        for f in images:
            data = open(os.path.join(tmp, f), "rb").read()
            pixels = data[data.index(b"255\n") + 4:]
            check(min(pixels) < 128, f"{f} has dark pixels (text)")
    fonts = run("pdffonts", pdf)
    rows = [l for l in fonts.splitlines()[2:] if l.strip()]
    check(rows and all(" yes " in l for l in rows), "all PDF fonts embedded")
    check(any("DejaVuSans" in l for l in rows), "DejaVu Sans embedded")
    if "revenue" in m["counts"] and Decimal(m["counts"]["revenue"]) > 0:
        r = Decimal(m["counts"]["revenue"])
        check(f"{r:,.2f}" in text, f"PDF shows revenue {r:,.2f}")


def check_workbook(d, m):
    import openpyxl
    wb = openpyxl.load_workbook(os.path.join(d, "workbook.xlsx"))
    check(wb.sheetnames[0] == "Summary" and {"Monthly", "Data Quality", "KPIs", "Items"} <= set(wb.sheetnames),
          f"sheets {wb.sheetnames}")
    ws = wb["Monthly"]
    header_row = next(r for r in range(1, 10) if ws.cell(r, 1).value == "Month")
    check(ws.freeze_panes == f"A{header_row + 1}", f"Monthly header frozen ({ws.freeze_panes})")
    revenue = Decimal(0)
    months = 0
    for r in range(header_row + 1, ws.max_row + 1):
        if ws.cell(r, 1).value is None:
            continue
        months += 1
        v = ws.cell(r, 2).value
        if v is not None:
            check(isinstance(v, (int, float)), "revenue cells are numbers")
            revenue += Decimal(str(v))
    check(months >= 1, "Monthly has rows")
    if "revenue" in m["counts"] and Decimal(m["counts"]["revenue"]) > 0:
        check(revenue.quantize(Decimal("0.01")) == Decimal(m["counts"]["revenue"]),
              f"Monthly revenue sums to {m['counts']['revenue']} (got {revenue})")
    check(ws.tables or ws.auto_filter.ref, "Monthly is a table or has a filter")
    dq = wb["Data Quality"]
    names = [dq.cell(r, 1).value for r in range(1, dq.max_row + 1)]
    for inp in m["inputs"]:
        check(inp["file"] in names, f"Data Quality lists {inp['file']}")
    check(len(wb["Summary"]._charts) >= 1, "Summary sheet has a native chart")
    targets = set()
    for row in wb["Summary"].iter_rows():
        for c in row:
            if c.hyperlink is not None and c.hyperlink.location:
                targets.add(c.hyperlink.location.split("!")[0].strip("'"))
    missing = [n for n in wb.sheetnames if n != "Summary" and n not in targets]
    check(not missing, f"Summary links to every sheet (missing: {missing})")


class HTMLCheck(html.parser.HTMLParser):
    VOID = {"meta", "br", "img", "hr", "input", "link", "col", "area", "base", "source", "wbr"}
    SVG_VOID_OK = True

    def __init__(self):
        super().__init__()
        self.stack = []
        self.errors = []
        self.external = []
        self.ids = set()
        self.hrefs = []
        self.svg = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for k in ("src", "href"):
            v = a.get(k) or ""
            if re.match(r"(https?:)?//", v):
                self.external.append(v)
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "a" and (a.get("href") or "").startswith("#"):
            self.hrefs.append(a["href"][1:])
        if tag == "svg":
            self.svg += 1
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        pass

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unbalanced </{tag}> (open: {self.stack[-3:]})")
            if tag in self.stack:
                while self.stack and self.stack.pop() != tag:
                    pass
        else:
            self.stack.pop()


def check_html(d, m):
    text = open(os.path.join(d, "report.html"), encoding="utf-8").read()
    p = HTMLCheck()
    p.feed(text)
    check(not p.errors, f"HTML balanced: {p.errors[:3]}")
    check(not p.stack, f"HTML closes every element: {p.stack}")
    check(not p.external, f"HTML makes no external requests: {p.external[:3]}")
    check(p.svg >= 1, "HTML inlines a chart SVG")
    check(all(h in p.ids for h in p.hrefs), "contents links point at sections")
    check(m["run_id"] in text and m["as_of"] in text, "HTML names run and as-of date")
    check("prefers-color-scheme: dark" in text, "HTML has a dark scheme")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("run_dir")
    ap.add_argument("--revenue")
    ap.add_argument("--rejected", type=int)
    ap.add_argument("--purchases", type=int)
    ap.add_argument("--customers", type=int)
    a = ap.parse_args()
    m = check_manifest(a.run_dir, a)
    check_pdf(a.run_dir, m)
    check_workbook(a.run_dir, m)
    check_html(a.run_dir, m)
    if failures:
        print("FAILED checks of", a.run_dir)
        for f in failures:
            print("  -", f)
        return 1
    print("ok:", a.run_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
