/*
 * section_recs.c - the Recommendations section laid out for PDF, workbook
 * and HTML, and its charts. Every figure comes from struct bb_recs; the
 * text says plainly when no model beats popularity.
 */
#include "render/section_recs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recommend/recommend.h"
#include "render/chart.h"
#include "util/buf.h"
#include "util/date.h"
#include "util/fmt.h"
#include "util/fs.h"

/* ---- words shared by the three layouts ---------------------------------- */

static char *fmt3(char *buf, size_t size, double v)
{
    return bb_fmt_fixed(buf, size, v, 3);
}

/* "+21.5 %" */
static char *fmt_lift(char *buf, size_t size, double ratio)
{
    char num[32];
    bb_fmt_pct(num, sizeof num, ratio, 1);
    snprintf(buf, size, "%s%s", ratio > 0 ? "+" : "", num);
    return buf;
}

/* How the models were measured, in one paragraph. */
static void protocol_text(const bb_recs *rc, char *out, size_t size)
{
    char val[11], test[11], as_of[11], train_end[11], n[32];
    bb_date_format(rc->val_start, val);
    bb_date_format(rc->test_start, test);
    bb_date_format(rc->as_of, as_of);
    bb_date_format(rc->val_start - 1, train_end);
    snprintf(out, size,
             "Every model was fitted on the purchases up to %s and tuned on those from %s; then, reading "
             "each customer's purchases before %s (popularity, item-kNN and EASE refitted on them, the "
             "autoencoder as tuned), it was measured on the %d days from %s to %s, which no model or "
             "setting had seen. Measured are the %s customers who bought before and then bought something new to them "
             "(or a repeat service): how many of those purchases were among the %d items the model would "
             "have suggested.",
             train_end, val, test, rc->holdout_days, test, as_of, bb_fmt_int(n, sizeof n, rc->test_customers),
             rc->k);
}

/* The plain statement: does any model beat popularity? */
static void verdict_text(const bb_recs *rc, char *out, size_t size)
{
    if (rc->test_customers == 0) {
        snprintf(out, size,
                 "No customer could be measured: nobody who had bought before bought again in the last %d "
                 "days. The models could not be compared.",
                 rc->holdout_days);
        return;
    }
    if (!rc->any_beats_popularity) {
        snprintf(out, size,
                 "No model beats popularity on this data. On the hold-out period no model ranked customers' "
                 "next purchases clearly better than suggesting the items most customers buy: the differences "
                 "are within chance. Purchases here show no pattern a model can use.");
        return;
    }
    const bb_rec_model_result *m = &rc->models[rc->shown];
    const bb_rec_model_result *p = &rc->models[BB_REC_POPULARITY];
    char r1[32], r2[32], n1[32], n2[32], lift[40];
    snprintf(out, size,
             "%s beats popularity: Recall@%d %s against %s and NDCG@%d %s against %s (%s), more than chance "
             "can explain.",
             bb_rec_kind_label(rc->shown), rc->k, fmt3(r1, sizeof r1, m->test.recall),
             fmt3(r2, sizeof r2, p->test.recall), rc->k, fmt3(n1, sizeof n1, m->test.ndcg),
             fmt3(n2, sizeof n2, p->test.ndcg), fmt_lift(lift, sizeof lift, m->lift_ndcg));
}

/* "1 customer gets" / "12 customers get" */
static const char *customers_get(uint32_t n, char *buf, size_t size)
{
    char num[32];
    snprintf(buf, size, "%s %s", bb_fmt_int(num, sizeof num, n), n == 1 ? "customer gets" : "customers get");
    return buf;
}

