/*
 * section_segments.c - the segmentation laid out: charts, PDF, workbook,
 * HTML model. Numbers are formatted here (util/fmt.h, locale-free); every
 * one of them was computed by the segment stage.
 *
 * Groups: "rows" of the section are the k segments in value order, then the
 * "No purchases yet" group when it has customers (group index k).
 */
#include "render/section_segments.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render/chart.h"
#include "segment/segment.h"
#include "util/buf.h"
#include "util/date.h"
#include "util/fmt.h"
#include "util/fs.h"

#define MAX_GENDER_COLS 3
static const char *const AGE_BANDS[BB_SEG_AGE_BANDS] = {"Under 25", "25-34", "35-44", "45-54",
                                                        "55-64", "65+", "Unknown"};

/* ---- reading the model ------------------------------------------------- */

static int n_groups(const bb_segmentation *s)
{
    return s->k + (s->none.customers > 0 ? 1 : 0);
}

static const bb_seg_profile *group(const bb_segmentation *s, int g)
{
    return g < s->k ? &s->segments[g] : &s->none;
}

/* The features shown: those the clustering used, in feature order. */
static int shown_features(const bb_segmentation *s, bb_seg_feature out[BB_SEG_FEATURES])
{
    int n = 0;
    for (int d = 0; d < s->n_dims; d++)
        out[n++] = (bb_seg_feature)s->dims[d];
    return n;
}

/* Gender columns: the MAX_GENDER_COLS most common genders (ties by id),
 * the rest as "Other", then "Unknown" when anyone's is unknown. */
typedef struct gender_cols {
    uint32_t id[MAX_GENDER_COLS];
    int n;
    bool other, unknown;
} gender_cols;

static void pick_genders(const bb_segmentation *s, gender_cols *gc)
{
    memset(gc, 0, sizeof *gc);
    uint64_t total[64] = {0};
    uint32_t ng = s->n_genders < 64 ? s->n_genders : 64;
    uint64_t unknown = 0, beyond = 0;
    for (int g = 0; g <= s->k; g++) {
        const bb_seg_profile *p = g < s->k ? &s->segments[g] : &s->none;
        if (!p->gender)
            continue;
        for (uint32_t i = 0; i < s->n_genders; i++) {
            if (i < ng)
                total[i] += p->gender[i];
            else
                beyond += p->gender[i];
        }
        unknown += p->gender[s->n_genders];
    }
    bool taken[64] = {false};
    while (gc->n < MAX_GENDER_COLS) {
        int best = -1;
        for (uint32_t i = 0; i < ng; i++)
            if (!taken[i] && total[i] > 0 && (best < 0 || total[i] > total[best]))
                best = (int)i;
        if (best < 0)
            break;
        taken[best] = true;
        gc->id[gc->n++] = (uint32_t)best;
    }
    for (uint32_t i = 0; i < ng; i++)
        if (!taken[i] && total[i] > 0)
            gc->other = true;
    gc->other = gc->other || beyond > 0;
    gc->unknown = unknown > 0;
}

static uint32_t gender_other(const bb_segmentation *s, const bb_seg_profile *p, const gender_cols *gc)
{
    uint32_t sum = 0;
    for (uint32_t i = 0; i < s->n_genders; i++) {
        bool shown = false;
        for (int c = 0; c < gc->n; c++)
            shown = shown || gc->id[c] == i;
        if (!shown)
            sum += p->gender[i];
    }
    return sum;
}

/* ---- formatting -------------------------------------------------------- */

static const char *DASH = "\xe2\x80\x93"; /* en dash: no value */

/* A feature value for people. Medians of whole numbers print whole. */
static char *fmt_feature(char *buf, size_t size, bb_seg_feature f, double v)
{
    if (!isfinite(v)) {
        snprintf(buf, size, "%s", DASH);
        return buf;
    }
    switch (bb_features_unit(f)) {
    case BB_SEG_UNIT_MONEY:
        return bb_fmt_fixed(buf, size, v, 2);
    case BB_SEG_UNIT_SHARE:
        return bb_fmt_pct(buf, size, v, 0);
    case BB_SEG_UNIT_DAYS:
        return bb_fmt_fixed(buf, size, v, 0);
    default:
        return bb_fmt_fixed(buf, size, v, v == floor(v) ? 0 : 1);
    }
}

static char *fmt_share(char *buf, size_t size, double ratio)
{
    if (!isfinite(ratio)) {
        snprintf(buf, size, "%s", DASH);
        return buf;
    }
    return bb_fmt_pct(buf, size, ratio, 1);
}

static char *fmt_ratio_of(char *buf, size_t size, uint32_t part, uint32_t whole)
{
    return fmt_share(buf, size, whole ? (double)part / (double)whole : NAN);
}

static char *fmt_score(char *buf, size_t size, double v, int decimals)
{
    if (!isfinite(v)) {
        snprintf(buf, size, "%s", DASH);
        return buf;
    }
    return bb_fmt_fixed(buf, size, v, decimals);
}

static char *fmt_int(char *buf, size_t size, int64_t v)
{
    return bb_fmt_int(buf, size, v);
}

/* "recency, frequency and monetary" as labels: "days since last visit, visits and total spend". */
static void feature_list(const bb_segmentation *s, char *out, size_t size)
{
    bb_seg_feature f[BB_SEG_FEATURES];
    int n = shown_features(s, f);
    size_t len = 0;
    out[0] = '\0';
    for (int i = 0; i < n && len < size; i++) {
        const char *sep = i == 0 ? "" : i == n - 1 ? " and " : ", ";
        char label[96];
        snprintf(label, sizeof label, "%s", bb_features_label(f[i]));
        if (label[0] >= 'A' && label[0] <= 'Z')
            label[0] = (char)(label[0] - 'A' + 'a');
        int w = snprintf(out + len, size - len, "%s%s", sep, label);
        if (w < 0)
            break;
        len += (size_t)w;
    }
}

/* What happens to customers without purchases, in a sentence. */
static void none_sentence(const bb_segmentation *s, char *out, size_t size)
{
    char n[32];
    if (s->none.customers == 0)
        snprintf(out, size, "Every customer has at least one purchase.");
    else
        snprintf(out, size, "%s customer%s without a purchase yet form%s the group \"%s\".",
                 bb_fmt_int(n, sizeof n, s->none.customers), s->none.customers == 1 ? "" : "s",
                 s->none.customers == 1 ? "s" : "", BB_NAMING_NONE);
}

/* The note of one row of the k scan: "in use; best by silhouette, DB". */
static void scan_note(const bb_segmentation *s, int k, char *out, size_t size)
{
    const char *best[3];
    int n = 0;
    if (k == s->k_by_silhouette)
        best[n++] = "silhouette";
    if (k == s->k_by_davies_bouldin)
        best[n++] = "DB";
    if (k == s->k_by_calinski_harabasz)
        best[n++] = "CH";
    size_t len = (size_t)snprintf(out, size, "%s", k == s->k ? "in use" : "");
    for (int i = 0; i < n && len < size; i++) {
        const char *lead = i ? ", " : len ? "; best by " : "best by ";
        int w = snprintf(out + len, size - len, "%s%s", lead, best[i]);
        if (w < 0)
            break;
        len += (size_t)w;
    }
}

/* What the scores say about k, in a paragraph. */
static void k_paragraph(const bb_segmentation *s, char *out, size_t size)
{
    if (s->n_scan == 0) {
        snprintf(out, size, "There are too few customers with purchases to compare numbers of segments.");
        return;
    }
    int k0 = s->scan[0].k, k1 = s->scan[s->n_scan - 1].k;
    char agree[256];
    if (s->k_by_silhouette && s->k_by_silhouette == s->k_by_davies_bouldin &&
        s->k_by_silhouette == s->k_by_calinski_harabasz)
        snprintf(agree, sizeof agree, "All three scores favour k = %d.", s->k_favoured);
    else
        snprintf(agree, sizeof agree,
                 "The silhouette is highest at k = %d, the Davies-Bouldin index lowest at k = %d and the "
                 "Calinski-Harabasz index highest at k = %d; taken together they favour k = %d.",
                 s->k_by_silhouette, s->k_by_davies_bouldin, s->k_by_calinski_harabasz, s->k_favoured);
    char use[256];
    if (s->k == s->k_favoured)
        snprintf(use, sizeof use, "This report uses k = %d, the same.", s->k);
    else
        snprintf(use, sizeof use,
                 "This report uses k = %d, as configured ([segments] k): more segments give finer groups for "
                 "marketing at the cost of less distinct ones.",
                 s->k);
    char sample[300] = "", n[32], all[32];
    if (s->scan_sampled)
        snprintf(sample, sizeof sample,
                 " The scan ran on a fixed sample of %s of the %s customers with purchases, so its scores are "
                 "estimates; the segments in use come from all of them.",
                 bb_fmt_int(n, sizeof n, (int64_t)s->scan_n), bb_fmt_int(all, sizeof all, s->n_clustered));
    if (s->silhouette_sampled) {
        size_t len = strlen(sample);
        snprintf(sample + len, sizeof sample - len,
                 " The silhouette is measured on a fixed sample of %s customers.",
                 bb_fmt_int(n, sizeof n, (int64_t)s->silhouette_n));
    }
    snprintf(out, size,
             "k-means was run for k = %d to %d, %d restarts each. %s %s Inertia always falls as k grows, so it "
             "shows where adding segments stops paying off rather than a best k.%s",
             k0, k1, s->n_init, agree, use, sample);
}

