/*
 * cmd_recover.c - `dmatrace recover FILE [-o OUT]`: make a trace that was
 * cut by a crash or a full disk whole again.
 *
 * The file is read to its last whole record; every record is written again
 * (same times, same sequence numbers, same loss ranges) into a new file with
 * complete chunk framing, followed by a marker saying where and why the
 * original was cut, and the END record.  The new file replaces FILE
 * atomically (or goes to OUT); FILE is untouched on any failure.
 */
#include <getopt.h>
#include <inttypes.h>
#include <string.h>

#include "cli.h"
#include "dmt/source.h"
#include "dmt/writer.h"

static void help(void)
{
    printf("usage: dmatrace recover FILE [-o OUT]\n\n"
           "Make a trace cut by a crash (or a full disk) readable and whole: keep every\n"
           "record up to the last whole one, close the framing, and add a marker saying\n"
           "where and why the file was cut.  FILE is replaced atomically unless -o OUT is\n"
           "given.  A file that is already whole is left alone (exit 0).\n");
}

int cmd_recover(int argc, char **argv)
{
    static const struct option opts[] = {
        {"output", required_argument, 0, 'o'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *out = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o':
            out = optarg;
            break;
        case 'h':
            help();
            return CLI_OK;
        default:
            return cli_usage("recover", "bad option");
        }
    }
    if (optind != argc - 1)
        return cli_usage("recover", "expected one FILE");
    const char *file = argv[optind];
    dmt_error err;
    /* First pass: is it cut at all? */
    dmt_source *src;
    dmt_record r;
    int rc = dmt_source_open(file, DMT_SOURCE_TRACE_ONLY, &src, &err);
    if (rc == DMT_E_USAGE)
        return cli_fail("recover", CLI_BAD, "%s: not a trace file", file);
    if (rc)
        return cli_report("recover", file, &err);
    uint64_t n = 0;
    while ((rc = dmt_source_next(src, &r, NULL, &err)) == 1)
        n++;
    if (rc < 0) {
        dmt_source_close(src);
        return cli_report("recover", file, &err);
    }
    uint64_t cut_at;
    const char *reason;
    char why[96];
    bool cut = dmt_source_cut(src, &cut_at, &reason);
    snprintf(why, sizeof why, "%s", cut && reason ? reason : "");
    dmt_source_close(src);
    if (!cut) {
        if (out)
            return cli_fail("recover", CLI_OK, "%s is whole; nothing to recover", file);
        fprintf(stderr, "dmatrace recover: %s is whole (%" PRIu64 " records); nothing to do\n",
                file, n);
        return CLI_OK;
    }

    /* Second pass: copy into a new file. */
    if ((rc = dmt_source_open(file, DMT_SOURCE_TRACE_ONLY, &src, &err)))
        return cli_report("recover", file, &err);
    const char *dest = out ? out : file;
    dmt_header h = *dmt_source_header(src);
    dmt_writer *w;
    if ((rc = dmt_writer_open(dest, &h, DMT_WRITE_ATOMIC | DMT_WRITE_KEEP_CPU, &w, &err))) {
        dmt_source_close(src);
        return cli_report("recover", dest, &err);
    }
    int64_t last_ts = h.t0;
    uint64_t kept = 0;
    while ((rc = dmt_source_next(src, &r, NULL, &err)) == 1) {
        last_ts = r.ts;
        if ((rc = dmt_writer_append(w, &r, &err)) != 0)
            break;
        kept++;
    }
    dmt_source_close(src);
    if (rc < 0) {
        dmt_writer_abort(w);
        return cli_report("recover", rc == DMT_E_IO ? dest : file, &err);
    }
    char text[256];
    int len = snprintf(text, sizeof text,
                       DMT_RECOVER_MARKER "the original file was cut at byte %" PRIu64
                                          " (%s); %" PRIu64 " whole records kept",
                       cut_at, why, kept);
    memset(&r, 0, sizeof r);
    r.kind = DMT_K_MARKER;
    r.cpu = DMT_CPU_NONE; /* made by no CPU: after records of one, a CPU record says so */
    r.ts = last_ts;
    r.bytes = (const uint8_t *)text;
    r.n_bytes = (uint32_t)len;
    if ((rc = dmt_writer_append(w, &r, &err)) != 0) {
        dmt_writer_abort(w);
        return cli_report("recover", dest, &err);
    }
    if ((rc = dmt_writer_close(w, &err)) != 0)
        return cli_report("recover", dest, &err);
    fprintf(stderr,
            "dmatrace recover: %s: cut at byte %" PRIu64 " (%s); %" PRIu64
            " records kept, framing closed%s%s\n",
            file, cut_at, why, kept, out ? ", written to " : "", out ? out : "");
    return CLI_OK;
}