static void coverage_text(const bb_recs *rc, char *out, size_t size)
{
    char items[32], pct[32], who[64];
    bb_fmt_pct(pct, sizeof pct, rc->served_coverage, 1);
    bb_fmt_int(items, sizeof items, rc->n_items);
    int n = snprintf(out, size, "The lists of all customers use %s of the catalogue's %s items.", pct, items);
    if (rc->customers_model && n >= 0 && (size_t)n < size)
        n += snprintf(out + n, size - (size_t)n, " %s the %s model's list.",
                      customers_get(rc->customers_model, who, sizeof who), bb_rec_kind_name(rc->served));
    if (rc->customers_segment && n >= 0 && (size_t)n < size)
        n += snprintf(out + n, size - (size_t)n, " Without purchases yet, %s their segment's most popular items.",
                      customers_get(rc->customers_segment, who, sizeof who));
    if (rc->customers_popular && n >= 0 && (size_t)n < size)
        snprintf(out + n, size - (size_t)n, " Without purchases yet, %s all customers' most popular items.",
                 customers_get(rc->customers_popular, who, sizeof who));
}

static void training_text(const bb_recs *rc, char *out, size_t size)
{
    const bb_rec_model_result *ae = &rc->models[BB_REC_AUTOENCODER];
    if (!ae->ran || rc->n_epochs == 0) {
        snprintf(out, size, "The autoencoder was not trained: %s.", ae->note[0] ? ae->note : "no data");
        return;
    }
    char best[32];
    snprintf(out, size,
             "The autoencoder (layers %s, %s loss) trained on the training period for %d epochs; its "
             "validation NDCG@%d was best after epoch %d (%s), where training stopped %s. When it serves, "
             "that model trains %d more epochs on all purchases up to the as-of date.",
             rc->hidden, rc->loss, rc->n_epochs, rc->k, rc->best_epoch,
             fmt3(best, sizeof best, rc->epochs[rc->best_epoch - 1].val_ndcg),
             rc->n_epochs > rc->best_epoch ? "after no further gain" : "at the epoch limit",
             rc->best_epoch < BB_REC_FINE_TUNE_EPOCHS ? rc->best_epoch : BB_REC_FINE_TUNE_EPOCHS);
}

/* ---- charts ------------------------------------------------------------- */

