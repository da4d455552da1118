/*
 * section_sales.c - the sales results (analytics/sales.h) laid out as charts,
 * PDF pages, workbook sheets and the HTML model. Nothing here computes a
 * figure: values, ratios, changes, rankings and findings all come from
 * struct bb_sales; this file picks, formats and places them.
 *
 * Sticky errors: the small writers below (cells for PDF tables, xs for
 * sheets) remember their first failure and do nothing after it, so a table
 * is filled without an error check per cell and checked once at the end.
 */
#include "render/section_sales.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/sales.h"
#include "render/chart.h"
#include "util/buf.h"
#include "util/date.h"
#include "util/fmt.h"
#include "util/fs.h"

/* Rows shown in the PDF and HTML; the workbook has all of them. */
#define SHOW_MONTHS 12
#define SHOW_WEEKS 8
#define SHOW_DAYS 365
#define SHOW_COHORTS 12
#define SHOW_OFFSETS 12
#define SHOW_ZIPS 10
#define SHOW_UNSOLD 40
#define SHOW_SUBCATEGORY_BARS 20
#define SHOW_CATEGORY_BARS 12
#define SUMMARY_FINDINGS 5

static const char *const WEEKDAYS[] = {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"};
static const char *const MONTHS3[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* ---- names and numbers for people ---------------------------------------- */

static const char *item_name(const bb_dataset *ds, uint32_t item)
{
    return bb_intern_str(ds->item_names, ds->items.name[item]);
}

static const char *category_name(const bb_dataset *ds, uint32_t cat)
{
    const char *s = bb_intern_str(ds->categories, cat);
    return s[0] ? s : "(no category)";
}

static const char *subcategory_name(const bb_dataset *ds, uint32_t sub)
{
    const char *s = bb_dataset_subcategory_name(ds, sub);
    return s[0] ? s : "(no subcategory)";
}

static const char *employee_name(const bb_dataset *ds, uint32_t e)
{
    return e == BB_UNKNOWN ? "No employee" : bb_intern_str(ds->employees, e);
}

static char *money(char *buf, size_t size, double cents)
{
    if (isnan(cents))
        return snprintf(buf, size, "–"), buf;
    return bb_fmt_money(buf, size, (int64_t)llround(cents));
}

static char *count(char *buf, size_t size, double v)
{
    if (isnan(v))
        return snprintf(buf, size, "–"), buf;
    return bb_fmt_int(buf, size, (int64_t)llround(v));
}

static char *pct(char *buf, size_t size, double ratio)
{
    if (isnan(ratio))
        return snprintf(buf, size, "–"), buf;
    return bb_fmt_pct(buf, size, ratio, 1);
}

/* "+4.2 %" / "-0.3 %" / "–". */
static char *signed_pct(char *buf, size_t size, double ratio)
{
    if (isnan(ratio))
        return snprintf(buf, size, "–"), buf;
    char p[32];
    bb_fmt_pct(p, sizeof p, fabs(ratio), 1);
    snprintf(buf, size, "%s%s", ratio > 0 && strcmp(p, "0.0 %") ? "+" : ratio < 0 && strcmp(p, "0.0 %") ? "-" : "", p);
    return buf;
}

/* A share change (ratio difference) as "+2.3 pts". */
static char *signed_points(char *buf, size_t size, double delta)
{
    if (isnan(delta))
        return snprintf(buf, size, "–"), buf;
    char p[32];
    bb_fmt_fixed(p, sizeof p, fabs(delta) * 100.0, 1);
    snprintf(buf, size, "%s%s pts", delta > 0 && strcmp(p, "0.0") ? "+" : delta < 0 && strcmp(p, "0.0") ? "-" : "", p);
    return buf;
}

static char *kpi_value(char *buf, size_t size, const bb_sales_kpi *k, int j)
{
    if (!k->has[j])
        return snprintf(buf, size, "–"), buf;
    switch (k->unit) {
    case BB_SALES_MONEY:
        return money(buf, size, k->value[j]);
    case BB_SALES_RATIO:
        return pct(buf, size, k->value[j]);
    case BB_SALES_COUNT:
    default:
        return count(buf, size, k->value[j]);
    }
}

/* The change against period j: relative for amounts, points for rates; from
 * zero, where there is no relative change, the amount itself. */
static char *kpi_change(char *buf, size_t size, const bb_sales_kpi *k, int j)
{
    double c = k->change[j];
    if (k->unit == BB_SALES_RATIO)
        return signed_points(buf, size, c);
    if (c == 0)
        return snprintf(buf, size, "no change"), buf;
    if (isnan(k->change_pct[j]) && !isnan(c)) {
        char v[48];
        if (k->unit == BB_SALES_MONEY)
            money(v, sizeof v, fabs(c));
        else
            count(v, sizeof v, fabs(c));
        snprintf(buf, size, "%s%s", c > 0 ? "+" : "-", v);
        return buf;
    }
    return signed_pct(buf, size, k->change_pct[j]);
}

/* Every KPI is better when higher. */
static bb_pdf_tone kpi_tone(const bb_sales_kpi *k, int j)
{
    double c = k->change[j];
    if (isnan(c) || c == 0)
        return BB_PDF_TONE_NEUTRAL;
    return c > 0 ? BB_PDF_TONE_GOOD : BB_PDF_TONE_BAD;
}

static const char *tone_class(bb_pdf_tone t)
{
    return t == BB_PDF_TONE_GOOD ? "good" : t == BB_PDF_TONE_BAD ? "bad" : "";
}

static void day_text(int32_t day, char out[static 11])
{
    if (day == BB_DATE_NONE)
        snprintf(out, 11, "never");
    else
        bb_date_format(day, out);
}

/* "2023-12" */
static void month_text(int32_t first_day, char *out, size_t size)
{
    int y, m, d;
    bb_date_to_ymd(first_day, &y, &m, &d);
    snprintf(out, size, "%04d-%02d", y % 10000, m);
}

/* "Dec 2023" */
static void month_short(int32_t first_day, char *out, size_t size)
{
    int y, m, d;
    bb_date_to_ymd(first_day, &y, &m, &d);
    snprintf(out, size, "%s %04d", MONTHS3[m - 1], y % 10000);
}

static const char *period_word(const bb_sales *s)
{
    return s->opts.period == BB_PERIOD_WEEK ? "week" : s->opts.period == BB_PERIOD_QUARTER ? "quarter" : "month";
}

/* Index of the last complete month (n_months when none is). */
static size_t last_complete_month(const bb_sales *s)
{
    for (size_t k = s->n_months; k-- > 0;)
        if (s->months[k].complete)
            return k;
    return s->n_months;
}

/* ---- PDF tables ------------------------------------------------------------ */

typedef bb_pdf_cells cells;

static void cell_money(cells *c, double cents)
{
    char b[48];
    bb_pdf_cells_add(c, money(b, sizeof b, cents));
}

static void cell_count(cells *c, double v)
{
    char b[48];
    bb_pdf_cells_add(c, count(b, sizeof b, v));
}

static void cell_pct(cells *c, double r)
{
    char b[48];
    bb_pdf_cells_add(c, pct(b, sizeof b, r));
}

static bb_err chart_image(const bb_report *r, bb_pdf *pdf, const char *name, double max_h)
{
    const bb_report_chart *ch = bb_report_find_chart(r, name);
    if (!ch)
        return BB_OK;
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", r->run_dir, ch->png);
    return bb_pdf_image(pdf, path, NULL, max_h);
}

/* ---- charts ------------------------------------------------------------------ */

/* Everything the batch of charts points at, freed together after rendering. */
typedef struct bag {
    void *p[64];
    int n;
    bb_err e;
} bag;

static void *bag_alloc(bag *b, size_t n, size_t size)
{
    if (b->e != BB_OK)
        return NULL;
    void *p = b->n < 64 ? calloc(n ? n : 1, size) : NULL;
    if (!p) {
        b->e = BB_ERR_NOMEM;
        return NULL;
    }
    return b->p[b->n++] = p;
}

static void bag_free(bag *b)
{
    for (int i = 0; i < b->n; i++)
        free(b->p[i]);
}

/* n label slots of 96 bytes, and their pointers. */
static const char **bag_labels(bag *b, size_t n, char (**text)[96])
{
    *text = bag_alloc(b, n, sizeof **text);
    const char **ptr = bag_alloc(b, n, sizeof *ptr);
    if (!*text || !ptr)
        return NULL;
    for (size_t i = 0; i < n; i++)
        ptr[i] = (*text)[i];
    return ptr;
}

typedef struct batch {
    bb_chart c[12];
    size_t n;
    bb_chart_series series[24];
    size_t ns;
    char paths[12][2][2600];
} batch;

/* Registers chart `name` and returns its slot (paths set), or NULL. */
static bb_chart *add_chart(bb_report *r, batch *b, const char *name, const char *title, bb_err *e)
{
    if (*e != BB_OK)
        return NULL;
    if (b->n == sizeof b->c / sizeof b->c[0] ||
        !bb_report_add_chart(r, name, title, b->paths[b->n][0], b->paths[b->n][1], sizeof b->paths[0][0])) {
        *e = BB_ERR_INTERNAL;
        return NULL;
    }
    bb_chart *c = &b->c[b->n];
    memset(c, 0, sizeof *c);
    c->title = bb_report_find_chart(r, name)->title;
    c->png_path = b->paths[b->n][0];
    c->svg_path = b->paths[b->n][1];
    c->width_px = BB_CHART_DEFAULT_WIDTH;
    c->height_px = 900;
    b->n++;
    return c;
}

static bb_chart_series *add_series(batch *b, const char *name, const double *v, size_t n, bool dashed)
{
    bb_chart_series *s = &b->series[b->ns++];
    *s = (bb_chart_series){.name = name, .values = v, .n = n, .dashed = dashed};
    return s;
}

bb_err bb_section_sales_charts(bb_report *r, bb_log *log)
{
    const bb_sales *s = r->sales;
    const bb_dataset *ds = r->ds;
    if (!s)
        return BB_OK;
    char dir[2048];
    snprintf(dir, sizeof dir, "%s/charts", r->run_dir);
    if (bb_fs_mkdirs(dir) != BB_OK) {
        bb_error(log, "cannot create %s", dir);
        return BB_ERR_CANTCREAT;
    }
    bool money_axis = s->has_revenue;
    bb_axis_format vf = money_axis ? BB_AXIS_MONEY : BB_AXIS_NUMBER;
    const char *measure = money_axis ? "Revenue" : "Visits";
    batch *b = calloc(1, sizeof *b);
    bag g = {0};
    bb_err e = b ? BB_OK : BB_ERR_NOMEM;
    char (*lt)[96];

    /* Daily trend over the last year of the range. */
    if (e == BB_OK && s->n_days > 0) {
        size_t n = s->n_days < SHOW_DAYS ? s->n_days : SHOW_DAYS, from = s->n_days - n;
        double *v = bag_alloc(&g, n, sizeof *v), *a7 = bag_alloc(&g, n, sizeof *v), *a28 = bag_alloc(&g, n, sizeof *v);
        const char **labels = bag_labels(&g, n, &lt);
        e = g.e;
        bb_chart *c = add_chart(r, b, "sales_daily",
                                money_axis ? "Daily revenue with 7- and 28-day averages"
                                           : "Daily visits with 7- and 28-day averages",
                                &e);
        if (c) {
            for (size_t i = 0; i < n; i++) {
                const bb_sales_day *d = &s->days[from + i];
                double scale = money_axis ? 100.0 : 1.0;
                v[i] = (double)(money_axis ? d->revenue_cents : d->visits) / scale;
                a7[i] = d->ma7 / scale;
                a28[i] = d->ma28 / scale;
                bb_date_format(d->day, lt[i]);
            }
            c->kind = BB_CHART_LINES;
            c->x_label = "Day";
            c->y_label = money_axis ? "Revenue per day" : "Visits per day";
            c->categories = labels;
            c->n_categories = n;
            c->series = add_series(b, money_axis ? "Daily revenue" : "Daily visits", v, n, false);
            add_series(b, "7-day average", a7, n, false);
            add_series(b, "28-day average", a28, n, true);
            c->n_series = 3;
            c->value_format = vf;
        }
    }

    /* Monthly bars against the same month a year earlier. */
    size_t last = last_complete_month(s);
    if (e == BB_OK && last < s->n_months) {
        size_t n = last + 1 < SHOW_MONTHS ? last + 1 : SHOW_MONTHS, from = last + 1 - n;
        double *v = bag_alloc(&g, n, sizeof *v), *py = bag_alloc(&g, n, sizeof *v);
        const char **labels = bag_labels(&g, n, &lt);
        e = g.e;
        bb_chart *c = add_chart(r, b, "sales_monthly",
                                money_axis ? "Revenue per month against a year earlier"
                                           : "Visits per month against a year earlier",
                                &e);
        if (c) {
            for (size_t i = 0; i < n; i++) {
                const bb_sales_bucket *m = &s->months[from + i];
                const bb_sales_bucket *p = m->has_prev_year ? &s->months[from + i - 12] : NULL;
                v[i] = money_axis ? (double)m->revenue_cents / 100.0 : (double)m->visits;
                py[i] = !p ? NAN : money_axis ? (double)p->revenue_cents / 100.0 : (double)p->visits;
                month_short(m->first, lt[i], sizeof lt[i]);
            }
            c->kind = BB_CHART_BARS;
            c->x_label = "Month";
            c->y_label = measure;
            c->categories = labels;
            c->n_categories = n;
            c->series = add_series(b, "This year", v, n, false);
            add_series(b, "A year earlier", py, n, false);
            c->n_series = 2;
            c->value_format = vf;
        }
    }

    /* Weekday profile: the mean per calendar day of each weekday. */
    if (e == BB_OK && s->n_days > 0) {
        double *v = bag_alloc(&g, 7, sizeof *v);
        e = g.e;
        bb_chart *c = add_chart(r, b, "sales_weekdays",
                                money_axis ? "Average revenue by weekday" : "Average visits by weekday", &e);
        if (c) {
            for (int k = 0; k < 7; k++)
                v[k] = money_axis ? s->weekdays[k].avg_revenue_cents / 100.0 : s->weekdays[k].avg_visits;
            c->kind = BB_CHART_BARS;
            c->x_label = "Weekday";
            c->y_label = money_axis ? "Revenue per day" : "Visits per day";
            c->categories = (const char *const *)WEEKDAYS;
            c->n_categories = 7;
            c->series = add_series(b, measure, v, 7, false);
            c->n_series = 1;
            c->value_format = vf;
            c->show_values = true;
            c->height_px = 800;
        }
    }

    /* Categories and subcategories over the whole range. */
    const char *gm = money_axis ? "Revenue" : "Units sold";
    bool groups = !ds->quality[BB_FILE_ITEMS].derived;   /* without an items file there are none */
    if (e == BB_OK && groups && s->n_categories > 0) {
        size_t n = s->n_categories < SHOW_CATEGORY_BARS ? s->n_categories : SHOW_CATEGORY_BARS;
        double *v = bag_alloc(&g, n, sizeof *v);
        const char **labels = bag_labels(&g, n, &lt);
        e = g.e;
        bb_chart *c = add_chart(r, b, "sales_categories", money_axis ? "Revenue by category" : "Units sold by category",
                                &e);
        if (c) {
            for (size_t i = 0; i < n; i++) {
                v[i] = money_axis ? s->categories[i].revenue_cents / 100.0 : (double)s->categories[i].units;
                snprintf(lt[i], sizeof lt[i], "%s", category_name(ds, s->categories[i].id));
            }
            c->kind = BB_CHART_BARS;
            c->x_label = "Category";
            c->y_label = gm;
            c->categories = labels;
            c->n_categories = n;
            c->series = add_series(b, gm, v, n, false);
            c->n_series = 1;
            c->value_format = money_axis ? BB_AXIS_MONEY : BB_AXIS_NUMBER;
            c->show_values = true;
            c->height_px = 800;
        }
    }
    if (e == BB_OK && groups && s->n_subcategories > 0) {
        size_t n = s->n_subcategories < SHOW_SUBCATEGORY_BARS ? s->n_subcategories : SHOW_SUBCATEGORY_BARS;
        double *v = bag_alloc(&g, n, sizeof *v);
        const char **labels = bag_labels(&g, n, &lt);
        e = g.e;
        bb_chart *c = add_chart(r, b, "sales_subcategories",
                                money_axis ? "Revenue by subcategory" : "Units sold by subcategory", &e);
        if (c) {
            for (size_t i = 0; i < n; i++) {
                const bb_sales_group *sg = &s->subcategories[i];
                v[i] = money_axis ? sg->revenue_cents / 100.0 : (double)sg->units;
                snprintf(lt[i], sizeof lt[i], "%s (%s)", subcategory_name(ds, sg->id), category_name(ds, sg->category));
            }
            c->kind = BB_CHART_HBARS;
            c->x_label = gm;
            c->categories = labels;
            c->n_categories = n;
            c->series = add_series(b, gm, v, n, false);
            c->n_series = 1;
            c->value_format = money_axis ? BB_AXIS_MONEY : BB_AXIS_NUMBER;
            c->show_values = true;
            c->height_px = n > 12 ? 1100 : 900;
        }
    }

    /* Top and bottom items: the ranking of the items table. */
    for (int bottom = 0; bottom < 2 && e == BB_OK; bottom++) {
        size_t from = bottom ? s->bottom_first : 0, n = bottom ? s->n_items - s->bottom_first : s->n_top;
        if (n == 0)
            continue;
        double *v = bag_alloc(&g, n, sizeof *v);
        const char **labels = bag_labels(&g, n, &lt);
        e = g.e;
        char title[128];
        snprintf(title, sizeof title, "%s %zu items by %s", bottom ? "Bottom" : "Top", n,
                 money_axis ? "revenue" : "units sold");
        bb_chart *c = add_chart(r, b, bottom ? "sales_bottom_items" : "sales_top_items", title, &e);
        if (c) {
            for (size_t i = 0; i < n; i++) {
                const bb_sales_item *x = money_axis ? &s->items[from + i] : &s->items[s->items_by_units[from + i]];
                v[i] = money_axis ? x->revenue_cents / 100.0 : (double)x->units;
                snprintf(lt[i], sizeof lt[i], "%s", item_name(ds, x->item));
            }
            c->kind = BB_CHART_HBARS;
            c->x_label = gm;
            c->categories = labels;
            c->n_categories = n;
            c->series = add_series(b, gm, v, n, false);
            c->n_series = 1;
            c->value_format = money_axis ? BB_AXIS_MONEY : BB_AXIS_NUMBER;
            c->show_values = true;
        }
    }

    /* Age bands (only with a customers file). */
    if (e == BB_OK && !ds->quality[BB_FILE_CUSTOMERS].derived) {
        double *v = bag_alloc(&g, BB_SALES_AGE_BANDS, sizeof *v);
        const char **labels = bag_labels(&g, BB_SALES_AGE_BANDS, &lt);
        e = g.e;
        bb_chart *c = add_chart(r, b, "sales_age",
                                money_axis ? "Revenue by age band" : "Customers with purchases by age band", &e);
        if (c) {
            size_t n = 0;
            for (int k = 0; k < BB_SALES_AGE_BANDS; k++) {
                if (s->age[k].customers == 0 && s->age[k].id == BB_UNKNOWN)
                    continue;
                v[n] = money_axis ? s->age[k].revenue_cents / 100.0 : (double)s->age[k].active;
                snprintf(lt[n++], sizeof lt[0], "%s", bb_sales_age_band_label(k));
            }
            c->kind = BB_CHART_BARS;
            c->x_label = "Age band (years)";
            c->y_label = money_axis ? "Revenue" : "Customers";
            c->categories = labels;
            c->n_categories = n;
            c->series = add_series(b, c->y_label, v, n, false);
            c->n_series = 1;
            c->value_format = vf;
            c->show_values = true;
            c->height_px = 800;
        }
    }

    /* Cohort retention: the latest cohorts, their first months. */
    const bb_sales_cohorts *co = &s->cohorts;
    if (e == BB_OK && co->n_cohorts > 0) {
        size_t rows = co->n_cohorts < SHOW_COHORTS ? co->n_cohorts : SHOW_COHORTS, from = co->n_cohorts - rows;
        size_t cols = co->n_offsets < SHOW_OFFSETS ? co->n_offsets : SHOW_OFFSETS;
        double *m = bag_alloc(&g, rows * cols, sizeof *m);
        char(*ct)[96];
        const char **rl = bag_labels(&g, rows, &lt), **cl = bag_labels(&g, cols, &ct);
        e = g.e;
        bb_chart *c = add_chart(r, b, "sales_cohorts",
                                "Share of each registration cohort buying, by month since registering",
                                &e);
        if (c) {
            for (size_t i = 0; i < rows; i++) {
                month_short(bb_date_month_start(co->month[from + i]), lt[i], sizeof lt[i]);
                for (size_t k = 0; k < cols; k++)
                    m[i * cols + k] = co->retention[(from + i) * co->n_offsets + k];
            }
            for (size_t k = 0; k < cols; k++)
                snprintf(ct[k], sizeof ct[k], "%zu", k);
            c->kind = BB_CHART_HEATMAP;
            c->x_label = "Months since registration";
            c->y_label = "Registered in";
            c->matrix = m;
            c->rows = rows;
            c->cols = cols;
            c->row_labels = rl;
            c->col_labels = cl;
            c->z_min = 0;
            c->z_max = 1;
            c->value_format = BB_AXIS_PERCENT;
            c->height_px = 1100;
        }
    }

    if (e == BB_OK && g.e != BB_OK)
        e = g.e;
    if (e == BB_OK && b->n > 0) {
        char err[1024] = "";
        e = bb_chart_render(b->c, b->n, err, sizeof err);
        if (e != BB_OK)
            bb_error(log, "sales charts: %s", err);
        else if (err[0])
            bb_warn(log, "sales charts: %s", err);
    } else if (e != BB_OK) {
        bb_error(log, "sales charts: %s", bb_strerror(e));
    }
    bag_free(&g);
    free(b);
    return e;
}

/* ---- PDF --------------------------------------------------------------------- */

static void period_range(const bb_sales_period *p, char *out, size_t size)
{
    char a[11], b[11];
    bb_date_format(p->first, a);
    bb_date_format(p->last, b);
    snprintf(out, size, "%s to %s", a, b);
}

/* One sentence on what the KPIs cover. */
static void period_sentence(const bb_sales *s, char *out, size_t size)
{
    const bb_sales_period *P = s->period;
    char range[32];
    period_range(&P[BB_SALES_CUR], range, sizeof range);
    char cmp[160] = "";
    if (P[BB_SALES_PREV].has_data && P[BB_SALES_YEAR_AGO].has_data)
        snprintf(cmp, sizeof cmp, ", compared with %s and %s", P[BB_SALES_PREV].label, P[BB_SALES_YEAR_AGO].label);
    else if (P[BB_SALES_PREV].has_data)
        snprintf(cmp, sizeof cmp, ", compared with %s (no data a year earlier)", P[BB_SALES_PREV].label);
    snprintf(out, size, "Figures for %s (%s), the last complete %s before the as-of date%s.", P[BB_SALES_CUR].label,
             range, period_word(s), cmp);
}

static bb_err no_revenue_note(const bb_sales *s, bb_pdf *pdf)
{
    return s->has_revenue ? BB_OK
                          : bb_pdf_note(pdf, "The purchases file has no prices: revenue is not known, so revenue "
                                             "figures are left out and rankings use units and visits.");
}

bb_err bb_section_sales_summary_pdf(const bb_report *r, bb_pdf *pdf)
{
    const bb_sales *s = r->sales;
    if (!s)
        return BB_OK;
    char text[512];
    if (!s->period[BB_SALES_CUR].has_data) {
        snprintf(text, sizeof text, "The data holds no complete %s before the as-of date, so there are no "
                                    "figures for the last period.", period_word(s));
        return bb_pdf_paragraph(pdf, text);
    }
    period_sentence(s, text, sizeof text);
    bb_err e = bb_pdf_paragraph(pdf, text);
    bb_pdf_kpi k[BB_KPI__COUNT];
    char val[BB_KPI__COUNT][48], delta[BB_KPI__COUNT][96];
    size_t n = 0;
    for (int i = 0; i < BB_KPI__COUNT; i++) {
        const bb_sales_kpi *q = &s->kpi[i];
        if (!q->known)
            continue;
        char ch[32];
        kpi_value(val[n], sizeof val[n], q, BB_SALES_CUR);
        if (q->has[BB_SALES_PREV])
            snprintf(delta[n], sizeof delta[n], "%s vs %s", kpi_change(ch, sizeof ch, q, BB_SALES_PREV),
                     s->period[BB_SALES_PREV].short_label);
        else
            snprintf(delta[n], sizeof delta[n], "no earlier %s", period_word(s));
        k[n] = (bb_pdf_kpi){q->name, val[n], delta[n], kpi_tone(q, BB_SALES_PREV)};
        n++;
    }
    if (e == BB_OK)
        e = bb_pdf_kpis(pdf, k, n);
    if (e == BB_OK)
        e = no_revenue_note(s, pdf);
    const char *items[SUMMARY_FINDINGS];
    size_t nf = s->n_findings < SUMMARY_FINDINGS ? s->n_findings : SUMMARY_FINDINGS;
    for (size_t i = 0; i < nf; i++)
        items[i] = s->findings[i];
    if (e == BB_OK && nf > 0)
        e = bb_pdf_bullets(pdf, items, nf);
    return e;
}

static bb_err pdf_kpi_table(const bb_sales *s, bb_pdf *pdf)
{
    const bb_sales_period *P = s->period;
    bb_pdf_column cols[] = {{"KPI", BB_PDF_LEFT, 1.9},      {P[0].short_label, BB_PDF_RIGHT, 1.1},
                            {P[1].short_label, BB_PDF_RIGHT, 1.1}, {"Change", BB_PDF_RIGHT, 0.9},
                            {P[2].short_label, BB_PDF_RIGHT, 1.1}, {"Change", BB_PDF_RIGHT, 0.9}};
    cells c = {0};
    for (int i = 0; i < BB_KPI__COUNT; i++) {
        const bb_sales_kpi *q = &s->kpi[i];
        if (!q->known)
            continue;
        char b[48];
        bb_pdf_cells_add(&c, q->name);
        bb_pdf_cells_add(&c, kpi_value(b, sizeof b, q, BB_SALES_CUR));
        bb_pdf_cells_add(&c, kpi_value(b, sizeof b, q, BB_SALES_PREV));
        bb_pdf_cells_add(&c, kpi_change(b, sizeof b, q, BB_SALES_PREV));
        bb_pdf_cells_add(&c, kpi_value(b, sizeof b, q, BB_SALES_YEAR_AGO));
        bb_pdf_cells_add(&c, kpi_change(b, sizeof b, q, BB_SALES_YEAR_AGO));
    }
    return bb_pdf_cells_table(pdf, cols, 6, &c, false);
}

static bb_err pdf_trends(const bb_report *r, bb_pdf *pdf)
{
    const bb_sales *s = r->sales;
    bool m = s->has_revenue;
    bb_err e = bb_pdf_heading(pdf, 2, "Trends");
    if (e == BB_OK)
        e = chart_image(r, pdf, "sales_daily", 270);
    if (e == BB_OK)
        e = chart_image(r, pdf, "sales_monthly", 270);

    size_t last = last_complete_month(s);
    if (e == BB_OK && last < s->n_months) {
        size_t n = last + 1 < SHOW_MONTHS ? last + 1 : SHOW_MONTHS, from = last + 1 - n;
        bb_pdf_column all[] = {{"Month", BB_PDF_LEFT, 1},         {"Revenue", BB_PDF_RIGHT, 1.3},
                               {"A year earlier", BB_PDF_RIGHT, 1.3}, {"Change", BB_PDF_RIGHT, 0.9},
                               {"Visits", BB_PDF_RIGHT, 0.9},     {"Customers", BB_PDF_RIGHT, 1},
                               {"Units", BB_PDF_RIGHT, 0.9}};
        bb_pdf_column cols[7];
        size_t nc = 0;
        for (size_t i = 0; i < 7; i++)
            if (m || i == 0 || i > 3)
                cols[nc++] = all[i];
        cells c = {0};
        for (size_t i = from; i <= last; i++) {
            const bb_sales_bucket *b = &s->months[i];
            char t[16], p[32];
            month_text(b->first, t, sizeof t);
            bb_pdf_cells_add(&c, t);
            if (m) {
                cell_money(&c, (double)b->revenue_cents);
                cell_money(&c, b->has_prev_year ? (double)b->prev_year_revenue_cents : NAN);
                bb_pdf_cells_add(&c, signed_pct(p, sizeof p, b->prev_year_change_pct));
            }
            cell_count(&c, (double)b->visits);
            cell_count(&c, (double)b->customers);
            cell_count(&c, (double)b->units);
        }
        if (e == BB_OK)
            e = bb_pdf_cells_table(pdf, cols, nc, &c, false);
        bb_pdf_cells_free(&c);
    }

    if (e == BB_OK && s->n_weeks > 0) {
        bb_pdf_column all[] = {{"Week (Mon–Sun)", BB_PDF_LEFT, 1.2}, {"Revenue", BB_PDF_RIGHT, 1.2},
                               {"Visits", BB_PDF_RIGHT, 1},     {"Customers", BB_PDF_RIGHT, 1},
                               {"Units", BB_PDF_RIGHT, 1}};
        bb_pdf_column cols[5];
        size_t nc = 0;
        for (size_t i = 0; i < 5; i++)
            if (m || i != 1)
                cols[nc++] = all[i];
        size_t lastw = s->n_weeks;
        while (lastw > 0 && !s->weeks[lastw - 1].complete)
            lastw--;
        size_t n = lastw < SHOW_WEEKS ? lastw : SHOW_WEEKS;
        cells c = {0};
        for (size_t i = lastw - n; i < lastw; i++) {
            const bb_sales_bucket *b = &s->weeks[i];
            char d[11];
            bb_date_format(b->first, d);
            bb_pdf_cells_add(&c, d);
            if (m)
                cell_money(&c, (double)b->revenue_cents);
            cell_count(&c, (double)b->visits);
            cell_count(&c, (double)b->customers);
            cell_count(&c, (double)b->units);
        }
        if (e == BB_OK)
            e = bb_pdf_cells_table(pdf, cols, nc, &c, false);
        bb_pdf_cells_free(&c);
    }

    if (e == BB_OK)
        e = chart_image(r, pdf, "sales_weekdays", 230);
    if (e == BB_OK && s->n_days > 0) {
        bb_pdf_column cols[] = {{"Weekday", BB_PDF_LEFT, 1.2}, {"Days", BB_PDF_RIGHT, 0.7},
                                {m ? "Revenue per day" : "Units", BB_PDF_RIGHT, 1.3},
                                {m ? "Share of revenue" : "Share of units", BB_PDF_RIGHT, 1.2},
                                {"Visits per day", BB_PDF_RIGHT, 1.1}};
        cells c = {0};
        for (int k = 0; k < 7; k++) {
            const bb_sales_weekday *w = &s->weekdays[k];
            char b[32];
            bb_pdf_cells_add(&c, WEEKDAYS[k]);
            cell_count(&c, w->days);
            if (m)
                cell_money(&c, w->avg_revenue_cents);
            else
                cell_count(&c, (double)w->units);
            cell_pct(&c, w->revenue_share);
            bb_pdf_cells_add(&c, isnan(w->avg_visits) ? "–" : bb_fmt_fixed(b, sizeof b, w->avg_visits, 1));
        }
        e = bb_pdf_cells_table(pdf, cols, 5, &c, false);
    }
    return e;
}

static void group_row(cells *c, const bb_sales *s, const bb_sales_group *g)
{
    char b[32];
    if (s->has_revenue) {
        cell_money(c, (double)g->revenue_cents);
        cell_pct(c, g->revenue_share);
    }
    cell_count(c, (double)g->units);
    if (!s->has_revenue)
        cell_pct(c, g->units_share);
    cell_pct(c, g->period_share[BB_SALES_CUR]);
    bb_pdf_cells_add(c, signed_points(b, sizeof b, g->share_change));
}

/* The whole range's totals under a group table (shares left empty). */
static void total_row(cells *c, const bb_sales *s, int label_cells)
{
    bb_pdf_cells_add(c, "Total");
    for (int i = 1; i < label_cells; i++)
        bb_pdf_cells_add(c, "");
    if (s->has_revenue) {
        cell_money(c, (double)s->revenue_cents);
        bb_pdf_cells_add(c, "");
    }
    cell_count(c, (double)s->units);
    if (!s->has_revenue)
        bb_pdf_cells_add(c, "");
    bb_pdf_cells_add(c, "");
    bb_pdf_cells_add(c, "");
}

static bb_err pdf_categories(const bb_report *r, bb_pdf *pdf)
{
    const bb_sales *s = r->sales;
    const bb_dataset *ds = r->ds;
    bool m = s->has_revenue;
    const char *cur = s->period[BB_SALES_CUR].short_label, *chg = "Change";
    char text[400];
    snprintf(text, sizeof text,
             "%s over the whole range. %s: the share of %s's %s; change: against %s, in percentage points.",
             m ? "Revenue and units" : "Units", cur, s->period[BB_SALES_CUR].label, m ? "revenue" : "units",
             s->period[BB_SALES_PREV].label);
    bb_err e = bb_pdf_heading(pdf, 2, "Categories");
    if (e == BB_OK && ds->quality[BB_FILE_ITEMS].derived)
        return bb_pdf_paragraph(pdf, "No items file: categories and subcategories are not known.");
    if (e == BB_OK)
        e = bb_pdf_paragraph(pdf, text);
    if (e == BB_OK)
        e = chart_image(r, pdf, "sales_categories", 220);
    bb_pdf_column cat_m[] = {{"Category", BB_PDF_LEFT, 1.8}, {"Revenue", BB_PDF_RIGHT, 1.6},
                             {"Share", BB_PDF_RIGHT, 0.8},    {"Units", BB_PDF_RIGHT, 1.2},
                             {cur, BB_PDF_RIGHT, 0.9},        {chg, BB_PDF_RIGHT, 0.9}};
    bb_pdf_column cat_u[] = {{"Category", BB_PDF_LEFT, 1.8}, {"Units", BB_PDF_RIGHT, 1.2},
                             {"Share", BB_PDF_RIGHT, 0.8},    {cur, BB_PDF_RIGHT, 0.9},
                             {chg, BB_PDF_RIGHT, 0.9}};
    cells c = {0};
    for (size_t i = 0; i < s->n_categories; i++) {
        bb_pdf_cells_add(&c, category_name(ds, s->categories[i].id));
        group_row(&c, s, &s->categories[i]);
    }
    total_row(&c, s, 1);
    if (e == BB_OK)
        e = m ? bb_pdf_cells_table(pdf, cat_m, 6, &c, true) : bb_pdf_cells_table(pdf, cat_u, 5, &c, true);
    bb_pdf_cells_free(&c);

    if (e == BB_OK)
        e = chart_image(r, pdf, "sales_subcategories", 330);
    bb_pdf_column sub_m[] = {{"Category", BB_PDF_LEFT, 0.9}, {"Subcategory", BB_PDF_LEFT, 1.7},
                             {"Revenue", BB_PDF_RIGHT, 1.6}, {"Share", BB_PDF_RIGHT, 0.7},
                             {"Units", BB_PDF_RIGHT, 1.1},   {cur, BB_PDF_RIGHT, 0.9},
                             {chg, BB_PDF_RIGHT, 0.9}};
    bb_pdf_column sub_u[] = {{"Category", BB_PDF_LEFT, 1.0}, {"Subcategory", BB_PDF_LEFT, 1.5},
                             {"Units", BB_PDF_RIGHT, 1.2},   {"Share", BB_PDF_RIGHT, 0.75},
                             {cur, BB_PDF_RIGHT, 0.9},       {chg, BB_PDF_RIGHT, 0.9}};
    for (size_t i = 0; i < s->n_subcategories; i++) {
        const bb_sales_group *g = &s->subcategories[i];
        bb_pdf_cells_add(&c, category_name(ds, g->category));
        bb_pdf_cells_add(&c, subcategory_name(ds, g->id));
        group_row(&c, s, g);
    }
    total_row(&c, s, 2);
    if (e == BB_OK)
        e = m ? bb_pdf_cells_table(pdf, sub_m, 7, &c, true) : bb_pdf_cells_table(pdf, sub_u, 6, &c, true);
    bb_pdf_cells_free(&c);
    return e;
}

/* Items [from, to) of a ranking (items order, or items_by_units order). The
 * table's title heads the item column, so it can never be parted from it. */
static bb_err pdf_item_table(const bb_report *r, bb_pdf *pdf, const char *title, bool by_units, size_t from,
                             size_t to)
{
    const bb_sales *s = r->sales;
    const bb_dataset *ds = r->ds;
    bool m = s->has_revenue;
    bb_pdf_column all[] = {{"Rank", BB_PDF_RIGHT, 0.55},      {title, BB_PDF_LEFT, 2.4},
                           {"Category", BB_PDF_LEFT, 0.9},    {"Revenue", BB_PDF_RIGHT, 1.2},
                           {"Units", BB_PDF_RIGHT, 0.85},     {"Paid/list", BB_PDF_RIGHT, 0.82},
                           {s->period[BB_SALES_CUR].short_label, BB_PDF_RIGHT, 0.95}};
    /* Without an items file every category is empty: the column is left out. */
    bool cats = !ds->quality[BB_FILE_ITEMS].derived;
    bb_pdf_column cols[7];
    size_t nc = 0;
    for (size_t i = 0; i < 7; i++)
        if ((m || (i != 3 && i != 5)) && (s->paid_prices || i != 5) && (cats || i != 2))
            cols[nc++] = all[i];
    cells c = {0};
    for (size_t k = from; k < to; k++) {
        const bb_sales_item *x = by_units ? &s->items[s->items_by_units[k]] : &s->items[k];
        cell_count(&c, by_units ? x->units_rank : (m ? x->revenue_rank : x->units_rank));
        bb_pdf_cells_add(&c, item_name(ds, x->item));
        if (cats)
            bb_pdf_cells_add(&c, category_name(ds, ds->items.category[x->item]));
        if (m)
            cell_money(&c, (double)x->revenue_cents);
        cell_count(&c, (double)x->units);
        if (m && s->paid_prices)
            cell_pct(&c, x->paid_vs_list);
        cell_count(&c, (double)x->period_units);
    }
    return bb_pdf_cells_table(pdf, cols, nc, &c, false);
}

static bb_err pdf_items(const bb_report *r, bb_pdf *pdf)
{
    const bb_sales *s = r->sales;
    const bb_dataset *ds = r->ds;
    bool m = s->has_revenue;
    char text[1024];
    bb_err e = bb_pdf_heading(pdf, 2, "Items");
    if (e == BB_OK) {
        snprintf(text, sizeof text,
                 "All %zu items ranked over the whole range, ties by ItemID; unsold items are ranked too, so the "
                 "bottom of the list is the real bottom. %s%s is the units sold in %s.",
                 s->n_items,
                 s->paid_prices && m ? "Paid/list is the amount paid against unit price times quantity; " : "",
                 s->period[BB_SALES_CUR].short_label, s->period[BB_SALES_CUR].label);
        e = bb_pdf_paragraph(pdf, text);
    }
    const char *by = m ? "revenue" : "units";
    size_t n_bottom = s->n_items - s->bottom_first;
    if (e == BB_OK && s->n_top > 0) {
        e = chart_image(r, pdf, "sales_top_items", 260);
        snprintf(text, sizeof text, "Top %zu by %s", s->n_top, by);
        if (e == BB_OK)
            e = pdf_item_table(r, pdf, text, !m, 0, s->n_top);
    }
    if (e == BB_OK && n_bottom > 0) {
        e = chart_image(r, pdf, "sales_bottom_items", 260);
        snprintf(text, sizeof text, "Bottom %zu by %s", n_bottom, by);
        if (e == BB_OK)
            e = pdf_item_table(r, pdf, text, !m, s->bottom_first, s->n_items);
    }
    if (m && e == BB_OK && s->n_top > 0) {
        snprintf(text, sizeof text, "Top %zu by units", s->n_top);
        e = pdf_item_table(r, pdf, text, true, 0, s->n_top);
    }
    if (m && e == BB_OK && n_bottom > 0) {
        snprintf(text, sizeof text, "Bottom %zu by units", n_bottom);
        e = pdf_item_table(r, pdf, text, true, s->bottom_first, s->n_items);
    }
    if (e == BB_OK && s->period[BB_SALES_CUR].has_data) {
        bb_buf b;
        bb_buf_init(&b, 0);
        char n1[32], n2[32];
        if (s->n_unsold == 0)
            e = bb_buf_printf(&b, "Every item sold in %s.", s->period[BB_SALES_CUR].label);
        else
            e = bb_buf_printf(&b, "Not sold in %s (%s of %s items): ", s->period[BB_SALES_CUR].label,
                              bb_fmt_int(n1, sizeof n1, (int64_t)s->n_unsold),
                              bb_fmt_int(n2, sizeof n2, (int64_t)s->n_items));
        for (size_t i = 0; i < s->n_unsold && i < SHOW_UNSOLD && e == BB_OK; i++) {
            const bb_sales_item *x = &s->items[s->unsold[i]];
            char d[11];
            day_text(x->last_day, d);
            e = bb_buf_printf(&b, "%s%s (last sold: %s)", i ? "; " : "", item_name(ds, x->item), d);
        }
        if (e == BB_OK && s->n_unsold > SHOW_UNSOLD)
            e = bb_buf_printf(&b, "; and %zu more (see the workbook).", s->n_unsold - SHOW_UNSOLD);
        else if (e == BB_OK && s->n_unsold > 0)
            e = bb_buf_putc(&b, '.');
        if (e == BB_OK)
            e = bb_pdf_paragraph(pdf, b.data);
        bb_buf_free(&b);
    }
    if (e == BB_OK && !isnan(s->paid_vs_list)) {
        char p[32];
        snprintf(text, sizeof text,
                 "Over items with a list price, customers paid %s of unit price times quantity.",
                 pct(p, sizeof p, s->paid_vs_list));
        e = bb_pdf_note(pdf, text);
    }
    return e;
}

static void segment_cells(cells *c, const bb_sales *s, const char *label, const bb_sales_segment *g)
{
    bb_pdf_cells_add(c, label);
    cell_count(c, g->customers);
    cell_pct(c, g->customer_share);
    cell_count(c, g->active);
    if (s->has_revenue) {
        cell_money(c, (double)g->revenue_cents);
        cell_pct(c, g->revenue_share);
    }
}

static bb_err segment_table(const bb_sales *s, bb_pdf *pdf, const char *what, cells *c)
{
    bb_pdf_column cols[] = {{what, BB_PDF_LEFT, 1.6},      {"Customers", BB_PDF_RIGHT, 1},
                            {"Share", BB_PDF_RIGHT, 0.8},   {"Buyers", BB_PDF_RIGHT, 0.9},
                            {"Revenue", BB_PDF_RIGHT, 1.2}, {"Rev. share", BB_PDF_RIGHT, 1}};
    return bb_pdf_cells_table(pdf, cols, s->has_revenue ? 6 : 4, c, false);
}

static bb_err pdf_customers(const bb_report *r, bb_pdf *pdf)
{
    const bb_sales *s = r->sales;
    const bb_dataset *ds = r->ds;
    bool m = s->has_revenue;
    bb_err e = bb_pdf_heading(pdf, 2, "Customers");
    cells c = {0};
    if (e == BB_OK && m && s->spend.n > 0) {
        e = bb_pdf_paragraph(pdf, "Two distributions over the customers with a purchase: what each spent in total "
                                  "over the range, and each one's mean visit value (their spend over their visits). "
                                  "Percentiles interpolate linearly.");
        bb_pdf_column cols[] = {{"Statistic", BB_PDF_LEFT, 1.4},
                                {"Total spend per customer", BB_PDF_RIGHT, 1.6},
                                {"Mean visit value", BB_PDF_RIGHT, 1.6}};
        const char *names[] = {"Mean", "Minimum", "10th percentile", "25th percentile", "Median",
                               "75th percentile", "90th percentile", "Maximum"};
        const bb_sales_dist *d[2] = {&s->spend, &s->visit_value};
        bb_pdf_cells_add(&c, "Customers");
        cell_count(&c, (double)s->spend.n);
        cell_count(&c, (double)s->visit_value.n);
        for (int k = 0; k < 8; k++) {
            bb_pdf_cells_add(&c, names[k]);
            for (int j = 0; j < 2; j++) {
                const double v[] = {d[j]->mean, d[j]->min, d[j]->p10, d[j]->p25,
                                    d[j]->p50,  d[j]->p75, d[j]->p90, d[j]->max};
                cell_money(&c, v[k]);
            }
        }
        if (e == BB_OK)
            e = bb_pdf_cells_table(pdf, cols, 3, &c, false);
    }
    if (ds->quality[BB_FILE_CUSTOMERS].derived) {
        if (e == BB_OK)
            e = bb_pdf_note(pdf, "No customers file: age, gender, zip code and subscriptions are not known.");
        bb_pdf_cells_free(&c);
        return e;
    }
    if (e == BB_OK)
        e = bb_pdf_paragraph(pdf, "Buyers are customers with a purchase in the range; shares are of all customers "
                                  "and of all revenue.");
    if (e == BB_OK)
        e = chart_image(r, pdf, "sales_age", 220);
    for (int k = 0; k < BB_SALES_AGE_BANDS; k++)
        if (s->age[k].customers > 0 || s->age[k].id != BB_UNKNOWN)
            segment_cells(&c, s, bb_sales_age_band_label(k), &s->age[k]);
    if (e == BB_OK)
        e = segment_table(s, pdf, "Age band", &c);
    for (size_t i = 0; i < s->n_genders; i++) {
        const bb_sales_segment *g = &s->genders[i];
        segment_cells(&c, s, g->id == BB_UNKNOWN ? "Unknown" : bb_intern_str(ds->genders, g->id), g);
    }
    if (e == BB_OK)
        e = segment_table(s, pdf, "Gender", &c);
    size_t nz = s->n_zips < SHOW_ZIPS ? s->n_zips : SHOW_ZIPS;
    for (size_t i = 0; i < nz; i++) {
        const bb_sales_segment *g = &s->zips[i];
        segment_cells(&c, s, g->id == BB_UNKNOWN ? "Unknown" : bb_intern_str(ds->zips, g->id), g);
    }
    if (e == BB_OK)
        e = segment_table(s, pdf, "Zip code", &c);
    if (e == BB_OK && s->n_zips > nz) {
        char text[160];
        snprintf(text, sizeof text, "The %zu zip codes with the most %s; the workbook lists all %zu.", nz,
                 m ? "revenue" : "customers", s->n_zips);
        e = bb_pdf_note(pdf, text);
    }

    const bb_sales_reach *ra = &s->reach_all, *rv = &s->reach_active;
    bb_pdf_column rcols[] = {{"Reachable by", BB_PDF_LEFT, 1.5}, {"Customers", BB_PDF_RIGHT, 1},
                             {"Share", BB_PDF_RIGHT, 0.8},       {"Buyers", BB_PDF_RIGHT, 0.9},
                             {"Share", BB_PDF_RIGHT, 0.8}};
    struct {
        const char *label;
        uint32_t a, v;
        double sa, sv;
    } rows[] = {
        {"E-mail", ra->email, rv->email, ra->email_share, rv->email_share},
        {"SMS", ra->sms, rv->sms, ra->sms_share, rv->sms_share},
        {"E-mail or SMS", ra->either, rv->either, ra->either_share, rv->either_share},
        {"Both", ra->both, rv->both, ra->both_share, rv->both_share},
    };
    for (size_t i = 0; i < 4; i++) {
        bb_pdf_cells_add(&c, rows[i].label);
        cell_count(&c, rows[i].a);
        cell_pct(&c, rows[i].sa);
        cell_count(&c, rows[i].v);
        cell_pct(&c, rows[i].sv);
    }
    if (e == BB_OK)
        e = bb_pdf_cells_table(pdf, rcols, 5, &c, false);
    if (e == BB_OK && (ra->email_unknown || ra->sms_unknown)) {
        char text[200], a[32], b[32];
        snprintf(text, sizeof text, "Subscription unknown (empty in the file): e-mail %s, SMS %s customers.",
                 bb_fmt_int(a, sizeof a, ra->email_unknown), bb_fmt_int(b, sizeof b, ra->sms_unknown));
        e = bb_pdf_note(pdf, text);
    }
    bb_pdf_cells_free(&c);
    return e;
}

static bb_err pdf_staff(const bb_report *r, bb_pdf *pdf)
{
    const bb_sales *s = r->sales;
    const bb_dataset *ds = r->ds;
    bool m = s->has_revenue;
    const char *cur = s->period[BB_SALES_CUR].short_label;
    char text[400];
    if (m)
        snprintf(text, sizeof text,
                 "Per EmployeeID over the whole range: services are the purchase rows recorded with the employee; "
                 "customers are counted once each. %s: revenue in %s.",
                 cur, s->period[BB_SALES_CUR].label);
    else
        snprintf(text, sizeof text,
                 "Per EmployeeID over the whole range: services are the purchase rows recorded with the employee; "
                 "customers are counted once each.");
    bb_err e = bb_pdf_heading(pdf, 2, "Staff");
    if (e == BB_OK && bb_intern_count(ds->employees) == 0)
        return bb_pdf_paragraph(pdf, "The purchases name no employee: there are no staff figures.");
    if (e == BB_OK)
        e = bb_pdf_paragraph(pdf, text);
    bb_pdf_column all[] = {{"Employee", BB_PDF_LEFT, 1.2}, {"Revenue", BB_PDF_RIGHT, 1.5},
                           {"Share", BB_PDF_RIGHT, 0.7},   {"Services", BB_PDF_RIGHT, 1.1},
                           {"Units", BB_PDF_RIGHT, 1.1},   {"Customers", BB_PDF_RIGHT, 1.0},
                           {cur, BB_PDF_RIGHT, 1.4}};
    bb_pdf_column cols[7];
    size_t nc = 0;
    for (size_t i = 0; i < 7; i++)
        if (m || (i != 1 && i != 2 && i != 6))
            cols[nc++] = all[i];
    cells c = {0};
    const bb_sales_staff *none = NULL;
    for (size_t i = 0; i < s->n_staff; i++) {
        const bb_sales_staff *st = &s->staff[i];
        if (st->employee == BB_UNKNOWN)
            none = st;
        bb_pdf_cells_add(&c, employee_name(ds, st->employee));
        if (m) {
            cell_money(&c, (double)st->revenue_cents);
            cell_pct(&c, st->revenue_share);
        }
        cell_count(&c, (double)st->services);
        cell_count(&c, (double)st->units);
        cell_count(&c, (double)st->customers);
        if (m)
            cell_money(&c, (double)st->period_revenue_cents[BB_SALES_CUR]);
    }
    /* Totals: customers count once overall, so they are not the column's sum. */
    bb_pdf_cells_add(&c, "Total");
    if (m) {
        cell_money(&c, (double)s->revenue_cents);
        bb_pdf_cells_add(&c, "");
    }
    cell_count(&c, (double)s->rows);
    cell_count(&c, (double)s->units);
    cell_count(&c, s->active_customers);
    if (m)
        cell_money(&c, s->kpi[BB_KPI_REVENUE].value[BB_SALES_CUR]);
    if (e == BB_OK)
        e = bb_pdf_cells_table(pdf, cols, nc, &c, s->n_staff > 0);
    bb_pdf_cells_free(&c);
    if (e == BB_OK && none) {
        char p[32];
        if (none->top_category != BB_UNKNOWN)
            snprintf(text, sizeof text,
                     "\"No employee\" stands for sales recorded without an EmployeeID (%s of them %s), not for "
                     "a person.",
                     pct(p, sizeof p, none->top_category_share), category_name(ds, none->top_category));
        else
            snprintf(text, sizeof text,
                     "\"No employee\" stands for sales recorded without an EmployeeID, not for a person.");
        e = bb_pdf_note(pdf, text);
    }
    return e;
}

static bb_err pdf_cohorts(const bb_report *r, bb_pdf *pdf)
{
    const bb_sales *s = r->sales;
    const bb_sales_cohorts *co = &s->cohorts;
    bb_err e = bb_pdf_heading(pdf, 2, "Cohorts");
    if (e != BB_OK)
        return e;
    if (co->n_cohorts == 0)
        return bb_pdf_paragraph(pdf, "No customer registered in a complete month of the data's range, so there "
                                     "are no registration cohorts.");
    e = bb_pdf_paragraph(pdf, "Customers grouped by the month they registered: the share of each group with a "
                              "purchase in the month of registration (0) and in each month after. Empty cells "
                              "are months not complete yet.");
    if (e == BB_OK)
        e = chart_image(r, pdf, "sales_cohorts", 330);
    size_t rows = co->n_cohorts < SHOW_COHORTS ? co->n_cohorts : SHOW_COHORTS, from = co->n_cohorts - rows;
    size_t cols = co->n_offsets < 7 ? co->n_offsets : 7;
    bb_pdf_column cc[9] = {{"Registered", BB_PDF_LEFT, 1.2}, {"Customers", BB_PDF_RIGHT, 1}};
    char head[7][8];
    for (size_t k = 0; k < cols; k++) {
        snprintf(head[k], sizeof head[k], "%zu", k);
        cc[2 + k] = (bb_pdf_column){head[k], BB_PDF_RIGHT, 0.8};
    }
    cells c = {0};
    for (size_t i = from; i < co->n_cohorts; i++) {
        char t[16];
        month_text(bb_date_month_start(co->month[i]), t, sizeof t);
        bb_pdf_cells_add(&c, t);
        cell_count(&c, co->size[i]);
        for (size_t k = 0; k < cols; k++) {
            double v = co->retention[i * co->n_offsets + k];
            bb_pdf_cells_add(&c, isnan(v) ? "" : pct(t, sizeof t, v));
        }
    }
    if (e == BB_OK)
        e = bb_pdf_cells_table(pdf, cc, 2 + cols, &c, false);
    bb_pdf_cells_free(&c);
    if (e == BB_OK && (co->before_data || co->no_date || co->earlier_cohorts || co->recent)) {
        char text[400], a[32], b[32], d[32];
        snprintf(text, sizeof text,
                 "Not in a cohort: %s customers registered before the first purchase month or in older cohorts, "
                 "%s without a registration date, %s registered after the last complete month.",
                 bb_fmt_int(a, sizeof a, (int64_t)(co->before_data + co->earlier_cohorts)),
                 bb_fmt_int(b, sizeof b, (int64_t)co->no_date), bb_fmt_int(d, sizeof d, (int64_t)co->recent));
        e = bb_pdf_note(pdf, text);
    }
    return e;
}

bb_err bb_section_sales_pdf(const bb_report *r, bb_pdf *pdf)
{
    const bb_sales *s = r->sales;
    if (!s)
        return BB_OK;
    bb_err e = bb_pdf_heading(pdf, 1, "Sales");
    char text[512];
    if (e == BB_OK && s->period[BB_SALES_CUR].has_data) {
        period_sentence(s, text, sizeof text);
        e = bb_pdf_paragraph(pdf, text);
        if (e == BB_OK)
            e = pdf_kpi_table(s, pdf);
        if (e == BB_OK)
            e = bb_pdf_note(pdf, "A visit is all purchases of one customer on one day. New customers made their first "
                                 "purchase in the period; the repeat-customer rate is the share of its customers with "
                                 "two or more visits. Rates change in percentage points (pts).");
    } else if (e == BB_OK) {
        snprintf(text, sizeof text, "The data holds no complete %s before the as-of date: no period figures.",
                 period_word(s));
        e = bb_pdf_paragraph(pdf, text);
    }
    if (e == BB_OK)
        e = no_revenue_note(s, pdf);
    /* The summary shows the first findings; the chapter adds the rest. */
    if (e == BB_OK && s->n_findings > SUMMARY_FINDINGS) {
        const char *items[BB_SALES_MAX_FINDINGS];
        for (size_t i = SUMMARY_FINDINGS; i < s->n_findings; i++)
            items[i - SUMMARY_FINDINGS] = s->findings[i];
        e = bb_pdf_bullets(pdf, items, s->n_findings - SUMMARY_FINDINGS);
    }
    if (e == BB_OK)
        e = pdf_trends(r, pdf);
    if (e == BB_OK)
        e = pdf_categories(r, pdf);
    if (e == BB_OK)
        e = pdf_items(r, pdf);
    if (e == BB_OK)
        e = pdf_customers(r, pdf);
    if (e == BB_OK)
        e = pdf_staff(r, pdf);
    if (e == BB_OK)
        e = pdf_cohorts(r, pdf);
    return e;
}

/* ---- workbook ------------------------------------------------------------------ */

/* A sheet being filled: the first failure sticks, later writes are skipped. */
typedef struct xs {
    bb_xlsx_sheet *sh;
    bb_err e;
} xs;

static void xt(xs *x, const char *v)
{
    if (x->e == BB_OK)
        x->e = bb_xlsx_text(x->sh, v);
}

static void xi(xs *x, int64_t v)
{
    if (x->e == BB_OK)
        x->e = bb_xlsx_int(x->sh, v);
}

static void xm(xs *x, double cents)
{
    if (x->e == BB_OK)
        x->e = isnan(cents) ? bb_xlsx_text(x->sh, NULL) : bb_xlsx_money(x->sh, (int64_t)llround(cents));
}

static void xn(xs *x, double v)
{
    if (x->e == BB_OK)
        x->e = bb_xlsx_number(x->sh, v);
}

static void xp(xs *x, double ratio)
{
    if (x->e == BB_OK)
        x->e = bb_xlsx_percent(x->sh, ratio);
}

static void xd(xs *x, int32_t day)
{
    if (x->e == BB_OK)
        x->e = bb_xlsx_date(x->sh, day);
}

static void xend(xs *x)
{
    if (x->e == BB_OK)
        x->e = bb_xlsx_row_end(x->sh);
}

static void xsection(xs *x, const char *text)
{
    if (x->e == BB_OK)
        x->e = bb_xlsx_section(x->sh, text);
}

static bb_err xbegin(xs *x, bb_xlsx *wb, const char *name, const char *title, const bb_xlsx_col *cols, int n,
                     bool list)
{
    x->sh = NULL;
    x->e = list ? bb_xlsx_list_begin(wb, name, title, cols, n, &x->sh)
                : bb_xlsx_table_begin(wb, name, title, cols, n, &x->sh);
    return x->e;
}

static bb_err xfinish(xs *x, bb_log *log)
{
    bb_xlsx_sheet_info info = {0};
    if (x->e == BB_OK)
        x->e = bb_xlsx_sheet_end(x->sh, &info);
    if (x->e == BB_OK && info.rows_dropped)
        bb_warn(log, "workbook: sheet %s holds the first %u rows; %llu more were left out", bb_xlsx_sheet_name(x->sh),
                info.rows_written, (unsigned long long)info.rows_dropped);
    return x->e;
}

/* A KPI value (or change) in its unit's cell type; empty when absent. */
static void xkpi(xs *x, const bb_sales_kpi *k, double v)
{
    if (isnan(v))
        xt(x, NULL);
    else if (k->unit == BB_SALES_MONEY)
        xm(x, v);
    else if (k->unit == BB_SALES_RATIO)
        xp(x, v);
    else
        xi(x, (int64_t)llround(v));
}

static bb_err sheet_kpis(const bb_report *r, bb_xlsx *wb, bb_xlsx_sheet **out, bb_log *log)
{
    const bb_sales *s = r->sales;
    const bb_sales_period *P = s->period;
    char h_cur[64], h_prev[64], h_year[64], title[700], a[32], b[32], c[32];
    snprintf(h_cur, sizeof h_cur, "%s", P[0].label[0] ? P[0].label : "Last period");
    snprintf(h_prev, sizeof h_prev, "%s", P[1].label[0] ? P[1].label : "Previous period");
    snprintf(h_year, sizeof h_year, "%s", P[2].label[0] ? P[2].label : "A year earlier");
    bb_xlsx_col cols[] = {{"KPI", BB_XCOL_TEXT, false, false},
                          {h_cur, BB_XCOL_ANY, false, false},
                          {h_prev, BB_XCOL_ANY, false, false},
                          {"Change", BB_XCOL_ANY, false, true},
                          {"Change %", BB_XCOL_PERCENT, false, true},
                          {h_year, BB_XCOL_ANY, false, false},
                          {"Change on a year earlier", BB_XCOL_ANY, false, true},
                          {"Change % on a year earlier", BB_XCOL_PERCENT, false, true},
                          {"Definition", BB_XCOL_TEXT, false, false}};
    period_range(&P[0], a, sizeof a);
    period_range(&P[1], b, sizeof b);
    period_range(&P[2], c, sizeof c);
    if (P[0].has_data)
        snprintf(title, sizeof title,
                 "Key figures for %s (%s), the last complete %s before the as-of date %s\n"
                 "Compared with %s (%s) and %s (%s). Rates change in percentage points; empty: no data.",
                 P[0].label, a, period_word(s), r->as_of, P[1].label, b, P[2].label, c);
    else
        snprintf(title, sizeof title, "Key figures\nThe data holds no complete %s before the as-of date %s.",
                 period_word(s), r->as_of);
    xs x;
    xbegin(&x, wb, "KPIs", title, cols, 9, false);
    for (int i = 0; i < BB_KPI__COUNT; i++) {
        const bb_sales_kpi *k = &s->kpi[i];
        xt(&x, k->name);
        for (int j = 0; j < BB_SALES_NPERIODS; j++) {
            xkpi(&x, k, k->value[j]);
            if (j > 0) {
                xkpi(&x, k, k->change[j]);
                xp(&x, k->change_pct[j]);
            }
        }
        xt(&x, k->known ? k->definition : "not reported: the data has no prices");
        xend(&x);
    }
    *out = x.sh;
    return xfinish(&x, log);
}

static const char *bucket_note(const bb_sales *s, const bb_sales_bucket *b, char *buf, size_t size)
{
    if (b->complete)
        return NULL;
    char d[11];
    bb_date_format(s->as_of, d);
    snprintf(buf, size, "to %s (as-of date)", d);
    return buf;
}

static bb_err sheet_monthly(const bb_report *r, bb_xlsx *wb, bb_xlsx_sheet **out, bb_log *log)
{
    const bb_sales *s = r->sales;
    bool m = s->has_revenue;
    bb_xlsx_col cols[] = {{"Month", BB_XCOL_DATE, false, false},
                          {"Revenue", BB_XCOL_MONEY, true, false},
                          {"Visits", BB_XCOL_INT, false, false},
                          {"Customers", BB_XCOL_INT, false, false},
                          {"Units", BB_XCOL_INT, false, false},
                          {"Purchase rows", BB_XCOL_INT, false, false},
                          {"Revenue a year earlier", BB_XCOL_MONEY, false, false},
                          {"Change on a year earlier", BB_XCOL_PERCENT, false, true},
                          {"Note", BB_XCOL_TEXT, false, false}};
    xs x;
    xbegin(&x, wb, "Monthly",
           "Sales per calendar month\nA visit is all purchases of one customer on one day; customers are counted "
           "once per month.",
           cols, 9, false);
    for (size_t i = 0; i < s->n_months; i++) {
        const bb_sales_bucket *b = &s->months[i];
        char note[64];
        xd(&x, b->first);
        xm(&x, m ? (double)b->revenue_cents : NAN);
        xi(&x, b->visits);
        xi(&x, b->customers);
        xi(&x, b->units);
        xi(&x, b->rows);
        xm(&x, m && b->has_prev_year ? (double)b->prev_year_revenue_cents : NAN);
        xp(&x, b->prev_year_change_pct);
        xt(&x, bucket_note(s, b, note, sizeof note));
        xend(&x);
    }
    *out = x.sh;
    return xfinish(&x, log);
}

static bb_err sheet_weekly(const bb_report *r, bb_xlsx *wb, bb_xlsx_sheet **out, bb_log *log)
{
    const bb_sales *s = r->sales;
    bb_xlsx_col cols[] = {{"Week from", BB_XCOL_DATE, false, false}, {"Revenue", BB_XCOL_MONEY, true, false},
                          {"Visits", BB_XCOL_INT, false, false},     {"Customers", BB_XCOL_INT, false, false},
                          {"Units", BB_XCOL_INT, false, false},      {"Purchase rows", BB_XCOL_INT, false, false},
                          {"Note", BB_XCOL_TEXT, false, false}};
    xs x;
    xbegin(&x, wb, "Weekly", "Sales per week, Monday to Sunday\nCustomers are counted once per week.", cols, 7, false);
    for (size_t i = 0; i < s->n_weeks; i++) {
        const bb_sales_bucket *b = &s->weeks[i];
        char note[64];
        xd(&x, b->first);
        xm(&x, s->has_revenue ? (double)b->revenue_cents : NAN);
        xi(&x, b->visits);
        xi(&x, b->customers);
        xi(&x, b->units);
        xi(&x, b->rows);
        xt(&x, b->first < s->first_day ? "from the first purchase" : bucket_note(s, b, note, sizeof note));
        xend(&x);
    }
    *out = x.sh;
    return xfinish(&x, log);
}

static bb_err sheet_daily(const bb_report *r, bb_xlsx *wb, bb_xlsx_sheet **out, bb_log *log)
{
    const bb_sales *s = r->sales;
    bool m = s->has_revenue;
    bb_xlsx_col cols[] = {{"Date", BB_XCOL_DATE, false, false},           {"Weekday", BB_XCOL_TEXT, false, false},
                          {"Revenue", BB_XCOL_MONEY, false, false},       {"Visits", BB_XCOL_INT, false, false},
                          {"Units", BB_XCOL_INT, false, false},           {"Purchase rows", BB_XCOL_INT, false, false},
                          {"7-day average", BB_XCOL_NUMBER, false, false},
                          {"28-day average", BB_XCOL_NUMBER, false, false}};
    xs x;
    xbegin(&x, wb, "Daily",
           m ? "Sales per day, every day from the first purchase to the as-of date\nAverages are trailing means of "
               "revenue over the last 7 and 28 days."
             : "Sales per day, every day from the first purchase to the as-of date\nAverages are trailing means of "
               "visits over the last 7 and 28 days.",
           cols, 8, false);
    for (size_t i = 0; i < s->n_days; i++) {
        const bb_sales_day *d = &s->days[i];
        xd(&x, d->day);
        xt(&x, WEEKDAYS[bb_date_weekday(d->day)]);
        xm(&x, m ? (double)d->revenue_cents : NAN);
        xi(&x, d->visits);
        xi(&x, d->units);
        xi(&x, d->rows);
        xn(&x, m ? d->ma7 / 100.0 : d->ma7);
        xn(&x, m ? d->ma28 / 100.0 : d->ma28);
        xend(&x);
    }
    *out = x.sh;
    return xfinish(&x, log);
}

static void group_cells(xs *x, const bb_sales *s, const bb_sales_group *g)
{
    bool m = s->has_revenue;
    xi(x, g->items);
    xm(x, m ? (double)g->revenue_cents : NAN);
    xp(x, m ? g->revenue_share : NAN);
    xi(x, g->units);
    xp(x, g->units_share);
    xi(x, g->rows);
    xm(x, m ? (double)g->period_revenue_cents[BB_SALES_CUR] : NAN);
    xi(x, g->period_units[BB_SALES_CUR]);
    xp(x, g->period_share[BB_SALES_CUR]);
    xp(x, g->period_share[BB_SALES_PREV]);
    xp(x, g->share_change);
}

static bb_err sheet_groups(const bb_report *r, bb_xlsx *wb, bool sub, bb_xlsx_sheet **out, bb_log *log)
{
    const bb_sales *s = r->sales;
    const bb_dataset *ds = r->ds;
    const bb_sales_period *P = s->period;
    char h_rev[64], h_units[64], h_share[64], h_prev[64];
    snprintf(h_rev, sizeof h_rev, "Revenue %s", P[0].label);
    snprintf(h_units, sizeof h_units, "Units %s", P[0].label);
    snprintf(h_share, sizeof h_share, "Share %s", P[0].label);
    snprintf(h_prev, sizeof h_prev, "Share %s", P[1].label);
    bb_xlsx_col cols[15];
    int n = 0;
    cols[n++] = (bb_xlsx_col){"Category", BB_XCOL_TEXT, false, false};
    if (sub)
        cols[n++] = (bb_xlsx_col){"Subcategory", BB_XCOL_TEXT, false, false};
    bb_xlsx_col rest[] = {{"Items", BB_XCOL_INT, false, false},          {"Revenue", BB_XCOL_MONEY, true, false},
                          {"Revenue share", BB_XCOL_PERCENT, false, false}, {"Units", BB_XCOL_INT, false, false},
                          {"Units share", BB_XCOL_PERCENT, false, false},  {"Purchase rows", BB_XCOL_INT, false, false},
                          {h_rev, BB_XCOL_MONEY, false, false},            {h_units, BB_XCOL_INT, false, false},
                          {h_share, BB_XCOL_PERCENT, false, false},        {h_prev, BB_XCOL_PERCENT, false, false},
                          {"Share change", BB_XCOL_PERCENT, false, true}};
    for (size_t i = 0; i < sizeof rest / sizeof rest[0]; i++)
        cols[n++] = rest[i];
    if (sub)
        cols[n++] = (bb_xlsx_col){"Label", BB_XCOL_TEXT, false, false};
    char title[400];
    snprintf(title, sizeof title,
             "%s over the whole range, and in %s\nShares of the period's %s; share change in percentage points "
             "against %s.",
             sub ? "Subcategories (keyed by category and name)" : "Categories", P[0].label,
             s->has_revenue ? "revenue" : "units", P[1].label);
    xs x;
    xbegin(&x, wb, sub ? "Subcategories" : "Categories", title, cols, n, false);
    size_t rows = sub ? s->n_subcategories : s->n_categories;
    for (size_t i = 0; i < rows; i++) {
        const bb_sales_group *g = sub ? &s->subcategories[i] : &s->categories[i];
        xt(&x, category_name(ds, g->category));
        if (sub)
            xt(&x, subcategory_name(ds, g->id));
        group_cells(&x, s, g);
        if (sub) {
            char label[512];
            snprintf(label, sizeof label, "%s (%s)", subcategory_name(ds, g->id), category_name(ds, g->category));
            xt(&x, label);
        }
        xend(&x);
    }
    *out = x.sh;
    return xfinish(&x, log);
}

static bb_err sheet_items(const bb_report *r, bb_xlsx *wb, bb_xlsx_sheet **out, bb_log *log)
{
    const bb_sales *s = r->sales;
    const bb_dataset *ds = r->ds;
    bool m = s->has_revenue;
    char h_rev[64], h_units[64];
    snprintf(h_rev, sizeof h_rev, "Revenue %s", s->period[0].label);
    snprintf(h_units, sizeof h_units, "Units %s", s->period[0].label);
    bb_xlsx_col cols[] = {{"Revenue rank", BB_XCOL_INT, false, false}, {"Units rank", BB_XCOL_INT, false, false},
                          {"ItemID", BB_XCOL_TEXT, false, false},      {"Item", BB_XCOL_TEXT, false, false},
                          {"Category", BB_XCOL_TEXT, false, false},    {"Subcategory", BB_XCOL_TEXT, false, false},
                          {"List price", BB_XCOL_MONEY, false, false}, {"Revenue", BB_XCOL_MONEY, true, false},
                          {"Units", BB_XCOL_INT, false, false},        {"Purchase rows", BB_XCOL_INT, false, false},
                          {"List value", BB_XCOL_MONEY, false, false}, {"Paid vs list", BB_XCOL_PERCENT, false, false},
                          {h_rev, BB_XCOL_MONEY, false, false},        {h_units, BB_XCOL_INT, false, false},
                          {"Last sold", BB_XCOL_DATE, false, false}};
    char title[400];
    snprintf(title, sizeof title,
             "Items ranked by %s over the whole range, ties by ItemID (unsold items included)\n"
             "List value is unit price x units sold; paid vs list is revenue against it%s.",
             m ? "revenue" : "units", s->paid_prices ? "" : " (not shown: revenue is itself from list prices)");
    xs x;
    xbegin(&x, wb, "Items", title, cols, 15, false);
    for (size_t i = 0; i < s->n_items; i++) {
        const bb_sales_item *it = &s->items[i];
        int64_t price = ds->items.unit_price_cents[it->item];
        if (m)
            xi(&x, it->revenue_rank);
        else
            xt(&x, NULL);
        xi(&x, it->units_rank);
        xt(&x, bb_intern_str(ds->items.ids, it->item));
        xt(&x, item_name(ds, it->item));
        xt(&x, category_name(ds, ds->items.category[it->item]));
        xt(&x, subcategory_name(ds, ds->items.subcategory[it->item]));
        xm(&x, price >= 0 ? (double)price : NAN);
        xm(&x, m ? (double)it->revenue_cents : NAN);
        xi(&x, it->units);
        xi(&x, it->rows);
        xm(&x, it->list_cents >= 0 ? (double)it->list_cents : NAN);
        xp(&x, it->paid_vs_list);
        xm(&x, m ? (double)it->period_revenue_cents : NAN);
        xi(&x, it->period_units);
        if (it->last_day == BB_DATE_NONE)
            xt(&x, "never");
        else
            xd(&x, it->last_day);
        xend(&x);
    }
    *out = x.sh;
    return xfinish(&x, log);
}

static void xsegment(xs *x, const bb_sales *s, const char *label, const bb_sales_segment *g)
{
    xt(x, label);
    xi(x, g->customers);
    xp(x, g->customer_share);
    xi(x, g->active);
    xm(x, s->has_revenue ? (double)g->revenue_cents : NAN);
    xp(x, s->has_revenue ? g->revenue_share : NAN);
    xi(x, g->visits);
    xend(x);
}

static void xheader(xs *x, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        xt(x, names[i]);
    xend(x);
}

static bb_err sheet_customers(const bb_report *r, bb_xlsx *wb, bb_xlsx_sheet **out, bb_log *log)
{
    const bb_sales *s = r->sales;
    const bb_dataset *ds = r->ds;
    bb_xlsx_col cols[7];
    for (int i = 0; i < 7; i++)
        cols[i] = (bb_xlsx_col){NULL, BB_XCOL_ANY, false, false};
    xs x;
    xbegin(&x, wb, "Customer Profile",
           "Customers\nCustomers with purchases are those with at least one purchase in the range; shares are of all "
           "customers or of all revenue.",
           cols, 7, true);
    if (s->has_revenue) {
        static const char *const h[] = {"Statistic", "Total spend per customer", "Mean visit value"};
        static const char *const names[] = {"Mean", "Minimum", "10th percentile", "25th percentile", "Median",
                                            "75th percentile", "90th percentile", "Maximum"};
        xsection(&x, "Spending distributions (customers with purchases; percentiles interpolate linearly)");
        xheader(&x, h, 3);
        xt(&x, "Customers");
        xi(&x, (int64_t)s->spend.n);
        xi(&x, (int64_t)s->visit_value.n);
        xend(&x);
        const bb_sales_dist *d[2] = {&s->spend, &s->visit_value};
        for (int k = 0; k < 8; k++) {
            xt(&x, names[k]);
            for (int j = 0; j < 2; j++) {
                const double v[] = {d[j]->mean, d[j]->min, d[j]->p10, d[j]->p25,
                                    d[j]->p50,  d[j]->p75, d[j]->p90, d[j]->max};
                xm(&x, v[k]);
            }
            xend(&x);
        }
    }
    static const char *const sh[] = {"", "Customers", "Share of customers", "With purchases", "Revenue",
                                     "Share of revenue", "Visits"};
    const char *sh0[7];
    memcpy(sh0, sh, sizeof sh0);
    if (!ds->quality[BB_FILE_CUSTOMERS].derived) {
        sh0[0] = "Age band";
        xsection(&x, "Age bands");
        xheader(&x, sh0, 7);
        for (int k = 0; k < BB_SALES_AGE_BANDS; k++)
            xsegment(&x, s, bb_sales_age_band_label(k), &s->age[k]);
        sh0[0] = "Gender";
        xsection(&x, "Gender");
        xheader(&x, sh0, 7);
        for (size_t i = 0; i < s->n_genders; i++)
            xsegment(&x, s, s->genders[i].id == BB_UNKNOWN ? "Unknown" : bb_intern_str(ds->genders, s->genders[i].id),
                     &s->genders[i]);
        sh0[0] = "Zip code";
        xsection(&x, "Zip codes");
        xheader(&x, sh0, 7);
        for (size_t i = 0; i < s->n_zips; i++)
            xsegment(&x, s, s->zips[i].id == BB_UNKNOWN ? "Unknown" : bb_intern_str(ds->zips, s->zips[i].id),
                     &s->zips[i]);
        static const char *const rh[] = {"Reachable by", "Customers", "Share of customers", "With purchases",
                                         "Share of those"};
        const bb_sales_reach *ra = &s->reach_all, *rv = &s->reach_active;
        struct {
            const char *label;
            uint32_t a, v;
            double sa, sv;
        } rows[] = {
            {"E-mail", ra->email, rv->email, ra->email_share, rv->email_share},
            {"SMS", ra->sms, rv->sms, ra->sms_share, rv->sms_share},
            {"E-mail or SMS", ra->either, rv->either, ra->either_share, rv->either_share},
            {"Both", ra->both, rv->both, ra->both_share, rv->both_share},
            {"E-mail unknown", ra->email_unknown, rv->email_unknown, NAN, NAN},
            {"SMS unknown", ra->sms_unknown, rv->sms_unknown, NAN, NAN},
        };
        xsection(&x, "E-mail and SMS reach (subscribed customers)");
        xheader(&x, rh, 5);
        for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
            xt(&x, rows[i].label);
            xi(&x, rows[i].a);
            xp(&x, rows[i].sa);
            xi(&x, rows[i].v);
            xp(&x, rows[i].sv);
            xend(&x);
        }
    } else {
        xsection(&x, "No customers file: age, gender, zip code and subscriptions are not known.");
    }
    *out = x.sh;
    return xfinish(&x, log);
}

static bb_err sheet_staff(const bb_report *r, bb_xlsx *wb, bb_xlsx_sheet **out, bb_log *log)
{
    const bb_sales *s = r->sales;
    const bb_dataset *ds = r->ds;
    bool m = s->has_revenue;
    char h_cur[64], h_prev[64];
    snprintf(h_cur, sizeof h_cur, "Revenue %s", s->period[0].label);
    snprintf(h_prev, sizeof h_prev, "Revenue %s", s->period[1].label);
    bb_xlsx_col cols[] = {{"Employee", BB_XCOL_TEXT, false, false},      {"Revenue", BB_XCOL_MONEY, true, false},
                          {"Revenue share", BB_XCOL_PERCENT, false, false}, {"Services", BB_XCOL_INT, false, false},
                          {"Units", BB_XCOL_INT, false, false},         {"Customers", BB_XCOL_INT, false, false},
                          {h_cur, BB_XCOL_MONEY, false, false},         {h_prev, BB_XCOL_MONEY, false, false},
                          {"Note", BB_XCOL_TEXT, false, false}};
    xs x;
    xbegin(&x, wb, "Staff",
           "Sales per EmployeeID over the whole range\nServices are the purchase rows recorded with the employee; "
           "customers are counted once each.",
           cols, 9, false);
    for (size_t i = 0; i < s->n_staff; i++) {
        const bb_sales_staff *st = &s->staff[i];
        char note[300] = "", p[32];
        if (st->employee == BB_UNKNOWN) {
            if (st->top_category != BB_UNKNOWN)
                snprintf(note, sizeof note, "sales without an EmployeeID, not a person; %s of them %s",
                         pct(p, sizeof p, st->top_category_share), category_name(ds, st->top_category));
            else
                snprintf(note, sizeof note, "sales without an EmployeeID, not a person");
        }
        xt(&x, employee_name(ds, st->employee));
        xm(&x, m ? (double)st->revenue_cents : NAN);
        xp(&x, m ? st->revenue_share : NAN);
        xi(&x, st->services);
        xi(&x, st->units);
        xi(&x, st->customers);
        xm(&x, m ? (double)st->period_revenue_cents[BB_SALES_CUR] : NAN);
        xm(&x, m ? (double)st->period_revenue_cents[BB_SALES_PREV] : NAN);
        xt(&x, note[0] ? note : NULL);
        xend(&x);
    }
    *out = x.sh;
    return xfinish(&x, log);
}

static bb_err sheet_cohorts(const bb_report *r, bb_xlsx *wb, bb_xlsx_sheet **out, bb_log *log)
{
    const bb_sales_cohorts *co = &r->sales->cohorts;
    size_t ncols = 2 + co->n_offsets;
    bb_xlsx_col *cols = calloc(ncols, sizeof *cols);
    char(*heads)[32] = calloc(ncols, sizeof *heads);
    if (!cols || !heads) {
        free(cols);
        free(heads);
        return BB_ERR_NOMEM;
    }
    cols[0] = (bb_xlsx_col){"Registered", BB_XCOL_DATE, false, false};
    cols[1] = (bb_xlsx_col){"Customers", BB_XCOL_INT, false, false};
    for (size_t k = 0; k < co->n_offsets; k++) {
        snprintf(heads[k], sizeof heads[k], "Month %zu", k);
        cols[2 + k] = (bb_xlsx_col){heads[k], BB_XCOL_PERCENT, false, false};
    }
    char title[600], a[32], b[32], c[32];
    snprintf(title, sizeof title,
             "Registration cohorts: share of each month's registrations with a purchase k months later\n"
             "Month 0 is the registration month; empty: not complete yet. Not in a cohort: %s registered "
             "earlier, %s without a date, %s after the last complete month.",
             bb_fmt_int(a, sizeof a, (int64_t)(co->before_data + co->earlier_cohorts)),
             bb_fmt_int(b, sizeof b, (int64_t)co->no_date), bb_fmt_int(c, sizeof c, (int64_t)co->recent));
    xs x;
    xbegin(&x, wb, "Cohorts", title, cols, (int)ncols, false);
    for (size_t i = 0; i < co->n_cohorts; i++) {
        xd(&x, bb_date_month_start(co->month[i]));
        xi(&x, co->size[i]);
        for (size_t k = 0; k < co->n_offsets; k++)
            xp(&x, co->retention[i * co->n_offsets + k]);
        xend(&x);
    }
    *out = x.sh;
    bb_err e = xfinish(&x, log);
    free(cols);
    free(heads);
    return e;
}

bb_err bb_section_sales_xlsx(const bb_report *r, bb_xlsx *wb, bb_log *log)
{
    return bb_section_sales_xlsx_sheets(r, wb, log, NULL);
}

bb_err bb_section_sales_xlsx_sheets(const bb_report *r, bb_xlsx *wb, bb_log *log, bb_section_sales_sheets *out)
{
    bb_section_sales_sheets none, *sh = out ? out : &none;
    memset(sh, 0, sizeof *sh);
    const bb_sales *s = r->sales;
    if (!s)
        return BB_OK;
    bool m = s->has_revenue;
    bb_xlsx_sheet *monthly = NULL, *cats = NULL, *subs = NULL;
    bb_err e = sheet_kpis(r, wb, &sh->kpis, log);
    if (e == BB_OK)
        e = sheet_monthly(r, wb, &monthly, log);
    sh->monthly = monthly;
    if (e == BB_OK)
        e = sheet_weekly(r, wb, &sh->weekly, log);
    if (e == BB_OK)
        e = sheet_daily(r, wb, &sh->daily, log);
    if (e == BB_OK)
        e = sheet_groups(r, wb, false, &cats, log);
    sh->categories = cats;
    if (e == BB_OK)
        e = sheet_groups(r, wb, true, &subs, log);
    sh->subcategories = subs;
    if (e == BB_OK)
        e = sheet_items(r, wb, &sh->items, log);
    if (e == BB_OK)
        e = sheet_customers(r, wb, &sh->customers, log);
    if (e == BB_OK)
        e = sheet_staff(r, wb, &sh->staff, log);
    if (e == BB_OK)
        e = sheet_cohorts(r, wb, &sh->cohorts, log);

    /* Native charts over the sheets' cells, so they follow an analyst's edits. */
    int month_cols[] = {1, 6}, visit_col = 2;
    if (e == BB_OK && s->n_months > 0) {
        bb_xlsx_chart ch = {
            .type = BB_XCHART_COLUMN,
            .title = m ? "Revenue per month against a year earlier" : "Visits per month",
            .cat_title = "Month",
            .value_title = m ? "Revenue" : "Visits",
            .data = monthly,
            .cat_col = 0,
            .value_cols = m ? month_cols : &visit_col,
            .n_values = m ? 2 : 1,
            .at = monthly,
            .at_row = 1,
            .at_col = 10,
            .width_px = 760,
            .height_px = 380,
        };
        e = bb_xlsx_chart_add(wb, &ch);
    }
    int cat_col = m ? 2 : 4, sub_col = m ? 3 : 5;
    if (e == BB_OK && s->n_categories > 0) {
        bb_xlsx_chart ch = {
            .type = BB_XCHART_COLUMN,
            .title = m ? "Revenue by category" : "Units sold by category",
            .cat_title = "Category",
            .value_title = m ? "Revenue" : "Units",
            .data = cats,
            .cat_col = 0,
            .value_cols = &cat_col,
            .n_values = 1,
            .at = cats,
            .at_row = 1,
            .at_col = 13,
            .width_px = 600,
            .height_px = 340,
        };
        e = bb_xlsx_chart_add(wb, &ch);
    }
    if (e == BB_OK && s->n_subcategories > 0) {
        bb_xlsx_chart ch = {
            .type = BB_XCHART_BAR,
            .title = m ? "Revenue by subcategory" : "Units sold by subcategory",
            .cat_title = "Subcategory",
            .value_title = m ? "Revenue" : "Units",
            .data = subs,
            .cat_col = 13,
            .value_cols = &sub_col,
            .n_values = 1,
            .at = subs,
            .at_row = 1,
            .at_col = 16,
            .width_px = 640,
            .height_px = s->n_subcategories > 12 ? 560 : 400,
        };
        e = bb_xlsx_chart_add(wb, &ch);
    }
    if (e != BB_OK)
        bb_error(log, "workbook: sales sheets: %s", bb_strerror(e));
    return e;
}

/* ---- HTML model ------------------------------------------------------------------ */

static void jtext(cJSON *o, const char *key, const char *v)
{
    cJSON_AddStringToObject(o, key, v ? v : "");
}

static void jmoney(cJSON *o, const char *key, double cents)
{
    char b[48];
    jtext(o, key, money(b, sizeof b, cents));
}

static void jcount(cJSON *o, const char *key, double v)
{
    char b[48];
    jtext(o, key, count(b, sizeof b, v));
}

static void jpct(cJSON *o, const char *key, double r)
{
    char b[48];
    jtext(o, key, pct(b, sizeof b, r));
}

static cJSON *jrow(cJSON *array)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToArray(array, o);
    return o;
}

