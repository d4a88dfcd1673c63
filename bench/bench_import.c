/*
 * bench_import.c - how fast `dmatrace import` loads a trace, next to a raw
 * SQLite baseline measured in the same run on the same disk.
 *
 *   bench_import [-n EVENTS] [-i TRACE.dmat] [-d DIR] [--keep]
 *
 * Without -i it generates a session of EVENTS records (default 10 M) with
 * gen_trace.  Baseline: one table with the six columns sg_elements had in schema 4, one
 * prepared single-row INSERT, one transaction, SQLite's default settings,
 * as many rows as the trace has SG elements.  Then dmt_store_import of the
 * trace (end to end: read, load, derive, index, commit, fsync, rename), and
 * a table of rates.  Targets (issue "Recorder and store"): all-table rows/s
 * >= 50% of the baseline's, >= 1.5 M SG-element rows/s, 10 M events in
 * <= 15 s (<= 8 s since "Performance at scale").  RESULT lines: the import
 * next to every row it writes at the baseline's raw rate (its floor), and
 * the reader alone next to the libcbor reference; then the same trace
 * into a trace-backed store (raw events left in the trace): its time and
 * bytes per event next to the full import's.  Not a ctest test:
 * timings depend on the machine.
 */
#include <getopt.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench_read.h"
#include "dmt/store.h"
#include "gen_trace.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static int sq(sqlite3 *db, const char *sql)
{
    int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        fprintf(stderr, "bench_import: %s: %s\n", sql, sqlite3_errmsg(db));
    return rc;
}

/* The baseline: rows of (exec_seq, xfer, idx, addr, length) into a fresh
 * file.  Returns seconds, or -1. */