bb_err bb_section_recs_charts(bb_report *r, bb_log *log)
{
    const bb_recs *rc = r->recs;
    if (!rc)
        return BB_OK;
    char dir[2048];
    snprintf(dir, sizeof dir, "%s/charts", r->run_dir);
    if (bb_fs_mkdirs(dir) != BB_OK) {
        bb_error(log, "cannot create %s", dir);
        return BB_ERR_CANTCREAT;
    }
    const char *labels[BB_REC__KINDS];
    double recall[BB_REC__KINDS], ndcg[BB_REC__KINDS];
    size_t n = 0;
    for (int k = 0; k < BB_REC__KINDS; k++) {
        if (!rc->models[k].ran)
            continue;
        labels[n] = bb_rec_kind_label((bb_rec_kind)k);
        recall[n] = rc->models[k].test.recall;
        ndcg[n] = rc->models[k].test.ndcg;
        n++;
    }
    int ne = rc->n_epochs;
    double *val = calloc((size_t)(ne ? ne : 1), sizeof *val), *loss = calloc((size_t)(ne ? ne : 1), sizeof *loss);
    char(*epoch_text)[12] = calloc((size_t)(ne ? ne : 1), sizeof *epoch_text);
    const char **epoch_ptr = calloc((size_t)(ne ? ne : 1), sizeof *epoch_ptr);
    bb_err e = val && loss && epoch_text && epoch_ptr ? BB_OK : BB_ERR_NOMEM;
    for (int i = 0; i < ne && e == BB_OK; i++) {
        val[i] = rc->epochs[i].val_ndcg;
        loss[i] = rc->epochs[i].train_loss;
        snprintf(epoch_text[i], sizeof epoch_text[i], "%d", i + 1);
        epoch_ptr[i] = epoch_text[i];
    }
    char rl[32], nl[32], yl[48], t_models[128], t_val[128];
    snprintf(rl, sizeof rl, "Recall@%d", rc->k);
    snprintf(nl, sizeof nl, "NDCG@%d", rc->k);
    snprintf(yl, sizeof yl, "Validation NDCG@%d", rc->k);
    snprintf(t_models, sizeof t_models, "Models on the hold-out period: Recall@%d and NDCG@%d", rc->k, rc->k);
    snprintf(t_val, sizeof t_val, "Autoencoder: validation NDCG@%d per epoch", rc->k);
    char png[3][2600], svg[3][2600];
    bb_chart_series s_models[] = {{.name = rl, .values = recall, .n = n}, {.name = nl, .values = ndcg, .n = n}};
    bb_chart_series s_val[] = {{.name = yl, .values = val, .n = (size_t)ne}};
    bb_chart_series s_loss[] = {{.name = "Training loss", .values = loss, .n = (size_t)ne}};
    bb_chart charts[3];
    size_t nc = 0;
    if (e == BB_OK && n > 0) {
        if (!bb_report_add_chart(r, "recs_models", t_models, png[nc], svg[nc], sizeof png[nc]))
            e = BB_ERR_INTERNAL;
        else
            charts[nc] = (bb_chart){.kind = BB_CHART_BARS, .title = t_models, .x_label = "Model",
                                    .y_label = "Share (0 to 1)", .categories = labels, .n_categories = n,
                                    .series = s_models, .n_series = 2, .show_values = true,
                                    .png_path = png[nc], .svg_path = svg[nc]};
        nc++;
    }
    if (e == BB_OK && ne > 0) {
        if (!bb_report_add_chart(r, "recs_training", t_val, png[nc], svg[nc], sizeof png[nc]))
            e = BB_ERR_INTERNAL;
        else
            charts[nc] = (bb_chart){.kind = BB_CHART_LINES, .title = t_val, .x_label = "Epoch", .y_label = yl,
                                    .categories = epoch_ptr, .n_categories = (size_t)ne, .series = s_val,
                                    .n_series = 1, .y_tight = true, .png_path = png[nc], .svg_path = svg[nc]};
        nc++;
    }
    if (e == BB_OK && ne > 0) {
        const char *t_loss = "Autoencoder: training loss per epoch";
        if (!bb_report_add_chart(r, "recs_loss", t_loss, png[nc], svg[nc], sizeof png[nc]))
            e = BB_ERR_INTERNAL;
        else
            charts[nc] = (bb_chart){.kind = BB_CHART_LINES, .title = t_loss, .x_label = "Epoch",
                                    .y_label = "Loss per customer", .categories = epoch_ptr,
                                    .n_categories = (size_t)ne, .series = s_loss, .n_series = 1, .y_tight = true,
                                    .png_path = png[nc], .svg_path = svg[nc]};
        nc++;
    }
    if (e == BB_OK) {
        char err[1024] = "";
        e = bb_chart_render(charts, nc, err, sizeof err);
        if (e != BB_OK)
            bb_error(log, "recommendation charts: %s", err);
        else if (err[0])
            bb_warn(log, "recommendation charts: %s", err);
    }
    free(val);
    free(loss);
    free(epoch_text);
    free(epoch_ptr);
    return e;
}

/* ---- PDF ---------------------------------------------------------------- */

typedef bb_pdf_cells cells;

static void cell3(cells *c, double v)
{
    char b[32];
    bb_pdf_cells_add(c, fmt3(b, sizeof b, v));
}

static bb_err chart_image(const bb_report *r, bb_pdf *pdf, const char *name, double max_height)
{
    const bb_report_chart *ch = bb_report_find_chart(r, name);
    if (!ch)
        return BB_OK;
    char path[2600];
    snprintf(path, sizeof path, "%s/%s", r->run_dir, ch->png);
    return bb_pdf_image(pdf, path, ch->title, max_height);
}

