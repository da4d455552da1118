#include "ingest/field.h"

#include <string.h>

void bb_field_trim(const char **s, size_t *n)
{
    const char *p = *s;
    size_t len = *n;
    while (len > 0 && (*p == ' ' || *p == '\t'))
        p++, len--;
    while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
        len--;
    *s = p;
    *n = len;
}

bb_field_status bb_field_int(const char *s, size_t n, int64_t *out)
{
    bb_field_trim(&s, &n);
    if (n == 0)
        return BB_FIELD_EMPTY;
    size_t i = 0;
    bool neg = false;
    if (s[0] == '-' || s[0] == '+')
        neg = s[0] == '-', i++;
    if (i == n)
        return BB_FIELD_SYNTAX;
    int64_t v = 0;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return BB_FIELD_SYNTAX;
        if (v > (INT64_MAX - 9) / 10)
            return BB_FIELD_OVERFLOW;
        v = v * 10 + (s[i] - '0');
    }
    *out = neg ? -v : v;
    return BB_FIELD_OK;
}

bb_field_status bb_field_cents(const char *s, size_t n, int64_t *out)
{
    bb_field_trim(&s, &n);
    if (n == 0)
        return BB_FIELD_EMPTY;
    size_t i = 0;
    bool neg = false;
    if (s[0] == '-')
        neg = true, i++;
    int64_t units = 0;
    size_t int_digits = 0, frac_digits = 0;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, int_digits++) {
        units = units * 10 + (s[i] - '0');
        if (units > BB_MAX_CENTS / 100)
            return BB_FIELD_OVERFLOW;
    }
    int64_t cents = 0;
    int round_up = 0;
    if (i < n && s[i] == '.') {
        i++;
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, frac_digits++) {
            int d = s[i] - '0';
            if (frac_digits < 2)
                cents = cents * 10 + d;
            else if (frac_digits == 2)
                round_up = d >= 5;
        }
    }
    if (i != n || int_digits + frac_digits == 0)
        return BB_FIELD_SYNTAX;
    if (frac_digits == 1)
        cents *= 10;
    int64_t v = units * 100 + cents + round_up;
    if (v > BB_MAX_CENTS)
        return BB_FIELD_OVERFLOW;
    *out = neg ? -v : v;
    return BB_FIELD_OK;
}

bb_field_status bb_field_bool(const char *s, size_t n, bool *out)
{
    static const struct {
        const char *text;
        bool value;
    } words[] = {
        {"true", true}, {"false", false}, {"1", true}, {"0", false}, {"yes", true}, {"no", false},
    };
    bb_field_trim(&s, &n);
    if (n == 0)
        return BB_FIELD_EMPTY;
    for (size_t w = 0; w < sizeof words / sizeof words[0]; w++) {
        if (strlen(words[w].text) != n)
            continue;
        size_t k = 0;
        while (k < n && (s[k] | 0x20) == words[w].text[k])
            k++;
        if (k == n) {
            *out = words[w].value;
            return BB_FIELD_OK;
        }
    }
    return BB_FIELD_SYNTAX;
}
