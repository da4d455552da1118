/*
 * gen.c - the synthetic dataset behind `bbreport gen`.
 *
 * Three passes, each streaming straight to its file:
 *
 *   1. Catalogue. A base table of salon services and products, each with a
 *      subcategory ("key"), a family that ties services to the products bought
 *      with them (coloring <-> color-safe care), an audience and a
 *      popularity. M items are drawn round-robin over the subcategories, so a
 *      small M still covers the range; past the base table, each base item
 *      gets variants (tiers and team levels for services, brands and sizes for
 *      products) with distinct names and prices. Items are numbered in base
 *      table order, so IDs are grouped by category and subcategory like the
 *      original export.
 *   2. Customers, in ID order: demographics, 1-3 favourite subcategories, a
 *      preferred stylist, an activity level (log-normal: few heavy, many
 *      light), price sensitivity, registration day, churn day. Only what the
 *      simulation needs is kept: 24 bytes a customer.
 *   3. Purchases, day by day. Each day gets a quota of rows, allocated so the
 *      quotas sum to exactly P and follow the active customer base x season x
 *      weekday x noise. Customers wait in a calendar queue (a list per day)
 *      keyed by their next visit day; a day takes the most overdue customers
 *      first and serves their baskets until the quota is met, pulling later
 *      customers forward when the due ones do not fill it (but serving nobody
 *      twice a day while others wait). Each served customer goes back in at
 *      day + their cadence (with jitter, shortened in busy months). Rows thus
 *      come out in date order and nothing but the queue is held.
 *
 * Calibration: a customer with activity a visits k*a times a day on average;
 * k is set so the expected rows over the window equal P. The quota keeps the
 * count exact whatever the basket sizes turn out to be.
 *
 * Random streams: catalogue, customers, calendar and visits each draw from
 * their own bb_rng stream, so changing one pass does not shift the others.
 * A customer's habits (their usual item in a subcategory, their usual product
 * with a service) come from a stream named by (customer, slot), so the same
 * customer keeps choosing the same thing without storing it.
 */
#define _XOPEN_SOURCE 700
#include "gen/gen.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/csvw.h"
#include "util/date.h"
#include "util/fmt.h"
#include "util/fs.h"
#include "util/rng.h"

#define XSTR(x) STR(x)
#define STR(x) #x

enum {
    STREAM_CATALOGUE = 1,
    STREAM_CUSTOMERS = 2,
    STREAM_CALENDAR = 3,
    STREAM_VISITS = 4,
};
/* Habit streams: HABIT_BASE + customer * HABIT_SLOTS + slot. */
#define HABIT_BASE ((uint64_t)1 << 40)
#define HABIT_SLOTS 64
#define HABIT_FAMILY_SLOT 32

/* ---- the catalogue ------------------------------------------------------ */

/* Subcategories keyed by (category, name): Styling and Makeup exist twice. */
enum {
    K_HAIRCUT, K_COLORING, K_TREATMENT_S, K_STYLING_S, K_MAKEUP_S, K_FACIAL, K_WAXING,
    K_SHAMPOO, K_CONDITIONER, K_TREATMENT_P, K_STYLING_PRODUCTS, K_STYLING_P, K_MAKEUP_P,
    K_SKINCARE, K_OTHER, K__COUNT
};
#define K_FIRST_PRODUCT K_SHAMPOO

static const struct {
    const char *category;
    const char *subcategory;
    uint8_t fav_weight[2]; /* how often it is a favourite: [women and X, men] */
} key_info[K__COUNT] = {
    [K_HAIRCUT] = {"Service", "Haircut", {24, 55}},
    [K_COLORING] = {"Service", "Coloring", {16, 4}},
    [K_TREATMENT_S] = {"Service", "Treatment", {6, 3}},
    [K_STYLING_S] = {"Service", "Styling", {10, 4}},
    [K_MAKEUP_S] = {"Service", "Makeup", {4, 1}},
    [K_FACIAL] = {"Service", "Facial", {6, 4}},
    [K_WAXING] = {"Service", "Waxing", {7, 3}},
    [K_SHAMPOO] = {"Product", "Shampoo", {6, 6}},
    [K_CONDITIONER] = {"Product", "Conditioner", {4, 2}},
    [K_TREATMENT_P] = {"Product", "Treatment Products", {3, 1}},
    [K_STYLING_PRODUCTS] = {"Product", "Styling Products", {3, 4}},
    [K_STYLING_P] = {"Product", "Styling", {3, 8}},
    [K_MAKEUP_P] = {"Product", "Makeup", {3, 1}},
    [K_SKINCARE] = {"Product", "Skincare", {4, 3}},
    [K_OTHER] = {"Product", "Other", {5, 2}},
};

/* Families link a service to the products (and the second service) bought
 * with it; the co-purchase structure a recommender should find. */
enum {
    F_CUT, F_COLOR, F_TREAT, F_STYLE, F_CURL, F_MOIST, F_EXT, F_MAKEUP, F_SKIN, F_WAX,
    F_VOLUME, F_NAIL, F_BODY, F__COUNT
};

/* The service often booked together with a service of this family, or -1. */
static const int8_t family_paired_key[F__COUNT] = {
    [F_CUT] = K_STYLING_S,  [F_COLOR] = K_HAIRCUT, [F_TREAT] = K_HAIRCUT,
    [F_STYLE] = K_HAIRCUT,  [F_CURL] = K_HAIRCUT,  [F_MOIST] = K_HAIRCUT,
    [F_EXT] = K_STYLING_S,  [F_MAKEUP] = K_STYLING_S, [F_SKIN] = K_WAXING,
    [F_WAX] = K_FACIAL,     [F_VOLUME] = -1,       [F_NAIL] = -1,
    [F_BODY] = -1,
};

enum { AUD_ANY, AUD_WOMEN, AUD_MEN, AUD_CHILD };

typedef struct base_item {
    const char *name;
    uint8_t key, family, audience, popularity;
    int32_t price_cents;
} base_item;

/* Grouped by key, in key order (checked when the catalogue is built). Within
 * a key, the first rows are the ones a small catalogue keeps. */
