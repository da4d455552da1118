#include "ingest/dataset.h"

#include <stdlib.h>
#include <string.h>

static const struct {
    const char *code, *label;
} reasons[BB_REJ__COUNT] = {
    [BB_REJ_MALFORMED] = {"malformed_csv", "malformed CSV"},
    [BB_REJ_TOO_LONG] = {"record_too_long", "record too long"},
    [BB_REJ_FIELD_COUNT] = {"field_count", "wrong number of fields"},
    [BB_REJ_UTF8] = {"invalid_utf8", "invalid UTF-8"},
    [BB_REJ_MISSING] = {"missing_value", "missing value"},
    [BB_REJ_NOT_INTEGER] = {"not_integer", "not a whole number"},
    [BB_REJ_NOT_MONEY] = {"not_money", "not an amount of money"},
    [BB_REJ_NOT_DATE] = {"not_date", "not a valid date"},
    [BB_REJ_NOT_BOOL] = {"not_boolean", "not true/false"},
    [BB_REJ_RANGE] = {"out_of_range", "value out of range"},
    [BB_REJ_AFTER_AS_OF] = {"after_as_of", "date after the as-of date"},
    [BB_REJ_DUPLICATE] = {"duplicate_id", "duplicate ID"},
    [BB_REJ_UNKNOWN_CUSTOMER] = {"unknown_customer", "unknown CustomerID"},
    [BB_REJ_UNKNOWN_ITEM] = {"unknown_item", "unknown ItemID"},
};

const char *bb_reject_code(bb_reject_reason r)
{
    return (unsigned)r < BB_REJ__COUNT ? reasons[r].code : "unknown";
}

const char *bb_reject_label(bb_reject_reason r)
{
    return (unsigned)r < BB_REJ__COUNT ? reasons[r].label : "unknown";
}

void bb_dataset_free(bb_dataset *ds)
{
    if (!ds)
        return;
    bb_customers *c = &ds->customers;
    bb_intern_free(c->ids);
    free(c->age);
    free(c->gender);
    free(c->registered);
    free(c->zip);
    free(c->email);
    free(c->sms);
    bb_items *it = &ds->items;
    bb_intern_free(it->ids);
    free(it->name);
    free(it->category);
    free(it->subcategory);
    free(it->unit_price_cents);
    bb_purchases *p = &ds->purchases;
    free(p->customer);
    free(p->item);
    free(p->quantity);
    free(p->day);
    free(p->total_cents);
    free(p->employee);
    bb_intern_free(ds->genders);
    bb_intern_free(ds->zips);
    bb_intern_free(ds->item_names);
    bb_intern_free(ds->categories);
    bb_intern_free(ds->subcategories);
    bb_intern_free(ds->employees);
    free(ds);
}

const char *bb_dataset_subcategory_name(const bb_dataset *ds, uint32_t id)
{
    const char *key = bb_intern_str(ds->subcategories, id);
    if (!key)
        return "";
    const char *colon = strchr(key, ':');
    return colon ? colon + 1 : key;
}

size_t bb_dataset_bytes(const bb_dataset *ds)
{
    size_t n = 0;
    n += (size_t)ds->customers.n * (sizeof(int16_t) + 3 * sizeof(uint32_t) + 2);
    n += (size_t)ds->items.n * (3 * sizeof(uint32_t) + sizeof(int64_t));
    n += ds->purchases.n * (4 * sizeof(uint32_t) + sizeof(int32_t) + sizeof(int64_t));
    n += bb_intern_bytes(ds->customers.ids) + bb_intern_bytes(ds->items.ids);
    n += bb_intern_bytes(ds->genders) + bb_intern_bytes(ds->zips) +
         bb_intern_bytes(ds->item_names) + bb_intern_bytes(ds->categories) +
         bb_intern_bytes(ds->subcategories) + bb_intern_bytes(ds->employees);
    return n;
}