/* "Typical customer: last visit 11 days ago, 26 visits, one every 31 days,
 * 55.16 per visit." from the medians of the features in use; "" when none
 * applies (the no-purchase group). */
static void typical_sentence(const bb_segmentation *s, const bb_seg_profile *p, char *out, size_t size)
{
    char parts[5][96], v[48];
    int n = 0;
    const double *m = p->median;
    const size_t ps = sizeof parts[0];
    if (s->scale[BB_SEG_RECENCY].used && isfinite(m[BB_SEG_RECENCY]))
        snprintf(parts[n++], ps, "last visit %s days ago", bb_fmt_fixed(v, sizeof v, m[BB_SEG_RECENCY], 0));
    if (s->scale[BB_SEG_FREQUENCY].used && isfinite(m[BB_SEG_FREQUENCY]) && m[BB_SEG_FREQUENCY] > 0)
        snprintf(parts[n++], ps, "%s visit%s", fmt_feature(v, sizeof v, BB_SEG_FREQUENCY, m[BB_SEG_FREQUENCY]),
                 m[BB_SEG_FREQUENCY] == 1 ? "" : "s");
    if (s->scale[BB_SEG_MEAN_GAP].used && isfinite(m[BB_SEG_MEAN_GAP]) && m[BB_SEG_FREQUENCY] > 1)
        snprintf(parts[n++], ps, "one every %s days", bb_fmt_fixed(v, sizeof v, m[BB_SEG_MEAN_GAP], 0));
    if (s->scale[BB_SEG_AVG_VISIT_VALUE].used && isfinite(m[BB_SEG_AVG_VISIT_VALUE]))
        snprintf(parts[n++], ps, "%s per visit", bb_fmt_fixed(v, sizeof v, m[BB_SEG_AVG_VISIT_VALUE], 2));
    if (s->scale[BB_SEG_SERVICE_SHARE].used && isfinite(m[BB_SEG_SERVICE_SHARE]))
        snprintf(parts[n++], ps, "%s of spend on services", bb_fmt_pct(v, sizeof v, m[BB_SEG_SERVICE_SHARE], 0));
    out[0] = '\0';
    if (n == 0)
        return;
    size_t len = (size_t)snprintf(out, size, "Typical customer: ");
    for (int i = 0; i < n && len < size; i++) {
        int w = snprintf(out + len, size - len, "%s%s", i ? ", " : "", parts[i]);
        if (w < 0)
            break;
        len += (size_t)w;
    }
    if (len + 1 < size) {
        out[len] = '.';
        out[len + 1] = '\0';
    }
}

/* The largest moves between segments since the previous run: from-row,
 * to-column and count, biggest first (ties by row, then column). */
typedef struct seg_move {
    int from, to;
    uint32_t n;
} seg_move;

static size_t top_moves(const bb_segmentation *s, seg_move *out, size_t max)
{
    const bb_seg_migrations *m = s->migrations;
    size_t n = 0;
    int cols = s->k + 1;
    for (int i = 0; i < m->n_from; i++)
        for (int j = 0; j < cols; j++) {
            uint32_t c = m->counts[(size_t)i * (size_t)cols + (size_t)j];
            if (c == 0 || strcmp(m->from[i], bb_segment_name(s, j < s->k ? j : BB_SEG_NONE)) == 0)
                continue;
            seg_move mv = {i, j, c};
            size_t at = n < max ? n++ : max;
            while (at > 0 && out[at - 1].n < mv.n) {
                if (at < max)
                    out[at] = out[at - 1];
                at--;
            }
            if (at < max)
                out[at] = mv;
        }
    return n;
}

static uint32_t from_total(const bb_segmentation *s, int from)
{
    uint32_t t = 0;
    for (int j = 0; j <= s->k; j++)
        t += s->migrations->counts[(size_t)from * (size_t)(s->k + 1) + (size_t)j];
    return t;
}

static void migration_sentence(const bb_segmentation *s, char *out, size_t size)
{
    const bb_seg_migrations *m = s->migrations;
    char a[32], b[32], c[32], d[32], p[32];
    snprintf(out, size,
             "Compared with the previous run, %s customers are in both; %s of them (%s) are in another segment "
             "now. %s customers are new and %s are no longer in the data. Segments are matched by name.",
             bb_fmt_int(a, sizeof a, m->matched), bb_fmt_int(b, sizeof b, m->moved),
             fmt_ratio_of(p, sizeof p, m->moved, m->matched), bb_fmt_int(c, sizeof c, m->new_customers),
             bb_fmt_int(d, sizeof d, m->gone));
}

/* ---- charts ------------------------------------------------------------ */

