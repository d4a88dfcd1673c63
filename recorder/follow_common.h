/*
 * follow_common.h - the `--follow` loop shared by `dump --follow` and
 * `audit --follow`: open a trace a recorder is still writing and pull
 * records from whole, verified chunks as they land (dmt/follow.h), like
 * tail -f, until the END record, Ctrl-C, or the file stops growing.
 */
#ifndef DMT_FOLLOW_COMMON_H
#define DMT_FOLLOW_COMMON_H

#include <stdbool.h>
#include <stdint.h>

#include "dmt/error.h"
#include "dmt/follow.h"

#define FOLLOW_DEFAULT_STALL_MS 5000u

/* The getopt_long entries of --follow ('w') and --stall-ms ('s'), whose
 * values go to follow_option (needs <getopt.h>). */
/* clang-format off */
#define FOLLOW_LONG_OPTIONS \
    {"follow", no_argument, 0, 'w'}, {"stall-ms", required_argument, 0, 's'}
/* clang-format on */

typedef struct follow_run {
    const char *cmd, *file;
    uint64_t stall_ms;
    dmt_follow *f;
    bool on;      /* --follow given */
    bool latency; /* --latency: report record time -> arrival at the end */
    uint64_t lat_n, lat_max_ns;
    bool stalled, interrupted;
} follow_run;

/* Take option c of FOLLOW_LONG_OPTIONS: 'w' (--follow: sets fr->on) or 's'
 * (--stall-ms MS, arg); false after a usage message.  --latency is set by
 * the caller (fr->latency). */
bool follow_option(follow_run *fr, int c, const char *arg);

/* Open fr->file for following (waits up to the stall time for the file
 * and its header to appear) and install the SIGINT/SIGTERM handler.  0 or a DMT_E*. */
int follow_run_open(follow_run *fr, unsigned reader_flags, dmt_error *err);

/* The next record: 1, 0 at the end (END record, Ctrl-C, or the rest of a
 * stalled file read as a finished one: a one-line note on stderr), or a
 * negative DMT_E*.  Flushes stdout while waiting. */
int follow_run_next(follow_run *fr, dmt_record *rec, dmt_error *err);

/* Close; with --latency, one line on stderr: how long after its time (the
 * probe's CLOCK_MONOTONIC stamp) each record reached the follower, median,
 * p99 and worst (a figure to report, not a check). */
void follow_run_close(follow_run *fr);

#endif
