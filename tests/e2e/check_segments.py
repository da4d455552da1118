#!/usr/bin/python3
"""Reads the customer segments of a run directory back with independent tools.

  check_segments.py RUN_DIR [--k 5]

manifest.json (json): the "segmentation" record (scaling of every feature,
the k scan, segment sizes). segments.csv (csv): every customer once, names
from the manifest, distances >= 0 and empty exactly for "No purchases yet".
report.pdf (pdftotext): the chapter, every segment name, the k scan.
workbook.xlsx (openpyxl): sheets Segments, Segment k and Customers, every
customer with the same segment as segments.csv. report.html (html.parser):
section "segments" with every name and its charts inline. Exits 1 with the
list of failed checks.
"""
import argparse
import csv
import html.parser
import json
import os
import subprocess
import sys
import warnings

NONE = "No purchases yet"
FEATURES = ["recency", "frequency", "monetary", "avg_visit_value", "mean_gap", "longest_streak",
            "service_share", "tenure", "units_per_visit"]
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
    return cond


def shown(seg):
    """The groups the report shows: every segment, and the no-purchase group when it has customers."""
    return [s for s in (seg or {}).get("segments", []) if s["customers"] > 0 or s["name"] != NONE]


def check_manifest(d, a):
    m = json.load(open(os.path.join(d, "manifest.json")))
    seg = m.get("segmentation")
    if not check(isinstance(seg, dict), "manifest has a segmentation record"):
        return None, m
    feats = seg.get("features", [])
    check([f.get("name") for f in feats] == FEATURES, "manifest lists the nine features in order")
    for f in feats:
        check(f.get("transform") in ("log1p", "none"), f"transform of {f.get('name')}")
        if f.get("used"):
            check(isinstance(f.get("mean"), (int, float)) and isinstance(f.get("sd"), (int, float))
                  and f["sd"] > 0, f"scaling of {f['name']} recorded")
    if a.k is not None:
        check(seg.get("k") == a.k, f"k {seg.get('k')} == {a.k}")
    scan = seg.get("scan", [])
    ks = [r["k"] for r in scan]
    check(ks == sorted(ks) and len(set(ks)) == len(ks), "scan over increasing k")
    for r in scan:
        sil = r.get("silhouette")
        check(sil is None or -1 <= sil <= 1, f"silhouette of k={r['k']} in [-1, 1]")
    fav = seg.get("k_favoured", {})
    if scan:
        check(fav.get("overall") in ks, "favoured k is one of the scan")
    names = [s["name"] for s in seg.get("segments", [])]
    check(len(names) == len(set(names)), "segment names are unique")
    check(names and names[-1] == NONE, "the no-purchase group is listed last")
    check(sum(s["customers"] for s in seg.get("segments", [])) == m["counts"]["customers"],
          "segment sizes add up to every customer")
    return seg, m


def check_assignments(d, seg, m):
    path = os.path.join(d, "segments.csv")
    if not check(os.path.exists(path), "segments.csv exists"):
        return {}
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    check(rows and rows[0] == ["CustomerID", "Segment", "Distance"], "segments.csv header")
    body = rows[1:]
    check(len(body) == m["counts"]["customers"], f"segments.csv has {len(body)} of {m['counts']['customers']} customers")
    ids = [r[0] for r in body]
    check(len(ids) == len(set(ids)), "each customer once in segments.csv")
    names = {s["name"] for s in seg.get("segments", [])} if seg else set()
    sizes = {}
    for r in body:
        if len(r) != 3:
            check(False, f"row of 3 fields: {r}")
            continue
        sizes[r[1]] = sizes.get(r[1], 0) + 1
        if r[1] == NONE:
            check(r[2] == "", f"no distance for {r[0]} without purchases")
        else:
            check(r[2] != "" and float(r[2]) >= 0, f"distance of {r[0]}")
    check(set(sizes) <= names, "segments.csv names are the manifest's")
    if seg:
        for s in seg["segments"]:
            check(sizes.get(s["name"], 0) == s["customers"], f"size of {s['name']}")
    return {r[0]: r[1] for r in body if len(r) == 3}


def check_pdf(d, seg):
    text = subprocess.run(["pdftotext", "-q", os.path.join(d, "report.pdf"), "-"], capture_output=True,
                          text=True, check=False).stdout
    for want in ["Customer segments", "Sizes and value", "Profiles", "How many segments"]:
        check(want in text, f"PDF text contains {want!r}")
    for s in shown(seg):
        check(s["name"] in text, f"PDF names segment {s['name']!r}")


def check_workbook(d, assigned):
    try:
        warnings.simplefilter("ignore")
        import openpyxl
    except ImportError:
        print("openpyxl not found: workbook not checked")
        return
    wb = openpyxl.load_workbook(os.path.join(d, "workbook.xlsx"), read_only=True)
    for sheet in ["Segments", "Customers"]:
        check(sheet in wb.sheetnames, f"workbook has sheet {sheet}")
    if "Customers" not in wb.sheetnames:
        return
    rows = list(wb["Customers"].iter_rows(values_only=True))
    head = next((i for i, r in enumerate(rows) if r and r[0] == "CustomerID"), None)
    if not check(head is not None, "Customers sheet has a header row"):
        return
    check(list(rows[head][:3]) == ["CustomerID", "Segment", "Distance to centre"], "Customers sheet columns")
    data = {str(r[0]): r[1] for r in rows[head + 1:] if r and r[0] is not None}
    check(len(data) == len(assigned), f"Customers sheet has {len(data)} of {len(assigned)} customers")
    check(all(data.get(k) == v for k, v in assigned.items()), "Customers sheet agrees with segments.csv")


class Section(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.depth = 0
        self.text = []
        self.svgs = 0

    def handle_starttag(self, tag, attrs):
        if self.depth:
            if tag == "section":
                self.depth += 1
            if tag == "svg":
                self.svgs += 1
        elif tag == "section" and dict(attrs).get("id") == "segments":
            self.depth = 1

    def handle_endtag(self, tag):
        if self.depth and tag == "section":
            self.depth -= 1

    def handle_data(self, data):
        if self.depth:
            self.text.append(data)


def check_html(d, seg):
    p = Section()
    p.feed(open(os.path.join(d, "report.html"), encoding="utf-8").read())
    text = " ".join(p.text)
    check("Customer segments" in text, "HTML has the segments section")
    check(p.svgs >= 3, f"HTML section inlines its charts ({p.svgs} svg)")
    for s in shown(seg):
        check(s["name"] in text, f"HTML names segment {s['name']!r}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("run_dir")
    ap.add_argument("--k", type=int)
    a = ap.parse_args()
    seg, m = check_manifest(a.run_dir, a)
    assigned = check_assignments(a.run_dir, seg, m)
    check_pdf(a.run_dir, seg)
    check_workbook(a.run_dir, assigned)
    check_html(a.run_dir, seg)
    if failures:
        print("FAIL: segments of " + a.run_dir)
        for f in failures:
            print("  - " + f)
        return 1
    print(f"segments ok: k = {seg['k']}, {len(assigned)} customers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