/* model[key] = {title, svg} when the chart exists. */
static void jchart(const bb_report *r, cJSON *model, const char *key, const char *name)
{
    const bb_report_chart *ch = bb_report_find_chart(r, name);
    char *svg = ch ? bb_report_inline_svg(r, name) : NULL;
    if (!svg)
        return;
    cJSON *o = cJSON_AddObjectToObject(model, key);
    jtext(o, "title", ch->title);
    jtext(o, "svg", svg);
    free(svg);
}

static void html_items(const bb_report *r, cJSON *tables, const char *title, bool by_units, size_t from, size_t to)
{
    const bb_sales *s = r->sales;
    const bb_dataset *ds = r->ds;
    if (from >= to)
        return;
    cJSON *t = jrow(tables);
    jtext(t, "title", title);
    cJSON *rows = cJSON_AddArrayToObject(t, "rows");
    for (size_t k = from; k < to; k++) {
        const bb_sales_item *x = by_units ? &s->items[s->items_by_units[k]] : &s->items[k];
        cJSON *o = jrow(rows);
        jcount(o, "rank", by_units || !s->has_revenue ? x->units_rank : x->revenue_rank);
        jtext(o, "item", item_name(ds, x->item));
        jtext(o, "id", bb_intern_str(ds->items.ids, x->item));
        jtext(o, "category", category_name(ds, ds->items.category[x->item]));
        jmoney(o, "revenue", (double)x->revenue_cents);
        jcount(o, "units", (double)x->units);
        jpct(o, "paid_vs_list", x->paid_vs_list);
        jcount(o, "period_units", (double)x->period_units);
    }
}