static double baseline(const char *path, uint64_t rows)
{
    unlink(path);
    sqlite3 *db;
    if (sqlite3_open(path, &db) != SQLITE_OK)
        return -1;
    sqlite3_stmt *st = NULL;
    double t0 = now();
    if (sq(db, "CREATE TABLE sg(id INTEGER PRIMARY KEY, exec_seq INTEGER NOT NULL, xfer INTEGER "
               "NOT NULL, idx INTEGER NOT NULL, addr INTEGER NOT NULL, length INTEGER NOT NULL)") ||
        sqlite3_prepare_v3(db,
                           "INSERT INTO sg(id, exec_seq, xfer, idx, addr, length) VALUES "
                           "(?, ?, ?, ?, ?, ?)",
                           -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK ||
        sq(db, "BEGIN")) {
        sqlite3_close(db);
        return -1;
    }
    uint64_t x = 88172645463325252ull, seq = 1, xfer = 1;
    uint32_t idx = 0, n = 8;
    for (uint64_t i = 1; i <= rows; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        sqlite3_bind_int64(st, 1, (int64_t)i);
        sqlite3_bind_int64(st, 2, (int64_t)seq);
        sqlite3_bind_int64(st, 3, (int64_t)xfer);
        sqlite3_bind_int64(st, 4, idx);
        sqlite3_bind_int64(st, 5, (int64_t)((x & 0xFFFFFFFFFull) << 12));
        sqlite3_bind_int64(st, 6, 4096);
        if (sqlite3_step(st) != SQLITE_DONE) {
            fprintf(stderr, "bench_import: baseline: %s\n", sqlite3_errmsg(db));
            sqlite3_finalize(st);
            sqlite3_close(db);
            return -1;
        }
        sqlite3_reset(st);
        if (++idx == n) {
            idx = 0;
            n = 1 + (uint32_t)(x % 16);
            seq += 14;
            xfer++;
        }
    }
    sq(db, "COMMIT");
    sqlite3_finalize(st);
    sqlite3_close(db);
    return now() - t0;
}

static int64_t count_rows(const char *db_path, uint64_t *total)
{
    static const char *const tables[] = {
        "reg_accesses", "reg_buffers", "dma_calls",      "sg_elements", "resources", "desc_writes",
        "payloads",     "patterns",    "interrupts",     "dpcs",        "markers",   "lost",
        "adapters",     "buffers",     "common_buffers", "transfers",   "lanes",     "summary",
        "time_index",   "meta",        "cpu_runs"};
    sqlite3 *db;
    *total = 0;
    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        return -1;
    int64_t summary = 0;
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
        char sql[128];
        sqlite3_stmt *q;
        snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", tables[i]);
        if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) == SQLITE_OK &&
            sqlite3_step(q) == SQLITE_ROW) {
            *total += (uint64_t)sqlite3_column_int64(q, 0);
            if (!strcmp(tables[i], "summary"))
                summary = sqlite3_column_int64(q, 0);
        }
        sqlite3_finalize(q);
    }
    sqlite3_close(db);
    return summary;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: bench_import [-n EVENTS] [-i TRACE.dmat] [-d DIR] [--keep]\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"events", required_argument, 0, 'n'}, {"input", required_argument, 0, 'i'},
        {"dir", required_argument, 0, 'd'},    {"keep", no_argument, 0, 'k'},
        {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
    uint64_t events = 10000000;
    const char *in = NULL, *dir = "/tmp";
    bool keep = false;
    int c;
    while ((c = getopt_long(argc, argv, "n:i:d:kh", opts, NULL)) != -1) {
        switch (c) {
        case 'n':
            events = strtoull(optarg, NULL, 0);
            break;
        case 'i':
            in = optarg;
            break;
        case 'd':
            dir = optarg;
            break;
        case 'k':
            keep = true;
            break;
        default: /* -h: the usage on stdout, exit 0; anything else is bad usage */
            usage(c == 'h' ? stdout : stderr);
            return c == 'h' ? 0 : 2;
        }
    }
    char trace[512], db[512], base[512];
    snprintf(db, sizeof db, "%s/bench_import.%d.db", dir, (int)getpid());
    snprintf(base, sizeof base, "%s/bench_baseline.%d.db", dir, (int)getpid());
    dmt_error err;
    double tgen = 0;
    if (in) {
        snprintf(trace, sizeof trace, "%s", in);
    } else {
        snprintf(trace, sizeof trace, "%s/bench_import.%d.dmat", dir, (int)getpid());
        gen_opts o = {.events = events, .seed = 1};
        gen_result g;
        double t = now();
        if (gen_trace_write(trace, &o, &g, &err)) {
            fprintf(stderr, "bench_import: gen_trace: %s\n", err.msg);
            return 3;
        }
        tgen = now() - t;
    }

    /* the import, end to end */
    dmt_store_import_result res;
    double c0 = cpu(), t0 = now();
    int rc = dmt_store_import(trace, db, NULL, &res, &err);
    double timp = now() - t0, cimp = cpu() - c0;
    if (rc) {
        fprintf(stderr, "bench_import: import: %s\n", err.msg);
        return 3;
    }
    uint64_t rows;
    int64_t summary = count_rows(db, &rows);

    /* the same trace into a trace-backed store (the raw events stay in the
     * trace), right after: same run, same disk */
    char tdb[600];
    snprintf(tdb, sizeof tdb, "%s.trace-backed.db", db);
    dmt_store_import_opts to = {.events_in_trace = true};
    dmt_store_import_result tres;
    c0 = cpu();
    t0 = now();
    rc = dmt_store_import(trace, tdb, &to, &tres, &err);
    double ttb = now() - t0, ctb = cpu() - c0;
    if (rc) {
        fprintf(stderr, "bench_import: trace-backed import: %s\n", err.msg);
        return 3;
    }
    uint64_t trows;
    count_rows(tdb, &trows);
    unlink(tdb);

    /* the baseline, as many rows as the trace has SG elements */
    c0 = cpu();
    double tbase = baseline(base, res.sg_elements ? res.sg_elements : 1000000);
    double cbase = cpu() - c0;
    uint64_t brows = res.sg_elements ? res.sg_elements : 1000000;
    if (tbase <= 0) {
        fprintf(stderr, "bench_import: the baseline failed\n");
        return 3;
    }

    struct stat sb;
    uint64_t tbytes = stat(trace, &sb) == 0 ? (uint64_t)sb.st_size : 0;
    double base_rate = (double)brows / tbase;
    double rows_rate = (double)rows / timp;
    printf("bench_import: %s (%" PRIu64 " records, %.1f MB", trace, res.records,
           (double)tbytes / 1e6);
    if (!in)
        printf(", generated in %.2f s", tgen);
    printf("), SQLite %s, %ld CPUs online\n\n", sqlite3_libversion(),
           sysconf(_SC_NPROCESSORS_ONLN));
    printf("  %-44s %14s %10s\n", "measure", "value", "target");
    printf("  %-44s %14.2f\n", "baseline: rows/s, 1 table (M)", base_rate / 1e6);
    printf("  %-44s %14.2f\n", "baseline: seconds (wall) / CPU", tbase);
    printf("  %-44s %14.2f\n", "", cbase);
    printf("  %-44s %14.2f %10s\n", "import: seconds end to end (wall)", timp,
           res.records >= 10000000 ? "<= 15" : "");
    printf("  %-44s %14.2f\n", "import: CPU seconds (both threads)", cimp);
    static const char *const phases[] = {"", "load", "derive + summaries", "indexes",
                                         "commit + fsync + rename"};
    for (int ph = 1; ph < 5; ph++) {
        char label[64];
        snprintf(label, sizeof label, "  phase: %s (s)", phases[ph]);
        printf("  %-44s %14.2f\n", label, (double)res.phase_ns[ph] / 1e9);
    }
    printf("  %-44s %14.2f\n", "import: events/s (M)", (double)res.records / timp / 1e6);
    printf("  %-44s %14.2f %10s\n", "import: SG-element rows/s inserting them (M)",
           res.sg_insert_ns ? (double)res.sg_elements / ((double)res.sg_insert_ns / 1e9) / 1e6
                            : 0.0,
           ">= 1.5");
    printf("  %-44s %14.2f\n", "import: SG-element rows/s over the import (M)",
           (double)res.sg_elements / timp / 1e6);
    printf("  %-44s %14.2f\n", "import: rows/s, all tables (M)", rows_rate / 1e6);
    printf("  %-44s %13.0f%% %10s\n", "import rows/s vs baseline rows/s",
           100 * rows_rate / base_rate, ">= 50%");
    printf("  %-44s %14" PRIu64 "\n", "rows written (all tables)", rows);
    printf("  %-44s %14" PRId64 "\n", "  of which summary rows", summary);
    printf("  %-44s %14" PRIu64 "\n", "  of which sg_elements rows", res.sg_elements);
    printf("  %-44s %14.1f\n", "database bytes per event",
           (double)res.db_bytes / (double)res.records);
    printf("  %-44s %14.1f\n", "trace bytes per event", (double)tbytes / (double)res.records);
    if (res.records < 10000000)
        printf("  %-44s %14.2f %10s\n", "10 M events, extrapolated (s)",
               timp * 1e7 / (double)res.records, "<= 15");
    /* The reader alone over the same trace (the import's reading thread),
     * with the table-driven decoder and with the libcbor reference. */
    double tread[2];
    for (int ref = 0; ref < 2; ref++)
        tread[ref] = bench_read_all(trace, ref ? DMT_READ_REFERENCE : 0, NULL);
    double floor_s = (double)rows / base_rate; /* every row at the raw one-table rate */
    printf("RESULT\timport, %.1f M events end to end\t%.2f s\t<= 8 s (10 M)\t%.2f s raw SQLite "
           "insert of the same %.1f M rows\t%.2f\n",
           (double)res.records / 1e6, timp, floor_s, (double)rows / 1e6, timp / floor_s);
    printf("  %-44s %14.2f %10s\n", "trace-backed: seconds end to end (wall)", ttb, "<= 8");
    printf("  %-44s %14.2f\n", "trace-backed: CPU seconds (both threads)", ctb);
    printf("  %-44s %14" PRIu64 "\n", "trace-backed: rows written (all tables)", trows);
    printf("  %-44s %14.1f %10s\n", "trace-backed: database bytes per event",
           (double)tres.db_bytes / (double)tres.records, "<= 40");
    printf("RESULT\timport, %.1f M events end to end, trace-backed\t%.2f s (%.2f s CPU)\t<= 8 s "
           "(10 M)\t%.2f s (%.2f s CPU) full rows, same run\t%.2f\n",
           (double)tres.records / 1e6, ttb, ctb, timp, cimp, ttb / timp);
    printf("RESULT\tdatabase bytes per event, trace-backed\t%.1f B\t<= 40 B\t%.1f B full rows, "
           "same run\t%.2f\n",
           (double)tres.db_bytes / (double)tres.records, (double)res.db_bytes / (double)res.records,
           (double)tres.db_bytes / (double)res.db_bytes);
    printf("RESULT\timport, reading the trace (reader alone)\t%.2f s\t-\t%.2f s libcbor "
           "reference\t%.2f\n",
           tread[0], tread[1], tread[1] / tread[0]);
    if (!keep) {
        unlink(db);
        if (!in)
            unlink(trace);
    } else {
        printf("\nkept %s%s%s\n", db, in ? "" : " and ", in ? "" : trace);
    }
    unlink(base);
    return 0;
}