bb_err bb_section_segments_charts(bb_report *r, bb_log *log)
{
    const bb_segmentation *s = r->segments;
    if (!s || s->k == 0)
        return BB_OK;
    char dir[2048];
    snprintf(dir, sizeof dir, "%s/charts", r->run_dir);
    if (bb_fs_mkdirs(dir) != BB_OK) {
        bb_error(log, "cannot create %s", dir);
        return BB_ERR_CANTCREAT;
    }
    bb_chart charts[4];
    char paths[4][2][2600];
    size_t nc = 0;
    bb_err e = BB_OK;

    /* Sizes and value. */
    int ng = n_groups(s);
    const char *names[BB_SEG_MAX_K + 1];
    double cust[BB_SEG_MAX_K + 1], rev[BB_SEG_MAX_K + 1];
    for (int g = 0; g < ng; g++) {
        names[g] = group(s, g)->name;
        cust[g] = group(s, g)->customer_share;
        rev[g] = group(s, g)->revenue_share;
    }
    bb_chart_series size_series[2] = {{.name = "Customers", .values = cust, .n = (size_t)ng},
                                      {.name = "Revenue", .values = rev, .n = (size_t)ng}};
    const char *title =
        s->has_revenue ? "Share of customers and of revenue per segment" : "Share of customers per segment";
    if (bb_report_add_chart(r, "segments_sizes", title, paths[nc][0], paths[nc][1], sizeof paths[0][0])) {
        charts[nc] = (bb_chart){.kind = BB_CHART_HBARS, .title = title, .x_label = "Share",
                                .categories = names, .n_categories = (size_t)ng, .series = size_series,
                                .n_series = s->has_revenue ? 2 : 1, .value_format = BB_AXIS_PERCENT,
                                .show_values = true, .width_px = BB_CHART_DEFAULT_WIDTH,
                                .height_px = 300 + 90 * ng, .png_path = paths[nc][0], .svg_path = paths[nc][1]};
        nc++;
    } else {
        e = BB_ERR_INTERNAL;
    }

    /* The map: customers and centres on the first two principal components. */
    char xl[96], yl[96];
    const char *marker_names[BB_SEG_MAX_K];
    int32_t *groups32 = s->point_segment;
    int *groups = NULL;
    if (e == BB_OK && s->n_points > 0 && s->pca_dims >= 1) {
        groups = malloc(s->n_points * sizeof *groups);
        if (!groups)
            e = BB_ERR_NOMEM;
        for (size_t i = 0; groups && i < s->n_points; i++)
            groups[i] = groups32[i];
        char p1[32], p2[32];
        snprintf(xl, sizeof xl, "Component 1 (%s of the variance)", bb_fmt_pct(p1, sizeof p1, s->pca_ratio[0], 1));
        snprintf(yl, sizeof yl, "Component 2 (%s)", bb_fmt_pct(p2, sizeof p2, s->pca_ratio[1], 1));
        for (int j = 0; j < s->k; j++)
            marker_names[j] = s->segments[j].name;
        title = "Customers on the two main axes of their behaviour";
        if (e == BB_OK &&
            bb_report_add_chart(r, "segments_pca", title, paths[nc][0], paths[nc][1], sizeof paths[0][0])) {
            charts[nc] = (bb_chart){.kind = BB_CHART_SCATTER, .title = title, .x_label = xl, .y_label = yl,
                                    .x = s->point_x, .y = s->point_y, .group = groups, .n_points = s->n_points,
                                    .group_names = marker_names, .n_groups = (size_t)s->k,
                                    .marker_x = s->centroid_x, .marker_y = s->centroid_y,
                                    .n_markers = (size_t)s->k, .marker_name = "Segment centre",
                                    .value_format = BB_AXIS_NUMBER, .x_format = BB_AXIS_NUMBER,
                                    .png_path = paths[nc][0], .svg_path = paths[nc][1]};
            nc++;
        } else if (e == BB_OK) {
            e = BB_ERR_INTERNAL;
        }
    }

    /* The k scan. */
    char klabels[BB_SEG_MAX_K][8];
    const char *kcat[BB_SEG_MAX_K];
    double inertia[BB_SEG_MAX_K], sil[BB_SEG_MAX_K], db[BB_SEG_MAX_K];
    size_t nk = s->n_scan < BB_SEG_MAX_K ? s->n_scan : BB_SEG_MAX_K;
    for (size_t i = 0; i < nk; i++) {
        snprintf(klabels[i], sizeof klabels[i], "%d", s->scan[i].k);
        kcat[i] = klabels[i];
        inertia[i] = s->scan[i].inertia;
        sil[i] = s->scan[i].silhouette;
        db[i] = s->scan[i].davies_bouldin;
    }
    bb_chart_series elbow = {.name = "Inertia", .values = inertia, .n = nk};
    bb_chart_series quality[2] = {
        {.name = "Silhouette (higher is better)", .values = sil, .n = nk},
        {.name = "Davies-Bouldin (lower is better)", .values = db, .n = nk, .dashed = true}};
    if (e == BB_OK && nk >= 2) {
        title = "Inertia by number of segments";
        if (bb_report_add_chart(r, "segments_elbow", title, paths[nc][0], paths[nc][1], sizeof paths[0][0])) {
            charts[nc] = (bb_chart){.kind = BB_CHART_LINES, .title = title, .x_label = "Segments (k)",
                                    .y_label = "Inertia (sum of squared distances)", .categories = kcat,
                                    .n_categories = nk, .series = &elbow, .n_series = 1,
                                    .value_format = BB_AXIS_NUMBER, .y_tight = true,
                                    .width_px = BB_CHART_DEFAULT_WIDTH, .height_px = 800,
                                    .png_path = paths[nc][0], .svg_path = paths[nc][1]};
            nc++;
        } else {
            e = BB_ERR_INTERNAL;
        }
        title = "Silhouette and Davies-Bouldin by number of segments";
        if (e == BB_OK &&
            bb_report_add_chart(r, "segments_quality", title, paths[nc][0], paths[nc][1], sizeof paths[0][0])) {
            charts[nc] = (bb_chart){.kind = BB_CHART_LINES, .title = title, .x_label = "Segments (k)",
                                    .y_label = "Score", .categories = kcat, .n_categories = nk,
                                    .series = quality, .n_series = 2, .value_format = BB_AXIS_NUMBER,
                                    .width_px = BB_CHART_DEFAULT_WIDTH, .height_px = 800,
                                    .png_path = paths[nc][0], .svg_path = paths[nc][1]};
            nc++;
        } else if (e == BB_OK) {
            e = BB_ERR_INTERNAL;
        }
    }
    if (e == BB_OK) {
        char err[1024] = "";
        e = bb_chart_render(charts, nc, err, sizeof err);
        if (e != BB_OK)
            bb_error(log, "segment charts: %s", err);
        else if (err[0])
            bb_warn(log, "segment charts: %s", err);
    } else {
        bb_error(log, "segment charts: %s", bb_strerror(e));
    }
    free(groups);
    return e;
}

/* ---- PDF --------------------------------------------------------------- */

typedef bb_pdf_cells cells;

static bb_err chart_image(const bb_report *r, bb_pdf *pdf, const char *name, const char *caption, double max_h)
{
    const bb_report_chart *ch = bb_report_find_chart(r, name);
    if (!ch)
        return BB_OK;
    char path[2600];
    snprintf(path, sizeof path, "%s/%s", r->run_dir, ch->png);
    return bb_pdf_image(pdf, path, caption, max_h);
}

static bb_err pdf_overview(const bb_report *r, bb_pdf *pdf)
{
    const bb_segmentation *s = r->segments;
    char text[1400], feats[600], n1[32];
    feature_list(s, feats, sizeof feats);
    char none[160];
    none_sentence(s, none, sizeof none);
    snprintf(text, sizeof text,
             "%s customers with purchases are grouped into %d segments by how they buy: %s, as of %s. %s "
             "Segments are listed from the most valuable to the least and are named by rules on their "
             "profiles, never by a cluster's number, so a name keeps its meaning from one night to the next.",
             bb_fmt_int(n1, sizeof n1, s->n_clustered), s->k, feats, r->as_of, none);
    bb_err e = bb_pdf_paragraph(pdf, text);
    char v[4][48];
    bb_pdf_kpi k[4];
    size_t nk = 0;
    k[nk++] = (bb_pdf_kpi){"Segments", bb_fmt_int(v[0], sizeof v[0], s->k), NULL, BB_PDF_TONE_NEUTRAL};
    k[nk++] = (bb_pdf_kpi){"With purchases", bb_fmt_int(v[1], sizeof v[1], s->n_clustered), NULL,
                           BB_PDF_TONE_NEUTRAL};
    k[nk++] = (bb_pdf_kpi){"No purchases yet", bb_fmt_int(v[2], sizeof v[2], s->none.customers), NULL,
                           BB_PDF_TONE_NEUTRAL};
    char in_use[48];
    if (s->k_favoured) {
        snprintf(v[3], sizeof v[3], "k = %d", s->k_favoured);
        snprintf(in_use, sizeof in_use, "k in use: %d", s->k);
        k[nk++] = (bb_pdf_kpi){"Scores favour", v[3], in_use, BB_PDF_TONE_NEUTRAL};
    }
    if (e == BB_OK)
        e = bb_pdf_kpis(pdf, k, nk);
    return e;
}

static bb_err pdf_sizes(const bb_report *r, bb_pdf *pdf)
{
    const bb_segmentation *s = r->segments;
    bool money = s->has_revenue;
    bb_pdf_column all[] = {{"Segment", BB_PDF_LEFT, 2.0},     {"Customers", BB_PDF_RIGHT, 1.1},
                           {"Share", BB_PDF_RIGHT, 0.9},      {"Revenue", BB_PDF_RIGHT, 1.4},
                           {"Revenue share", BB_PDF_RIGHT, 1.3}, {"Visits", BB_PDF_RIGHT, 0.9}};
    bb_pdf_column cols[6];
    size_t ncols = 0;
    for (size_t i = 0; i < 6; i++)
        if (money || (i != 3 && i != 4))
            cols[ncols++] = all[i];
    cells c = {0};
    char b[64];
    int64_t visits = 0;
    for (int g = 0; g < n_groups(s); g++) {
        const bb_seg_profile *p = group(s, g);
        bb_pdf_cells_add(&c, p->name);
        bb_pdf_cells_add(&c, fmt_int(b, sizeof b, p->customers));
        bb_pdf_cells_add(&c, fmt_share(b, sizeof b, p->customer_share));
        if (money) {
            bb_pdf_cells_add(&c, bb_fmt_money(b, sizeof b, p->revenue_cents));
            bb_pdf_cells_add(&c, fmt_share(b, sizeof b, p->revenue_share));
        }
        bb_pdf_cells_add(&c, fmt_int(b, sizeof b, p->visits));
        visits += p->visits;
    }
    bb_pdf_cells_add(&c, "All customers");
    bb_pdf_cells_add(&c, fmt_int(b, sizeof b, s->n_customers));
    bb_pdf_cells_add(&c, fmt_share(b, sizeof b, s->n_customers ? 1.0 : NAN));
    if (money) {
        bb_pdf_cells_add(&c, bb_fmt_money(b, sizeof b, s->revenue_cents));
        bb_pdf_cells_add(&c, fmt_share(b, sizeof b, s->revenue_cents > 0 ? 1.0 : NAN));
    }
    bb_pdf_cells_add(&c, fmt_int(b, sizeof b, visits));
    bb_err e = bb_pdf_heading(pdf, 2, "Sizes and value");
    if (e == BB_OK)
        e = bb_pdf_cells_table(pdf, cols, ncols, &c, true);
    else
        bb_pdf_cells_table(pdf, cols, ncols, &c, true);
    if (e == BB_OK)
        e = chart_image(r, pdf, "segments_sizes", NULL, 330);
    return e;
}