static const base_item base_items[] = {
    {"Haircut (Women's)", K_HAIRCUT, F_CUT, AUD_WOMEN, 100, 3855},
    {"Haircut (Men's)", K_HAIRCUT, F_CUT, AUD_MEN, 100, 3200},
    {"Haircut (Children's)", K_HAIRCUT, F_CUT, AUD_CHILD, 30, 2325},
    {"Beard Trim", K_HAIRCUT, F_CUT, AUD_MEN, 25, 1800},
    {"Hair Coloring (Roots)", K_COLORING, F_COLOR, AUD_ANY, 80, 6340},
    {"Hair Coloring (Full)", K_COLORING, F_COLOR, AUD_ANY, 60, 11965},
    {"Highlights", K_COLORING, F_COLOR, AUD_WOMEN, 50, 15905},
    {"Balayage", K_COLORING, F_COLOR, AUD_WOMEN, 35, 18900},
    {"Hair Treatment (Deep Conditioning)", K_TREATMENT_S, F_TREAT, AUD_ANY, 60, 6934},
    {"Hair Treatment (Keratin)", K_TREATMENT_S, F_TREAT, AUD_WOMEN, 40, 16352},
    {"Scalp Treatment", K_TREATMENT_S, F_TREAT, AUD_ANY, 25, 4500},
    {"Hair Styling (Blowout)", K_STYLING_S, F_STYLE, AUD_WOMEN, 80, 4490},
    {"Hair Styling (Updo)", K_STYLING_S, F_STYLE, AUD_WOMEN, 30, 8250},
    {"Perm", K_STYLING_S, F_CURL, AUD_ANY, 20, 9825},
    {"Relaxer", K_STYLING_S, F_MOIST, AUD_ANY, 15, 9423},
    {"Hair Extensions (Installation)", K_STYLING_S, F_EXT, AUD_WOMEN, 10, 32599},
    {"Hair Extensions (Removal)", K_STYLING_S, F_EXT, AUD_WOMEN, 8, 4614},
    {"Makeup Application", K_MAKEUP_S, F_MAKEUP, AUD_WOMEN, 60, 7482},
    {"Bridal Makeup", K_MAKEUP_S, F_MAKEUP, AUD_WOMEN, 15, 18500},
    {"Facial", K_FACIAL, F_SKIN, AUD_ANY, 70, 10109},
    {"Facial (Hydrating)", K_FACIAL, F_SKIN, AUD_ANY, 30, 11900},
    {"Waxing (Eyebrows)", K_WAXING, F_WAX, AUD_ANY, 70, 1844},
    {"Waxing (Legs)", K_WAXING, F_WAX, AUD_WOMEN, 40, 4900},
    {"Waxing (Bikini)", K_WAXING, F_WAX, AUD_WOMEN, 30, 3653},
    {"Waxing (Back)", K_WAXING, F_WAX, AUD_MEN, 15, 4200},

    {"Shampoo, Argan Oil (250 ml)", K_SHAMPOO, F_MOIST, AUD_ANY, 50, 2490},
    {"Shampoo (Color-Safe)", K_SHAMPOO, F_COLOR, AUD_ANY, 70, 2367},
    {"Shampoo (Volume)", K_SHAMPOO, F_VOLUME, AUD_ANY, 60, 1787},
    {"Shampoo (Moisturizing)", K_SHAMPOO, F_MOIST, AUD_ANY, 60, 1156},
    {"Shampoo (Clarifying)", K_SHAMPOO, F_CUT, AUD_ANY, 35, 1731},
    {"Shampoo (Men's 2-in-1)", K_SHAMPOO, F_CUT, AUD_MEN, 40, 1450},
    {"Dry Shampoo", K_SHAMPOO, F_STYLE, AUD_ANY, 40, 1526},
    {"Conditioner (Color-Safe)", K_CONDITIONER, F_COLOR, AUD_ANY, 60, 2464},
    {"Conditioner (Volume)", K_CONDITIONER, F_VOLUME, AUD_ANY, 40, 1847},
    {"Conditioner (Moisturizing)", K_CONDITIONER, F_MOIST, AUD_ANY, 50, 1889},
    {"Conditioner (Leave-In)", K_CONDITIONER, F_TREAT, AUD_ANY, 35, 2161},
    {"Conditioner (Deep)", K_CONDITIONER, F_TREAT, AUD_ANY, 30, 2404},
    {"Hair Mask", K_TREATMENT_P, F_TREAT, AUD_ANY, 50, 2465},
    {"Hair Serum \"Glass Shine\"", K_TREATMENT_P, F_TREAT, AUD_ANY, 40, 2714},
    {"Color Gloss Treatment", K_TREATMENT_P, F_COLOR, AUD_ANY, 30, 2890},
    {"Frizz Control Serum", K_TREATMENT_P, F_MOIST, AUD_ANY, 35, 3278},
    {"Scalp Tonic", K_TREATMENT_P, F_TREAT, AUD_ANY, 15, 2200},
    {"Extension Care Serum", K_TREATMENT_P, F_EXT, AUD_WOMEN, 10, 2990},
    {"Hair Spray", K_STYLING_PRODUCTS, F_STYLE, AUD_ANY, 50, 1673},
    {"Heat Protectant Spray", K_STYLING_PRODUCTS, F_STYLE, AUD_ANY, 45, 1717},
    {"Texturizing Spray", K_STYLING_PRODUCTS, F_VOLUME, AUD_ANY, 30, 2389},
    {"Styling Gel", K_STYLING_P, F_CUT, AUD_MEN, 40, 1287},
    {"Styling Cream", K_STYLING_P, F_CURL, AUD_ANY, 30, 1865},
    {"Styling Mousse", K_STYLING_P, F_VOLUME, AUD_ANY, 30, 1899},
    {"Styling Wax", K_STYLING_P, F_CUT, AUD_MEN, 30, 1761},
    {"Curl Enhancer", K_STYLING_P, F_CURL, AUD_ANY, 25, 1701},
    {"Beard Oil", K_STYLING_P, F_CUT, AUD_MEN, 20, 1850},
    {"Makeup Remover", K_MAKEUP_P, F_MAKEUP, AUD_WOMEN, 40, 1632},
    {"Mascara", K_MAKEUP_P, F_MAKEUP, AUD_WOMEN, 35, 2290},
    {"Foundation", K_MAKEUP_P, F_MAKEUP, AUD_WOMEN, 30, 3466},
    {"Lipstick", K_MAKEUP_P, F_MAKEUP, AUD_WOMEN, 30, 2703},
    {"Concealer", K_MAKEUP_P, F_MAKEUP, AUD_WOMEN, 25, 2566},
    {"Eyeliner", K_MAKEUP_P, F_MAKEUP, AUD_WOMEN, 20, 1547},
    {"Eyeshadow", K_MAKEUP_P, F_MAKEUP, AUD_WOMEN, 20, 2842},
    {"Setting Spray", K_MAKEUP_P, F_MAKEUP, AUD_WOMEN, 15, 2600},
    {"Face Wash", K_SKINCARE, F_SKIN, AUD_ANY, 45, 2442},
    {"Moisturizer", K_SKINCARE, F_SKIN, AUD_ANY, 45, 3733},
    {"Sunscreen", K_SKINCARE, F_SKIN, AUD_ANY, 40, 2076},
    {"Toner", K_SKINCARE, F_SKIN, AUD_ANY, 30, 1751},
    {"Exfoliating Scrub", K_SKINCARE, F_SKIN, AUD_ANY, 25, 2821},
    {"Face Mask (Clay)", K_SKINCARE, F_SKIN, AUD_ANY, 20, 2668},
    {"Eye Cream", K_SKINCARE, F_SKIN, AUD_ANY, 20, 3407},
    {"Body Lotion", K_OTHER, F_WAX, AUD_ANY, 35, 1815},
    {"Soothing Gel (After Wax)", K_OTHER, F_WAX, AUD_ANY, 30, 1590},
    {"Hand Cream", K_OTHER, F_NAIL, AUD_ANY, 30, 1270},
    {"Body Wash", K_OTHER, F_BODY, AUD_ANY, 25, 1455},
    {"Lip Balm", K_OTHER, F_MAKEUP, AUD_ANY, 25, 636},
    {"Nail Polish (Red)", K_OTHER, F_NAIL, AUD_WOMEN, 25, 1264},
    {"Nail Polish (Nude)", K_OTHER, F_NAIL, AUD_WOMEN, 25, 1019},
    {"Body Scrub", K_OTHER, F_WAX, AUD_ANY, 20, 2055},
    {"Hair Brush (Paddle)", K_OTHER, F_STYLE, AUD_ANY, 20, 2450},
    {"Cuticle Oil", K_OTHER, F_NAIL, AUD_WOMEN, 20, 1447},
    {"Nail Polish (Glitter)", K_OTHER, F_NAIL, AUD_WOMEN, 15, 1206},
    {"Top Coat", K_OTHER, F_NAIL, AUD_WOMEN, 15, 1129},
    {"Nail Polish Remover", K_OTHER, F_NAIL, AUD_ANY, 15, 918},
    {"Extension Detangling Brush", K_OTHER, F_EXT, AUD_WOMEN, 12, 1900},
    {"Base Coat", K_OTHER, F_NAIL, AUD_WOMEN, 12, 1094},
};
#define N_BASE (sizeof base_items / sizeof base_items[0])

/* Variants: services by tier x team level, products by brand x size. Past
 * these, a " #n" line number keeps names distinct. */
static const char *const svc_tier[] = {"Express", "Classic", "Deluxe", "Signature"};
static const double svc_tier_factor[] = {0.8, 1.0, 1.3, 1.6};
static const char *const svc_level[] = {"Junior Team", "Senior Team", "Master Team",
                                        "Creative Director"};
static const double svc_level_factor[] = {0.85, 1.0, 1.2, 1.5};
static const char *const prod_size[] = {"Mini", "Travel Size", "Standard", "Large", "Salon Size"};
static const double prod_size_factor[] = {0.45, 0.6, 1.0, 1.55, 2.3};
static const char *const brand[] = {
    "Botanica", "Lumen", "Aurelia", "Verdant", "Solace",  "Nordic",  "Halcyon", "Marigold",
    "Orchid",   "Cypress", "Juniper", "Saffron", "Indigo", "Willow", "Amber",   "Coral",
    "Ember",    "Ivory",  "Jasmine", "Kelp",    "Lotus",  "Meadow",  "Nectar",  "Opal",
};
static const double brand_factor[] = {
    1.00, 0.75, 1.45, 0.90, 1.10, 0.80, 1.60, 0.95, 1.25, 0.85, 1.05, 1.35,
    0.70, 1.15, 0.90, 1.20, 1.50, 0.80, 1.30, 0.75, 1.10, 0.95, 1.40, 1.00,
};
#define N_TIER (sizeof svc_tier / sizeof svc_tier[0])
#define N_LEVEL (sizeof svc_level / sizeof svc_level[0])
#define N_SIZE (sizeof prod_size / sizeof prod_size[0])
#define N_BRAND (sizeof brand / sizeof brand[0])
#define SVC_VARIANTS (1 + N_TIER * N_LEVEL)   /* per base service, before line numbers */
#define PROD_VARIANTS (1 + N_SIZE * N_BRAND)  /* per base product */

