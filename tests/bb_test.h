/*
 * bb_test.h - what the cmocka tests share: temp dirs, ../shared, skipping.
 *
 * A test binary runs its unit cases by default, and with --shared only the
 * cases that read ../shared (the CMake entry <name>_shared). Where ../shared
 * is absent (a user's clone) the --shared run exits with BB_TEST_SKIP, which
 * ctest reports as skipped, never as passed.
 */
#ifndef BB_TEST_H
#define BB_TEST_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define BB_TEST_SKIP 77

static inline bool bb_test_wants_shared(int argc, char **argv)
{
    return argc > 1 && strcmp(argv[1], "--shared") == 0;
}

/* The ../shared directory, or NULL when it is not there. */
static inline const char *bb_test_shared_dir(void)
{
    const char *d = getenv("BB_SHARED_DIR");
    struct stat st;
    if (!d || stat(d, &st) != 0 || !S_ISDIR(st.st_mode))
        return NULL;
    return d;
}

/* Runs the unit group, or the shared group with --shared (skipped without ../shared). */
#define BB_TEST_RUN(argc, argv, unit, shared)                                                  \
    (bb_test_wants_shared((argc), (argv))                                                      \
         ? (bb_test_shared_dir() ? cmocka_run_group_tests_name("shared", shared, NULL, NULL)   \
                                 : (printf("../shared not found: skipped\n"), BB_TEST_SKIP))   \
         : cmocka_run_group_tests_name("unit", unit, NULL, NULL))

#endif