/* A feature value in a PDF cell: money without cents from 100 up, so that
 * "median / mean" fits a column. */
static char *fmt_feature_cell(char *buf, size_t size, bb_seg_feature f, double v)
{
    if (isfinite(v) && bb_features_unit(f) == BB_SEG_UNIT_MONEY && fabs(v) >= 100)
        return bb_fmt_fixed(buf, size, v, 0);
    return fmt_feature(buf, size, f, v);
}

/* One profile table over the shown features among want[0..nwant): each
 * cell "median / mean". */
static bb_err pdf_profile_table(const bb_segmentation *s, bb_pdf *pdf, const bb_seg_feature *want, int nwant)
{
    bb_seg_feature shown[BB_SEG_FEATURES], f[BB_SEG_FEATURES];
    int ns = shown_features(s, shown), nf = 0;
    for (int i = 0; i < nwant; i++)
        for (int j = 0; j < ns; j++)
            if (shown[j] == want[i])
                f[nf++] = want[i];
    if (nf == 0)
        return BB_OK;
    bb_pdf_column cols[BB_SEG_FEATURES + 1];
    cols[0] = (bb_pdf_column){"Segment", BB_PDF_LEFT, 1.6};
    for (int i = 0; i < nf; i++)
        cols[i + 1] = (bb_pdf_column){bb_features_short(f[i]), BB_PDF_RIGHT, 1.0};
    cells c = {0};
    char a[64], b[64], both[140];
    for (int g = 0; g < n_groups(s); g++) {
        const bb_seg_profile *p = group(s, g);
        bb_pdf_cells_add(&c, p->name);
        for (int i = 0; i < nf; i++) {
            fmt_feature_cell(a, sizeof a, f[i], p->median[f[i]]);
            fmt_feature_cell(b, sizeof b, f[i], p->mean[f[i]]);
            snprintf(both, sizeof both, "%s / %s", a, b);
            bb_pdf_cells_add(&c, isfinite(p->median[f[i]]) ? both : DASH);
        }
    }
    return bb_pdf_cells_table(pdf, cols, (size_t)nf + 1, &c, false);
}

static bb_err pdf_profiles(const bb_report *r, bb_pdf *pdf)
{
    const bb_segmentation *s = r->segments;
    if (s->n_dims == 0)
        return BB_OK;
    static const bb_seg_feature visits[] = {BB_SEG_RECENCY, BB_SEG_FREQUENCY, BB_SEG_MEAN_GAP,
                                            BB_SEG_LONGEST_STREAK, BB_SEG_TENURE};
    static const bb_seg_feature spend[] = {BB_SEG_MONETARY, BB_SEG_AVG_VISIT_VALUE, BB_SEG_SERVICE_SHARE,
                                           BB_SEG_UNITS_PER_VISIT};
    bb_err e = bb_pdf_heading(pdf, 2, "Profiles");
    if (e == BB_OK)
        e = bb_pdf_paragraph(pdf, "The typical and the average customer of each segment, on every feature the "
                                  "segments were built from: each cell is the median / the mean over the "
                                  "segment's customers, each customer counting once however often they bought.");
    if (e == BB_OK)
        e = pdf_profile_table(s, pdf, visits, (int)(sizeof visits / sizeof visits[0]));
    if (e == BB_OK)
        e = pdf_profile_table(s, pdf, spend, (int)(sizeof spend / sizeof spend[0]));
    if (e == BB_OK) {
        bb_seg_feature f[BB_SEG_FEATURES];
        int nf = shown_features(s, f);
        char text[1600];
        size_t len = 0;
        text[0] = '\0';
        for (int i = 0; i < nf && len < sizeof text; i++) {
            int w = snprintf(text + len, sizeof text - len, "%s%s: %s", i ? "; " : "", bb_features_short(f[i]),
                             bb_features_label(f[i]));
            if (w < 0)
                break;
            len += (size_t)w;
        }
        if (len < sizeof text)
            snprintf(text + len, sizeof text - len,
                     ". A visit is all purchases of one customer on one day; the gap of a customer with one "
                     "visit is the time since it. Customers without purchases have no values for most features.");
        e = bb_pdf_note(pdf, text);
    }
    return e;
}

static bb_err pdf_demographics(const bb_report *r, bb_pdf *pdf)
{
    const bb_segmentation *s = r->segments;
    const bb_dataset *ds = r->ds;
    bb_err e = bb_pdf_heading(pdf, 2, "Who they are");
    /* Age bands. */
    static const char *const short_bands[BB_SEG_AGE_BANDS] = {"<25", "25-34", "35-44", "45-54",
                                                              "55-64", "65+", "No age"};
    bb_pdf_column acols[BB_SEG_AGE_BANDS + 2];
    acols[0] = (bb_pdf_column){"Segment", BB_PDF_LEFT, 2.0};
    acols[1] = (bb_pdf_column){"Age", BB_PDF_RIGHT, 0.8};
    for (int a = 0; a < BB_SEG_AGE_BANDS; a++)
        acols[a + 2] = (bb_pdf_column){short_bands[a], BB_PDF_RIGHT, 0.9};
    cells c = {0};
    char b[64];
    for (int g = 0; g < n_groups(s); g++) {
        const bb_seg_profile *p = group(s, g);
        bb_pdf_cells_add(&c, p->name);
        bb_pdf_cells_add(&c, fmt_score(b, sizeof b, p->median_age, p->median_age == floor(p->median_age) ? 0 : 1));
        for (int a = 0; a < BB_SEG_AGE_BANDS; a++)
            bb_pdf_cells_add(&c, fmt_ratio_of(b, sizeof b, p->age_band[a], p->customers));
    }
    if (e == BB_OK)
        e = bb_pdf_cells_table(pdf, acols, BB_SEG_AGE_BANDS + 2, &c, false);
    else
        bb_pdf_cells_table(pdf, acols, BB_SEG_AGE_BANDS + 2, &c, false);

    /* Gender and reach. */
    gender_cols gc;
    pick_genders(s, &gc);
    bb_pdf_column gcols[MAX_GENDER_COLS + 5];
    char gnames[MAX_GENDER_COLS][64];
    size_t ncols = 0;
    gcols[ncols++] = (bb_pdf_column){"Segment", BB_PDF_LEFT, 2.0};
    for (int i = 0; i < gc.n; i++) {
        snprintf(gnames[i], sizeof gnames[i], "%s", bb_intern_str(ds->genders, gc.id[i]));
        gcols[ncols++] = (bb_pdf_column){gnames[i], BB_PDF_RIGHT, 0.9};
    }
    if (gc.other)
        gcols[ncols++] = (bb_pdf_column){"Other", BB_PDF_RIGHT, 0.9};
    if (gc.unknown)
        gcols[ncols++] = (bb_pdf_column){"Gender unknown", BB_PDF_RIGHT, 1.1};
    gcols[ncols++] = (bb_pdf_column){"E-mail", BB_PDF_RIGHT, 0.9};
    gcols[ncols++] = (bb_pdf_column){"SMS", BB_PDF_RIGHT, 0.9};
    for (int g = 0; g < n_groups(s); g++) {
        const bb_seg_profile *p = group(s, g);
        bb_pdf_cells_add(&c, p->name);
        for (int i = 0; i < gc.n; i++)
            bb_pdf_cells_add(&c, fmt_ratio_of(b, sizeof b, p->gender[gc.id[i]], p->customers));
        if (gc.other)
            bb_pdf_cells_add(&c, fmt_ratio_of(b, sizeof b, gender_other(s, p, &gc), p->customers));
        if (gc.unknown)
            bb_pdf_cells_add(&c, fmt_ratio_of(b, sizeof b, p->gender[s->n_genders], p->customers));
        bb_pdf_cells_add(&c, fmt_ratio_of(b, sizeof b, p->email_yes, p->email_known));
        bb_pdf_cells_add(&c, fmt_ratio_of(b, sizeof b, p->sms_yes, p->sms_known));
    }
    if (e == BB_OK)
        e = bb_pdf_cells_table(pdf, gcols, ncols, &c, false);
    else
        bb_pdf_cells_table(pdf, gcols, ncols, &c, false);
    if (e == BB_OK)
        e = bb_pdf_note(pdf, "Age: the median age. Other columns: shares of each segment's customers by age "
                             "band and gender; E-mail and SMS: the share subscribed among customers whose "
                             "choice is known. Demographics describe the segments; they were not used to form "
                             "them.");
    return e;
}