/* Weight tables: index g * 2 + b, g = 1 for men, b = 1 for price-sensitive. */
#define N_TABLES 4

typedef struct item {
    int64_t price_cents;
    uint8_t key, family;
} item;

typedef struct catalogue {
    uint32_t n;
    item *items;
    char *ids;                         /* n IDs of id_len bytes, no NUL */
    int id_len;
    uint32_t key_beg[K__COUNT + 1];    /* items of key k: [key_beg[k], key_beg[k+1]) */
    double *key_cum[N_TABLES];         /* cumulative weight, restarting at each key */
    uint32_t *fam_items;               /* product items ordered by family */
    uint32_t fam_beg[F__COUNT + 1];
    double *fam_cum[N_TABLES];         /* cumulative weight over fam_items */
} catalogue;

/* ---- customers and the day calendar --------------------------------------- */

enum { BIT_MEN = 4, BIT_PRICE_SENSITIVE = 8, BIT_BUYER = 16, NFAV_MASK = 3 };

typedef struct cust {
    int32_t entry_day;     /* first day they can buy: max(registration, start) */
    int32_t last_day;      /* churn: last day they buy (end_day when loyal) */
    float interval_days;   /* mean days between visits in an average month */
    int32_t last_visit;    /* day of the latest visit, so a day serves a customer once */
    uint16_t employee;     /* preferred stylist, 0-based */
    uint8_t fav[3];        /* favourite keys, most favoured first */
    uint8_t bits;          /* favourite count | BIT_* */
} cust;

/* Visit shares of a customer's 1, 2 or 3 favourites. */
static const double fav_share[3][3] = {{1.0, 0, 0}, {0.7, 0.3, 0}, {0.55, 0.3, 0.15}};

/* A salon's year and week: December parties and gifts, a summer lull;
 * Saturday the busiest day, Sunday short hours. */
static const double month_factor[12] = {0.85, 0.82, 0.95, 1.00, 1.08, 1.00,
                                        0.78, 0.80, 0.98, 1.02, 1.12, 1.45};
static const double weekday_factor[7] = {0.80, 0.90, 1.00, 1.10, 1.30, 1.60, 0.40};

/* Los Angeles zip codes, most frequent first. */
static const char *const zip_codes[] = {
    "90015", "90004", "90036", "90049", "90025", "90012", "90034", "90046", "90064", "90066",
    "90210", "90013", "90024", "90005", "90048", "90001", "90002", "90003", "90017", "90019",
    "90026", "90027", "90028", "90029", "90035", "90039", "90041", "90042", "90045", "90068",
    "90211", "90212", "90291", "90292", "90401", "90403", "90405", "90014", "90006", "90057",
};
#define N_ZIP (sizeof zip_codes / sizeof zip_codes[0])

#define SHARE_NON_BUYERS 0.05
#define SHARE_CHURNERS 0.15
#define SHARE_PREREGISTERED 0.50
#define SHARE_EXPLORE 0.08        /* a visit outside the favourites */
#define SHARE_LOYAL_PICK 0.65     /* the customer's usual item in a subcategory */
#define P_SERVICE_PRODUCT 0.35    /* a service visit adds a related product */
#define P_PAIRED_SERVICE 0.12     /* ... or a second, paired service */
#define P_PRODUCT_PRODUCT 0.25    /* a product visit adds one of the same family */
#define P_USUAL_STYLIST 0.75
#define P_DISCOUNT 0.35           /* of a price-sensitive customer's rows */

typedef struct gen {
    const bb_gen_opts *o;
    bb_log *log;
    catalogue cat;
    cust *cust;
    uint32_t n_cust;
    int cust_id_width;
    uint32_t n_emp;
    int emp_id_width;
    int32_t n_days;                    /* end - start + 1 */
    double *demand;                    /* per day: expected rows at k = 1, no season */
    float *season;                     /* per day: the month's factor */
    double fav_cum[2][K__COUNT];       /* favourite-key weights, keys with items only */
    bb_rng rng;                        /* the visits stream */
} gen;

/* ---- output files: a big buffer over write(2), temp name then rename -------- */

#define OUT_BUF_SIZE ((size_t)1 << 20)
#define OUT_ROW_MAX 256                /* longest purchases or customers row */

typedef struct out_file {
    int fd;                            /* -1 when not open */
    char *buf;
    size_t len;
    char *tmp_path, *final_path;
    bool committed;
} out_file;

static void out_init(out_file *f)
{
    memset(f, 0, sizeof *f);
    f->fd = -1;
}

static char *join_path(const char *dir, const char *prefix, const char *name, const char *suffix)
{
    size_t n = strlen(dir) + strlen(prefix) + strlen(name) + strlen(suffix) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s%s%s", dir, prefix, name, suffix);
    return p;
}

static bb_err out_open(out_file *f, const char *dir, const char *name, bb_log *log)
{
    char suffix[48];
    snprintf(suffix, sizeof suffix, ".%ld.tmp", (long)getpid());
    f->final_path = join_path(dir, "", name, "");
    f->tmp_path = join_path(dir, ".", name, suffix);
    f->buf = malloc(OUT_BUF_SIZE);
    if (!f->final_path || !f->tmp_path || !f->buf)
        return BB_ERR_NOMEM;
    for (int attempt = 0; attempt < 2; attempt++) {
        f->fd = open(f->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        /* A leftover of a killed run that had our pid: it is ours to replace. */
        if (f->fd >= 0 || errno != EEXIST || unlink(f->tmp_path) != 0)
            break;
    }
    if (f->fd < 0) {
        bb_error(log, "gen: cannot create %s: %s", f->tmp_path, strerror(errno));
        return BB_ERR_CANTCREAT;
    }
    return BB_OK;
}

static bb_err out_flush(out_file *f, bb_log *log)
{
    const char *p = f->buf;
    size_t left = f->len;
    while (left > 0) {
        ssize_t w = write(f->fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            bb_error(log, "gen: cannot write %s: %s", f->tmp_path, strerror(w < 0 ? errno : EIO));
            return BB_ERR_IO;
        }
        p += w;
        left -= (size_t)w;
    }
    f->len = 0;
    return BB_OK;
}

/* Room for n more bytes at the returned pointer (n <= OUT_BUF_SIZE). */
static bb_err out_reserve(out_file *f, size_t n, bb_log *log, char **at)
{
    if (f->len + n > OUT_BUF_SIZE) {
        bb_err e = out_flush(f, log);
        if (e != BB_OK)
            return e;
    }
    *at = f->buf + f->len;
    return BB_OK;
}

static bb_err out_write(out_file *f, const void *p, size_t n, bb_log *log)
{
    const char *s = p;
    while (n > 0) {
        size_t chunk = n < OUT_BUF_SIZE ? n : OUT_BUF_SIZE;
        char *at;
        bb_err e = out_reserve(f, chunk, log, &at);
        if (e != BB_OK)
            return e;
        memcpy(at, s, chunk);
        f->len += chunk;
        s += chunk;
        n -= chunk;
    }
    return BB_OK;
}

/* Flushes, fsyncs and closes the temporary file; the rename comes later. */
static bb_err out_finish(out_file *f, bb_log *log)
{
    bb_err e = out_flush(f, log);
    if (e == BB_OK && fsync(f->fd) != 0 && errno != EINVAL) {
        bb_error(log, "gen: cannot sync %s: %s", f->tmp_path, strerror(errno));
        e = BB_ERR_IO;
    }
    if (close(f->fd) != 0 && e == BB_OK) {
        bb_error(log, "gen: cannot close %s: %s", f->tmp_path, strerror(errno));
        e = BB_ERR_IO;
    }
    f->fd = -1;
    return e;
}

static bb_err out_commit(out_file *f, bb_log *log)
{
    if (rename(f->tmp_path, f->final_path) != 0) {
        bb_error(log, "gen: cannot rename %s to %s: %s", f->tmp_path, f->final_path,
                 strerror(errno));
        return BB_ERR_CANTCREAT;
    }
    f->committed = true;
    return BB_OK;
}

/* Closes and frees; removes the temporary file unless it was committed. */
static void out_free(out_file *f)
{
    if (f->fd >= 0)
        close(f->fd);
    if (f->tmp_path && !f->committed)
        unlink(f->tmp_path);
    free(f->buf);
    free(f->tmp_path);
    free(f->final_path);
    out_init(f);
}

/* ---- hand-rolled formatting: printf per field is the bottleneck at 20M rows */

static char *put_uint(char *p, uint64_t v, int width)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (int i = n; i < width; i++)
        *p++ = '0';
    while (n)
        *p++ = tmp[--n];
    return p;
}