static bb_err model_table(const bb_recs *rc, bb_pdf *pdf)
{
    bb_pdf_column cols[] = {{"Model", BB_PDF_LEFT, 1.3},      {"Validation", BB_PDF_RIGHT, 1},
                            {"Recall", BB_PDF_RIGHT, 0.9},     {"NDCG", BB_PDF_RIGHT, 0.9},
                            {"Hit rate", BB_PDF_RIGHT, 0.9},   {"Coverage", BB_PDF_RIGHT, 1},
                            {"vs popularity", BB_PDF_RIGHT, 1.3}};
    cells c = {0};
    for (int k = 0; k < BB_REC__KINDS; k++) {
        const bb_rec_model_result *m = &rc->models[k];
        char b[64];
        bb_pdf_cells_add(&c, bb_rec_kind_label((bb_rec_kind)k));
        if (!m->ran) {
            for (int i = 0; i < 6; i++)
                bb_pdf_cells_add(&c, "–");
            continue;
        }
        cell3(&c, m->val.ndcg);
        cell3(&c, m->test.recall);
        cell3(&c, m->test.ndcg);
        cell3(&c, m->test.hit);
        bb_pdf_cells_add(&c, bb_fmt_pct(b, sizeof b, m->test.coverage, 1));
        if (k == BB_REC_POPULARITY) {
            bb_pdf_cells_add(&c, "baseline");
        } else {
            char lift[48];
            snprintf(b, sizeof b, "%s%s", fmt_lift(lift, sizeof lift, m->lift_ndcg), m->beats_popularity ? " *" : "");
            bb_pdf_cells_add(&c, b);
        }
    }
    bb_err e = c.e;
    if (e == BB_OK)
        e = bb_pdf_cells_table(pdf, cols, 7, &c, false);
    bb_pdf_cells_free(&c);
    if (e != BB_OK)
        return e;

    /* What each model was set to, and which one serves. */
    bb_pdf_column scols[] = {{"Model", BB_PDF_LEFT, 1.3},
                             {"Settings chosen on the validation period", BB_PDF_LEFT, 4.2},
                             {"Serves", BB_PDF_CENTER, 0.8}};
    cells sc = {0};
    for (int k = 0; k < BB_REC__KINDS; k++) {
        const bb_rec_model_result *m = &rc->models[k];
        bb_pdf_cells_add(&sc, bb_rec_kind_label((bb_rec_kind)k));
        bb_pdf_cells_add(&sc, m->ran ? m->params : m->note);
        bb_pdf_cells_add(&sc, k == (int)rc->served ? "yes" : "");
    }
    e = sc.e;
    if (e == BB_OK)
        e = bb_pdf_cells_table(pdf, scols, 3, &sc, false);
    bb_pdf_cells_free(&sc);
    return e;
}

static bb_err group_table(const bb_recs *rc, bb_pdf *pdf, const char *first, const bb_rec_group *groups, size_t n)
{
    char intro[256];
    snprintf(intro, sizeof intro, "Recall@%d and NDCG@%d of %s, each beside popularity's (pop.).", rc->k, rc->k,
             rc->shown == BB_REC_POPULARITY ? "popularity" : bb_rec_kind_label(rc->shown));
    bb_err e = bb_pdf_note(pdf, intro);
    bb_pdf_column cols[] = {{first, BB_PDF_LEFT, 1.6},         {"Customers", BB_PDF_RIGHT, 1.1},
                            {"Recall", BB_PDF_RIGHT, 1.1},     {"Recall (pop.)", BB_PDF_RIGHT, 1.3},
                            {"NDCG", BB_PDF_RIGHT, 1.1},       {"NDCG (pop.)", BB_PDF_RIGHT, 1.3}};
    cells c = {0};
    size_t rows = 0;
    for (size_t i = 0; i < n; i++) {
        char num[32];
        if (!groups[i].customers)
            continue;
        bb_pdf_cells_add(&c, groups[i].name);
        bb_pdf_cells_add(&c, bb_fmt_int(num, sizeof num, groups[i].customers));
        cell3(&c, groups[i].recall[rc->shown]);
        cell3(&c, groups[i].recall[BB_REC_POPULARITY]);
        cell3(&c, groups[i].ndcg[rc->shown]);
        cell3(&c, groups[i].ndcg[BB_REC_POPULARITY]);
        rows++;
    }
    if (e == BB_OK)
        e = c.e;
    if (e == BB_OK && rows > 0)
        e = bb_pdf_cells_table(pdf, cols, 6, &c, false);
    bb_pdf_cells_free(&c);
    return e;
}

