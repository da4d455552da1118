#!/usr/bin/python3
"""Recomputes the sales figures from the input CSVs with pandas and compares
them with the workbook bbreport wrote (read back with openpyxl).

  check_sales.py RUN_DIR DATA_DIR [--as-of YYYY-MM-DD] [--period month|week|quarter]
                 [--revenue 384476.14] [--top-item "Hair Coloring (Roots)=26218.80"]
                 [--category-units Service=3521 ...]

Checked: the KPIs sheet (last complete period, previous period, a year
earlier), Monthly, Daily, Categories, Subcategories, Items (every item, both
rankings), Staff, the spending distributions and Cohorts. Money is compared
exactly to the cent (amounts are parsed as decimals and rounded half away from
zero, as the input rules say); ratios to 1e-9. The as-of date comes from
RUN_DIR/manifest.json, else --as-of, else the last purchase date. Rows listed
in RUN_DIR/quarantine are left out, as bbreport does.

Needs Debian's python3-pandas and python3-openpyxl (/usr/bin/python3).
Exits 0 when everything agrees, 1 with the list of mismatches.
"""
import argparse
import calendar
import csv
import datetime as dt
import json
import math
import os
import sys
import warnings
from decimal import ROUND_HALF_UP, Decimal

import openpyxl
import pandas as pd

# openpyxl warns about conditional-format extensions it does not read.
warnings.filterwarnings("ignore", category=UserWarning, module="openpyxl")

mismatches = []
checks = 0


def expect(cond, what):
    global checks
    checks += 1
    if not cond:
        mismatches.append(what)
    return cond


# ---- input --------------------------------------------------------------------

def cents(text):
    """A decimal amount as integer cents, half away from zero."""
    d = Decimal(str(text).strip())
    q = d.copy_abs().quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return int(q * 100) * (-1 if d < 0 else 1)


def rejected_lines(run_dir, name):
    path = os.path.join(run_dir, "quarantine", name + ".rejects.csv")
    if not os.path.exists(path):
        return set()
    with open(path, newline="", encoding="utf-8") as f:
        return {int(r["line"]) for r in csv.DictReader(f)}


def read_csv(data_dir, run_dir, name):
    df = pd.read_csv(os.path.join(data_dir, name), dtype=str, keep_default_na=False, encoding="utf-8-sig")
    bad = rejected_lines(run_dir, name)
    if bad:   # line 1 is the header; a data row's line is its index + 2
        df = df[~(df.index + 2).isin(bad)]
    return df


def load(data_dir, run_dir):
    cust = read_csv(data_dir, run_dir, "customers.csv")
    items = read_csv(data_dir, run_dir, "items.csv")
    p = read_csv(data_dir, run_dir, "purchases.csv")
    p["cents"] = p["TotalPrice"].map(cents)
    p["qty"] = p["Quantity"].astype(int)
    p["date"] = pd.to_datetime(p["PurchaseDate"]).dt.date
    p["emp"] = p["EmployeeID"].str.strip().replace("", None)
    items["price"] = items["UnitPrice"].map(lambda s: cents(s) if s.strip() else None)
    p = p.merge(items[["ItemID", "ItemName", "ItemCategory", "ItemSubcategory"]], on="ItemID", how="left")
    cust["reg"] = cust["RegistrationDate"].map(lambda s: dt.date.fromisoformat(s) if s.strip() else None)
    return cust, items, p


# ---- periods --------------------------------------------------------------------

def month_last(y, m):
    return dt.date(y, m, calendar.monthrange(y, m)[1])


def add_months(y, m, k):
    i = y * 12 + (m - 1) + k
    return i // 12, i % 12 + 1


def periods(kind, as_of):
    """(first, last) of the last complete period, the one before, a year earlier."""
    if kind == "week":
        end = as_of if as_of.weekday() == 6 else as_of - dt.timedelta(days=as_of.weekday() + 1)
        cur = (end - dt.timedelta(days=6), end)
        shift = lambda k: (cur[0] - dt.timedelta(days=7 * k), cur[1] - dt.timedelta(days=7 * k))
        return cur, shift(1), shift(52)
    n = 3 if kind == "quarter" else 1
    y, m = as_of.year, (as_of.month - 1) // n * n + 1          # first month of the period holding as_of
    ly, lm = add_months(y, m, n - 1)
    if as_of != month_last(ly, lm):
        y, m = add_months(y, m, -n)

    def span(k):
        fy, fm = add_months(y, m, -n * k)
        ty, tm = add_months(fy, fm, n - 1)
        return dt.date(fy, fm, 1), month_last(ty, tm)
    return span(0), span(1), span(4 if n == 3 else 12)


