#!/usr/bin/python3
"""Checks a run's recommendations with tools independent of bbreport.

  check_recs.py RUN_DIR [--top-n N] [--repeatable "Haircut"] [--expect beats|no-beat]
                        [--sheets all|none|some] [--max-sheets N]

recommendations.csv (Python's csv module): exactly the header
CustomerID,Rank,ItemID,ItemName,Score,Model,Reason; ranks 1..N per customer in
score order; every customer of the input has a list; each item exists with
that name; nothing the customer already bought comes back unless its
subcategory is repeatable; a reason on every line; one model per customer;
no field a spreadsheet would run as a formula. The input files, their
columns and the as-of date come from the run's manifest.json.

customers/*.pdf (pdfinfo, pdftotext): one page each, safe file names, the
customer's ID, their first recommendation and the section titles on it.
report.pdf: the Recommendations section and its statement on popularity.

Exits 1 with the list of failed checks.
"""
import argparse
import csv
import datetime
import json
import os
import re
import subprocess
import sys

failures = []
HEADER = ["CustomerID", "Rank", "ItemID", "ItemName", "Score", "Model", "Reason"]
MODELS = {"popularity", "itemknn", "ease", "autoencoder", "segment-popularity"}


def check(cond, what):
    if not cond:
        failures.append(what)
    return cond


def run(*cmd):
    return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout


def date_parser(pattern):
    """A function reading dates written in bbreport's pattern (YYYY, MM, DD, M, D)."""
    rx, order = "", []
    i = 0
    while i < len(pattern):
        for tok, part, key in (("YYYY", r"(\d{4})", "y"), ("MM", r"(\d{2})", "m"), ("DD", r"(\d{2})", "d"),
                               ("M", r"(\d{1,2})", "m"), ("D", r"(\d{1,2})", "d")):
            if pattern.startswith(tok, i):
                rx += part
                order.append(key)
                i += len(tok)
                break
        else:
            rx += re.escape(pattern[i])
            i += 1
    compiled = re.compile(rx + r"\Z")

    def parse(text):
        m = compiled.match(text.strip())
        if not m:
            return None
        v = dict(zip(order, (int(g) for g in m.groups())))
        try:
            return datetime.date(v["y"], v["m"], v["d"])
        except ValueError:
            return None
    return parse


def read_table(path, delimiter):
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = list(csv.reader(f, delimiter=delimiter))
    return rows[0], rows[1:]