bb_err bb_section_recs_pdf(const bb_report *r, bb_pdf *pdf)
{
    const bb_recs *rc = r->recs;
    if (!rc)
        return BB_OK;
    char text[1400];
    bb_err e = bb_pdf_heading(pdf, 1, "Recommendations");
    if (e == BB_OK) {
        verdict_text(rc, text, sizeof text);
        e = bb_pdf_paragraph(pdf, text);
    }
    if (e == BB_OK) {
        protocol_text(rc, text, sizeof text);
        e = bb_pdf_paragraph(pdf, text);
    }
    if (e == BB_OK)
        e = bb_pdf_paragraph(pdf, rc->served_why);
    if (e == BB_OK)
        e = bb_pdf_heading(pdf, 2, "Model comparison");
    if (e == BB_OK)
        e = model_table(rc, pdf);
    if (e == BB_OK) {
        snprintf(text, sizeof text,
                 "At K = %d on the hold-out period. Recall: share of a customer's new purchases among the %d "
                 "suggestions; NDCG: the same, weighted by rank; hit rate: customers with at least one; "
                 "coverage: share of the catalogue suggested to anyone; validation: NDCG on the validation "
                 "period; vs popularity: NDCG relative to popularity. * marks a model whose Recall and NDCG "
                 "are both above popularity by more than chance (95 %% intervals holding for all models "
                 "together).",
                 rc->k, rc->k);
        e = bb_pdf_note(pdf, text);
    }
    if (e == BB_OK)
        e = chart_image(r, pdf, "recs_models", 300);
    if (e == BB_OK && rc->n_epochs > 0) {
        e = bb_pdf_heading(pdf, 2, "Training");
        if (e == BB_OK) {
            training_text(rc, text, sizeof text);
            e = bb_pdf_paragraph(pdf, text);
        }
        if (e == BB_OK)
            e = chart_image(r, pdf, "recs_training", 260);
        if (e == BB_OK)
            e = chart_image(r, pdf, "recs_loss", 260);
    }
    if (e == BB_OK)
        e = bb_pdf_heading(pdf, 2, "Coverage");
    if (e == BB_OK) {
        coverage_text(rc, text, sizeof text);
        e = bb_pdf_paragraph(pdf, text);
    }
    if (e == BB_OK && rc->test_customers > 0) {
        e = bb_pdf_heading(pdf, 2, "By customer activity");
        if (e == BB_OK)
            e = group_table(rc, pdf, "Bought before", rc->by_activity, 4);
        if (e == BB_OK && rc->test_cold > 0) {
            char n[32];
            snprintf(text, sizeof text,
                     "%s customers bought in the hold-out period without any purchase before it; they get popular "
                     "items and are not measured.",
                     bb_fmt_int(n, sizeof n, rc->test_cold));
            e = bb_pdf_note(pdf, text);
        }
    }
    if (e == BB_OK && rc->n_by_segment > 0) {
        e = bb_pdf_heading(pdf, 2, "By segment");
        if (e == BB_OK)
            e = group_table(rc, pdf, "Segment", rc->by_segment, rc->n_by_segment);
    }
    return e;
}

/* ---- workbook ----------------------------------------------------------- */

