/*
 * main.c - the command line: reads the command word, hands over to the
 * pipeline or the generator, and maps the result to an exit code. Only
 * main() exits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bb_build_info.h"
#include "gen/gen.h"
#include "pipeline/config.h"
#include "pipeline/pipeline.h"
#include "util/err.h"
#include "util/log.h"

static void usage(FILE *f)
{
    fprintf(f,
            "bbreport %s - nightly sales report: PDF, workbook, HTML and customer sheets\n"
            "\n"
            "usage:\n"
            "  bbreport run   [options]   ingest, analyse and write a run directory\n"
            "  bbreport check [options]   validate the input only; print the data-quality summary\n"
            "  bbreport send  --run DIR [options]   mail a run's report ([mail] settings)\n"
            "  bbreport recommend --model FILE --customer ID [options]\n"
            "                             one customer's recommendations from a run's model.bbrec\n"
            "  bbreport gen   [options]   write a synthetic dataset (bbreport gen --help)\n"
            "  bbreport --help | --version\n"
            "\n"
            "options of run and check (every one can also be set in the INI config;\n"
            "the command line wins):\n"
            "  --config FILE                   read settings from an INI file\n"
            "  --print-config                  print the effective settings as INI and exit\n"
            "  --quiet | --verbose             less or more on the console\n"
            "  --send                          (run) mail the report when the run completes\n",
            BB_VERSION);
    bb_config_print_help(f);
    fprintf(f,
            "\n"
            "exit codes: 0 ok, 64 usage, 65 bad input data, 66 input missing, 70 internal error,\n"
            "            73 cannot create output, 74 I/O error, 75 try again later (lock held,\n"
            "            mail not delivered),\n"
            "            78 configuration error\n");
}

static int cmd_gen(int argc, char **argv)
{
    bb_gen_opts o;
    bb_gen_defaults(&o);
    char err[512] = "";
    bb_err e = bb_gen_parse_args(argc, argv, &o, err, sizeof err);
    if (e != BB_OK) {
        fprintf(stderr, "bbreport gen: %s\n", err[0] ? err : bb_strerror(e));
        return bb_exit_code(e);
    }
    if (o.help) {
        fputs(bb_gen_usage(), stdout);
        return 0;
    }
    bb_log *log;
    if (bb_log_new(&log, stderr, BB_LOG_INFO) != BB_OK)
        return bb_exit_code(BB_ERR_NOMEM);
    e = bb_gen_write(&o, log);
    bb_log_free(log);
    if (e != BB_OK)
        return bb_exit_code(e);
    printf("%s\n", o.out_dir);
    return 0;
}

static int cmd_run(const char *cmd, int argc, char **argv)
{
    /* send takes --run DIR; the other options are the shared settings. */
    const char *run_dir = NULL;
    char *rest[256];
    int nrest = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(cmd, "send") == 0 && strcmp(argv[i], "--run") == 0 && i + 1 < argc) {
            run_dir = argv[++i];
            continue;
        }
        if (nrest == (int)(sizeof rest / sizeof rest[0])) {
            fprintf(stderr, "bbreport %s: too many arguments\n", cmd);
            return bb_exit_code(BB_ERR_USAGE);
        }
        rest[nrest++] = argv[i];
    }
    argc = nrest;
    argv = rest;
    if (strcmp(cmd, "send") == 0 && !run_dir) {
        fprintf(stderr, "bbreport send: --run DIR is required (e.g. --run out/latest)\n");
        return bb_exit_code(BB_ERR_USAGE);
    }
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        }
    }
    bb_config c;
    if (bb_config_init(&c) != BB_OK) {
        fprintf(stderr, "bbreport: out of memory\n");
        return bb_exit_code(BB_ERR_NOMEM);
    }
    char err[1024] = "";
    bb_err e = bb_config_parse_args(&c, argc, argv, err, sizeof err);
    if (e != BB_OK) {
        fprintf(stderr, "bbreport %s: %s\n", cmd, err[0] ? err : bb_strerror(e));
        bb_config_free(&c);
        return bb_exit_code(e);
    }
    if (c.print_config) {
        bb_config_print_ini(&c, stdout);
        bb_config_free(&c);
        return 0;
    }
    bb_log *log;
    bb_log_level level = c.verbosity < 0 ? BB_LOG_ERROR : c.verbosity > 0 ? BB_LOG_DEBUG : BB_LOG_INFO;
    if (bb_log_new(&log, stderr, level) != BB_OK) {
        bb_config_free(&c);
        return bb_exit_code(BB_ERR_NOMEM);
    }
    if (strcmp(cmd, "check") == 0) {
        e = bb_pipeline_check(&c, log, stdout);
    } else if (strcmp(cmd, "send") == 0) {
        e = bb_pipeline_send(&c, run_dir, log);
        if (e == BB_OK)
            printf("bbreport: mailed %s/report.pdf to %s\n", run_dir, c.mail.to);
    } else {
        bb_run_result res;
        e = bb_pipeline_run(&c, log, &res);
        /* A run refused because another holds the lock is not a failure to report. */
        if (e != BB_OK && e != BB_ERR_TEMPFAIL)
            bb_pipeline_notify_failure(&c, res.run_dir[0] ? res.run_dir : NULL, e, log);
        if (e == BB_OK) {
            printf("bbreport: run %s_%s complete\n", res.as_of, res.run_id);
            printf("  report     %s/report.pdf\n", res.run_dir);
            printf("  workbook   %s/workbook.xlsx\n", res.run_dir);
            printf("  html       %s/report.html\n", res.run_dir);
            printf("  manifest   %s/manifest.json\n", res.run_dir);
            printf("  log        %s/run.log\n", res.run_dir);
            printf("  latest     %s/latest\n", c.out_dir);
        }
        if (e == BB_OK && c.send) {
            bb_err me = bb_pipeline_send(&c, res.run_dir, log);
            if (me == BB_OK) {
                printf("  mailed to  %s\n", c.mail.to);
            } else {
                bb_error(log, "the report was written but not mailed (%s)", bb_strerror(me));
                e = me == BB_ERR_CONFIG ? BB_ERR_CONFIG : BB_ERR_TEMPFAIL;
            }
        }
    }
    bb_log_free(log);
    bb_config_free(&c);
    return bb_exit_code(e);
}