static bb_err pdf_map(const bb_report *r, bb_pdf *pdf)
{
    const bb_segmentation *s = r->segments;
    if (!bb_report_find_chart(r, "segments_pca"))
        return BB_OK;
    bb_err e = bb_pdf_heading(pdf, 2, "Segment map");
    if (e == BB_OK)
        e = chart_image(r, pdf, "segments_pca", NULL, 0);
    if (e == BB_OK) {
        char text[800], n[32], p1[32], p2[32];
        snprintf(text, sizeof text,
                 "Each dot is a customer (%s shown, a fixed sample), placed by the first two principal "
                 "components of the standardized features, which hold %s and %s of their variance. The large "
                 "markers are the segment centres, projected the same way. Segments that overlap here may still "
                 "be apart on the components not drawn.",
                 bb_fmt_int(n, sizeof n, (int64_t)s->n_points), bb_fmt_pct(p1, sizeof p1, s->pca_ratio[0], 1),
                 bb_fmt_pct(p2, sizeof p2, s->pca_ratio[1], 1));
        e = bb_pdf_note(pdf, text);
    }
    return e;
}

static bb_err pdf_choosing_k(const bb_report *r, bb_pdf *pdf)
{
    const bb_segmentation *s = r->segments;
    bb_err e = bb_pdf_heading(pdf, 2, "How many segments");
    char text[1600];
    k_paragraph(s, text, sizeof text);
    if (e == BB_OK)
        e = bb_pdf_paragraph(pdf, text);
    if (s->n_scan == 0)
        return e;
    bb_pdf_column cols[] = {{"k", BB_PDF_RIGHT, 0.4},           {"Inertia", BB_PDF_RIGHT, 1.0},
                            {"Silhouette", BB_PDF_RIGHT, 1.0},  {"Davies-Bouldin", BB_PDF_RIGHT, 1.5},
                            {"Calinski-Harabasz", BB_PDF_RIGHT, 1.9}, {"Note", BB_PDF_LEFT, 2.1}};
    cells c = {0};
    char b[160];
    for (size_t i = 0; i < s->n_scan; i++) {
        const bb_seg_kscore *k = &s->scan[i];
        bb_pdf_cells_add(&c, fmt_int(b, sizeof b, k->k));
        bb_pdf_cells_add(&c, fmt_score(b, sizeof b, k->inertia, 1));
        bb_pdf_cells_add(&c, fmt_score(b, sizeof b, k->silhouette, 3));
        bb_pdf_cells_add(&c, fmt_score(b, sizeof b, k->davies_bouldin, 3));
        bb_pdf_cells_add(&c, fmt_score(b, sizeof b, k->calinski_harabasz, 1));
        scan_note(s, k->k, b, sizeof b);
        bb_pdf_cells_add(&c, b);
    }
    if (e == BB_OK)
        e = bb_pdf_cells_table(pdf, cols, 6, &c, false);
    else
        bb_pdf_cells_table(pdf, cols, 6, &c, false);
    if (e == BB_OK)
        e = chart_image(r, pdf, "segments_elbow", NULL, 300);
    if (e == BB_OK)
        e = chart_image(r, pdf, "segments_quality", NULL, 300);
    if (e == BB_OK)
        e = bb_pdf_note(pdf, "Silhouette: how much closer customers are to their own segment than to the next "
                             "one (-1 to 1, higher is better). Davies-Bouldin (DB): how spread segments are "
                             "against how far apart (lower is better). Calinski-Harabasz (CH): spread between "
                             "segments against spread within (higher is better).");
    return e;
}

static bb_err pdf_migrations(const bb_report *r, bb_pdf *pdf)
{
    const bb_segmentation *s = r->segments;
    if (!s->migrations)
        return BB_OK;
    bb_err e = bb_pdf_heading(pdf, 2, "Since the previous run");
    char text[600];
    migration_sentence(s, text, sizeof text);
    if (e == BB_OK)
        e = bb_pdf_paragraph(pdf, text);
    seg_move mv[10];
    size_t n = top_moves(s, mv, 10);
    if (e != BB_OK || n == 0)
        return e;
    bb_pdf_column cols[] = {{"Previous segment", BB_PDF_LEFT, 2.0}, {"Segment now", BB_PDF_LEFT, 2.0},
                            {"Customers", BB_PDF_RIGHT, 1.0}, {"Share of previous", BB_PDF_RIGHT, 1.3}};
    cells c = {0};
    char b[64];
    for (size_t i = 0; i < n; i++) {
        bb_pdf_cells_add(&c, s->migrations->from[mv[i].from]);
        bb_pdf_cells_add(&c, bb_segment_name(s, mv[i].to < s->k ? mv[i].to : BB_SEG_NONE));
        bb_pdf_cells_add(&c, fmt_int(b, sizeof b, mv[i].n));
        bb_pdf_cells_add(&c, fmt_ratio_of(b, sizeof b, mv[i].n, from_total(s, mv[i].from)));
    }
    return bb_pdf_cells_table(pdf, cols, 4, &c, false);
}

static bb_err pdf_segment(const bb_report *r, bb_pdf *pdf, const bb_seg_profile *p, bool none)
{
    const bb_segmentation *s = r->segments;
    bb_err e = bb_pdf_heading(pdf, 2, p->name);
    char text[1600], n[32], sh[32], rs[32];
    if (none) {
        char reg[64] = "";
        if (isfinite(p->median[BB_SEG_TENURE])) {
            char d[32];
            snprintf(reg, sizeof reg, " The median time since they registered is %s days.",
                     bb_fmt_fixed(d, sizeof d, p->median[BB_SEG_TENURE], 0));
        }
        snprintf(text, sizeof text, "%s customers (%s of all) have no purchase as of %s.%s %s",
                 bb_fmt_int(n, sizeof n, p->customers), fmt_share(sh, sizeof sh, p->customer_share), r->as_of, reg,
                 p->description);
    } else {
        char typical[600], rev[64] = "";
        typical_sentence(s, p, typical, sizeof typical);
        if (s->has_revenue)
            snprintf(rev, sizeof rev, ", %s of revenue", fmt_share(rs, sizeof rs, p->revenue_share));
        snprintf(text, sizeof text, "%s customers (%s of all)%s. %s%s%s", bb_fmt_int(n, sizeof n, p->customers),
                 fmt_share(sh, sizeof sh, p->customer_share), rev, typical, typical[0] ? " " : "", p->description);
    }
    if (e == BB_OK)
        e = bb_pdf_paragraph(pdf, text);
    if (e == BB_OK && p->n_actions > 0) {
        const char *items[BB_SEG_MAX_ACTIONS];
        for (int i = 0; i < p->n_actions; i++)
            items[i] = p->actions[i];
        e = bb_pdf_bullets(pdf, items, (size_t)p->n_actions);
    }
    return e;
}

bb_err bb_section_segments_pdf(const bb_report *r, bb_pdf *pdf)
{
    const bb_segmentation *s = r->segments;
    if (!s)
        return BB_OK;
    bb_err e = bb_pdf_heading(pdf, 1, "Customer segments");
    if (s->k == 0) {
        char text[256], n[32];
        snprintf(text, sizeof text, "No customer has a purchase as of %s, so there is nothing to segment; all %s "
                                    "customers are in the group \"%s\".",
                 r->as_of, bb_fmt_int(n, sizeof n, s->n_customers), BB_NAMING_NONE);
        return e == BB_OK ? bb_pdf_paragraph(pdf, text) : e;
    }
    if (e == BB_OK)
        e = pdf_overview(r, pdf);
    if (e == BB_OK)
        e = pdf_sizes(r, pdf);
    if (e == BB_OK)
        e = pdf_profiles(r, pdf);
    if (e == BB_OK)
        e = pdf_demographics(r, pdf);
    if (e == BB_OK)
        e = pdf_map(r, pdf);
    if (e == BB_OK)
        e = pdf_choosing_k(r, pdf);
    if (e == BB_OK)
        e = pdf_migrations(r, pdf);
    for (int g = 0; g < n_groups(s) && e == BB_OK; g++)
        e = pdf_segment(r, pdf, group(s, g), g == s->k);
    return e;
}