static bb_err models_sheet(const bb_recs *rc, bb_xlsx *wb)
{
    bb_xlsx_col cols[] = {{"Model", BB_XCOL_TEXT, false, false},
                          {"Serves", BB_XCOL_TEXT, false, false},
                          {"Settings", BB_XCOL_TEXT, false, false},
                          {"Validation NDCG", BB_XCOL_NUMBER, false, false},
                          {"Recall", BB_XCOL_NUMBER, true, false},
                          {"NDCG", BB_XCOL_NUMBER, true, false},
                          {"Hit rate", BB_XCOL_NUMBER, false, false},
                          {"Coverage", BB_XCOL_PERCENT, false, false},
                          {"NDCG vs popularity", BB_XCOL_PERCENT, false, true},
                          {"Beats popularity", BB_XCOL_TEXT, false, false}};
    char title[1700], verdict[700], protocol[900];
    verdict_text(rc, verdict, sizeof verdict);
    protocol_text(rc, protocol, sizeof protocol);
    snprintf(title, sizeof title, "Recommender models at K = %d on the hold-out period\n%s\n%s", rc->k, verdict,
             protocol);
    bb_xlsx_sheet *sh;
    bb_err e = bb_xlsx_table_begin(wb, "Recommender Models", title, cols, 10, &sh);
    for (int k = 0; k < BB_REC__KINDS && e == BB_OK; k++) {
        const bb_rec_model_result *m = &rc->models[k];
        e = bb_xlsx_text(sh, bb_rec_kind_label((bb_rec_kind)k));
        if (e == BB_OK)
            e = bb_xlsx_text(sh, k == (int)rc->served ? "yes" : "no");
        if (e == BB_OK)
            e = bb_xlsx_text(sh, m->ran ? m->params : m->note);
        if (m->ran) {
            if (e == BB_OK)
                e = bb_xlsx_number(sh, m->val.ndcg);
            if (e == BB_OK)
                e = bb_xlsx_number(sh, m->test.recall);
            if (e == BB_OK)
                e = bb_xlsx_number(sh, m->test.ndcg);
            if (e == BB_OK)
                e = bb_xlsx_number(sh, m->test.hit);
            if (e == BB_OK)
                e = bb_xlsx_percent(sh, m->test.coverage);
            if (e == BB_OK)
                e = k == BB_REC_POPULARITY ? bb_xlsx_text(sh, NULL) : bb_xlsx_percent(sh, m->lift_ndcg);
            if (e == BB_OK)
                e = bb_xlsx_text(sh, k == BB_REC_POPULARITY ? "baseline" : m->beats_popularity ? "yes" : "no");
        }
        if (e == BB_OK)
            e = bb_xlsx_row_end(sh);
    }
    if (e == BB_OK)
        e = bb_xlsx_sheet_end(sh, NULL);
    return e;
}