# ---- workbook ---------------------------------------------------------------------

def sheet_rows(wb, name, first_header):
    """Header names and data rows (as dicts) of a table sheet."""
    if not expect(name in wb.sheetnames, f"workbook has a sheet {name!r}"):
        return [], []
    ws = wb[name]
    rows = list(ws.iter_rows(values_only=True))
    for i, r in enumerate(rows[:12]):
        if r and r[0] == first_header:
            head = list(r)
            data = [dict(zip(head, x)) for x in rows[i + 1:] if any(v is not None for v in x)]
            return head, data
    expect(False, f"sheet {name}: no header row starting with {first_header!r}")
    return [], []


def money_cell(v):
    return None if v is None else int((Decimal(str(v)) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def same_money(got, want_cents, what):
    g = money_cell(got)
    return expect(g == want_cents, f"{what}: workbook {got!r}, expected {None if want_cents is None else want_cents / 100:.2f}"
                  if want_cents is not None else f"{what}: workbook {got!r}, expected empty")


def same_int(got, want, what):
    return expect(got == want, f"{what}: workbook {got!r}, expected {want!r}")


def same_ratio(got, want, what, tol=1e-9):
    if want is None or (isinstance(want, float) and math.isnan(want)):
        return expect(got is None, f"{what}: workbook {got!r}, expected empty")
    return expect(got is not None and abs(got - want) <= tol, f"{what}: workbook {got!r}, expected {want!r}")


def as_date(v):
    return v.date() if isinstance(v, dt.datetime) else v


def half_up_div(a, b):
    """a / b rounded to the nearest integer, half away from zero (b > 0)."""
    q = (Decimal(a) / Decimal(b)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return int(q)


# ---- checks -------------------------------------------------------------------------

def period_figures(p, first_purchase, first, last):
    q = p[(p.date >= first) & (p.date <= last)]
    visits = q.groupby(["CustomerID", "date"]).size()
    per_cust = visits.groupby(level=0).size()
    active = len(per_cust)
    new = int(((first_purchase >= first) & (first_purchase <= last)).sum())
    rev = int(q.cents.sum())
    f = {
        "Revenue": rev, "Visits": len(visits), "Units sold": int(q.qty.sum()), "Active customers": active,
        "New customers": new,
        "Average visit value": half_up_div(rev, len(visits)) if len(visits) else None,
        "Revenue per customer": half_up_div(rev, active) if active else None,
        "Repeat-customer rate": (int((per_cust >= 2).sum()) / active) if active else None,
    }
    return f


def check_kpis(wb, p, kind, as_of):
    head, rows = sheet_rows(wb, "KPIs", "KPI")
    if not rows:
        return
    first_purchase = p.groupby("CustomerID").date.min()
    ps = periods(kind, as_of)
    data_start = p.date.min()
    figs = [period_figures(p, first_purchase, a, b) if b >= data_start else None for a, b in ps]
    expect(len(head) >= 8, "KPIs: 8 or more columns")
    for i, (a, b) in enumerate(ps):
        expect(f"{a.isoformat()} to {b.isoformat()}" in " ".join(str(c.value) for c in wb["KPIs"]["A"][:3]),
               f"KPIs title names period {i} as {a} to {b}")
    by_name = {r["KPI"]: r for r in rows}
    cols = [head[1], head[2], head[5]]
    for name in figs[0] or {}:
        r = by_name.get(name)
        if not expect(r is not None, f"KPIs has a row {name!r}"):
            continue
        for i, col in enumerate(cols):
            want = figs[i][name] if figs[i] else None
            what = f"KPIs {name} / {col}"
            if name == "Repeat-customer rate":
                same_ratio(r[col], want, what)
            elif name in ("Revenue", "Average visit value", "Revenue per customer"):
                same_money(r[col], want, what)
            else:
                same_int(r[col], want, what)
        # changes against the previous period and a year earlier
        for i, (ccol, pcol) in ((1, (head[3], head[4])), (2, (head[6], head[7]))):
            cur, base = figs[0][name] if figs[0] else None, figs[i][name] if figs[i] else None
            if cur is None or base is None:
                expect(r[ccol] is None, f"KPIs {name} / {ccol}: empty without data")
                continue
            if name == "Repeat-customer rate":
                same_ratio(r[ccol], cur - base, f"KPIs {name} / {ccol}")
            elif name in ("Revenue", "Average visit value", "Revenue per customer"):
                same_money(r[ccol], cur - base, f"KPIs {name} / {ccol}")
            else:
                same_int(r[ccol], cur - base, f"KPIs {name} / {ccol}")
            same_ratio(r[pcol], (cur - base) / base if base else None, f"KPIs {name} / {pcol}")


def month_key(d):
    return d.year * 12 + d.month - 1


def check_monthly(wb, p, as_of):
    head, rows = sheet_rows(wb, "Monthly", "Month")
    p = p.assign(m=p.date.map(month_key))
    m0, m1 = month_key(p.date.min()), month_key(as_of)
    g = p.groupby("m")
    rev, units, nrows = g.cents.sum(), g.qty.sum(), g.size()
    visits = p.groupby(["m", "CustomerID", "date"]).size().groupby(level=0).size()
    custs = p.groupby(["m", "CustomerID"]).size().groupby(level=0).size()
    expect(len(rows) == m1 - m0 + 1, f"Monthly has {len(rows)} months, expected {m1 - m0 + 1}")
    for k, r in enumerate(rows):
        m = m0 + k
        label = f"Monthly {m // 12}-{m % 12 + 1:02d}"
        expect(as_date(r["Month"]) == dt.date(m // 12, m % 12 + 1, 1), f"{label}: month cell {r['Month']!r}")
        same_money(r["Revenue"], int(rev.get(m, 0)), f"{label} revenue")
        same_int(r["Visits"], int(visits.get(m, 0)), f"{label} visits")
        same_int(r["Customers"], int(custs.get(m, 0)), f"{label} customers")
        same_int(r["Units"], int(units.get(m, 0)), f"{label} units")
        same_int(r["Purchase rows"], int(nrows.get(m, 0)), f"{label} purchase rows")
        prev = int(rev.get(m - 12, 0)) if m - 12 >= m0 else None
        same_money(r["Revenue a year earlier"], prev, f"{label} revenue a year earlier")
    total = sum(money_cell(r["Revenue"]) or 0 for r in rows)
    expect(total == int(p.cents.sum()), f"Monthly revenue sums to {total / 100:.2f}, expected {p.cents.sum() / 100:.2f}")


def check_daily(wb, p, as_of):
    head, rows = sheet_rows(wb, "Daily", "Date")
    d0 = p.date.min()
    days = pd.date_range(d0, as_of).date
    g = p.groupby("date")
    rev, units, nrows = g.cents.sum(), g.qty.sum(), g.size()
    visits = p.groupby(["date", "CustomerID"]).size().groupby(level=0).size()
    expect(len(rows) == len(days), f"Daily has {len(rows)} days, expected {len(days)}")
    series = [int(rev.get(d, 0)) for d in days]
    for k, (d, r) in enumerate(zip(days, rows)):
        expect(as_date(r["Date"]) == d, f"Daily row {k}: date {r['Date']!r}, expected {d}")
        same_money(r["Revenue"], series[k], f"Daily {d} revenue")
        same_int(r["Visits"], int(visits.get(d, 0)), f"Daily {d} visits")
        same_int(r["Units"], int(units.get(d, 0)), f"Daily {d} units")
        same_int(r["Purchase rows"], int(nrows.get(d, 0)), f"Daily {d} purchase rows")
        ma7 = sum(series[k - 6:k + 1]) / 7 / 100 if k >= 6 else None
        same_ratio(r["7-day average"], ma7, f"Daily {d} 7-day average", 1e-6)


def check_groups(wb, p, items, cur, prev):
    total_rev, total_units = int(p.cents.sum()), int(p.qty.sum())
    in_cur = p[(p.date >= cur[0]) & (p.date <= cur[1])]
    in_prev = p[(p.date >= prev[0]) & (p.date <= prev[1])]
    for sheet, keys in (("Categories", ["ItemCategory"]), ("Subcategories", ["ItemCategory", "ItemSubcategory"])):
        head, rows = sheet_rows(wb, sheet, "Category")
        g = p.groupby(keys)
        rev, units, nrows = g.cents.sum(), g.qty.sum(), g.size()
        crev, cunits = in_cur.groupby(keys).cents.sum(), in_cur.groupby(keys).qty.sum()
        prev_rev = in_prev.groupby(keys).cents.sum()
        n_items = items.groupby(keys).size()
        want = sorted(n_items.index, key=lambda k: (-int(rev.get(k, 0)), k if isinstance(k, tuple) else (k,)))
        expect(len(rows) == len(want), f"{sheet}: {len(rows)} rows, expected {len(want)}")
        for k, r in zip(want, rows):
            key = k if isinstance(k, tuple) else (k,)
            got = (r["Category"], r["Subcategory"]) if len(keys) == 2 else (r["Category"],)
            label = f"{sheet} {'/'.join(key)}"
            if not expect(got == key, f"{sheet}: row {got}, expected {key} in this place (by revenue, ties by name)"):
                continue
            same_int(r["Items"], int(n_items[k]), f"{label} items")
            same_money(r["Revenue"], int(rev.get(k, 0)), f"{label} revenue")
            same_ratio(r["Revenue share"], int(rev.get(k, 0)) / total_rev, f"{label} revenue share")
            same_int(r["Units"], int(units.get(k, 0)), f"{label} units")
            same_ratio(r["Units share"], int(units.get(k, 0)) / total_units, f"{label} units share")
            same_int(r["Purchase rows"], int(nrows.get(k, 0)), f"{label} purchase rows")
            same_money(r[head[len(keys) + 6]], int(crev.get(k, 0)), f"{label} revenue in the period")
            same_int(r[head[len(keys) + 7]], int(cunits.get(k, 0)), f"{label} units in the period")
            cshare = int(crev.get(k, 0)) / int(in_cur.cents.sum()) if len(in_cur) else None
            pshare = int(prev_rev.get(k, 0)) / int(in_prev.cents.sum()) if len(in_prev) else None
            same_ratio(r[head[len(keys) + 8]], cshare, f"{label} share in the period")
            same_ratio(r[head[len(keys) + 9]], pshare, f"{label} share in the previous period")


def check_items(wb, p, items, cur):
    head, rows = sheet_rows(wb, "Items", "Revenue rank")
    g = p.groupby("ItemID")
    rev, units, nrows, last = g.cents.sum(), g.qty.sum(), g.size(), g.date.max()
    in_cur = p[(p.date >= cur[0]) & (p.date <= cur[1])].groupby("ItemID")
    crev, cunits = in_cur.cents.sum(), in_cur.qty.sum()
    ids = list(items.ItemID)
    by_rev = sorted(ids, key=lambda i: (-int(rev.get(i, 0)), i))
    by_units = sorted(ids, key=lambda i: (-int(units.get(i, 0)), i))
    urank = {i: k + 1 for k, i in enumerate(by_units)}
    expect(len(rows) == len(ids), f"Items: {len(rows)} rows, expected {len(ids)}")
    info = items.set_index("ItemID")
    for k, (i, r) in enumerate(zip(by_rev, rows)):
        label = f"Items {i}"
        if not expect(r["ItemID"] == i, f"Items rank {k + 1}: {r['ItemID']!r}, expected {i!r} (by revenue, ties by ItemID)"):
            continue
        same_int(r["Revenue rank"], k + 1, f"{label} revenue rank")
        same_int(r["Units rank"], urank[i], f"{label} units rank")
        expect(r["Item"] == info.ItemName[i], f"{label} name {r['Item']!r}")
        same_money(r["Revenue"], int(rev.get(i, 0)), f"{label} revenue")
        same_int(r["Units"], int(units.get(i, 0)), f"{label} units")
        same_int(r["Purchase rows"], int(nrows.get(i, 0)), f"{label} purchase rows")
        price = info.price[i]
        same_money(r["List price"], None if price is None else int(price), f"{label} list price")
        lv = None if price is None else int(price) * int(units.get(i, 0))
        same_money(r["List value"], lv, f"{label} list value")
        same_ratio(r["Paid vs list"], int(rev.get(i, 0)) / lv if lv else None, f"{label} paid vs list")
        same_money(r[head[12]], int(crev.get(i, 0)), f"{label} revenue in the period")
        same_int(r[head[13]], int(cunits.get(i, 0)), f"{label} units in the period")
        want_last = last.get(i)
        expect(as_date(r["Last sold"]) == want_last if want_last is not None else r["Last sold"] == "never",
               f"{label} last sold {r['Last sold']!r}, expected {want_last}")


def check_staff(wb, p, cur, prev):
    head, rows = sheet_rows(wb, "Staff", "Employee")
    q = p.assign(who=p.emp.fillna("\0none"))
    g = q.groupby("who")
    rev, services, units, custs = g.cents.sum(), g.size(), g.qty.sum(), g.CustomerID.nunique()
    crev = q[(q.date >= cur[0]) & (q.date <= cur[1])].groupby("who").cents.sum()
    prev_rev = q[(q.date >= prev[0]) & (q.date <= prev[1])].groupby("who").cents.sum()
    emps = sorted((e for e in rev.index if e != "\0none"), key=lambda e: (-int(rev[e]), e))
    if "\0none" in rev.index:
        emps.append("\0none")
    expect(len(rows) == len(emps), f"Staff: {len(rows)} rows, expected {len(emps)}")
    total = int(p.cents.sum())
    for e, r in zip(emps, rows):
        name = "No employee" if e == "\0none" else e
        label = f"Staff {name}"
        if not expect(r["Employee"] == name, f"Staff row {r['Employee']!r}, expected {name!r} (by revenue, no employee last)"):
            continue
        same_money(r["Revenue"], int(rev[e]), f"{label} revenue")
        same_ratio(r["Revenue share"], int(rev[e]) / total, f"{label} revenue share")
        same_int(r["Services"], int(services[e]), f"{label} services")
        same_int(r["Units"], int(units[e]), f"{label} units")
        same_int(r["Customers"], int(custs[e]), f"{label} distinct customers")
        same_money(r[head[6]], int(crev.get(e, 0)), f"{label} revenue in the period")
        same_money(r[head[7]], int(prev_rev.get(e, 0)), f"{label} revenue in the previous period")
    if "\0none" in rev.index:
        expect(not any(r["Employee"] == "Unknown" for r in rows), "Staff has no employee called 'Unknown'")


def quantiles(values):
    s = sorted(values)
    n = len(s)

    def q(f):
        pos = f * (n - 1)
        lo = int(pos)
        return s[-1] if lo + 1 >= n else s[lo] + (s[lo + 1] - s[lo]) * (pos - lo)
    return [sum(s) / n, s[0], q(.1), q(.25), q(.5), q(.75), q(.9), s[-1]]


def check_customers(wb, p):
    if not expect("Customer Profile" in wb.sheetnames, "workbook has a sheet 'Customer Profile'"):
        return
    rows = list(wb["Customer Profile"].iter_rows(values_only=True))
    start = next((i for i, r in enumerate(rows) if r[0] == "Statistic"), None)
    if not expect(start is not None, "Customer Profile: spending distributions"):
        return
    spend = p.groupby("CustomerID").cents.sum()
    visits = p.groupby(["CustomerID", "date"]).size().groupby(level=0).size()
    value = spend / visits
    same_int(rows[start + 1][1], len(spend), "Customers: customers with purchases")
    names = ["Mean", "Minimum", "10th percentile", "25th percentile", "Median", "75th percentile", "90th percentile",
             "Maximum"]
    for col, vals in ((1, quantiles([float(v) for v in spend])), (2, quantiles([float(v) for v in value]))):
        for k, name in enumerate(names):
            r = rows[start + 2 + k]
            expect(r[0] == name, f"Customers: row {r[0]!r}, expected {name!r}")
            got = money_cell(r[col])
            # cents are rounded from a double: a half cent may go either way
            expect(got is not None and abs(got - vals[k]) <= 0.5 + 1e-6,
                   f"Customers {name} ({'spend' if col == 1 else 'visit value'}): {r[col]!r}, expected {vals[k] / 100:.4f}")


def check_cohorts(wb, p, cust, as_of):
    head, rows = sheet_rows(wb, "Cohorts", "Registered")
    last_complete = month_key(as_of) if as_of == month_last(as_of.year, as_of.month) else month_key(as_of) - 1
    c0 = max(month_key(p.date.min()), last_complete - 119)
    n = last_complete - c0 + 1
    expect(len(rows) == max(n, 0), f"Cohorts: {len(rows)} rows, expected {max(n, 0)}")
    reg = cust.set_index("CustomerID").reg.dropna().map(month_key)
    q = p.assign(m=p.date.map(month_key), r=p.CustomerID.map(reg)).dropna(subset=["r"])
    active = q.groupby(["r", "m"]).CustomerID.nunique()
    for i, r in enumerate(rows):
        cm = c0 + i
        size = int((reg == cm).sum())
        same_int(r["Customers"], size, f"Cohorts {cm // 12}-{cm % 12 + 1:02d} size")
        for k in range(n):
            want = None
            if cm + k <= last_complete and size:
                want = int(active.get((cm, cm + k), 0)) / size
            same_ratio(r[f"Month {k}"], want, f"Cohorts {cm // 12}-{cm % 12 + 1:02d} month {k}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("run_dir")
    ap.add_argument("data_dir")
    ap.add_argument("--as-of")
    ap.add_argument("--period", default="month", choices=["month", "week", "quarter"])
    ap.add_argument("--revenue", help="expected total revenue, e.g. 384476.14")
    ap.add_argument("--top-item", help="expected top item by revenue: NAME=AMOUNT")
    ap.add_argument("--category-units", action="append", default=[], help="CATEGORY=UNITS (repeatable)")
    a = ap.parse_args()

    cust, items, p = load(a.data_dir, a.run_dir)
    manifest = os.path.join(a.run_dir, "manifest.json")
    if os.path.exists(manifest):
        as_of = dt.date.fromisoformat(json.load(open(manifest))["as_of"])
    elif a.as_of:
        as_of = dt.date.fromisoformat(a.as_of)
    else:
        as_of = p.date.max()
    wb = openpyxl.load_workbook(os.path.join(a.run_dir, "workbook.xlsx"), data_only=True)
    cur, prev, _ = periods(a.period, as_of)

    check_kpis(wb, p, a.period, as_of)
    check_monthly(wb, p, as_of)
    check_daily(wb, p, as_of)
    check_groups(wb, p, items, cur, prev)
    check_items(wb, p, items, cur)
    check_staff(wb, p, cur, prev)
    check_customers(wb, p)
    check_cohorts(wb, p, cust, as_of)

    if a.revenue:
        expect(int(p.cents.sum()) == cents(a.revenue), f"recomputed total revenue {p.cents.sum() / 100:.2f} == {a.revenue}")
        _, rows = sheet_rows(wb, "Monthly", "Month")
        total = sum(money_cell(r["Revenue"]) or 0 for r in rows)
        expect(total == cents(a.revenue), f"workbook total revenue {total / 100:.2f} == {a.revenue}")
    if a.top_item:
        name, amount = a.top_item.rsplit("=", 1)
        _, rows = sheet_rows(wb, "Items", "Revenue rank")
        if expect(rows, "Items has rows"):
            expect(rows[0]["Item"] == name, f"top item {rows[0]['Item']!r} == {name!r}")
            same_money(rows[0]["Revenue"], cents(amount), f"top item revenue == {amount}")
    for cu in a.category_units:
        name, units = cu.rsplit("=", 1)
        _, rows = sheet_rows(wb, "Categories", "Category")
        got = next((r["Units"] for r in rows if r["Category"] == name), None)
        same_int(got, int(units), f"units of category {name}")

    if mismatches:
        print(f"FAILED: {len(mismatches)} of {checks} sales checks of {a.run_dir}")
        for m in mismatches[:200]:
            print("  -", m)
        if len(mismatches) > 200:
            print(f"  ... and {len(mismatches) - 200} more")
        return 1
    print(f"ok: {checks} sales checks of {a.run_dir} agree with the recomputation from {a.data_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