static char *put_cents(char *p, int64_t cents)
{
    p = put_uint(p, (uint64_t)(cents / 100), 1);
    *p++ = '.';
    *p++ = (char)('0' + (cents % 100) / 10);
    *p++ = (char)('0' + cents % 10);
    return p;
}

static char *put_str(char *p, const char *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}

static int digits(uint64_t v)
{
    int n = 1;
    while (v >= 10) {
        v /= 10;
        n++;
    }
    return n;
}

/* ---- sampling ----------------------------------------------------------- */

/* The index i in [beg, end) with cum[i-1] <= u * total < cum[i]; cum is
 * strictly increasing over the range and restarts at beg. */
static uint32_t pick_cum(const double *cum, uint32_t beg, uint32_t end, double u)
{
    double x = u * cum[end - 1];
    uint32_t lo = beg, hi = end - 1;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (cum[mid] > x)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

static int pick_weighted(const double *cum, int n, double u)
{
    double x = u * cum[n - 1];
    for (int i = 0; i < n; i++)
        if (cum[i] > x)
            return i;
    return n - 1;
}

/* ---- pass 1: the catalogue --------------------------------------------- */

static void catalogue_free(catalogue *c)
{
    free(c->items);
    free(c->ids);
    free(c->fam_items);
    for (int t = 0; t < N_TABLES; t++) {
        free(c->key_cum[t]);
        free(c->fam_cum[t]);
    }
    memset(c, 0, sizeof *c);
}

/* How many variants of each base item: round-robin over the subcategories of
 * a category, so a catalogue of 10 items has a haircut, a coloring and a
 * treatment rather than three haircuts. */
static void count_variants(uint64_t want, bool services, uint32_t *count)
{
    uint32_t rr[N_BASE];
    uint32_t n = 0;
    for (uint32_t level = 0; level < N_BASE; level++) {
        uint32_t added = 0;
        for (int k = services ? 0 : K_FIRST_PRODUCT; k < (services ? K_FIRST_PRODUCT : K__COUNT);
             k++) {
            uint32_t seen = 0;
            for (uint32_t b = 0; b < N_BASE; b++) {
                if (base_items[b].key != k)
                    continue;
                if (seen++ == level) {
                    rr[n++] = b;
                    added++;
                }
            }
        }
        if (added == 0)
            break;
    }
    for (uint64_t t = 0; t < want; t++)
        count[rr[t % n]]++;
}

/* Variant 0 is the base name; the others add tier and team ("Balayage,
 * Deluxe (Master Team)") or brand and size ("Lumen Hair Mask, Travel Size"),
 * and " #n" once those run out, so distinct (base, v) give distinct names. */
static bb_err variant_name(bb_buf *name, const base_item *b, uint32_t v)
{
    bb_buf_clear(name);
    if (v == 0)
        return bb_buf_puts(name, b->name);
    uint32_t u = v - 1, line;
    bb_err e;
    if (b->key < K_FIRST_PRODUCT) {
        line = u / (N_TIER * N_LEVEL);
        e = bb_buf_printf(name, "%s, %s (%s)", b->name, svc_tier[u % N_TIER],
                          svc_level[(u / N_TIER) % N_LEVEL]);
    } else {
        line = u / (N_SIZE * N_BRAND);
        e = bb_buf_printf(name, "%s %s, %s", brand[(u / N_SIZE) % N_BRAND], b->name,
                          prod_size[u % N_SIZE]);
    }
    if (e == BB_OK && line > 0)
        e = bb_buf_printf(name, " #%u", line + 1);
    return e;
}

static double variant_price_factor(const base_item *b, uint32_t v)
{
    if (v == 0)
        return 1.0;
    uint32_t u = v - 1;
    if (b->key < K_FIRST_PRODUCT)
        return svc_tier_factor[u % N_TIER] * svc_level_factor[(u / N_TIER) % N_LEVEL];
    return prod_size_factor[u % N_SIZE] * brand_factor[(u / N_SIZE) % N_BRAND];
}

static double audience_factor(int men, int audience)
{
    static const double f[2][4] = {{1.0, 1.6, 0.12, 0.5}, {1.0, 0.08, 2.5, 0.5}};
    return f[men][audience];
}

/* Builds the catalogue and writes items.csv. */
static bb_err catalogue_build(gen *g, out_file *f)
{
    catalogue *c = &g->cat;
    const uint64_t m = g->o->items;
    uint32_t n_svc_base = 0;
    for (uint32_t b = 0; b < N_BASE; b++) {
        if (b > 0 && base_items[b].key < base_items[b - 1].key)
            return BB_ERR_INTERNAL;
        n_svc_base += base_items[b].key < K_FIRST_PRODUCT;
    }
    bb_err e = BB_OK;
    double *weight = NULL;
    bb_buf name, field;
    bb_buf_init(&name, 4096);
    bb_buf_init(&field, 8192);

    /* About 30 % services, fewer once every service has all its variants. */
    uint64_t svc = m * 3 / 10;
    if (svc < 1)
        svc = 1;
    if (svc > (uint64_t)n_svc_base * SVC_VARIANTS)
        svc = (uint64_t)n_svc_base * SVC_VARIANTS;
    uint64_t prod_cap = (uint64_t)(N_BASE - n_svc_base) * PROD_VARIANTS;
    if (m - svc > prod_cap)
        svc = m - prod_cap;
    uint32_t count[N_BASE] = {0};
    count_variants(svc, true, count);
    count_variants(m - svc, false, count);

    c->n = (uint32_t)m;
    c->id_len = 4 + (digits(m) > 4 ? digits(m) : 4);
    c->items = calloc(m, sizeof *c->items);
    c->ids = malloc(m * (size_t)c->id_len);
    c->fam_items = malloc(m * sizeof *c->fam_items);
    weight = malloc(m * N_TABLES * sizeof *weight);
    for (int t = 0; t < N_TABLES; t++) {
        c->key_cum[t] = malloc(m * sizeof(double));
        c->fam_cum[t] = malloc(m * sizeof(double));
        if (!c->key_cum[t] || !c->fam_cum[t])
            e = BB_ERR_NOMEM;
    }
    if (e != BB_OK || !c->items || !c->ids || !c->fam_items || !weight) {
        e = BB_ERR_NOMEM;
        goto fail;
    }

    bb_rng rng;
    bb_rng_seed(&rng, g->o->seed, STREAM_CATALOGUE);
    static const char header[] = "ItemID,ItemName,ItemCategory,ItemSubcategory,UnitPrice\n";
    if ((e = out_write(f, header, sizeof header - 1, g->log)) != BB_OK)
        goto fail;
    uint32_t i = 0;
    for (uint32_t b = 0; b < N_BASE; b++) {
        const base_item *bi = &base_items[b];
        for (uint32_t v = 0; v < count[b]; v++, i++) {
            double jitter = v == 0 ? 1.0 : 0.96 + 0.08 * bb_rng_uniform(&rng);
            double price = bi->price_cents * variant_price_factor(bi, v) * jitter;
            int64_t cents = (int64_t)(price + 0.5);
            item *it = &c->items[i];
            it->price_cents = cents < 100 ? 100 : cents;
            it->key = bi->key;
            it->family = bi->family;
            /* Zipf-like decay over variants, with noise, so a few items sell most. */
            double pop = bi->popularity * exp(0.4 * bb_rng_normal(&rng));
            if (v > 0)
                pop *= 0.6 / pow(1.0 + (v - 1) / 8.0, 0.7);
            for (int t = 0; t < N_TABLES; t++)
                weight[(size_t)t * m + i] = pop * audience_factor(t / 2, bi->audience);

            char *id = c->ids + (size_t)i * c->id_len;
            memcpy(id, "Item", 4);
            put_uint(id + 4, i + 1, c->id_len - 4);
            bb_buf_clear(&field);
            if ((e = variant_name(&name, bi, v)) != BB_OK ||
                (e = bb_csvw_field(&field, name.data, name.len, 0)) != BB_OK)
                goto fail;
            char *at;
            size_t need = (size_t)c->id_len + field.len + 64;
            if ((e = out_reserve(f, need, g->log, &at)) != BB_OK)
                goto fail;
            char *p = at;
            p = put_str(p, id, (size_t)c->id_len);
            *p++ = ',';
            p = put_str(p, field.data, field.len);
            *p++ = ',';
            p = put_str(p, key_info[bi->key].category, strlen(key_info[bi->key].category));
            *p++ = ',';
            p = put_str(p, key_info[bi->key].subcategory, strlen(key_info[bi->key].subcategory));
            *p++ = ',';
            p = put_cents(p, it->price_cents);
            *p++ = '\n';
            f->len += (size_t)(p - at);
        }
    }

    /* Key ranges are contiguous: items follow the base table, grouped by key. */
    for (int k = 0; k <= K__COUNT; k++)
        c->key_beg[k] = c->n;
    for (uint32_t j = c->n; j-- > 0;)
        c->key_beg[c->items[j].key] = j;
    for (int k = K__COUNT - 1; k >= 0; k--)
        if (c->key_beg[k] > c->key_beg[k + 1])
            c->key_beg[k] = c->key_beg[k + 1];

    /* Price sensitivity: weight by (mean price of the key / price)^1.5, or a
     * faint ^0.3 for everyone else (cheaper items sell a little more). */
    for (int k = 0; k < K__COUNT; k++) {
        uint32_t beg = c->key_beg[k], end = c->key_beg[k + 1];
        if (beg == end)
            continue;
        double mean = 0;
        for (uint32_t j = beg; j < end; j++)
            mean += (double)c->items[j].price_cents;
        mean /= (double)(end - beg);
        for (uint32_t j = beg; j < end; j++) {
            double rel = mean / (double)c->items[j].price_cents;
            for (int t = 0; t < N_TABLES; t++)
                weight[(size_t)t * m + j] *= pow(rel, t % 2 ? 1.5 : 0.3);
        }
        for (int t = 0; t < N_TABLES; t++) {
            double acc = 0;
            for (uint32_t j = beg; j < end; j++) {
                acc += weight[(size_t)t * m + j];
                c->key_cum[t][j] = acc;
            }
        }
    }

    /* Products by family, for the companions of a visit. */
    uint32_t nfam = 0;
    for (int fam = 0; fam < F__COUNT; fam++) {
        c->fam_beg[fam] = nfam;
        for (uint32_t j = c->key_beg[K_FIRST_PRODUCT]; j < m; j++)
            if (c->items[j].family == fam)
                c->fam_items[nfam++] = j;
        for (int t = 0; t < N_TABLES; t++) {
            double acc = 0;
            for (uint32_t q = c->fam_beg[fam]; q < nfam; q++) {
                acc += weight[(size_t)t * m + c->fam_items[q]];
                c->fam_cum[t][q] = acc;
            }
        }
    }
    c->fam_beg[F__COUNT] = nfam;

fail:
    free(weight);
    bb_buf_free(&name);
    bb_buf_free(&field);
    return e;
}

/* ---- pass 2: customers -------------------------------------------------- */

static double season(int32_t day)
{
    int y, mo, d;
    bb_date_to_ymd(day, &y, &mo, &d);
    return month_factor[mo - 1];
}

static bool closed(int32_t day)
{
    int y, mo, d;
    bb_date_to_ymd(day, &y, &mo, &d);
    return (mo == 12 && d == 25) || (mo == 1 && d == 1);
}

/* Expected rows of one visit of a customer with these favourites. */
static double rows_per_visit(const uint8_t *fav, int nfav)
{
    double rows = 0;
    for (int i = 0; i < nfav; i++) {
        double r = fav[i] < K_FIRST_PRODUCT ? 1.0 + P_SERVICE_PRODUCT + P_PAIRED_SERVICE
                                            : 1.0 + P_PRODUCT_PRODUCT;
        rows += fav_share[nfav - 1][i] * r;
    }
    return rows;
}

static void choose_favourites(gen *g, bb_rng *r, int men, cust *cu)
{
    double u = bb_rng_uniform(r);
    int want = u < 0.30 ? 1 : u < 0.75 ? 2 : 3;
    int n = 0;
    bool taken[K__COUNT] = {false};
    while (n < want) {
        double cum[K__COUNT], acc = 0;
        for (int k = 0; k < K__COUNT; k++) {
            bool has = g->cat.key_beg[k] < g->cat.key_beg[k + 1];
            acc += has && !taken[k] ? key_info[k].fav_weight[men] : 0;
            cum[k] = acc;
        }
        if (acc <= 0)
            break;
        int k = pick_weighted(cum, K__COUNT, bb_rng_uniform(r));
        taken[k] = true;
        cu->fav[n++] = (uint8_t)k;
    }
    cu->bits = (uint8_t)((cu->bits & ~NFAV_MASK) | n);
}

/* Generates the customers, writes customers.csv and sums each day's demand. */
static bb_err customers_build(gen *g, out_file *f)
{
    const bb_gen_opts *o = g->o;
    const int32_t start = o->start_day, end = o->end_day;
    bb_rng r;
    bb_rng_seed(&r, o->seed, STREAM_CUSTOMERS);

    g->n_cust = (uint32_t)o->customers;
    g->cust_id_width = digits(o->customers) > 4 ? digits(o->customers) : 4;
    g->n_days = end - start + 1;
    uint64_t emp = o->customers / 40;
    g->n_emp = (uint32_t)(emp < 3 ? 3 : emp > 60 ? 60 : emp);
    g->emp_id_width = digits(g->n_emp) > 2 ? digits(g->n_emp) : 2;
    g->cust = calloc(g->n_cust, sizeof *g->cust);
    g->demand = calloc((size_t)g->n_days + 1, sizeof *g->demand);
    g->season = malloc((size_t)g->n_days * sizeof *g->season);
    if (!g->cust || !g->demand || !g->season)
        return BB_ERR_NOMEM;
    for (int32_t d = 0; d < g->n_days; d++)
        g->season[d] = (float)season(start + d);
    for (int men = 0; men < 2; men++) {
        double acc = 0;
        for (int k = 0; k < K__COUNT; k++) {
            bool has = g->cat.key_beg[k] < g->cat.key_beg[k + 1];
            acc += has ? key_info[k].fav_weight[men] : 0;
            g->fav_cum[men][k] = acc;
        }
    }
    double zip_cum[N_ZIP], acc = 0;
    for (size_t z = 0; z < N_ZIP; z++) {
        acc += 1.0 / (double)(z + 3);
        zip_cum[z] = acc;
    }

    static const char header[] =
        "CustomerID,Age,Gender,RegistrationDate,ZipCode,EmailSubscription,SMSSubscription\n";
    bb_err e = out_write(f, header, sizeof header - 1, g->log);
    for (uint32_t i = 0; i < g->n_cust && e == BB_OK; i++) {
        cust *cu = &g->cust[i];
        int age = (int)lround(41.0 + 13.0 * bb_rng_normal(&r));
        age = age < 18 ? 18 : age > 80 ? 80 : age;
        double gu = bb_rng_uniform(&r);
        char gender = gu < 0.56 ? 'F' : gu < 0.98 ? 'M' : 'X';
        const char *zip = zip_codes[pick_weighted(zip_cum, (int)N_ZIP, bb_rng_uniform(&r))];
        bool email = bb_rng_uniform(&r) < 0.48;
        bool sms = bb_rng_uniform(&r) < (email ? 0.60 : 0.35);
        /* Customer 1 always buys from the first day to the last, so every
         * day with a quota has someone to serve. */
        bool buyer = i == 0 || bb_rng_uniform(&r) >= SHARE_NON_BUYERS;
        bool pre = i == 0 || bb_rng_uniform(&r) < SHARE_PREREGISTERED;
        int32_t reg = pre ? start - 1 - (int32_t)bb_rng_below(&r, 730)
                          : start + (int32_t)bb_rng_below(&r, (uint64_t)g->n_days);
        bool sensitive = bb_rng_uniform(&r) < (age < 30 ? 0.45 : 0.25);
        double activity = exp(1.0 * bb_rng_normal(&r));
        activity = activity < 0.05 ? 0.05 : activity > 20 ? 20 : activity;
        bool churns = i != 0 && bb_rng_uniform(&r) < SHARE_CHURNERS;
        int men = gender == 'M';
        choose_favourites(g, &r, men, cu);
        cu->employee = (uint16_t)bb_rng_below(&r, g->n_emp);
        cu->entry_day = reg > start ? reg : start;
        cu->last_day = end;
        int32_t span = end - cu->entry_day - 60;
        if (churns && span > 0)
            cu->last_day = cu->entry_day + 60 + (int32_t)bb_rng_below(&r, (uint64_t)span);
        cu->bits |= (uint8_t)((men ? BIT_MEN : 0) | (sensitive ? BIT_PRICE_SENSITIVE : 0) |
                              (buyer ? BIT_BUYER : 0));
        cu->interval_days = (float)activity; /* rate until calibrated */
        if (buyer) {
            double rows = activity * rows_per_visit(cu->fav, cu->bits & NFAV_MASK);
            g->demand[cu->entry_day - start] += rows;
            g->demand[cu->last_day - start + 1] -= rows;
        }

        char *at, date[11];
        if ((e = out_reserve(f, OUT_ROW_MAX, g->log, &at)) != BB_OK)
            break;
        char *p = put_str(at, "Cust", 4);
        p = put_uint(p, i + 1, g->cust_id_width);
        *p++ = ',';
        p = put_uint(p, (uint64_t)age, 1);
        *p++ = ',';
        *p++ = gender;
        *p++ = ',';
        bb_date_format(reg, date);
        p = put_str(p, date, 10);
        *p++ = ',';
        p = put_str(p, zip, 5);
        p = email ? put_str(p, ",True", 5) : put_str(p, ",False", 6);
        p = sms ? put_str(p, ",True\n", 6) : put_str(p, ",False\n", 7);
        f->len += (size_t)(p - at);
    }
    double running = 0;
    for (int32_t d = 0; d < g->n_days; d++) {
        running += g->demand[d];
        g->demand[d] = running > 0 ? running : 0;
    }
    return e;
}

/* ---- pass 3: purchases -------------------------------------------------- */

/* Day quotas summing to exactly P: cumulative rounding of P * W(<= d) / W. */
static bb_err allocate_quotas(gen *g, uint64_t *quota, double *k_out)
{
    const int32_t start = g->o->start_day;
    const uint64_t p = g->o->purchases;
    bb_rng r;
    bb_rng_seed(&r, g->o->seed, STREAM_CALENDAR);
    double *w = malloc((size_t)g->n_days * sizeof *w);
    if (!w)
        return BB_ERR_NOMEM;
    double total = 0, seasonal_demand = 0;
    for (int32_t d = 0; d < g->n_days; d++) {
        int32_t day = start + d;
        double noise = exp(0.10 * bb_rng_normal(&r));
        double s = g->season[d];
        seasonal_demand += g->demand[d] * s;
        w[d] = closed(day) ? 0 : g->demand[d] * s * weekday_factor[bb_date_weekday(day)] * noise;
        total += w[d];
    }
    if (total <= 0) { /* only closed days: open them */
        for (int32_t d = 0; d < g->n_days; d++) {
            w[d] = g->demand[d] > 0 ? g->demand[d] : 1;
            total += w[d];
        }
    }
    double cum = 0;
    uint64_t given = 0;
    for (int32_t d = 0; d < g->n_days; d++) {
        cum += w[d];
        uint64_t upto = d == g->n_days - 1 ? p : (uint64_t)floor((double)p * (cum / total) + 0.5);
        if (upto > p)
            upto = p;
        if (upto < given)
            upto = given;
        quota[d] = upto - given;
        given = upto;
    }
    free(w);
    *k_out = seasonal_demand > 0 ? (double)p / seasonal_demand : 1.0;
    return BB_OK;
}

/* Customers waiting for their next visit: one list per day offset of the
 * window plus one for "after the window", so push and pop are O(1) (a heap's
 * sift was most of the run time at a million customers). cur never passes a
 * non-empty list, so the head of list cur is a customer due soonest. Lists are
 * LIFO: within a day, who comes first is arbitrary but fixed. */
#define NO_CUST UINT32_MAX

typedef struct visit_queue {
    uint32_t *head;    /* n_lists heads, NO_CUST when empty */
    uint32_t *next;    /* per customer: the next in their list */
    int32_t n_lists;
    int32_t cur;
    size_t size;
} visit_queue;

static void vq_push(visit_queue *q, uint32_t c, int64_t due)
{
    int32_t b = due < q->n_lists - 1 ? (int32_t)due : q->n_lists - 1;
    q->next[c] = q->head[b];
    q->head[b] = c;
    if (b < q->cur)
        q->cur = b;
    q->size++;
}

/* The customer due soonest and their list (their due day offset); size > 0. */
static uint32_t vq_top(visit_queue *q, int32_t *due)
{
    while (q->head[q->cur] == NO_CUST)
        q->cur++;
    *due = q->cur;
    return q->head[q->cur];
}

static void vq_pop(visit_queue *q)
{
    q->head[q->cur] = q->next[q->head[q->cur]];
    q->size--;
}

typedef struct line {
    uint32_t item;
    int quantity;
    int employee;   /* -1: none (a product) */
    int64_t total_cents;
} line;

static uint32_t pick_in_key(gen *g, uint32_t c, int key, int table)
{
    const catalogue *cat = &g->cat;
    double u;
    if (bb_rng_uniform(&g->rng) < SHARE_LOYAL_PICK) {
        bb_rng habit;
        bb_rng_seed(&habit, g->o->seed, HABIT_BASE + (uint64_t)c * HABIT_SLOTS + (uint64_t)key);
        u = bb_rng_uniform(&habit);
    } else {
        u = bb_rng_uniform(&g->rng);
    }
    return pick_cum(cat->key_cum[table], cat->key_beg[key], cat->key_beg[key + 1], u);
}

static uint32_t pick_in_family(gen *g, uint32_t c, int fam, int table, bool habitual)
{
    const catalogue *cat = &g->cat;
    double u;
    if (habitual && bb_rng_uniform(&g->rng) < SHARE_LOYAL_PICK) {
        bb_rng habit;
        bb_rng_seed(&habit, g->o->seed,
                    HABIT_BASE + (uint64_t)c * HABIT_SLOTS + HABIT_FAMILY_SLOT + (uint64_t)fam);
        u = bb_rng_uniform(&habit);
    } else {
        u = bb_rng_uniform(&g->rng);
    }
    return cat->fam_items[pick_cum(cat->fam_cum[table], cat->fam_beg[fam], cat->fam_beg[fam + 1], u)];
}

static bool key_has_items(const gen *g, int key)
{
    return key >= 0 && g->cat.key_beg[key] < g->cat.key_beg[key + 1];
}

static int add_line(line *lines, int n, uint32_t it)
{
    for (int i = 0; i < n; i++)
        if (lines[i].item == it)
            return n;
    lines[n].item = it;
    return n + 1;
}

/* One visit's basket: a main item from a favourite (or, now and then, any)
 * subcategory, then perhaps a related product or a paired service. */
static int plan_visit(gen *g, uint32_t c, line lines[3])
{
    const cust *cu = &g->cust[c];
    const catalogue *cat = &g->cat;
    bb_rng *r = &g->rng;
    int men = (cu->bits & BIT_MEN) != 0;
    int sensitive = (cu->bits & BIT_PRICE_SENSITIVE) != 0;
    int table = men * 2 + sensitive;
    int nfav = cu->bits & NFAV_MASK;
    int key;
    if (nfav == 0 || bb_rng_uniform(r) < SHARE_EXPLORE) {
        key = pick_weighted(g->fav_cum[men], K__COUNT, bb_rng_uniform(r));
    } else {
        double u = bb_rng_uniform(r), acc = 0;
        int i = 0;
        for (; i < nfav - 1; i++) {
            acc += fav_share[nfav - 1][i];
            if (u < acc)
                break;
        }
        key = cu->fav[i];
    }
    int n = add_line(lines, 0, pick_in_key(g, c, key, table));
    const item *head = &cat->items[lines[0].item];
    int fam = head->family;
    bool fam_has = cat->fam_beg[fam] < cat->fam_beg[fam + 1];
    if (key < K_FIRST_PRODUCT) {
        if (fam_has && bb_rng_uniform(r) < P_SERVICE_PRODUCT)
            n = add_line(lines, n, pick_in_family(g, c, fam, table, true));
        int paired = family_paired_key[fam];
        if (key_has_items(g, paired) && bb_rng_uniform(r) < P_PAIRED_SERVICE)
            n = add_line(lines, n, pick_in_key(g, c, paired, table));
    } else if (fam_has && bb_rng_uniform(r) < P_PRODUCT_PRODUCT) {
        n = add_line(lines, n, pick_in_family(g, c, fam, table, false));
    }

    for (int i = 0; i < n; i++) {
        line *l = &lines[i];
        const item *it = &cat->items[l->item];
        if (it->key < K_FIRST_PRODUCT) {
            l->quantity = 1;
            l->employee = bb_rng_uniform(r) < P_USUAL_STYLIST ? cu->employee
                                                              : (int)bb_rng_below(r, g->n_emp);
        } else {
            double u = bb_rng_uniform(r);
            l->quantity = u < 0.60 ? 1 : u < 0.88 ? 2 : 3;
            l->employee = -1;
        }
        int64_t list = it->price_cents * l->quantity;
        l->total_cents = list;
        if (sensitive && bb_rng_uniform(r) < P_DISCOUNT) {
            int64_t pct = 10 + (int64_t)bb_rng_below(r, 11);
            l->total_cents = list * (100 - pct) / 100;
        }
    }
    return n;
}

static bb_err emit_line(gen *g, out_file *f, uint32_t c, const line *l, const char date[10])
{
    char *at;
    bb_err e = out_reserve(f, OUT_ROW_MAX, g->log, &at);
    if (e != BB_OK)
        return e;
    char *p = put_str(at, "Cust", 4);
    p = put_uint(p, (uint64_t)c + 1, g->cust_id_width);
    *p++ = ',';
    p = put_str(p, g->cat.ids + (size_t)l->item * g->cat.id_len, (size_t)g->cat.id_len);
    *p++ = ',';
    *p++ = (char)('0' + l->quantity);
    *p++ = ',';
    p = put_str(p, date, 10);
    *p++ = ',';
    p = put_cents(p, l->total_cents);
    *p++ = ',';
    if (l->employee >= 0) {
        p = put_str(p, "Emp", 3);
        p = put_uint(p, (uint64_t)l->employee + 1, g->emp_id_width);
    }
    *p++ = '\n';
    f->len += (size_t)(p - at);
    return BB_OK;
}

/* Days until the customer's next visit, seen from day offset d: their cadence with
 * +-25 % jitter, shorter in busy months. */
static int32_t next_gap(gen *g, const cust *cu, int32_t d)
{
    double gap = cu->interval_days * (0.75 + 0.5 * bb_rng_uniform(&g->rng)) / g->season[d];
    if (gap < 1)
        return 1;
    return gap > 1e6 ? 1000000 : (int32_t)(gap + 0.5);
}

static bb_err purchases_write(gen *g, out_file *f)
{
    const bb_gen_opts *o = g->o;
    const int32_t start = o->start_day;
    uint64_t *quota = NULL, *deferred = NULL;
    visit_queue q = {NULL, NULL, g->n_days + 1, 0, 0};
    uint32_t *order = NULL, *first = NULL;
    bb_err e;
    static const char header[] = "CustomerID,ItemID,Quantity,PurchaseDate,TotalPrice,EmployeeID\n";
    if ((e = out_write(f, header, sizeof header - 1, g->log)) != BB_OK || o->purchases == 0)
        return e;

    quota = malloc((size_t)g->n_days * sizeof *quota);
    first = calloc((size_t)g->n_days + 1, sizeof *first);
    if (!quota || !first) {
        e = BB_ERR_NOMEM;
        goto fail;
    }
    double k;
    if ((e = allocate_quotas(g, quota, &k)) != BB_OK)
        goto fail;

    /* Buyers by entry day (counting sort), and their calibrated cadence. */
    uint32_t n_buyers = 0;
    for (uint32_t c = 0; c < g->n_cust; c++) {
        cust *cu = &g->cust[c];
        if (!(cu->bits & BIT_BUYER))
            continue;
        n_buyers++;
        first[cu->entry_day - start + 1]++;
        cu->interval_days = (float)(1.0 / (k * cu->interval_days));
        cu->last_visit = INT32_MIN;
    }
    for (int32_t d = 0; d < g->n_days; d++)
        first[d + 1] += first[d];
    order = malloc((size_t)n_buyers * sizeof *order);
    q.head = malloc((size_t)q.n_lists * sizeof *q.head);
    q.next = malloc((size_t)g->n_cust * sizeof *q.next);
    deferred = malloc((size_t)n_buyers * sizeof *deferred);
    if (!order || !q.head || !q.next || !deferred) {
        e = BB_ERR_NOMEM;
        goto fail;
    }
    for (uint32_t c = 0; c < g->n_cust; c++)
        if (g->cust[c].bits & BIT_BUYER)
            order[first[g->cust[c].entry_day - start]++] = c;
    for (int32_t l = 0; l < q.n_lists; l++)
        q.head[l] = NO_CUST;

    bb_rng_seed(&g->rng, o->seed, STREAM_VISITS);
    size_t next_entry = 0;
    uint64_t written = 0, carry = 0;
    for (int32_t d = 0; d < g->n_days; d++) {
        int32_t day = start + d;
        char date[11];
        bb_date_format(day, date);
        for (; next_entry < n_buyers && g->cust[order[next_entry]].entry_day == day; next_entry++) {
            uint32_t c = order[next_entry];
            const cust *cu = &g->cust[c];
            /* Old customers are somewhere in their cycle; a new one often buys
             * on the day they register. */
            int32_t phase;
            double cycle = cu->interval_days < 1e6f ? cu->interval_days : 1e6;
            if (day == start && cu->entry_day == start)
                phase = (int32_t)bb_rng_below(&g->rng, (uint64_t)cycle + 1);
            else
                phase = bb_rng_uniform(&g->rng) < 0.55 ? 0 : (int32_t)bb_rng_below(&g->rng, 28);
            vq_push(&q, c, (int64_t)d + phase);
        }
        uint64_t left = quota[d] + carry;
        size_t deferred_n = 0;
        bool again = false;
        while (left > 0) {
            if (q.size == 0) {
                /* Everyone active came today and the quota still wants rows:
                 * a tiny customer base, so let them come again. */
                if (deferred_n == 0)
                    break;
                while (deferred_n > 0) {
                    uint64_t x = deferred[--deferred_n];
                    vq_push(&q, (uint32_t)x, (int64_t)(x >> 32));
                }
                again = true;
            }
            int32_t due;
            uint32_t c = vq_top(&q, &due);
            cust *cu = &g->cust[c];
            vq_pop(&q);
            bool churned = day > cu->last_day;
            if (churned || (cu->last_visit == day && !again)) {
                /* Pulled forward a second time today: set aside until tomorrow. */
                if (!churned)
                    deferred[deferred_n++] = (uint64_t)due << 32 | c;
                continue;
            }
            line lines[3];
            int n = plan_visit(g, c, lines);
            for (int i = 0; i < n && left > 0; i++, left--, written++)
                if ((e = emit_line(g, f, c, &lines[i], date)) != BB_OK)
                    goto fail;
            cu->last_visit = day;
            vq_push(&q, c, (int64_t)d + next_gap(g, cu, d));
        }
        while (deferred_n > 0) {
            uint64_t x = deferred[--deferred_n];
            vq_push(&q, (uint32_t)x, (int64_t)(x >> 32));
        }
        carry = left;
    }
    if (written != o->purchases) {
        bb_error(g->log, "gen: wrote %llu purchases instead of %llu", (unsigned long long)written,
                 (unsigned long long)o->purchases);
        e = BB_ERR_INTERNAL;
    }

fail:
    free(quota);
    free(first);
    free(order);
    free(q.head);
    free(q.next);
    free(deferred);
    return e;
}

/* ---- options ------------------------------------------------------------ */

void bb_gen_defaults(bb_gen_opts *o)
{
    memset(o, 0, sizeof *o);
    o->customers = BB_GEN_DEFAULT_CUSTOMERS;
    o->items = BB_GEN_DEFAULT_ITEMS;
    o->purchases = BB_GEN_DEFAULT_PURCHASES;
    o->seed = BB_GEN_DEFAULT_SEED;
    bb_date_parse_iso(BB_GEN_DEFAULT_START, &o->start_day);
    bb_date_parse_iso(BB_GEN_DEFAULT_END, &o->end_day);
    o->out_dir = NULL;
    o->help = false;
}

const char *bb_gen_usage(void)
{
    return "Usage: bbreport gen --out DIR [options]\n"
           "\n"
           "Writes a synthetic salon dataset (customers.csv, items.csv, purchases.csv) in the\n"
           "input schema of `bbreport run`. The same options always give the same files.\n"
           "\n"
           "  --out DIR             output directory, created when missing (required)\n"
           "  --customers N         number of customers, >= 1"
           " (default " XSTR(BB_GEN_DEFAULT_CUSTOMERS) ")\n"
           "  --items M             number of items, >= 2"
           " (default " XSTR(BB_GEN_DEFAULT_ITEMS) ")\n"
           "  --purchases P         number of purchase rows"
           " (default " XSTR(BB_GEN_DEFAULT_PURCHASES) ")\n"
           "  --seed S              random seed (default " XSTR(BB_GEN_DEFAULT_SEED) ")\n"
           "  --start YYYY-MM-DD    first purchase date (default " BB_GEN_DEFAULT_START ")\n"
           "  --end YYYY-MM-DD      last purchase date (default " BB_GEN_DEFAULT_END ")\n"
           "  -h, --help            show this help\n";
}

static void set_msg(char *err, size_t errsize, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_msg(char *err, size_t errsize, const char *fmt, ...)
{
    if (!err || errsize == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errsize, fmt, ap);
    va_end(ap);
}

/* Digits only: no sign, no blanks, no overflow past max. */
static bool parse_count(const char *s, uint64_t max, uint64_t *out)
{
    if (!s || !*s)
        return false;
    uint64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
        uint64_t d = (uint64_t)(*s - '0');
        if (v > (max - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

enum { OPT_CUSTOMERS, OPT_ITEMS, OPT_PURCHASES, OPT_SEED, OPT_START, OPT_END, OPT_OUT, OPT_HELP };

static const struct {
    const char *name;
    int id;
} gen_options[] = {
    {"--customers", OPT_CUSTOMERS}, {"--items", OPT_ITEMS}, {"--purchases", OPT_PURCHASES},
    {"--seed", OPT_SEED},           {"--start", OPT_START}, {"--end", OPT_END},
    {"--out", OPT_OUT},             {"--help", OPT_HELP},   {"-h", OPT_HELP},
};

static bb_err set_option(int id, const char *name, const char *v, bb_gen_opts *o, char *err,
                         size_t errsize)
{
    uint64_t n;
    switch (id) {
    case OPT_CUSTOMERS:
    case OPT_ITEMS:
    case OPT_PURCHASES:
    case OPT_SEED: {
        uint64_t max = id == OPT_CUSTOMERS ? BB_GEN_MAX_CUSTOMERS
                     : id == OPT_ITEMS     ? BB_GEN_MAX_ITEMS
                     : id == OPT_PURCHASES ? BB_GEN_MAX_PURCHASES
                                           : UINT64_MAX;
        if (!parse_count(v, max, &n)) {
            set_msg(err, errsize, "%s: expected a whole number (at most %llu), got '%s'", name,
                    (unsigned long long)max, v);
            return BB_ERR_USAGE;
        }
        if (id == OPT_CUSTOMERS)
            o->customers = n;
        else if (id == OPT_ITEMS)
            o->items = n;
        else if (id == OPT_PURCHASES)
            o->purchases = n;
        else
            o->seed = n;
        return BB_OK;
    }
    case OPT_START:
    case OPT_END:
        if (!bb_date_parse_iso(v, id == OPT_START ? &o->start_day : &o->end_day)) {
            set_msg(err, errsize, "%s: expected a date YYYY-MM-DD, got '%s'", name, v);
            return BB_ERR_USAGE;
        }
        return BB_OK;
    case OPT_OUT:
        if (!*v) {
            set_msg(err, errsize, "%s: expected a directory", name);
            return BB_ERR_USAGE;
        }
        o->out_dir = v;
        return BB_OK;
    default:
        return BB_ERR_INTERNAL;
    }
}

bb_err bb_gen_parse_args(int argc, char **argv, bb_gen_opts *o, char *err, size_t errsize)
{
    set_msg(err, errsize, "%s", "");
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        const char *eq = strchr(arg, '=');
        size_t name_len = eq && strncmp(arg, "--", 2) == 0 ? (size_t)(eq - arg) : strlen(arg);
        int id = -1;
        const char *name = arg;
        for (size_t j = 0; j < sizeof gen_options / sizeof gen_options[0]; j++) {
            if (strlen(gen_options[j].name) == name_len &&
                strncmp(gen_options[j].name, arg, name_len) == 0) {
                id = gen_options[j].id;
                name = gen_options[j].name;
            }
        }
        if (id < 0) {
            set_msg(err, errsize, "%s '%s' (see bbreport gen --help)",
                    arg[0] == '-' ? "unknown option" : "unexpected argument", arg);
            return BB_ERR_USAGE;
        }
        if (id == OPT_HELP) {
            if (name_len != strlen(arg)) {
                set_msg(err, errsize, "%s takes no value", name);
                return BB_ERR_USAGE;
            }
            o->help = true;
            continue;
        }
        const char *value;
        if (name_len != strlen(arg)) {
            value = arg + name_len + 1;
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            set_msg(err, errsize, "%s needs a value", name);
            return BB_ERR_USAGE;
        }
        bb_err e = set_option(id, name, value, o, err, errsize);
        if (e != BB_OK)
            return e;
    }
    return o->help ? BB_OK : bb_gen_check(o, err, errsize);
}

bb_err bb_gen_check(const bb_gen_opts *o, char *err, size_t errsize)
{
    const int32_t min_day = bb_date_from_ymd(1900, 1, 1), max_day = bb_date_from_ymd(9999, 12, 31);
    if (o->customers < 1 || o->customers > BB_GEN_MAX_CUSTOMERS) {
        set_msg(err, errsize, "--customers must be from 1 to %llu",
                (unsigned long long)BB_GEN_MAX_CUSTOMERS);
    } else if (o->items < 2 || o->items > BB_GEN_MAX_ITEMS) {
        set_msg(err, errsize, "--items must be from 2 to %llu (a service and a product at least)",
                (unsigned long long)BB_GEN_MAX_ITEMS);
    } else if (o->purchases > BB_GEN_MAX_PURCHASES) {
        set_msg(err, errsize, "--purchases must be at most %llu",
                (unsigned long long)BB_GEN_MAX_PURCHASES);
    } else if (o->start_day < min_day || o->end_day > max_day) {
        set_msg(err, errsize, "--start and --end must lie between 1900-01-01 and 9999-12-31");
    } else if (o->start_day > o->end_day) {
        set_msg(err, errsize, "--start must not be after --end");
    } else if (o->end_day - o->start_day > BB_GEN_MAX_SPAN_DAYS) {
        set_msg(err, errsize, "--start to --end spans more than %d days", BB_GEN_MAX_SPAN_DAYS);
    } else if (!o->out_dir || !*o->out_dir) {
        set_msg(err, errsize, "--out DIR is required");
    } else {
        return BB_OK;
    }
    return BB_ERR_USAGE;
}

/* ---- the whole run ------------------------------------------------------- */

bb_err bb_gen_write(const bb_gen_opts *o, bb_log *log)
{
    static const char *const names[3] = {"customers.csv", "items.csv", "purchases.csv"};
    enum { CUSTOMERS, ITEMS, PURCHASES };
    char msg[256];
    bb_err e = bb_gen_check(o, msg, sizeof msg);
    if (e != BB_OK) {
        bb_error(log, "gen: %s", msg);
        return e;
    }
    if (bb_fs_mkdirs(o->out_dir) != BB_OK) {
        bb_error(log, "gen: cannot create directory %s: %s", o->out_dir, strerror(errno));
        return BB_ERR_CANTCREAT;
    }
    gen g;
    memset(&g, 0, sizeof g);
    g.o = o;
    g.log = log;
    out_file files[3];
    for (int i = 0; i < 3; i++)
        out_init(&files[i]);
    for (int i = 0; i < 3; i++)
        if ((e = out_open(&files[i], o->out_dir, names[i], log)) != BB_OK)
            goto fail;

    if ((e = catalogue_build(&g, &files[ITEMS])) != BB_OK ||
        (e = customers_build(&g, &files[CUSTOMERS])) != BB_OK ||
        (e = purchases_write(&g, &files[PURCHASES])) != BB_OK)
        goto fail;
    for (int i = 0; i < 3; i++)
        if ((e = out_finish(&files[i], log)) != BB_OK)
            goto fail;
    /* Purchases last: a reader that sees it sees the other two complete. */
    for (int i = 0; i < 3; i++)
        if ((e = out_commit(&files[i], log)) != BB_OK)
            goto fail;
    if (bb_fs_sync_dir(o->out_dir) != BB_OK)
        bb_warn(log, "gen: cannot sync directory %s", o->out_dir);

    char nc[32], ni[32], np[32];
    bb_info(log, "gen: wrote %s customers, %s items, %s purchases to %s",
            bb_fmt_int(nc, sizeof nc, (int64_t)o->customers),
            bb_fmt_int(ni, sizeof ni, (int64_t)o->items),
            bb_fmt_int(np, sizeof np, (int64_t)o->purchases), o->out_dir);

fail:
    if (e == BB_ERR_NOMEM)
        bb_error(log, "gen: out of memory");
    for (int i = 0; i < 3; i++)
        out_free(&files[i]);
    catalogue_free(&g.cat);
    free(g.cust);
    free(g.demand);
    free(g.season);
    return e;
}