bb_err bb_section_recs_xlsx(const bb_report *r, bb_xlsx *wb, bb_log *log)
{
    const bb_recs *rc = r->recs;
    if (!rc)
        return BB_OK;
    const bb_dataset *ds = r->ds;
    bb_xlsx_col cols[] = {{"Customer", BB_XCOL_TEXT, false, false}, {"Segment", BB_XCOL_TEXT, false, false},
                          {"Rank", BB_XCOL_INT, false, false},      {"Item ID", BB_XCOL_TEXT, false, false},
                          {"Item", BB_XCOL_TEXT, false, false},     {"Score", BB_XCOL_NUMBER, false, false},
                          {"Model", BB_XCOL_TEXT, false, false},    {"Reason", BB_XCOL_TEXT, false, false},
                          {"Sheet", BB_XCOL_TEXT, false, false}};
    uint32_t listed = rc->n_customers < BB_RECS_SHEET_MAX_CUSTOMERS ? rc->n_customers : BB_RECS_SHEET_MAX_CUSTOMERS;
    char title[700], n1[32], n2[32];
    snprintf(title, sizeof title,
             "Recommendations: the %d best items for each customer, best first, with the reason\n"
             "Served by the %s model; customers without purchases get popular items. %s",
             rc->top_n, bb_rec_kind_name(rc->served),
             listed < rc->n_customers ? "" : "Every customer is listed.");
    if (listed < rc->n_customers)
        snprintf(title + strlen(title), sizeof title - strlen(title),
                 "The first %s of %s customers are listed; recommendations.csv has them all.",
                 bb_fmt_int(n1, sizeof n1, listed), bb_fmt_int(n2, sizeof n2, rc->n_customers));
    bb_xlsx_sheet *sh;
    bb_err e = bb_xlsx_table_begin(wb, "Recommendations", title, cols, 9, &sh);
    char dir[2100];
    snprintf(dir, sizeof dir, "%s/customers", r->run_dir);
    bool sheets = bb_fs_is_dir(dir);
    for (uint32_t c = 0; c < listed && e == BB_OK; c++) {
        const char *cid = bb_intern_str(ds->customers.ids, c);
        int seg = rc->segment_of ? rc->segment_of[c] : -1;
        char link[128] = "";
        if (sheets) {
            char safe[80], path[2300];
            bb_fs_safe_name(cid, safe);
            snprintf(path, sizeof path, "%s/%s.pdf", dir, safe);
            if (bb_fs_exists(path))
                snprintf(link, sizeof link, "customers/%s.pdf", safe);
        }
        for (int i = 0; i < rc->rec_count[c] && e == BB_OK; i++) {
            size_t at = (size_t)c * rc->top_n + (size_t)i;
            uint32_t item = rc->rec_item[at];
            char reason[320];
            e = bb_xlsx_text(sh, cid);
            if (e == BB_OK)
                e = bb_xlsx_text(sh, seg >= 0 ? rc->segment_names[seg] : NULL);
            if (e == BB_OK)
                e = bb_xlsx_int(sh, i + 1);
            if (e == BB_OK)
                e = bb_xlsx_text(sh, bb_intern_str(ds->items.ids, item));
            if (e == BB_OK)
                e = bb_xlsx_text(sh, bb_intern_str(ds->item_names, ds->items.name[item]));
            if (e == BB_OK)
                e = bb_xlsx_number(sh, rc->rec_score[at]);
            if (e == BB_OK)
                e = bb_xlsx_text(sh, bb_recs_model_name(rc, c));
            if (e == BB_OK)
                e = bb_xlsx_text(sh, bb_recs_reason_text(rc, ds, c, i, reason, sizeof reason));
            if (e == BB_OK)
                e = link[0] && i == 0 ? bb_xlsx_link(sh, link, "customer sheet") : bb_xlsx_text(sh, NULL);
            if (e == BB_OK)
                e = bb_xlsx_row_end(sh);
        }
    }
    bb_xlsx_sheet_info info;
    if (e == BB_OK)
        e = bb_xlsx_sheet_end(sh, &info);
    if (e == BB_OK && info.rows_dropped)
        bb_warn(log, "workbook: %llu recommendation rows did not fit the Recommendations sheet",
                (unsigned long long)info.rows_dropped);
    if (e == BB_OK)
        e = models_sheet(rc, wb);
    if (e != BB_OK)
        bb_error(log, "workbook: recommendations: %s", bb_strerror(e));
    return e;
}

/* ---- HTML --------------------------------------------------------------- */

static void add_text(cJSON *o, const char *key, const char *v)
{
    cJSON_AddStringToObject(o, key, v ? v : "");
}

static void add3(cJSON *o, const char *key, double v)
{
    char b[32];
    add_text(o, key, fmt3(b, sizeof b, v));
}

static cJSON *groups_json(const bb_recs *rc, const bb_rec_group *g, size_t n)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++) {
        if (!g[i].customers)
            continue;
        cJSON *o = cJSON_CreateObject();
        char num[32];
        add_text(o, "name", g[i].name);
        add_text(o, "customers", bb_fmt_int(num, sizeof num, g[i].customers));
        add3(o, "recall", g[i].recall[rc->shown]);
        add3(o, "recall_pop", g[i].recall[BB_REC_POPULARITY]);
        add3(o, "ndcg", g[i].ndcg[rc->shown]);
        add3(o, "ndcg_pop", g[i].ndcg[BB_REC_POPULARITY]);
        cJSON_AddItemToArray(a, o);
    }
    return a;
}