/* ---- workbook ---------------------------------------------------------- */

static bb_err x_feature(bb_xlsx_sheet *sh, bb_seg_feature f, double v)
{
    if (!isfinite(v))
        return bb_xlsx_text(sh, NULL);
    switch (bb_features_unit(f)) {
    case BB_SEG_UNIT_MONEY:
        return bb_xlsx_money(sh, llround(v * 100.0));
    case BB_SEG_UNIT_SHARE:
        return bb_xlsx_percent(sh, v);
    default:
        return bb_xlsx_number(sh, v);
    }
}

static bb_xcol_type x_feature_type(bb_seg_feature f)
{
    switch (bb_features_unit(f)) {
    case BB_SEG_UNIT_MONEY:
        return BB_XCOL_MONEY;
    case BB_SEG_UNIT_SHARE:
        return BB_XCOL_PERCENT;
    default:
        return BB_XCOL_NUMBER;
    }
}

static bb_err segments_sheet(const bb_report *r, bb_xlsx *wb, bb_xlsx_sheet **out)
{
    const bb_segmentation *s = r->segments;
    const bb_dataset *ds = r->ds;
    bool money = s->has_revenue;
    bb_seg_feature f[BB_SEG_FEATURES];
    int nf = shown_features(s, f);
    gender_cols gc;
    pick_genders(s, &gc);
    enum { MAXC = 8 + 2 * BB_SEG_FEATURES + 1 + BB_SEG_AGE_BANDS + MAX_GENDER_COLS + 2 + 2 + 1 };
    bb_xlsx_col cols[MAXC];
    char heads[MAXC][128];
    int n = 0;
    cols[n++] = (bb_xlsx_col){"Segment", BB_XCOL_TEXT, false, false};
    cols[n++] = (bb_xlsx_col){"Customers", BB_XCOL_INT, true, false};
    cols[n++] = (bb_xlsx_col){"Share of customers", BB_XCOL_PERCENT, false, false};
    if (money) {
        cols[n++] = (bb_xlsx_col){"Revenue", BB_XCOL_MONEY, true, false};
        cols[n++] = (bb_xlsx_col){"Share of revenue", BB_XCOL_PERCENT, false, false};
    }
    cols[n++] = (bb_xlsx_col){"Visits", BB_XCOL_INT, false, false};
    cols[n++] = (bb_xlsx_col){"Mean distance to centre", BB_XCOL_NUMBER, false, false};
    for (int i = 0; i < nf; i++) {
        snprintf(heads[n], sizeof heads[n], "%s (median)", bb_features_label(f[i]));
        cols[n] = (bb_xlsx_col){heads[n], x_feature_type(f[i]), false, false};
        n++;
        snprintf(heads[n], sizeof heads[n], "%s (mean)", bb_features_label(f[i]));
        cols[n] = (bb_xlsx_col){heads[n], x_feature_type(f[i]), false, false};
        n++;
    }
    cols[n++] = (bb_xlsx_col){"Median age", BB_XCOL_NUMBER, false, false};
    for (int a = 0; a < BB_SEG_AGE_BANDS; a++) {
        snprintf(heads[n], sizeof heads[n], "Age %s", AGE_BANDS[a]);
        cols[n] = (bb_xlsx_col){heads[n], BB_XCOL_PERCENT, false, false};
        n++;
    }
    for (int i = 0; i < gc.n; i++) {
        snprintf(heads[n], sizeof heads[n], "Gender %s", bb_intern_str(ds->genders, gc.id[i]));
        cols[n] = (bb_xlsx_col){heads[n], BB_XCOL_PERCENT, false, false};
        n++;
    }
    if (gc.other)
        cols[n++] = (bb_xlsx_col){"Gender other", BB_XCOL_PERCENT, false, false};
    if (gc.unknown)
        cols[n++] = (bb_xlsx_col){"Gender unknown", BB_XCOL_PERCENT, false, false};
    cols[n++] = (bb_xlsx_col){"E-mail reach", BB_XCOL_PERCENT, false, false};
    cols[n++] = (bb_xlsx_col){"SMS reach", BB_XCOL_PERCENT, false, false};
    cols[n++] = (bb_xlsx_col){"Description", BB_XCOL_TEXT, false, false};

    char title[600];
    snprintf(title, sizeof title,
             "Customer segments as of %s\nk-means on the standardized features; medians and means per "
             "customer; shares of each segment's customers; reach among customers whose choice is known.",
             r->as_of);
    bb_xlsx_sheet *sh;
    bb_err e = bb_xlsx_table_begin(wb, "Segments", title, cols, n, &sh);
    *out = e == BB_OK ? sh : NULL;
    for (int g = 0; g < n_groups(s) && e == BB_OK; g++) {
        const bb_seg_profile *p = group(s, g);
        e = bb_xlsx_text(sh, p->name);
        if (e == BB_OK)
            e = bb_xlsx_int(sh, p->customers);
        if (e == BB_OK)
            e = bb_xlsx_percent(sh, p->customer_share);
        if (e == BB_OK && money)
            e = bb_xlsx_money(sh, p->revenue_cents);
        if (e == BB_OK && money)
            e = bb_xlsx_percent(sh, p->revenue_share);
        if (e == BB_OK)
            e = bb_xlsx_int(sh, p->visits);
        if (e == BB_OK)
            e = bb_xlsx_number(sh, p->mean_distance);
        for (int i = 0; i < nf && e == BB_OK; i++) {
            e = x_feature(sh, f[i], p->median[f[i]]);
            if (e == BB_OK)
                e = x_feature(sh, f[i], p->mean[f[i]]);
        }
        if (e == BB_OK)
            e = bb_xlsx_number(sh, p->median_age);
        for (int a = 0; a < BB_SEG_AGE_BANDS && e == BB_OK; a++)
            e = bb_xlsx_percent(sh, p->customers ? (double)p->age_band[a] / p->customers : NAN);
        for (int i = 0; i < gc.n && e == BB_OK; i++)
            e = bb_xlsx_percent(sh, p->customers ? (double)p->gender[gc.id[i]] / p->customers : NAN);
        if (e == BB_OK && gc.other)
            e = bb_xlsx_percent(sh, p->customers ? (double)gender_other(s, p, &gc) / p->customers : NAN);
        if (e == BB_OK && gc.unknown)
            e = bb_xlsx_percent(sh, p->customers ? (double)p->gender[s->n_genders] / p->customers : NAN);
        if (e == BB_OK)
            e = bb_xlsx_percent(sh, p->email_known ? (double)p->email_yes / p->email_known : NAN);
        if (e == BB_OK)
            e = bb_xlsx_percent(sh, p->sms_known ? (double)p->sms_yes / p->sms_known : NAN);
        if (e == BB_OK)
            e = bb_xlsx_text(sh, p->description[0] ? p->description : NULL);
        if (e == BB_OK)
            e = bb_xlsx_row_end(sh);
    }
    if (e == BB_OK)
        e = bb_xlsx_sheet_end(sh, NULL);
    return e;
}

