#include "util/intern.h"

#include <stdlib.h>
#include <string.h>

#define EMPTY UINT64_MAX
/* An index slot holds the id in its low 32 bits and the low 32 bits of the
 * string's hash in its high bits, so a probe rejects most non-matches without
 * touching the per-id arrays (one cache miss instead of three). */
#define SLOT(hash, id) ((uint64_t)(uint32_t)(hash) << 32 | (id))
#define SLOT_ID(slot) ((uint32_t)(slot))
#define SLOT_HASH(slot) ((uint32_t)((slot) >> 32))

struct bb_intern {
    char *pool;
    size_t pool_len, pool_cap, pool_max;
    uint64_t *off;   /* per id: offset of the string in pool */
    uint32_t *len;   /* per id: length */
    uint32_t *hash;  /* per id: low 32 bits of its hash, to skip compares and rehash */
    uint32_t n, ids_cap;
    uint64_t *index; /* SLOT(hash, id), EMPTY when free */
    uint32_t mask;   /* index size - 1 */
};

/* Eight bytes at a time, each word folded in with a multiply-xorshift step
 * (the splitmix64 finaliser), then a final mix: fast on short IDs. */
uint64_t bb_hash_bytes(const void *p, size_t n)
{
    const unsigned char *s = p;
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ ((uint64_t)n * 0xff51afd7ed558ccdULL);
    uint64_t w;
    while (n >= 8) {
        memcpy(&w, s, 8);
        h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
        h ^= h >> 31;
        s += 8;
        n -= 8;
    }
    w = 0;
    memcpy(&w, s, n);
    h = (h ^ w) * 0x94d049bb133111ebULL;
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 32;
    return h;
}

bb_err bb_intern_new(bb_intern **out, size_t max_bytes)
{
    *out = NULL;
    bb_intern *t = calloc(1, sizeof *t);
    if (!t)
        return BB_ERR_NOMEM;
    t->pool_max = max_bytes ? max_bytes : ((size_t)1 << 30);
    t->mask = 1023;
    t->index = malloc(((size_t)t->mask + 1) * sizeof *t->index);
    if (!t->index) {
        free(t);
        return BB_ERR_NOMEM;
    }
    memset(t->index, 0xff, ((size_t)t->mask + 1) * sizeof *t->index);
    *out = t;
    return BB_OK;
}

void bb_intern_free(bb_intern *t)
{
    if (!t)
        return;
    free(t->pool);
    free(t->off);
    free(t->len);
    free(t->hash);
    free(t->index);
    free(t);
}

static bool same(const bb_intern *t, uint32_t id, const char *s, size_t len)
{
    return t->len[id] == len && memcmp(t->pool + t->off[id], s, len) == 0;
}

bool bb_intern_get(const bb_intern *t, const char *s, size_t len, uint32_t *id)
{
    uint64_t h = bb_hash_bytes(s, len);
    for (uint32_t i = (uint32_t)h & t->mask;; i = (i + 1) & t->mask) {
        uint64_t slot = t->index[i];
        if (slot == EMPTY)
            return false;
        if (SLOT_HASH(slot) == (uint32_t)h && same(t, SLOT_ID(slot), s, len)) {
            *id = SLOT_ID(slot);
            return true;
        }
    }
}

static bb_err grow_index(bb_intern *t)
{
    uint32_t size = (t->mask + 1) * 2;
    if (size == 0)
        return BB_ERR_NOMEM;
    uint64_t *index = malloc((size_t)size * sizeof *index);
    if (!index)
        return BB_ERR_NOMEM;
    memset(index, 0xff, (size_t)size * sizeof *index);
    uint32_t mask = size - 1;
    for (uint32_t id = 0; id < t->n; id++) {
        uint32_t i = t->hash[id] & mask;
        while (index[i] != EMPTY)
            i = (i + 1) & mask;
        index[i] = SLOT(t->hash[id], id);
    }
    free(t->index);
    t->index = index;
    t->mask = mask;
    return BB_OK;
}

static bb_err grow_ids(bb_intern *t)
{
    uint32_t cap = t->ids_cap ? t->ids_cap * 2 : 256;
    if (cap < t->ids_cap || cap > (UINT32_MAX >> 2))
        return BB_ERR_NOMEM;
    uint64_t *off = realloc(t->off, (size_t)cap * sizeof *off);
    if (!off)
        return BB_ERR_NOMEM;
    t->off = off;
    uint32_t *len = realloc(t->len, (size_t)cap * sizeof *len);
    if (!len)
        return BB_ERR_NOMEM;
    t->len = len;
    uint32_t *hash = realloc(t->hash, (size_t)cap * sizeof *hash);
    if (!hash)
        return BB_ERR_NOMEM;
    t->hash = hash;
    t->ids_cap = cap;
    return BB_OK;
}

bb_err bb_intern_put(bb_intern *t, const char *s, size_t len, uint32_t *id, bool *added)
{
    uint64_t h = bb_hash_bytes(s, len);
    uint32_t i = (uint32_t)h & t->mask;
    for (;; i = (i + 1) & t->mask) {
        uint64_t slot = t->index[i];
        if (slot == EMPTY)
            break;
        if (SLOT_HASH(slot) == (uint32_t)h && same(t, SLOT_ID(slot), s, len)) {
            *id = SLOT_ID(slot);
            if (added)
                *added = false;
            return BB_OK;
        }
    }
    if (len > UINT32_MAX || len + 1 > t->pool_max - t->pool_len)
        return BB_ERR_NOMEM;
    if (t->n == t->ids_cap && grow_ids(t) != BB_OK)
        return BB_ERR_NOMEM;
    if (t->pool_len + len + 1 > t->pool_cap) {
        size_t cap = t->pool_cap ? t->pool_cap : 4096;
        while (cap < t->pool_len + len + 1)
            cap *= 2;
        if (cap > t->pool_max)
            cap = t->pool_max;
        char *pool = realloc(t->pool, cap);
        if (!pool)
            return BB_ERR_NOMEM;
        t->pool = pool;
        t->pool_cap = cap;
    }
    uint32_t nid = t->n;
    memcpy(t->pool + t->pool_len, s, len);
    t->pool[t->pool_len + len] = '\0';
    t->off[nid] = t->pool_len;
    t->len[nid] = (uint32_t)len;
    t->hash[nid] = (uint32_t)h;
    t->pool_len += len + 1;
    t->index[i] = SLOT(h, nid);
    t->n++;
    if ((uint64_t)t->n * 2 > (uint64_t)t->mask + 1 && grow_index(t) != BB_OK)
        return BB_ERR_NOMEM;
    *id = nid;
    if (added)
        *added = true;
    return BB_OK;
}

const char *bb_intern_str(const bb_intern *t, uint32_t id)
{
    return id < t->n ? t->pool + t->off[id] : NULL;
}

size_t bb_intern_len(const bb_intern *t, uint32_t id)
{
    return id < t->n ? t->len[id] : 0;
}

uint32_t bb_intern_count(const bb_intern *t)
{
    return t ? t->n : 0;
}

size_t bb_intern_bytes(const bb_intern *t)
{
    if (!t)
        return 0;
    return t->pool_cap + (size_t)t->ids_cap * (sizeof(uint64_t) + 2 * sizeof(uint32_t)) +
           ((size_t)t->mask + 1) * sizeof(uint64_t);
}