bb_err bb_section_recs_html(const bb_report *r, cJSON *model, bb_log *log)
{
    const bb_recs *rc = r->recs;
    if (!rc)
        return BB_OK;
    (void)log;
    cJSON *o = cJSON_AddObjectToObject(model, "recs");
    if (!o)
        return BB_ERR_NOMEM;
    char text[1400], b[64];
    verdict_text(rc, text, sizeof text);
    add_text(o, "verdict", text);
    cJSON_AddBoolToObject(o, "beats", rc->any_beats_popularity);
    protocol_text(rc, text, sizeof text);
    add_text(o, "protocol", text);
    add_text(o, "served_why", rc->served_why);
    cJSON_AddNumberToObject(o, "k", rc->k);
    add_text(o, "shown", bb_rec_kind_label(rc->shown));

    cJSON *models = cJSON_AddArrayToObject(o, "models");
    for (int k = 0; k < BB_REC__KINDS; k++) {
        const bb_rec_model_result *m = &rc->models[k];
        cJSON *mo = cJSON_CreateObject();
        add_text(mo, "label", bb_rec_kind_label((bb_rec_kind)k));
        cJSON_AddBoolToObject(mo, "serves", k == (int)rc->served);
        cJSON_AddBoolToObject(mo, "ran", m->ran);
        add_text(mo, "settings", m->ran ? m->params : m->note);
        if (m->ran) {
            add3(mo, "val_ndcg", m->val.ndcg);
            add3(mo, "recall", m->test.recall);
            add3(mo, "ndcg", m->test.ndcg);
            add3(mo, "hit", m->test.hit);
            add_text(mo, "coverage", bb_fmt_pct(b, sizeof b, m->test.coverage, 1));
            add_text(mo, "lift", k == BB_REC_POPULARITY ? "baseline" : fmt_lift(b, sizeof b, m->lift_ndcg));
            cJSON_AddBoolToObject(mo, "beats", m->beats_popularity);
        }
        cJSON_AddItemToArray(models, mo);
    }

    cJSON *charts = cJSON_AddArrayToObject(o, "charts");
    static const char *const names[] = {"recs_models", "recs_training", "recs_loss"};
    for (size_t i = 0; i < 3; i++) {
        const bb_report_chart *ch = bb_report_find_chart(r, names[i]);
        char *svg = ch ? bb_report_inline_svg(r, ch->name) : NULL;
        if (!svg)
            continue;
        cJSON *c = cJSON_CreateObject();
        add_text(c, "title", ch->title);
        add_text(c, "svg", svg);
        free(svg);
        cJSON_AddItemToArray(charts, c);
    }
    cJSON_AddBoolToObject(o, "trained", rc->n_epochs > 0);
    training_text(rc, text, sizeof text);
    add_text(o, "training", text);
    coverage_text(rc, text, sizeof text);
    add_text(o, "coverage", text);
    cJSON_AddItemToObject(o, "activity", groups_json(rc, rc->by_activity, 4));
    cJSON_AddBoolToObject(o, "has_segments", rc->n_by_segment > 0);
    cJSON_AddItemToObject(o, "segments", groups_json(rc, rc->by_segment, rc->n_by_segment));

    /* A few customers' lists, as the front desk sees them. */
    cJSON *examples = cJSON_AddArrayToObject(o, "examples");
    int shown = 0;
    for (uint32_t c = 0; c < rc->n_customers && shown < 8; c++) {
        if (rc->rec_source[c] != BB_REC_SRC_MODEL || rc->rec_count[c] == 0)
            continue;
        cJSON *ex = cJSON_CreateObject();
        add_text(ex, "customer", bb_intern_str(r->ds->customers.ids, c));
        cJSON *items = cJSON_AddArrayToObject(ex, "items");
        for (int i = 0; i < rc->rec_count[c]; i++) {
            uint32_t item = rc->rec_item[(size_t)c * rc->top_n + i];
            cJSON *it = cJSON_CreateObject();
            char reason[320];
            cJSON_AddNumberToObject(it, "rank", i + 1);
            add_text(it, "name", bb_intern_str(r->ds->item_names, r->ds->items.name[item]));
            add_text(it, "reason", bb_recs_reason_text(rc, r->ds, c, i, reason, sizeof reason));
            cJSON_AddItemToArray(items, it);
        }
        cJSON_AddItemToArray(examples, ex);
        shown++;
    }
    return BB_OK;
}
