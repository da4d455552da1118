#include "util/err.h"

static const struct {
    const char *text;
    int exit_code;
} bb_err_table[BB_ERR__COUNT] = {
    [BB_OK]            = {"ok", 0},
    [BB_ERR_USAGE]     = {"usage error", 64},
    [BB_ERR_DATA]      = {"bad input data", 65},
    [BB_ERR_NOINPUT]   = {"input missing", 66},
    [BB_ERR_NOMEM]     = {"out of memory", 70},
    [BB_ERR_INTERNAL]  = {"internal error", 70},
    [BB_ERR_CANTCREAT] = {"cannot create output", 73},
    [BB_ERR_IO]        = {"I/O error", 74},
    [BB_ERR_TEMPFAIL]  = {"temporary failure, try again later", 75},
    [BB_ERR_CONFIG]    = {"configuration error", 78},
};

const char *bb_strerror(bb_err e)
{
    if ((unsigned)e >= BB_ERR__COUNT)
        return "unknown error";
    return bb_err_table[e].text;
}

int bb_exit_code(bb_err e)
{
    if ((unsigned)e >= BB_ERR__COUNT)
        return 70;
    return bb_err_table[e].exit_code;
}
