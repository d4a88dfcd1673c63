/*
 * bench_read.h - header only, for the benchmarks: read a whole trace with
 * the reader (dmt/reader.h) and time it - the "reader alone" baseline that
 * bench_reader, bench_replay and bench_import print next to their figures.
 */
#ifndef BENCH_READ_H
#define BENCH_READ_H

#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "dmt/reader.h"

/* Seconds to read every record of path with reader flags (e.g.
 * DMT_READ_REFERENCE), *records (may be NULL) the count; -1 on an error
 * (said on stderr). */
static inline double bench_read_all(const char *path, unsigned flags, uint64_t *records)
{
    struct timespec a, b;
    dmt_reader *rd;
    dmt_error err;
    dmt_record rec;
    uint64_t n = 0;
    int rc;
    clock_gettime(CLOCK_MONOTONIC, &a);
    if (dmt_reader_open(path, flags, &rd, &err) != 0) {
        fprintf(stderr, "%s: %s\n", path, err.msg);
        return -1;
    }
    while ((rc = dmt_reader_next(rd, &rec, &err)) == 1)
        n++;
    dmt_reader_close(rd);
    clock_gettime(CLOCK_MONOTONIC, &b);
    if (rc < 0) {
        fprintf(stderr, "%s: %s\n", path, err.msg);
        return -1;
    }
    if (records)
        *records = n;
    return (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
}

#endif
