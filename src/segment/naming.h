/*
 * naming.h - segments ordered and named by rules on their centroids.
 *
 * Centroids here are in the clustering space, one z-score per feature
 * (feature-indexed, BB_SEG_FEATURES entries per cluster; only the features
 * in `used` are read): 0 is the average customer with purchases, +1 one
 * standard deviation above. Because names come from these profiles and
 * never from a cluster's number, a segment keeps its name from one night to
 * the next as long as its customers behave alike.
 *
 * Order: by value, z(monetary) + z(frequency) - z(recency) (unused
 * features count 0), highest first; ties by the lowest customer id in the
 * cluster.
 *
 * Names: each rule is a direction in the feature space (Champions = more
 * spend, more visits, fewer days since the last visit, longer streaks); a
 * cluster's fit to a rule is the projection of its centroid on that
 * direction (the dot product over used features divided by the weights'
 * norm). Names are handed out best fit first, each name once, so the
 * strongest profiles claim their names and the rest take the next best.
 * A rule needs its key features (At risk needs recency and frequency; Big
 * spenders the average visit value): without them it is not offered. When
 * the rules run out, a cluster is named after its most distinctive features
 * ("Many visits, recent"). With k = 1 the one segment is "Active customers".
 *
 * The texts for each name (description, actions) live in
 * templates/segments.json, keyed by the names below.
 */
#ifndef BB_NAMING_H
#define BB_NAMING_H

#include <stddef.h>
#include <stdint.h>

#include "segment/features.h"

#define BB_NAMING_SIZE 48
#define BB_NAMING_NONE "No purchases yet"
#define BB_NAMING_SINGLE "Active customers"
/* Key in segments.json for the texts of a name made from features. */
#define BB_NAMING_OTHER_KEY "_other"

/* The named rules, in their tie-breaking order. */
size_t bb_naming_rule_count(void);
const char *bb_naming_rule_name(size_t rule);

/* order[i] = the cluster placed at position i. first_member[c] is the
 * lowest customer id in cluster c (the tie-break). */
void bb_naming_order(const double *centroids, int k, unsigned used, const uint32_t *first_member, int *order);

/* names[c] (BB_NAMING_SIZE bytes each) for the k clusters; fit[c] (may be
 * NULL) the winning rule's projection (NaN for a name made from features).
 * rule_of[c] (may be NULL): the rule index, or -1. */
void bb_naming_assign(const double *centroids, int k, unsigned used, char (*names)[BB_NAMING_SIZE],
                      double *fit, int *rule_of);

#endif