def rejected_lines(run_dir, name):
    """Line numbers bbreport rejected (they are not in its data)."""
    q = os.path.join(run_dir, "quarantine", name + ".rejects.csv")
    if not os.path.exists(q):
        return set()
    with open(q, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    return {int(r[0]) for r in rows[1:] if r and r[0].isdigit()}


def load_inputs(run_dir, m):
    opts = m.get("options", {})
    inputs = {i["role"]: i for i in m["inputs"]}

    def spec(role):
        o = opts.get(role, {})
        d = o.get("delimiter", ",")
        return o, "\t" if d == "tab" else d

    # purchases: (customer, item, date)
    po, pdelim = spec("purchases")
    header, rows = read_table(inputs["purchases"]["path"], pdelim)
    col = {name: i for i, name in enumerate(header)}
    ci, ii, di = col[po.get("customer_id", "CustomerID")], col[po.get("item_id", "ItemID")], col[po.get("date", "PurchaseDate")]
    parse = date_parser(po.get("date_format", "YYYY-MM-DD"))
    skip = rejected_lines(run_dir, inputs["purchases"]["file"])
    as_of = datetime.date.fromisoformat(m["as_of"])
    bought, customers = {}, set()
    for n, r in enumerate(rows, start=2):
        if n in skip or len(r) <= max(ci, ii, di):
            continue
        day = parse(r[di])
        if day is None or day > as_of:
            continue
        bought.setdefault(r[ci], set()).add(r[ii])
        customers.add(r[ci])

    # items: id -> (name, subcategory); without an items file, IDs from purchases
    items = {}
    if inputs.get("items", {}).get("present"):
        io, idelim = spec("items")
        header, rows = read_table(inputs["items"]["path"], idelim)
        col = {name: i for i, name in enumerate(header)}
        iid, name = col[io.get("id", "ItemID")], col.get(io.get("name", "ItemName"))
        sub = col.get(io.get("subcategory", "ItemSubcategory"))
        skip = rejected_lines(run_dir, inputs["items"]["file"])
        for n, r in enumerate(rows, start=2):
            if n in skip or len(r) <= iid:
                continue
            items[r[iid]] = (r[name] if name is not None else r[iid], r[sub] if sub is not None else "")
    else:
        for its in bought.values():
            for i in its:
                items[i] = (i, "")

    if inputs.get("customers", {}).get("present"):
        co, cdelim = spec("customers")
        header, rows = read_table(inputs["customers"]["path"], cdelim)
        col = {name: i for i, name in enumerate(header)}
        cid = col[co.get("id", "CustomerID")]
        skip = rejected_lines(run_dir, inputs["customers"]["file"])
        customers |= {r[cid] for n, r in enumerate(rows, start=2) if n not in skip and len(r) > cid}
    return bought, items, customers


def check_csv(run_dir, m, a):
    path = os.path.join(run_dir, "recommendations.csv")
    if not check(os.path.exists(path), "recommendations.csv exists"):
        return {}
    raw = open(path, "rb").read()
    check(raw.startswith(b"CustomerID,Rank,ItemID,ItemName,Score,Model,Reason\n"), "exact header line")
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    check(rows and rows[0] == HEADER, f"header {rows[0] if rows else None}")
    bought, items, customers = load_inputs(run_dir, m)
    repeatable = {s.strip().lower() for s in a.repeatable.split(",") if s.strip()}
    lists = {}
    bad = {"rank": 0, "order": 0, "item": 0, "name": 0, "again": 0, "reason": 0, "model": 0, "formula": 0}
    examples = {}
    for r in rows[1:]:
        if len(r) != 7:
            failures.append(f"line with {len(r)} fields: {r[:3]}")
            continue
        lists.setdefault(r[0], []).append(r)
    for cust, rs in lists.items():
        ranks = [int(r[1]) for r in rs]
        scores = [float(r[4]) for r in rs]
        if ranks != list(range(1, len(rs) + 1)):
            bad["rank"] += 1
            examples.setdefault("rank", (cust, ranks))
        if any(scores[i] < scores[i + 1] for i in range(len(scores) - 1)):
            bad["order"] += 1
            examples.setdefault("order", (cust, scores))
        if a.top_n and len(rs) > a.top_n:
            bad["rank"] += 1
        if len({r[5] for r in rs}) != 1 or rs[0][5] not in MODELS:
            bad["model"] += 1
            examples.setdefault("model", (cust, {r[5] for r in rs}))
        for r in rs:
            item = r[2]
            if item not in items:
                bad["item"] += 1
                examples.setdefault("item", (cust, item))
                continue
            if items[item][0] != r[3]:
                bad["name"] += 1
                examples.setdefault("name", (item, items[item][0], r[3]))
            if item in bought.get(cust, ()) and items[item][1].lower() not in repeatable:
                bad["again"] += 1
                examples.setdefault("again", (cust, item, items[item][1]))
            if not r[6].strip():
                bad["reason"] += 1
            for field in r:
                if field[:1] in ("=", "+", "@", "\t", "\r") or (field[:1] == "-" and not re.match(r"-[\d.]", field)):
                    bad["formula"] += 1
                    examples.setdefault("formula", field)
    for k, v in bad.items():
        check(v == 0, f"{v} customers or lines fail the {k} check, e.g. {examples.get(k)}")
    missing = customers - set(lists)
    if items:
        check(not missing, f"{len(missing)} customers have no list, e.g. {sorted(missing)[:3]}")
    check(set(lists) <= customers, f"unknown customers in the CSV: {sorted(set(lists) - customers)[:3]}")
    if a.top_n:
        full = sum(1 for rs in lists.values() if len(rs) == a.top_n)
        check(full >= 0.9 * len(lists), f"only {full} of {len(lists)} customers have {a.top_n} items")
    return lists


SAFE = re.compile(r"[A-Za-z0-9._-]+\.pdf\Z")


def check_sheets(run_dir, lists, a):
    d = os.path.join(run_dir, "customers")
    files = sorted(os.listdir(d)) if os.path.isdir(d) else []
    if a.sheets == "none":
        check(not files, f"no sheets wanted, found {len(files)}")
        return
    if a.sheets == "all":
        check(len(files) == len(lists), f"{len(files)} sheets for {len(lists)} customers")
    elif a.sheets == "some":
        check(files, "customer sheets exist")
    for f in files:
        check(SAFE.match(f) and not f.startswith(".") and len(f) <= 68, f"safe file name {f!r}")
    step = max(1, len(files) // a.max_sheets) if a.max_sheets else 1
    for f in files[::step]:
        path = os.path.join(d, f)
        info = run("pdfinfo", path)
        pages = re.search(r"Pages:\s+(\d+)", info)
        check(pages and pages.group(1) == "1", f"{f}: one page ({pages.group(1) if pages else 'unreadable'})")
        text = run("pdftotext", "-q", "-layout", path, "-")
        cust = re.search(r"Customer (\S+)", text)
        if not check(cust, f"{f}: names its customer"):
            continue
        cid = cust.group(1)
        if re.fullmatch(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}", cid):
            check(f == cid + ".pdf", f"{f}: file named after {cid}")
        for want in ("Recommended", "Recent purchases", "Visits"):
            check(want in text, f"{f}: has {want!r}")
        rs = lists.get(cid)
        if check(rs, f"{f}: {cid} has recommendations in the CSV") and rs:
            first = rs[0][3][:18]
            flat = " ".join(text.split())
            check(" ".join(first.split()) in flat, f"{f}: shows its first recommendation {first!r}")


def check_report(run_dir, a):
    pdf = os.path.join(run_dir, "report.pdf")
    if not os.path.exists(pdf):
        return
    text = " ".join(run("pdftotext", "-q", pdf, "-").split())
    if not check("Recommendations" in text and "Model comparison" in text, "report.pdf has the Recommendations section"):
        return
    beats = "beats popularity:" in text
    none = "No model beats popularity" in text
    check(beats != none, "report.pdf states whether a model beats popularity")
    if a.expect == "beats":
        check(beats, "report.pdf: a model beats popularity")
    elif a.expect == "no-beat":
        check(none, "report.pdf: no model beats popularity")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("run_dir")
    ap.add_argument("--top-n", type=int, default=5)
    ap.add_argument("--repeatable", default="Haircut")
    ap.add_argument("--expect", choices=["beats", "no-beat"])
    ap.add_argument("--sheets", choices=["all", "none", "some"], default="some")
    ap.add_argument("--max-sheets", type=int, default=60, help="check at most about this many sheets (0: all)")
    a = ap.parse_args()
    m = json.load(open(os.path.join(a.run_dir, "manifest.json")))
    rec = m.get("options", {}).get("recommend", {})
    if "repeatable" in rec:
        a.repeatable = rec["repeatable"]
    if "top_n" in rec:
        a.top_n = int(rec["top_n"])
    lists = check_csv(a.run_dir, m, a)
    check_sheets(a.run_dir, lists, a)
    check_report(a.run_dir, a)
    if failures:
        print("FAILED recommendation checks of", a.run_dir)
        for f in failures:
            print("  -", f)
        return 1
    print(f"ok: {len(lists)} customers' recommendations in", a.run_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