/*
 * Debian's OpenBLAS 0.3.21 picks its kernels by CPU model and does not know
 * recent CPUs with AVX-512 (AMD Zen 4): it falls back to its AVX2 (Haswell)
 * kernels at half the speed. It reads OPENBLAS_CORETYPE only when the
 * library loads, before main(), so on such a CPU the program restarts
 * itself once with OPENBLAS_CORETYPE=SkylakeX, the AVX-512 kernels. A value
 * the user set is left alone.
 */
static void choose_blas_kernels(char **argv)
{
    if (getenv("OPENBLAS_CORETYPE"))
        return;
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bw") ||
        !__builtin_cpu_supports("avx512dq") || !__builtin_cpu_supports("avx512vl"))
        return;
    if (setenv("OPENBLAS_CORETYPE", "SkylakeX", 1) != 0)
        return;
    execv("/proc/self/exe", argv);
    unsetenv("OPENBLAS_CORETYPE"); /* could not restart: run with the default kernels */
}

int main(int argc, char **argv)
{
    choose_blas_kernels(argv);
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 2) {
        usage(stderr);
        return bb_exit_code(BB_ERR_USAGE);
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("bbreport %s\n", BB_VERSION);
        return 0;
    }
    if (strcmp(cmd, "run") == 0 || strcmp(cmd, "check") == 0 || strcmp(cmd, "send") == 0)
        return cmd_run(cmd, argc - 2, argv + 2);
    if (strcmp(cmd, "gen") == 0)
        return cmd_gen(argc - 2, argv + 2);
    if (strcmp(cmd, "recommend") == 0) {
        bb_log *log;
        if (bb_log_new(&log, stderr, BB_LOG_WARN) != BB_OK)
            return bb_exit_code(BB_ERR_NOMEM);
        bb_err e = bb_recommend_command(argc - 2, argv + 2, stdout, log);
        bb_log_free(log);
        return bb_exit_code(e);
    }
    fprintf(stderr, "bbreport: unknown command '%s' (see bbreport --help)\n", cmd);
    return bb_exit_code(BB_ERR_USAGE);
}