static bb_err scan_sheet(const bb_report *r, bb_xlsx *wb, bb_xlsx_sheet **out)
{
    const bb_segmentation *s = r->segments;
    bb_xlsx_col cols[] = {{"k", BB_XCOL_INT, false, false},
                          {"Inertia", BB_XCOL_NUMBER, false, false},
                          {"Silhouette", BB_XCOL_NUMBER, false, false},
                          {"Davies-Bouldin", BB_XCOL_NUMBER, false, false},
                          {"Calinski-Harabasz", BB_XCOL_NUMBER, false, false},
                          {"Iterations", BB_XCOL_INT, false, false},
                          {"Note", BB_XCOL_TEXT, false, false}};
    char title[1800], para[1600];
    k_paragraph(s, para, sizeof para);
    snprintf(title, sizeof title, "Choosing the number of segments\n%s", para);
    bb_xlsx_sheet *sh;
    bb_err e = bb_xlsx_table_begin(wb, "Segment k", title, cols, 7, &sh);
    *out = e == BB_OK ? sh : NULL;
    for (size_t i = 0; i < s->n_scan && e == BB_OK; i++) {
        const bb_seg_kscore *k = &s->scan[i];
        char note[160];
        scan_note(s, k->k, note, sizeof note);
        e = bb_xlsx_int(sh, k->k);
        if (e == BB_OK)
            e = bb_xlsx_number(sh, k->inertia);
        if (e == BB_OK)
            e = bb_xlsx_number(sh, k->silhouette);
        if (e == BB_OK)
            e = bb_xlsx_number(sh, k->davies_bouldin);
        if (e == BB_OK)
            e = bb_xlsx_number(sh, k->calinski_harabasz);
        if (e == BB_OK)
            e = bb_xlsx_int(sh, k->n_iter);
        if (e == BB_OK)
            e = bb_xlsx_text(sh, note[0] ? note : NULL);
        if (e == BB_OK)
            e = bb_xlsx_row_end(sh);
    }
    if (e == BB_OK)
        e = bb_xlsx_sheet_end(sh, NULL);
    return e;
}

static bb_err customers_sheet(const bb_report *r, bb_xlsx *wb, bb_log *log)
{
    const bb_segmentation *s = r->segments;
    const bb_dataset *ds = r->ds;
    bb_xlsx_col cols[3 + BB_SEG_FEATURES];
    int n = 0;
    cols[n++] = (bb_xlsx_col){"CustomerID", BB_XCOL_TEXT, false, false};
    cols[n++] = (bb_xlsx_col){"Segment", BB_XCOL_TEXT, false, false};
    cols[n++] = (bb_xlsx_col){"Distance to centre", BB_XCOL_NUMBER, false, false};
    for (int f = 0; f < BB_SEG_FEATURES; f++) {
        bb_xcol_type t = x_feature_type((bb_seg_feature)f);
        /* Whole numbers per customer: visits, days since, tenure, streak. */
        if (f == BB_SEG_RECENCY || f == BB_SEG_FREQUENCY || f == BB_SEG_TENURE || f == BB_SEG_LONGEST_STREAK)
            t = BB_XCOL_INT;
        cols[n++] = (bb_xlsx_col){bb_features_label((bb_seg_feature)f), t, false, false};
    }
    char title[400];
    snprintf(title, sizeof title,
             "Every customer's segment as of %s\nDistance: to the segment's centre in standard deviations of "
             "the features; empty for customers without purchases.",
             r->as_of);
    bb_xlsx_sheet *sh;
    bb_err e = bb_xlsx_table_begin(wb, "Customers", title, cols, n, &sh);
    for (uint32_t c = 0; c < s->n_customers && e == BB_OK; c++) {
        const double *row = s->features + (size_t)c * BB_SEG_FEATURES;
        e = bb_xlsx_text(sh, bb_intern_str(ds->customers.ids, c));
        if (e == BB_OK)
            e = bb_xlsx_text(sh, bb_segment_name(s, s->segment[c]));
        if (e == BB_OK)
            e = bb_xlsx_number(sh, s->distance[c]);
        for (int f = 0; f < BB_SEG_FEATURES && e == BB_OK; f++) {
            if (cols[3 + f].type == BB_XCOL_INT)
                e = isfinite(row[f]) ? bb_xlsx_int(sh, (int64_t)llround(row[f])) : bb_xlsx_text(sh, NULL);
            else
                e = x_feature(sh, (bb_seg_feature)f, row[f]);
        }
        if (e == BB_OK)
            e = bb_xlsx_row_end(sh);
    }
    bb_xlsx_sheet_info info;
    if (e == BB_OK)
        e = bb_xlsx_sheet_end(sh, &info);
    if (e == BB_OK && info.rows_dropped > 0)
        bb_warn(log, "workbook: sheet Customers holds %u of %u customers (Excel's row limit); segments.csv has all",
                info.rows_written, s->n_customers);
    return e;
}

static bb_err moves_sheet(const bb_report *r, bb_xlsx *wb)
{
    const bb_segmentation *s = r->segments;
    const bb_seg_migrations *m = s->migrations;
    int cols = s->k + 1;
    bb_xlsx_col xc[BB_SEG_MAX_K + 3];
    int n = 0;
    xc[n++] = (bb_xlsx_col){"Previous segment", BB_XCOL_TEXT, false, false};
    for (int j = 0; j < cols; j++)
        xc[n++] = (bb_xlsx_col){bb_segment_name(s, j < s->k ? j : BB_SEG_NONE), BB_XCOL_INT, false, false};
    xc[n++] = (bb_xlsx_col){"Total", BB_XCOL_INT, false, false};
    char title[700], text[600];
    migration_sentence(s, text, sizeof text);
    snprintf(title, sizeof title, "Customers by previous segment (rows) and segment now (columns)\n%s", text);
    bb_xlsx_sheet *sh;
    bb_err e = bb_xlsx_table_begin(wb, "Segment moves", title, xc, n, &sh);
    for (int i = 0; i < m->n_from && e == BB_OK; i++) {
        uint32_t total = from_total(s, i);
        if (total == 0)
            continue;
        e = bb_xlsx_text(sh, m->from[i]);
        for (int j = 0; j < cols && e == BB_OK; j++)
            e = bb_xlsx_int(sh, m->counts[(size_t)i * (size_t)cols + (size_t)j]);
        if (e == BB_OK)
            e = bb_xlsx_int(sh, total);
        if (e == BB_OK)
            e = bb_xlsx_row_end(sh);
    }
    if (e == BB_OK)
        e = bb_xlsx_sheet_end(sh, NULL);
    return e;
}

bb_err bb_section_segments_xlsx(const bb_report *r, bb_xlsx *wb, bb_log *log)
{
    const bb_segmentation *s = r->segments;
    if (!s)
        return BB_OK;
    bb_xlsx_sheet *seg = NULL, *scan = NULL;
    bb_err e = segments_sheet(r, wb, &seg);
    if (e == BB_OK && s->n_scan > 0)
        e = scan_sheet(r, wb, &scan);
    if (e == BB_OK && s->migrations)
        e = moves_sheet(r, wb);
    if (e == BB_OK)
        e = customers_sheet(r, wb, log);
    if (e == BB_OK && s->k > 0) {
        /* Below the table: title lines, blank, header, one row per group. */
        int value_col = 1;
        bb_xlsx_chart ch = {.type = BB_XCHART_BAR, .title = "Customers per segment", .value_title = "Customers",
                            .data = seg, .cat_col = 0, .value_cols = &value_col, .n_values = 1, .at = seg,
                            .at_row = (uint32_t)n_groups(s) + 6, .at_col = 0, .width_px = 640,
                            .height_px = 120 + 40 * n_groups(s)};
        e = bb_xlsx_chart_add(wb, &ch);
    }
    if (e == BB_OK && scan) {
        int inertia_col = 1;
        bb_xlsx_chart ch = {.type = BB_XCHART_LINE, .title = "Inertia by number of segments",
                            .cat_title = "k", .value_title = "Inertia", .data = scan, .cat_col = 0,
                            .value_cols = &inertia_col, .n_values = 1, .at = scan,
                            .at_row = (uint32_t)s->n_scan + 6, .at_col = 0, .width_px = 640, .height_px = 320};
        e = bb_xlsx_chart_add(wb, &ch);
    }
    if (e != BB_OK)
        bb_error(log, "workbook: segment sheets: %s", bb_strerror(e));
    return e;
}

/* ---- HTML -------------------------------------------------------------- */

static void add_text(cJSON *o, const char *key, const char *v)
{
    cJSON_AddStringToObject(o, key, v ? v : "");
}

static void add_chart(const bb_report *r, cJSON *o, const char *key, const char *name)
{
    char *svg = bb_report_inline_svg(r, name);
    if (!svg)
        return;
    cJSON *c = cJSON_AddObjectToObject(o, key);
    add_text(c, "title", bb_report_find_chart(r, name)->title);
    add_text(c, "svg", svg);
    free(svg);
}