static void html_segments(const bb_report *r, cJSON *sales, const char *key, const bb_sales_segment *g, size_t n,
                          int kind)
{
    const bb_dataset *ds = r->ds;
    cJSON *a = cJSON_AddArrayToObject(sales, key);
    for (size_t i = 0; i < n; i++) {
        const char *label = kind == 0   ? bb_sales_age_band_label((int)i)
                            : g[i].id == BB_UNKNOWN ? "Unknown"
                            : kind == 1 ? bb_intern_str(ds->genders, g[i].id)
                                        : bb_intern_str(ds->zips, g[i].id);
        if (kind == 0 && g[i].customers == 0 && g[i].id == BB_UNKNOWN)
            continue;
        cJSON *o = jrow(a);
        jtext(o, "label", label);
        jcount(o, "customers", g[i].customers);
        jpct(o, "share", g[i].customer_share);
        jcount(o, "active", g[i].active);
        jmoney(o, "revenue", (double)g[i].revenue_cents);
        jpct(o, "revenue_share", g[i].revenue_share);
    }
}

bb_err bb_section_sales_html(const bb_report *r, cJSON *model, bb_log *log)
{
    const bb_sales *s = r->sales;
    const bb_dataset *ds = r->ds;
    if (!s)
        return BB_OK;
    bool m = s->has_revenue;
    const bb_sales_period *P = s->period;
    cJSON *o = cJSON_AddObjectToObject(model, "sales");
    if (!o) {
        bb_error(log, "report.html: out of memory for the sales section");
        return BB_ERR_NOMEM;
    }
    char text[1024], b[64];
    cJSON_AddBoolToObject(o, "has_revenue", m);
    cJSON_AddBoolToObject(o, "paid_prices", s->paid_prices && m);
    cJSON_AddBoolToObject(o, "has_period", P[0].has_data);
    jtext(o, "period_word", period_word(s));
    jtext(o, "period", P[0].label);
    jtext(o, "prev", P[1].label);
    jtext(o, "year", P[2].label);
    if (P[0].has_data)
        period_sentence(s, text, sizeof text);
    else
        snprintf(text, sizeof text, "The data holds no complete %s before the as-of date: no period figures.",
                 period_word(s));
    jtext(o, "period_sentence", text);
    if (!m)
        jtext(o, "no_revenue_note", "The purchases file has no prices: revenue is not known, so revenue figures are "
                                    "left out and rankings use units and visits.");

    cJSON *kpis = cJSON_AddArrayToObject(o, "kpis"), *tiles = cJSON_AddArrayToObject(o, "tiles");
    for (int i = 0; i < BB_KPI__COUNT && P[0].has_data; i++) {
        const bb_sales_kpi *k = &s->kpi[i];
        if (!k->known)
            continue;
        cJSON *row = jrow(kpis);
        jtext(row, "name", k->name);
        jtext(row, "definition", k->definition);
        jtext(row, "value", kpi_value(b, sizeof b, k, BB_SALES_CUR));
        jtext(row, "prev", kpi_value(b, sizeof b, k, BB_SALES_PREV));
        jtext(row, "change_prev", kpi_change(b, sizeof b, k, BB_SALES_PREV));
        jtext(row, "tone_prev", tone_class(kpi_tone(k, BB_SALES_PREV)));
        jtext(row, "year", kpi_value(b, sizeof b, k, BB_SALES_YEAR_AGO));
        jtext(row, "change_year", kpi_change(b, sizeof b, k, BB_SALES_YEAR_AGO));
        jtext(row, "tone_year", tone_class(kpi_tone(k, BB_SALES_YEAR_AGO)));
        cJSON *t = jrow(tiles);
        jtext(t, "label", k->name);
        jtext(t, "value", kpi_value(b, sizeof b, k, BB_SALES_CUR));
        char delta[128], ch[32];
        if (k->has[BB_SALES_PREV])
            snprintf(delta, sizeof delta, "%s vs %s", kpi_change(ch, sizeof ch, k, BB_SALES_PREV), P[1].label);
        else
            snprintf(delta, sizeof delta, "no earlier %s", period_word(s));
        jtext(t, "delta", delta);
        jtext(t, "tone", tone_class(kpi_tone(k, BB_SALES_PREV)));
    }
    cJSON *findings = cJSON_AddArrayToObject(o, "findings"), *top = cJSON_AddArrayToObject(o, "top_findings");
    for (size_t i = 0; i < s->n_findings; i++) {
        cJSON_AddItemToArray(findings, cJSON_CreateString(s->findings[i]));
        if (i < SUMMARY_FINDINGS)
            cJSON_AddItemToArray(top, cJSON_CreateString(s->findings[i]));
    }

    jchart(r, o, "chart_daily", "sales_daily");
    jchart(r, o, "chart_monthly", "sales_monthly");
    jchart(r, o, "chart_weekdays", "sales_weekdays");
    jchart(r, o, "chart_categories", "sales_categories");
    jchart(r, o, "chart_subcategories", "sales_subcategories");
    jchart(r, o, "chart_top_items", "sales_top_items");
    jchart(r, o, "chart_bottom_items", "sales_bottom_items");
    jchart(r, o, "chart_age", "sales_age");
    jchart(r, o, "chart_cohorts", "sales_cohorts");

    /* Trends */
    cJSON *months = cJSON_AddArrayToObject(o, "months");
    size_t last = last_complete_month(s);
    if (last < s->n_months) {
        size_t n = last + 1 < SHOW_MONTHS ? last + 1 : SHOW_MONTHS;
        for (size_t i = last + 1 - n; i <= last; i++) {
            const bb_sales_bucket *mb = &s->months[i];
            cJSON *row = jrow(months);
            month_text(mb->first, b, sizeof b);
            jtext(row, "month", b);
            jmoney(row, "revenue", (double)mb->revenue_cents);
            jmoney(row, "prev_year", mb->has_prev_year ? (double)mb->prev_year_revenue_cents : NAN);
            jtext(row, "change", signed_pct(b, sizeof b, mb->prev_year_change_pct));
            jcount(row, "visits", (double)mb->visits);
            jcount(row, "customers", (double)mb->customers);
            jcount(row, "units", (double)mb->units);
        }
    }
    cJSON *weeks = cJSON_AddArrayToObject(o, "weeks");
    size_t lastw = s->n_weeks;
    while (lastw > 0 && !s->weeks[lastw - 1].complete)
        lastw--;
    for (size_t i = lastw - (lastw < SHOW_WEEKS ? lastw : SHOW_WEEKS); i < lastw; i++) {
        const bb_sales_bucket *wb = &s->weeks[i];
        cJSON *row = jrow(weeks);
        char d[11];
        bb_date_format(wb->first, d);
        jtext(row, "week", d);
        jmoney(row, "revenue", (double)wb->revenue_cents);
        jcount(row, "visits", (double)wb->visits);
        jcount(row, "customers", (double)wb->customers);
        jcount(row, "units", (double)wb->units);
    }
    cJSON *wds = cJSON_AddArrayToObject(o, "weekdays");
    for (int k = 0; k < 7 && s->n_days > 0; k++) {
        const bb_sales_weekday *w = &s->weekdays[k];
        cJSON *row = jrow(wds);
        jtext(row, "day", WEEKDAYS[k]);
        jcount(row, "days", w->days);
        jmoney(row, "revenue_per_day", w->avg_revenue_cents);
        jcount(row, "units", (double)w->units);
        jpct(row, "share", w->revenue_share);
        jtext(row, "visits_per_day", isnan(w->avg_visits) ? "–" : bb_fmt_fixed(b, sizeof b, w->avg_visits, 1));
    }

    /* Categories */
    if (ds->quality[BB_FILE_ITEMS].derived)
        jtext(o, "no_items", "No items file: categories and subcategories are not known.");
    snprintf(text, sizeof text, "Share %s", P[0].short_label);
    jtext(o, "share_label", text);
    snprintf(text, sizeof text, "vs %s", P[1].short_label);
    jtext(o, "change_label", text);
    for (int sub = 0; sub < 2; sub++) {
        cJSON *a = cJSON_AddArrayToObject(o, sub ? "subcategories" : "categories");
        size_t n = sub ? s->n_subcategories : s->n_categories;
        for (size_t i = 0; i < n; i++) {
            const bb_sales_group *g = sub ? &s->subcategories[i] : &s->categories[i];
            cJSON *row = jrow(a);
            jtext(row, "category", category_name(ds, g->category));
            jtext(row, "subcategory", sub ? subcategory_name(ds, g->id) : "");
            jmoney(row, "revenue", (double)g->revenue_cents);
            jpct(row, "revenue_share", g->revenue_share);
            jcount(row, "units", (double)g->units);
            jpct(row, "units_share", g->units_share);
            jpct(row, "period_share", g->period_share[BB_SALES_CUR]);
            jtext(row, "share_change", signed_points(b, sizeof b, g->share_change));
        }
    }

    /* Items */
    cJSON *tables = cJSON_AddArrayToObject(o, "item_tables");
    size_t nb = s->n_items - s->bottom_first;
    const char *by = m ? "revenue" : "units sold";
    snprintf(text, sizeof text, "Top %zu items by %s", s->n_top, by);
    html_items(r, tables, text, !m, 0, s->n_top);
    snprintf(text, sizeof text, "Bottom %zu items by %s (ranks %zu to %zu of %zu)", nb, by, s->bottom_first + 1,
             s->n_items, s->n_items);
    html_items(r, tables, text, !m, s->bottom_first, s->n_items);
    if (m) {
        snprintf(text, sizeof text, "Top %zu items by units sold", s->n_top);
        html_items(r, tables, text, true, 0, s->n_top);
        snprintf(text, sizeof text, "Bottom %zu items by units sold (ranks %zu to %zu of %zu)", nb,
                 s->bottom_first + 1, s->n_items, s->n_items);
        html_items(r, tables, text, true, s->bottom_first, s->n_items);
    }
    snprintf(text, sizeof text, "All %zu items are ranked over the whole range, ties by ItemID; unsold items are "
                                "ranked too, so the bottom of the list is the real bottom.", s->n_items);
    jtext(o, "items_note", text);
    if (P[0].has_data) {
        bb_buf u;
        bb_buf_init(&u, 0);
        char n1[32], n2[32];
        bb_err e = s->n_unsold == 0 ? bb_buf_printf(&u, "Every item sold in %s.", P[0].label)
                                    : bb_buf_printf(&u, "Not sold in %s (%s of %s items): ", P[0].label,
                                                    bb_fmt_int(n1, sizeof n1, (int64_t)s->n_unsold),
                                                    bb_fmt_int(n2, sizeof n2, (int64_t)s->n_items));
        for (size_t i = 0; i < s->n_unsold && i < SHOW_UNSOLD && e == BB_OK; i++) {
            const bb_sales_item *x = &s->items[s->unsold[i]];
            char d[11];
            day_text(x->last_day, d);
            e = bb_buf_printf(&u, "%s%s (last sold: %s)", i ? "; " : "", item_name(ds, x->item), d);
        }
        if (e == BB_OK && s->n_unsold > SHOW_UNSOLD)
            e = bb_buf_printf(&u, "; and %zu more (see the workbook).", s->n_unsold - SHOW_UNSOLD);
        else if (e == BB_OK && s->n_unsold > 0)
            e = bb_buf_putc(&u, '.');
        if (e == BB_OK)
            jtext(o, "unsold", u.data);
        bb_buf_free(&u);
    }
    if (!isnan(s->paid_vs_list)) {
        snprintf(text, sizeof text, "Over items with a list price, customers paid %s of unit price times quantity.",
                 pct(b, sizeof b, s->paid_vs_list));
        jtext(o, "list_price_note", text);
    }

    /* Customers */
    if (m && s->spend.n > 0) {
        cJSON *dist = cJSON_AddArrayToObject(o, "distribution");
        static const char *const names[] = {"Mean", "Minimum", "10th percentile", "25th percentile", "Median",
                                            "75th percentile", "90th percentile", "Maximum"};
        const bb_sales_dist *d[2] = {&s->spend, &s->visit_value};
        cJSON *row = jrow(dist);
        jtext(row, "stat", "Customers");
        jcount(row, "spend", (double)s->spend.n);
        jcount(row, "visit", (double)s->visit_value.n);
        for (int k = 0; k < 8; k++) {
            double v[2][8];
            for (int j = 0; j < 2; j++) {
                const double t[] = {d[j]->mean, d[j]->min, d[j]->p10, d[j]->p25,
                                    d[j]->p50,  d[j]->p75, d[j]->p90, d[j]->max};
                memcpy(v[j], t, sizeof t);
            }
            row = jrow(dist);
            jtext(row, "stat", names[k]);
            jmoney(row, "spend", v[0][k]);
            jmoney(row, "visit", v[1][k]);
        }
    }
    bool demo = !ds->quality[BB_FILE_CUSTOMERS].derived;
    cJSON_AddBoolToObject(o, "has_demographics", demo);
    if (demo) {
        html_segments(r, o, "ages", s->age, BB_SALES_AGE_BANDS, 0);
        html_segments(r, o, "genders", s->genders, s->n_genders, 1);
        size_t nz = s->n_zips < SHOW_ZIPS ? s->n_zips : SHOW_ZIPS;
        html_segments(r, o, "zips", s->zips, nz, 2);
        if (s->n_zips > nz) {
            snprintf(text, sizeof text, "The %zu zip codes with the most %s; the workbook lists all %zu.", nz,
                     m ? "revenue" : "customers", s->n_zips);
            jtext(o, "zips_note", text);
        }
        cJSON *reach = cJSON_AddArrayToObject(o, "reach");
        const bb_sales_reach *ra = &s->reach_all, *rv = &s->reach_active;
        struct {
            const char *label;
            uint32_t a, v;
            double sa, sv;
        } rows[] = {
            {"E-mail", ra->email, rv->email, ra->email_share, rv->email_share},
            {"SMS", ra->sms, rv->sms, ra->sms_share, rv->sms_share},
            {"E-mail or SMS", ra->either, rv->either, ra->either_share, rv->either_share},
            {"Both", ra->both, rv->both, ra->both_share, rv->both_share},
        };
        for (size_t i = 0; i < 4; i++) {
            cJSON *row = jrow(reach);
            jtext(row, "label", rows[i].label);
            jcount(row, "customers", rows[i].a);
            jpct(row, "share", rows[i].sa);
            jcount(row, "active", rows[i].v);
            jpct(row, "active_share", rows[i].sv);
        }
    } else {
        jtext(o, "no_demographics", "No customers file: age, gender, zip code and subscriptions are not known.");
    }

    /* Staff */
    if (bb_intern_count(ds->employees) == 0)
        jtext(o, "no_staff", "The purchases name no employee: there are no staff figures.");
    cJSON_AddBoolToObject(o, "has_categories", !ds->quality[BB_FILE_ITEMS].derived);
    cJSON *staff = cJSON_AddArrayToObject(o, "staff");
    snprintf(text, sizeof text, "Revenue %s", P[0].short_label);
    jtext(o, "staff_period_label", text);
    for (size_t i = 0; i < s->n_staff; i++) {
        const bb_sales_staff *st = &s->staff[i];
        cJSON *row = jrow(staff);
        jtext(row, "employee", employee_name(ds, st->employee));
        cJSON_AddBoolToObject(row, "none", st->employee == BB_UNKNOWN);
        jmoney(row, "revenue", (double)st->revenue_cents);
        jpct(row, "share", st->revenue_share);
        jcount(row, "services", (double)st->services);
        jcount(row, "units", (double)st->units);
        jcount(row, "customers", (double)st->customers);
        jmoney(row, "period_revenue", (double)st->period_revenue_cents[BB_SALES_CUR]);
        if (st->employee == BB_UNKNOWN) {
            if (st->top_category != BB_UNKNOWN)
                snprintf(text, sizeof text,
                         "\"No employee\" stands for sales recorded without an EmployeeID (%s of them %s), not for a "
                         "person.",
                         pct(b, sizeof b, st->top_category_share), category_name(ds, st->top_category));
            else
                snprintf(text, sizeof text, "\"No employee\" stands for sales recorded without an EmployeeID, not for "
                                            "a person.");
            jtext(o, "staff_note", text);
        }
    }

    /* Wrappers (captions, headings) of lists are shown only when the list is not empty. */
    static const char *const lists[] = {"findings", "months", "weeks", "weekdays", "distribution"};
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
        char key[32];
        snprintf(key, sizeof key, "has_%s", lists[i]);
        cJSON_AddBoolToObject(o, key, cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(o, lists[i])) > 0);
    }

    /* Cohorts */
    const bb_sales_cohorts *co = &s->cohorts;
    cJSON_AddBoolToObject(o, "has_cohorts", co->n_cohorts > 0);
    if (co->n_cohorts > 0) {
        size_t rows = co->n_cohorts < SHOW_COHORTS ? co->n_cohorts : SHOW_COHORTS, from = co->n_cohorts - rows;
        size_t cols = co->n_offsets < SHOW_OFFSETS ? co->n_offsets : SHOW_OFFSETS;
        cJSON *heads = cJSON_AddArrayToObject(o, "cohort_months");
        for (size_t k = 0; k < cols; k++) {
            snprintf(b, sizeof b, "%zu", k);
            cJSON_AddItemToArray(heads, cJSON_CreateString(b));
        }
        cJSON *crow = cJSON_AddArrayToObject(o, "cohorts");
        for (size_t i = from; i < co->n_cohorts; i++) {
            cJSON *row = jrow(crow);
            month_text(bb_date_month_start(co->month[i]), b, sizeof b);
            jtext(row, "month", b);
            jcount(row, "size", co->size[i]);
            cJSON *cells_a = cJSON_AddArrayToObject(row, "cells");
            for (size_t k = 0; k < cols; k++) {
                double v = co->retention[i * co->n_offsets + k];
                cJSON_AddItemToArray(cells_a, cJSON_CreateString(isnan(v) ? "" : pct(b, sizeof b, v)));
            }
        }
        char a1[32], a2[32], a3[32];
        snprintf(text, sizeof text,
                 "Not in a cohort: %s customers registered before the first purchase month or in older cohorts, %s "
                 "without a registration date, %s registered after the last complete month.",
                 bb_fmt_int(a1, sizeof a1, (int64_t)(co->before_data + co->earlier_cohorts)),
                 bb_fmt_int(a2, sizeof a2, (int64_t)co->no_date), bb_fmt_int(a3, sizeof a3, (int64_t)co->recent));
        jtext(o, "cohort_note", text);
    }
    return BB_OK;
}

void bb_section_sales_kpi_text(const bb_sales_kpi *k, char *value, size_t value_size, char *change,
                               size_t change_size)
{
    if (!k->known) {
        snprintf(value, value_size, "–");
        snprintf(change, change_size, "–");
        return;
    }
    kpi_value(value, value_size, k, BB_SALES_CUR);
    kpi_change(change, change_size, k, BB_SALES_PREV);
}