bb_err bb_section_segments_html(const bb_report *r, cJSON *model, bb_log *log)
{
    const bb_segmentation *s = r->segments;
    if (!s)
        return BB_OK;
    const bb_dataset *ds = r->ds;
    cJSON *m = cJSON_AddObjectToObject(model, "segments");
    if (!m) {
        bb_error(log, "report.html: out of memory");
        return BB_ERR_NOMEM;
    }
    char text[1600], b[160], feats[600];
    cJSON_AddBoolToObject(m, "has_segments", s->k > 0);
    cJSON_AddBoolToObject(m, "has_revenue", s->has_revenue);
    if (s->k == 0) {
        snprintf(text, sizeof text, "No customer has a purchase as of %s, so there is nothing to segment.",
                 r->as_of);
        add_text(m, "intro", text);
        return BB_OK;
    }
    feature_list(s, feats, sizeof feats);
    char n1[32], none[160];
    none_sentence(s, none, sizeof none);
    snprintf(text, sizeof text,
             "%s customers with purchases are grouped into %d segments by how they buy: %s, as of %s. %s "
             "Segments are listed from the most valuable to the least and are named by rules on their profiles, "
             "never by a cluster's number.",
             bb_fmt_int(n1, sizeof n1, s->n_clustered), s->k, feats, r->as_of, none);
    add_text(m, "intro", text);
    k_paragraph(s, text, sizeof text);
    add_text(m, "k_text", text);

    bb_seg_feature f[BB_SEG_FEATURES];
    int nf = shown_features(s, f);
    cJSON *fh = cJSON_AddArrayToObject(m, "features");
    for (int i = 0; i < nf; i++) {
        cJSON *o = cJSON_CreateObject();
        add_text(o, "short", bb_features_short(f[i]));
        add_text(o, "label", bb_features_label(f[i]));
        cJSON_AddItemToArray(fh, o);
    }
    gender_cols gc;
    pick_genders(s, &gc);
    cJSON *gh = cJSON_AddArrayToObject(m, "gender_headers");
    for (int i = 0; i < gc.n; i++)
        cJSON_AddItemToArray(gh, cJSON_CreateString(bb_intern_str(ds->genders, gc.id[i])));
    if (gc.other)
        cJSON_AddItemToArray(gh, cJSON_CreateString("Other"));
    if (gc.unknown)
        cJSON_AddItemToArray(gh, cJSON_CreateString("Gender unknown"));
    cJSON *ah = cJSON_AddArrayToObject(m, "age_headers");
    for (int a = 0; a < BB_SEG_AGE_BANDS; a++)
        cJSON_AddItemToArray(ah, cJSON_CreateString(AGE_BANDS[a]));

    cJSON *groups = cJSON_AddArrayToObject(m, "groups");
    for (int g = 0; g < n_groups(s); g++) {
        const bb_seg_profile *p = group(s, g);
        cJSON *o = cJSON_CreateObject();
        snprintf(b, sizeof b, "segment-%d", g + 1);
        add_text(o, "id", b);
        add_text(o, "name", p->name);
        cJSON_AddBoolToObject(o, "is_none", g == s->k);
        add_text(o, "customers", fmt_int(b, sizeof b, p->customers));
        add_text(o, "share", fmt_share(b, sizeof b, p->customer_share));
        add_text(o, "revenue", bb_fmt_money(b, sizeof b, p->revenue_cents));
        add_text(o, "revenue_share", fmt_share(b, sizeof b, p->revenue_share));
        add_text(o, "visits", fmt_int(b, sizeof b, p->visits));
        add_text(o, "description", p->description);
        char typical[600];
        typical_sentence(s, p, typical, sizeof typical);
        add_text(o, "typical", typical);
        cJSON *acts = cJSON_AddArrayToObject(o, "actions");
        for (int i = 0; i < p->n_actions; i++)
            cJSON_AddItemToArray(acts, cJSON_CreateString(p->actions[i]));
        cJSON_AddBoolToObject(o, "has_actions", p->n_actions > 0);
        cJSON *med = cJSON_AddArrayToObject(o, "medians");
        cJSON *mean = cJSON_AddArrayToObject(o, "means");
        for (int i = 0; i < nf; i++) {
            cJSON_AddItemToArray(med, cJSON_CreateString(fmt_feature(b, sizeof b, f[i], p->median[f[i]])));
            cJSON_AddItemToArray(mean, cJSON_CreateString(fmt_feature(b, sizeof b, f[i], p->mean[f[i]])));
        }
        add_text(o, "median_age",
                 fmt_score(b, sizeof b, p->median_age, p->median_age == floor(p->median_age) ? 0 : 1));
        cJSON *ages = cJSON_AddArrayToObject(o, "ages");
        for (int a = 0; a < BB_SEG_AGE_BANDS; a++)
            cJSON_AddItemToArray(ages, cJSON_CreateString(fmt_ratio_of(b, sizeof b, p->age_band[a], p->customers)));
        cJSON *gen = cJSON_AddArrayToObject(o, "genders");
        for (int i = 0; i < gc.n; i++) {
            uint32_t count = p->gender[gc.id[i]];
            cJSON_AddItemToArray(gen, cJSON_CreateString(fmt_ratio_of(b, sizeof b, count, p->customers)));
        }
        if (gc.other) {
            uint32_t other = gender_other(s, p, &gc);
            cJSON_AddItemToArray(gen, cJSON_CreateString(fmt_ratio_of(b, sizeof b, other, p->customers)));
        }
        if (gc.unknown) {
            uint32_t unknown = p->gender[s->n_genders];
            cJSON_AddItemToArray(gen, cJSON_CreateString(fmt_ratio_of(b, sizeof b, unknown, p->customers)));
        }
        add_text(o, "email", fmt_ratio_of(b, sizeof b, p->email_yes, p->email_known));
        add_text(o, "sms", fmt_ratio_of(b, sizeof b, p->sms_yes, p->sms_known));
        cJSON_AddItemToArray(groups, o);
    }

    cJSON *scan = cJSON_AddArrayToObject(m, "scan");
    for (size_t i = 0; i < s->n_scan; i++) {
        const bb_seg_kscore *k = &s->scan[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "k", k->k);
        cJSON_AddBoolToObject(o, "in_use", k->k == s->k);
        add_text(o, "inertia", fmt_score(b, sizeof b, k->inertia, 1));
        add_text(o, "silhouette", fmt_score(b, sizeof b, k->silhouette, 3));
        add_text(o, "davies_bouldin", fmt_score(b, sizeof b, k->davies_bouldin, 3));
        add_text(o, "calinski_harabasz", fmt_score(b, sizeof b, k->calinski_harabasz, 1));
        scan_note(s, k->k, b, sizeof b);
        add_text(o, "note", b);
        cJSON_AddItemToArray(scan, o);
    }
    cJSON_AddBoolToObject(m, "has_scan", s->n_scan > 0);

    if (s->migrations) {
        cJSON *mg = cJSON_AddObjectToObject(m, "migrations");
        migration_sentence(s, text, sizeof text);
        add_text(mg, "text", text);
        seg_move mv[10];
        size_t nm = top_moves(s, mv, 10);
        cJSON *moves = cJSON_AddArrayToObject(mg, "moves");
        for (size_t i = 0; i < nm; i++) {
            cJSON *o = cJSON_CreateObject();
            add_text(o, "from", s->migrations->from[mv[i].from]);
            add_text(o, "to", bb_segment_name(s, mv[i].to < s->k ? mv[i].to : BB_SEG_NONE));
            add_text(o, "customers", fmt_int(b, sizeof b, mv[i].n));
            add_text(o, "share", fmt_ratio_of(b, sizeof b, mv[i].n, from_total(s, mv[i].from)));
            cJSON_AddItemToArray(moves, o);
        }
        cJSON_AddBoolToObject(mg, "has_moves", nm > 0);
    }
    add_chart(r, m, "chart_sizes", "segments_sizes");
    add_chart(r, m, "chart_pca", "segments_pca");
    add_chart(r, m, "chart_elbow", "segments_elbow");
    add_chart(r, m, "chart_quality", "segments_quality");
    if (s->n_points > 0) {
        char n[32], p1[32], p2[32];
        snprintf(text, sizeof text,
                 "Each dot is a customer (%s shown, a fixed sample), placed by the first two principal components "
                 "of the standardized features, which hold %s and %s of their variance; the large markers are the "
                 "segment centres, projected the same way.",
                 bb_fmt_int(n, sizeof n, (int64_t)s->n_points), bb_fmt_pct(p1, sizeof p1, s->pca_ratio[0], 1),
                 bb_fmt_pct(p2, sizeof p2, s->pca_ratio[1], 1));
        add_text(m, "map_note", text);
    }
    return BB_OK;
}
