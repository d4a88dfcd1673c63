/*
 * test_store.c - the SQLite store: import of traces covering every record
 * kind (extreme values too) and of a generated session (bench/gen_trace.h,
 * compiled in), checked against the trace itself: statistics field by
 * field, the record iterator record by record, integrity and foreign-key
 * checks; derived transfers, lanes and summaries on a hand-built trace;
 * stored and on-demand summary levels agree; the example queries of
 * schema/store-queries.md run; foreign, wrong-version, incomplete and
 * corrupted databases are refused with the right code; failed, cancelled
 * and cut imports leave no output and never touch an existing target;
 * dmt/source.h reads a trace and its import alike; a trace-backed store
 * (events_in_trace) answers every query of dmt/store_query.h as the
 * full-rows store does, imported or appended, and refuses cleanly when its
 * trace is gone, cut, replaced or damaged.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dmt/testkit.h"
#include "dmt/tktrace.h"
#include "dmt/reader.h"
#include "dmt/source.h"
#include "dmt/stats.h"
#include "dmt/store.h"
#include "dmt/store_query.h"
#include "dmt/writer.h"

#include "gen_trace.h"

static char tmpdir[256];
static char schema_dir[512]; /* <source>/schema, found from __FILE__ */

static const char *schema_file(const char *name)
{
    static char p[600];
    snprintf(p, sizeof p, "%s/%s", schema_dir, name);
    return p;
}

static void tpath(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", tmpdir, name);
}

static int spill(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(p, 1, n, f);
    fclose(f);
    return w == n ? 0 : -1;
}

static bool exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* Files in tmpdir whose name starts with prefix. */
static int count_prefixed(const char *prefix)
{
    DIR *d = opendir(tmpdir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0)
            n++;
    if (d)
        closedir(d);
    return n;
}

static void header_init(dmt_header *h, const char *scenario)
{
    tk_header(h, "test_store");
    snprintf(h->host, sizeof h->host, "testhost");
    snprintf(h->scenario, sizeof h->scenario, "%s", scenario);
    h->seed = 0xFEEDFACECAFEBEEFull; /* above 2^63: stored with its bits */
    h->ring_size = 1u << 20;
    h->ring_policy = 1;
}

/* A trace to write in the test folder: trace = STEM.dmat (and db, unless
 * NULL, = STEM.db beside it), the header_init header of scenario with its
 * first sequence number seq0, open for records; the caller closes it.
 * trace and db hold 512 bytes. */
static dmt_writer *trace_begin(char *trace, char *db, const char *stem, const char *scenario,
                               uint64_t seq0)
{
    char name[128];
    snprintf(name, sizeof name, "%s.dmat", stem);
    tpath(trace, 512, name);
    if (db) {
        snprintf(name, sizeof name, "%s.db", stem);
        tpath(db, 512, name);
    }
    dmt_header h;
    header_init(&h, scenario);
    h.seq0 = seq0;
    dmt_writer *w = NULL;
    dmt_error err;
    CHECKF(dmt_writer_open(trace, &h, 0, &w, &err) == 0, "%s: %s", trace, err.msg);
    return w;
}

/* ---- comparing a database with its trace --------------------------------- */

static bool stats_equal(const dmt_stats *a, const dmt_stats *b)
{
#define F(x)                                                                                       \
    if (a->x != b->x) {                                                                            \
        fprintf(stderr, "  stats differ in " #x ": %lld vs %lld\n", (long long)a->x,               \
                (long long)b->x);                                                                  \
        return false;                                                                              \
    }
    F(records);
    F(first_ts);
    F(last_ts);
    F(first_seq);
    F(last_seq);
    F(lost_records);
    F(lost_ranges);
    F(sg_elements);
    F(dma_bytes);
    F(n_adapters);
    for (int k = 0; k < DMT_K_MAX_; k++)
        F(by_kind[k]);
    for (int i = 0; i < 5; i++)
        F(lost_by_reason[i]);
    for (uint32_t i = 0; i < a->n_adapters; i++) {
        F(adapters[i].id);
        F(adapters[i].dev);
        F(adapters[i].sg);
        F(adapters[i].dma32);
        F(adapters[i].dma64);
        F(adapters[i].max_length);
        F(adapters[i].map_registers);
        F(adapters[i].addr_limit);
        F(adapters[i].transfers);
        F(adapters[i].bytes);
    }
#undef F
    return true;
}

static bool header_equal(const dmt_header *a, const dmt_header *b)
{
    return a->version == b->version && a->t0 == b->t0 && a->page_shift == b->page_shift &&
           a->seq0 == b->seq0 && a->seed == b->seed && a->ring_size == b->ring_size &&
           a->ring_policy == b->ring_policy && !strcmp(a->producer, b->producer) &&
           !strcmp(a->clock, b->clock) && !strcmp(a->host, b->host) &&
           !strcmp(a->scenario, b->scenario);
}

static int trace_stats(const char *trace, unsigned flags, dmt_header *h, dmt_stats *s)
{
    dmt_reader *rd;
    dmt_error err;
    dmt_stats_init(s);
    if (dmt_reader_open(trace, flags, &rd, &err))
        return -1;
    *h = *dmt_reader_header(rd);
    dmt_record r;
    int rc;
    while ((rc = dmt_reader_next(rd, &r, &err)) == 1)
        dmt_stats_add(s, &r);
    dmt_reader_close(rd);
    return rc;
}

static char *sql_text(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *q;
    static char buf[512];
    buf[0] = 0;
    if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK)
        return strcpy(buf, "(prepare failed)");
    size_t n = 0;
    while (sqlite3_step(q) == SQLITE_ROW && n < sizeof buf - 64) {
        const unsigned char *t = sqlite3_column_text(q, 0);
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s", n ? "|" : "",
                              t ? (const char *)t : "NULL");
    }
    sqlite3_finalize(q);
    return buf;
}

static int64_t sql_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *q;
    int64_t v = INT64_MIN;
    if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK)
        return v;
    if (sqlite3_step(q) == SQLITE_ROW)
        v = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return v;
}

/* Everything a database must agree on with its trace. */
static void check_against_trace(const char *trace, const char *db, unsigned rflags)
{
    dmt_header th, dh;
    dmt_stats ts, ds;
    dmt_error err;
    CHECK(trace_stats(trace, rflags, &th, &ts) == 0);
    int rc = dmt_store_info(db, &dh, &ds, &err);
    CHECKF(rc == 0, "dmt_store_info: %s", err.msg);
    CHECKF(stats_equal(&ts, &ds), "%s: stats of trace and database differ", db);
    CHECK(header_equal(&th, &dh));

    dmt_store *st;
    CHECK(dmt_store_open(db, DMT_STORE_RDONLY, &st, &err) == 0);
    if (!st)
        return;
    sqlite3 *s = dmt_store_sqlite(st);
    CHECKF(!strcmp(sql_text(s, "PRAGMA integrity_check"), "ok"), "integrity: %s",
           sql_text(s, "PRAGMA integrity_check"));
    CHECKF(sql_int(s, "SELECT count(*) FROM pragma_foreign_key_check") == 0, "foreign keys");
    CHECK(sql_int(s, "PRAGMA application_id") == DMT_STORE_APPLICATION_ID);
    CHECK(sql_int(s, "PRAGMA user_version") == DMT_STORE_SCHEMA_VERSION);
    bool backed = sql_int(s, "SELECT count(*) FROM meta WHERE key = 'events'") == 1;
    CHECK(sql_int(s, "SELECT count(*) FROM sg_elements") == (backed ? 0 : (int64_t)ts.sg_elements));
    CHECK(sql_int(s, "SELECT sum(records) FROM time_index") == (int64_t)ts.records);
    if (ts.records) {
        int64_t t0, t1;
        CHECK(dmt_store_time_range(st, &t0, &t1, &err) == 0);
        CHECK(t0 == ts.first_ts && t1 == ts.last_ts);
    }
    /* the transfers table has one row per xfer of dma_calls (a
     * trace-backed store has no dma_calls rows) */
    if (!backed)
        CHECK(sql_int(s, "SELECT count(*) FROM transfers") ==
              sql_int(s, "SELECT count(DISTINCT xfer) FROM dma_calls"));

    /* records, in order, equal */
    dmt_reader *rd;
    dmt_store_iter *it;
    CHECK(dmt_reader_open(trace, rflags, &rd, &err) == 0);
    CHECK(dmt_store_iter_open(st, 0, &it, &err) == 0);
    dmt_record a, b;
    uint64_t n = 0, bad = 0;
    for (;;) {
        int ra = dmt_reader_next(rd, &a, &err);
        int rb = dmt_store_iter_next(it, &b, &err);
        CHECKF(ra == rb, "record %llu: reader %d, store %d", (unsigned long long)n, ra, rb);
        if (ra != 1 || rb != 1)
            break;
        if ((!tk_records_equal(&a, &b) || a.seq != b.seq) && bad++ < 5)
            fprintf(stderr, "  record %llu (seq %llu kind %u) differs (store: seq %llu kind %u)\n",
                    (unsigned long long)n, (unsigned long long)a.seq, a.kind,
                    (unsigned long long)b.seq, b.kind);
        n++;
    }
    CHECKF(bad == 0, "%llu records differ", (unsigned long long)bad);
    CHECK(n == ts.records);
    dmt_store_iter_close(it);
    dmt_reader_close(rd);

    /* from the middle */
    if (ts.records > 10) {
        uint64_t from = ts.first_seq + (ts.last_seq - ts.first_seq) / 2;
        CHECK(dmt_reader_open(trace, rflags, &rd, &err) == 0);
        CHECK(dmt_store_iter_open(st, from, &it, &err) == 0);
        int ra;
        while ((ra = dmt_reader_next(rd, &a, &err)) == 1 && a.seq < from)
            ;
        uint64_t m = 0;
        bad = 0;
        while (ra == 1) {
            int rb = dmt_store_iter_next(it, &b, &err);
            if (rb != 1 || !tk_records_equal(&a, &b) || a.seq != b.seq)
                bad++;
            m++;
            ra = dmt_reader_next(rd, &a, &err);
        }
        CHECK(dmt_store_iter_next(it, &b, &err) == 0);
        CHECKF(bad == 0 && m > 0, "iteration from seq %llu", (unsigned long long)from);
        dmt_store_iter_close(it);
        dmt_reader_close(rd);
    }
    dmt_store_close(st);
}

/* ---- schema --------------------------------------------------------------- */

static void test_schema_embedded(void)
{
    size_t n;
    uint8_t *f = tk_slurp(schema_file("store.sql"), &n);
    CHECKF(f != NULL, "cannot read %s", schema_dir);
    if (f) {
        CHECKF(strlen(dmt_store_schema_sql()) == n && !memcmp(f, dmt_store_schema_sql(), n),
               "the library's embedded store.sql differs from schema/store.sql (rebuild)");
        free(f);
    }
}

/* ---- every record kind ------------------------------------------------------- */

static void write_every_kind(const char *path, int with_lost)
{
    dmt_header h;
    header_init(&h, "every-kind");
    h.seq0 = 100;
    dmt_writer *w;
    dmt_error err;
    CHECK(dmt_writer_open(path, &h, 0, &w, &err) == 0);
    dmt_writer_set_chunk_size(w, 4096);
    int64_t ts = 5000;
    for (int big = 0; big < 2; big++)
        for (uint32_t k = 1; k < DMT_K_MAX_; k++) {
            if (dmt_kind_info_get(k)->kclass == DMT_KC_FRAMING)
                continue; /* CHUNK, END, CPU: the writer's own */
            if (k == DMT_K_LOST) {
                if (with_lost)
                    CHECK(dmt_writer_lost(w, dmt_writer_next_seq(w), big ? 1000 : 3,
                                          big ? DMT_LOST_PROBE : DMT_LOST_TORN, &err) == 0);
                continue;
            }
            dmt_record r;
            ts += (k % 4 == 0) ? -11 : 70001; /* now and then backwards */
            tk_sample_record(&r, k, big, ts);
            CHECKF(dmt_writer_append(w, &r, &err) == 0, "append kind %u: %s", k, err.msg);
        }
    /* an empty marker and an empty payload */
    dmt_record r;
    memset(&r, 0, sizeof r);
    r.kind = DMT_K_MARKER;
    r.ts = ts + 1;
    CHECK(dmt_writer_append(w, &r, &err) == 0);
    r.kind = DMT_K_PAYLOAD;
    r.mdl = 3;
    CHECK(dmt_writer_append(w, &r, &err) == 0);
    CHECK(dmt_writer_close(w, &err) == 0);
}

static void test_every_kind(void)
{
    char trace[512], db[512];
    tpath(trace, sizeof trace, "every.dmat");
    tpath(db, sizeof db, "every.db");
    write_every_kind(trace, 1);
    dmt_store_import_result res;
    dmt_error err;
    int rc = dmt_store_import(trace, db, NULL, &res, &err);
    CHECKF(rc == 0, "import: %s", err.msg);
    CHECK(!res.cut);
    uint64_t events = 0;
    for (uint32_t k = 1; k < DMT_K_MAX_; k++)
        events += dmt_kind_info_get(k)->kclass != DMT_KC_FRAMING; /* events and LOST */
    CHECK(res.records == 2 * events + 2);
    check_against_trace(trace, db, 0);
    CHECK(count_prefixed("every.db.tmp") == 0);

    /* header fields with their bits, and the lanes the big records made */
    dmt_store *st;
    CHECK(dmt_store_open(db, DMT_STORE_RDONLY, &st, &err) == 0);
    if (st) {
        dmt_header h;
        CHECK(dmt_store_header(st, &h, &err) == 0);
        CHECK(h.seed == 0xFEEDFACECAFEBEEFull && h.seq0 == 100);
        int nl = dmt_store_lanes(st, NULL, 0, &err);
        dmt_store_lane *l = calloc((size_t)nl + 1, sizeof *l);
        CHECK(dmt_store_lanes(st, l, (size_t)nl, &err) == nl);
        CHECK(nl > 1024 && l[nl - 1].kind == DMT_LANE_FINDINGS);
        int kinds[7] = {0};
        for (int i = 0; i < nl; i++)
            if (l[i].kind >= 1 && l[i].kind <= 6)
                kinds[l[i].kind]++;
        CHECK(kinds[DMT_LANE_TRANSFERS] >= 2 && kinds[DMT_LANE_INTERRUPTS] == 2 &&
              kinds[DMT_LANE_LOST] == 1 && kinds[DMT_LANE_MARKERS] == 1);
        free(l);
        dmt_store_close(st);
    }

    /* an empty trace (header only) */
    char e[512], edb[512];
    tpath(e, sizeof e, "empty.dmat");
    tpath(edb, sizeof edb, "empty.db");
    dmt_header h;
    header_init(&h, "empty");
    dmt_writer *w;
    CHECK(dmt_writer_open(e, &h, 0, &w, &err) == 0);
    CHECK(dmt_writer_close(w, &err) == 0);
    CHECKF(dmt_store_import(e, edb, NULL, &res, &err) == 0, "%s", err.msg);
    CHECK(res.records == 0);
    check_against_trace(e, edb, 0);
}

/* ---- a generated session -------------------------------------------------------- */

typedef struct bcoll {
    dmt_store_bucket b[4096];
    int n;
} bcoll;

static int collect_bucket(void *ctx, const dmt_store_bucket *b)
{
    bcoll *c = ctx;
    if (c->n < 4096)
        c->b[c->n++] = *b;
    return 0;
}

static bool bucket_equal(const dmt_store_bucket *a, const dmt_store_bucket *b)
{
    return a->lane == b->lane && a->level == b->level && a->bucket == b->bucket &&
           a->count == b->count && a->bytes == b->bytes && a->has_range == b->has_range &&
           (!a->has_range || (a->vmin == b->vmin && a->vmax == b->vmax)) &&
           a->has_last == b->has_last && (!a->has_last || a->vlast == b->vlast) &&
           a->t_first == b->t_first && a->t_last == b->t_last;
}

/* Run each ```sql block of schema/store-queries.md. */
static void run_example_queries(const char *db)
{
    size_t n;
    char *md = (char *)tk_slurp(schema_file("store-queries.md"), &n);
    CHECKF(md != NULL, "cannot read schema/store-queries.md");
    if (!md)
        return;
    sqlite3 *s;
    CHECK(sqlite3_open_v2(db, &s, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    int blocks = 0;
    for (char *p = strstr(md, "```sql\n"); p; p = strstr(p, "```sql\n")) {
        p += 7;
        char *end = strstr(p, "```");
        if (!end)
            break;
        *end = 0;
        /* parameters in the examples are written :name; bind 0 / 2^62 */
        const char *tail = p;
        while (*tail) {
            sqlite3_stmt *q = NULL;
            int rc = sqlite3_prepare_v2(s, tail, -1, &q, &tail);
            CHECKF(rc == SQLITE_OK, "example query %d: %s\n%s", blocks + 1, sqlite3_errmsg(s), p);
            if (rc != SQLITE_OK || !q)
                break;
            for (int i = 1; i <= sqlite3_bind_parameter_count(q); i++)
                sqlite3_bind_int64(q, i, i % 2 ? 0 : (int64_t)1 << 62);
            int rows = 0;
            while ((rc = sqlite3_step(q)) == SQLITE_ROW)
                rows++;
            CHECKF(rc == SQLITE_DONE, "example query %d: %s", blocks + 1, sqlite3_errmsg(s));
            sqlite3_finalize(q);
        }
        blocks++;
        p = end + 3;
    }
    CHECKF(blocks >= 5, "only %d example queries found", blocks);
    sqlite3_close(s);
    free(md);
}

/* Every stored summary bucket equals the bucket dmt_store_summary computes
 * on demand from the event tables (a copy of the database with
 * summary_min_level 8), over the whole trace and a slice of it. */
static void compare_stored_computed(const char *db, const char *copy_name, int min_compared)
{
    dmt_error err;
    dmt_store *st;
    CHECK(dmt_store_open(db, DMT_STORE_RDONLY, &st, &err) == 0);
    int nl = st ? dmt_store_lanes(st, NULL, 0, &err) : 0;
    dmt_store_lane *lanes = calloc((size_t)nl + 1, sizeof *lanes);
    if (st)
        CHECK(dmt_store_lanes(st, lanes, (size_t)nl, &err) == nl);
    int64_t t0 = 0, t1 = -1;
    if (st)
        CHECK(dmt_store_time_range(st, &t0, &t1, &err) == 0);
    dmt_store_close(st);
    /* the same database with every level computed on demand */
    char db2[512];
    tpath(db2, sizeof db2, copy_name);
    size_t len;
    uint8_t *copy = tk_slurp(db, &len);
    CHECK(copy && spill(db2, copy, len) == 0);
    free(copy);
    sqlite3 *s;
    CHECK(sqlite3_open(db2, &s) == SQLITE_OK);
    CHECK(sqlite3_exec(s, "UPDATE meta SET value = 8 WHERE key = 'summary_min_level'", NULL, NULL,
                       NULL) == SQLITE_OK);
    sqlite3_close(s);
    dmt_store *sa, *sb;
    CHECK(dmt_store_open(db, DMT_STORE_RDONLY, &sa, &err) == 0);
    CHECK(dmt_store_open(db2, DMT_STORE_RDONLY, &sb, &err) == 0);
    static bcoll ca, cb;
    int compared = 0, mismatched = 0;
    /* windows: the whole trace, and a slice in the middle */
    int64_t mid = t0 + (t1 - t0) / 2;
    int64_t win[2][2] = {{t0, t1}, {mid, mid + 3000000}};
    for (int w = 0; w < 2; w++)
        for (int L = DMT_STORE_MIN_STORED_LEVEL; L < DMT_STORE_LEVELS; L++)
            for (int i = 0; i < nl; i++) {
                ca.n = cb.n = 0;
                int na = dmt_store_summary(sa, L, lanes[i].lane, win[w][0], win[w][1],
                                           collect_bucket, &ca, &err);
                int nb = dmt_store_summary(sb, L, lanes[i].lane, win[w][0], win[w][1],
                                           collect_bucket, &cb, &err);
                CHECKF(na >= 0 && nb >= 0, "summary: %s", err.msg);
                if (na != nb || ca.n != cb.n) {
                    if (mismatched++ < 3)
                        fprintf(stderr, "  lane %s level %d: %d stored vs %d computed buckets\n",
                                lanes[i].name, L, na, nb);
                    continue;
                }
                for (int k = 0; k < ca.n; k++) {
                    compared++;
                    if (!bucket_equal(&ca.b[k], &cb.b[k]) && mismatched++ < 3)
                        fprintf(stderr, "  lane %s level %d bucket %lld differs\n", lanes[i].name,
                                L, (long long)ca.b[k].bucket);
                }
            }
    CHECKF(mismatched == 0, "%d summary buckets differ between stored and computed", mismatched);
    CHECKF(compared >= min_compared, "only %d buckets compared", compared);
    dmt_store_close(sa);
    dmt_store_close(sb);
    free(lanes);
}

static void test_generated(void)
{
    char trace[512], db[512];
    tpath(trace, sizeof trace, "gen.dmat");
    tpath(db, sizeof db, "gen.db");
    gen_opts o = {.events = 60000, .seed = 7};
    gen_result g;
    dmt_error err;
    CHECKF(gen_trace_write(trace, &o, &g, &err) == 0, "gen: %s", err.msg);
    CHECK(g.records == 60000);
    dmt_store_import_result res;
    CHECKF(dmt_store_import(trace, db, NULL, &res, &err) == 0, "import: %s", err.msg);
    CHECK(res.records == 60000 && res.sg_elements == g.sg_elements);
    CHECK(res.transfers == g.transfers);
    check_against_trace(trace, db, 0);
    run_example_queries(db);

    compare_stored_computed(db, "gen-ondemand.db", 1000);
}

/* ---- a hand-built trace: derived tables exactly -------------------------------- */

static int64_t T(int64_t us)
{
    return 1000000000 + us * 1000;
}

static void rec_reg(dmt_writer *w, uint32_t kind, uint64_t off, uint64_t value, int64_t ts)
{
    dmt_record r;
    dmt_error err;
    memset(&r, 0, sizeof r);
    r.kind = kind;
    r.off = off;
    r.value = value;
    r.width = 4;
    r.ts = ts;
    CHECK(dmt_writer_append(w, &r, &err) == 0);
}

static void rec_dma(dmt_writer *w, uint32_t kind, uint32_t xfer, uint64_t length, uint32_t status,
                    int64_t ts, uint32_t n_sg, const dmt_sg_elem *sg)
{
    dmt_record r;
    dmt_error err;
    memset(&r, 0, sizeof r);
    r.kind = kind;
    r.xfer = xfer;
    r.adapter = 1;
    r.length = length;
    r.status = status;
    r.ts = ts;
    r.mdl = 4;
    r.write_to_device = true;
    r.n_sg = n_sg;
    r.sg_list = sg;
    if (kind == DMT_K_DIGEST) {
        r.adapter = 0;
        r.algo = DMT_DIGEST_DMT64;
        r.value = 0xABCDEF;
        r.status = 0;
    }
    CHECK(dmt_writer_append(w, &r, &err) == 0);
}

static void rec_simple(dmt_writer *w, uint32_t kind, uint32_t dev, uint32_t xfer, bool claimed,
                       uint64_t value, int64_t ts)
{
    dmt_record r;
    dmt_error err;
    memset(&r, 0, sizeof r);
    r.kind = kind;
    r.dev = dev;
    r.xfer = xfer;
    r.claimed = claimed;
    r.value = value;
    r.ts = ts;
    if (kind == DMT_K_ADAPTER_CREATE) {
        r.adapter = 1;
        r.sg = true;
        r.dma64 = true;
        r.length = 1 << 20;
        r.map_registers = 32;
        r.addr_limit = UINT64_MAX;
    }
    CHECK(dmt_writer_append(w, &r, &err) == 0);
}

typedef struct xcoll {
    uint32_t xfer[16];
    int n;
} xcoll;

static int collect_xfer(void *ctx, const dmt_store_transfer *t)
{
    xcoll *c = ctx;
    if (c->n < 16)
        c->xfer[c->n++] = t->xfer;
    return 0;
}

static void test_derived(void)
{
    char trace[512], db[512];
    dmt_writer *w = trace_begin(trace, db, "hand", "hand", 0);
    dmt_error err;
    static const dmt_sg_elem sg[3] = {{0xFFFFF000ull, 0x2000}, /* crosses 4 GiB */
                                      {0x12345000ull, 0x1000},
                                      {0x200000000ull, 0x800}};
    /* seq 0 */ rec_simple(w, DMT_K_ADAPTER_CREATE, 0, 0, false, 0, T(0));
    /* transfer 7: complete, 20 us */
    /* 1 */ rec_dma(w, DMT_K_START_DMA, 7, 0x3800, 0, T(10), 0, NULL);
    /* 2 */ rec_dma(w, DMT_K_EXECUTE_DMA, 7, 0x3800, 0, T(11), 3, sg);
    /* 3 */ rec_dma(w, DMT_K_START_DMA_END, 7, 0x3800, 0, T(12), 0, NULL);
    /* register writes 5, 3, 9 to 0x100 inside one 65.5 us bucket, a read */
    /* 4 */ rec_reg(w, DMT_K_REG_WRITE, 0x100, 5, T(13));
    /* 5 */ rec_reg(w, DMT_K_REG_WRITE, 0x100, 3, T(14));
    /* 6 */ rec_reg(w, DMT_K_REG_WRITE, 0x100, 9, T(16));
    /* 7 */ rec_reg(w, DMT_K_REG_READ, 0x100, 1, T(15));           /* earlier time, later seq */
    /* 8 */ rec_simple(w, DMT_K_INTERRUPT, 0, 0, false, 0, T(20)); /* not claimed */
    /* 9 */ rec_simple(w, DMT_K_INTERRUPT, 0, 0, true, 0x80000007, T(25));
    /* 10 */ rec_simple(w, DMT_K_DPC, 0, 7, false, 0, T(27));
    /* 11 */ rec_dma(w, DMT_K_COMPLETE_DMA, 7, 0, 0, T(30), 0, NULL);
    /* 12 */ rec_dma(w, DMT_K_DIGEST, 7, 0x3800, 0, T(31), 0, NULL);
    /* transfer 8: StartDma fails */
    /* 13 */ rec_dma(w, DMT_K_START_DMA, 8, 0x1000, 0, T(40), 0, NULL);
    /* 14 */ rec_dma(w, DMT_K_START_DMA_END, 8, 0, 0xC000009A, T(41), 0, NULL);
    /* transfer 9: never completed */
    /* 15 */ rec_dma(w, DMT_K_START_DMA, 9, 0x1000, 0, T(50), 0, NULL);
    /* 16 */ rec_dma(w, DMT_K_EXECUTE_DMA, 9, 0x800, 0, T(51), 1, sg + 2); /* short */
    /* transfer 10: completed twice, late (after a long gap) */
    /* 17 */ rec_dma(w, DMT_K_START_DMA, 10, 0x800, 0, T(60), 0, NULL);
    /* 18 */ rec_dma(w, DMT_K_EXECUTE_DMA, 10, 0x800, 0, T(61), 1, sg + 2);
    /* 19 */ rec_dma(w, DMT_K_COMPLETE_DMA, 10, 0, 0, T(70), 0, NULL);
    /* 20 */ rec_reg(w, DMT_K_REG_WRITE, 0x100, 0xFFFFFFFFFFFFFFF0ull, T(200)); /* next bucket */
    /* 21 */ rec_dma(w, DMT_K_COMPLETE_DMA, 10, 0, 0, T(300), 0, NULL);
    CHECK(dmt_writer_close(w, &err) == 0);

    CHECKF(dmt_store_import(trace, db, NULL, NULL, &err) == 0, "import: %s", err.msg);
    check_against_trace(trace, db, 0);

    dmt_store *st;
    CHECK(dmt_store_open(db, DMT_STORE_RDONLY, &st, &err) == 0);
    if (!st)
        return;
    sqlite3 *s = dmt_store_sqlite(st);
    dmt_store_transfer t;
    CHECK(dmt_store_transfer_get(st, 7, &t, &err) == 1);
    CHECK(t.has_duration && t.duration_ns == 20000);
    CHECK(!strcmp(t.outcome, "completed") && !t.truncated && t.complete_count == 1);
    CHECK(t.requested == 0x3800 && t.granted == 0x3800);
    CHECK(t.start_seq == 1 && t.exec_seq == 2 && t.end_seq == 3 && t.complete_seq == 11);
    CHECK(t.interrupt_seq == 9 && t.interrupt_ts == T(25) && t.dpc_seq == 10);
    CHECK(t.n_sg == 3 && t.sg_bytes == 0x3800 && t.sg_lo == 0x12345000ull &&
          t.sg_hi == 0x200000800ull);
    CHECK(t.has_digest && t.digest == 0xABCDEF && t.digest_len == 0x3800);
    CHECK(t.t_begin == T(10) && t.t_end == T(31));
    CHECK(t.has_adapter && t.adapter == 1 && t.mdl == 4 && t.write_to_device);
    dmt_sg_elem got[4];
    CHECK(dmt_store_transfer_sg(st, 7, got, 4, &err) == 3);
    CHECK(got[0].addr == sg[0].addr && got[0].len == sg[0].len && got[2].addr == sg[2].addr);
    CHECK(dmt_store_transfer_get(st, 8, &t, &err) == 1);
    CHECK(!strcmp(t.outcome, "failed") && t.end_status == 0xC000009A && !t.has_duration);
    CHECK(t.exec_seq == DMT_STORE_NONE && dmt_store_transfer_sg(st, 8, got, 4, &err) == 0);
    CHECK(dmt_store_transfer_get(st, 9, &t, &err) == 1);
    CHECK(!strcmp(t.outcome, "not-completed") && t.truncated && !t.has_duration);
    CHECK(dmt_store_transfer_get(st, 10, &t, &err) == 1);
    CHECK(!strcmp(t.outcome, "completed-twice") && t.complete_count == 2);
    CHECK(t.complete_seq == 19 && t.duration_ns == 10000 && t.t_end == T(300));
    CHECK(dmt_store_transfer_get(st, 11, &t, &err) == 0);
    CHECK(sql_int(s, "SELECT count(*) FROM transfers WHERE truncated") == 1);

    /* transfers in a window: [T(45), T(55)] meets 8 (ends T(41))? no; 9 yes; 10 no */
    xcoll xc = {{0}, 0};
    CHECK(dmt_store_transfers(st, -1, T(45), T(55), collect_xfer, &xc, &err) == 1);
    CHECK(xc.n == 1 && xc.xfer[0] == 9);
    xc.n = 0;
    CHECK(dmt_store_transfers(st, 1, T(0), T(1000), collect_xfer, &xc, &err) == 4);
    xc.n = 0;
    CHECK(dmt_store_transfers(st, 1, T(100), T(101), collect_xfer, &xc, &err) == 1);
    CHECK(xc.n == 1 && xc.xfer[0] == 10); /* spans 60 .. 300 us */

    /* lanes */
    int64_t reg_lane = sql_int(s, "SELECT lane FROM lanes WHERE kind = 'register' AND dev = 0 "
                                  "AND off = 256");
    int64_t xfer_lane =
        sql_int(s, "SELECT lane FROM lanes WHERE kind = 'transfers' AND adapter = 1");
    int64_t irq_lane = sql_int(s, "SELECT lane FROM lanes WHERE kind = 'interrupts' AND dev = 0");
    CHECK(reg_lane > 0 && xfer_lane > 0 && irq_lane > 0);
    CHECK(!strcmp(sql_text(s, "SELECT name FROM lanes WHERE kind = 'register'"), "dev0 0x100"));
    CHECK(sql_int(s, "SELECT count(*) FROM lanes") == 4); /* + findings */

    /* register lane, level 2 (65.536 us buckets): T(13) .. T(16) share a bucket
     * (T(0) = 1e9 ns = bucket 15258 at level 2, which ends at 1000013824 ns:
     * T(13) = 1000013000 is in it, T(14) = 1000014000 in the next) */
    static bcoll c;
    c.n = 0;
    int n = dmt_store_summary(st, 2, reg_lane, T(0), T(1000), collect_bucket, &c, &err);
    CHECK(n == 3 && c.n == 3);
    if (c.n == 3) {
        CHECK(c.b[0].bucket == T(13) >> 16 && c.b[0].count == 1 && c.b[0].vmin == 5 &&
              c.b[0].bytes == 1);
        CHECK(c.b[1].count == 3 && c.b[1].bytes == 2 && c.b[1].vmin == 1 && c.b[1].vmax == 9 &&
              c.b[1].vlast == 9 && c.b[1].t_first == T(14) && c.b[1].t_last == T(16));
        CHECK(c.b[2].count == 1 && c.b[2].vmax == 0xFFFFFFFFFFFFFFF0ull &&
              c.b[2].vmin == 0xFFFFFFFFFFFFFFF0ull);
    }
    /* level 3 (524 us): all four accesses and the late one in one bucket;
     * unsigned min/max */
    c.n = 0;
    CHECK(dmt_store_summary(st, 3, reg_lane, T(0), T(1000), collect_bucket, &c, &err) == 1);
    CHECK(c.b[0].count == 5 && c.b[0].vmin == 1 && c.b[0].vmax == 0xFFFFFFFFFFFFFFF0ull &&
          c.b[0].vlast == 0xFFFFFFFFFFFFFFF0ull && c.b[0].bytes == 4);
    /* level 0 (on demand, 1.024 us): separate buckets */
    c.n = 0;
    CHECK(dmt_store_summary(st, 0, reg_lane, T(0), T(1000), collect_bucket, &c, &err) == 5);
    /* transfer lane, level 3: 4 transfers, bytes = granted, durations, 3 not completed */
    c.n = 0;
    CHECK(dmt_store_summary(st, 3, xfer_lane, T(0), T(1000), collect_bucket, &c, &err) == 1);
    CHECK(c.b[0].count == 4 && c.b[0].bytes == 0x3800 + 0x800 + 0x800 && c.b[0].vmin == 10000 &&
          c.b[0].vmax == 20000 && c.b[0].vlast == 3 && c.b[0].t_first == T(10) &&
          c.b[0].t_last == T(300));
    /* a window after T(100) at level 0 still shows transfer 10's bucket (its
     * span reaches into the window) */
    c.n = 0;
    CHECK(dmt_store_summary(st, 0, xfer_lane, T(100), T(120), collect_bucket, &c, &err) == 1);
    CHECK(c.n == 1 && c.b[0].t_first == T(60) && c.b[0].t_last == T(300));
    c.n = 0;
    CHECK(dmt_store_summary(st, 2, xfer_lane, T(100), T(120), collect_bucket, &c, &err) == 1);
    /* interrupts: both counted, one claimed */
    c.n = 0;
    CHECK(dmt_store_summary(st, 4, irq_lane, T(0), T(1000), collect_bucket, &c, &err) == 1);
    CHECK(c.b[0].count == 2 && c.b[0].bytes == 1 && c.b[0].vmax == 0x80000007);
    /* the derived small tables and views */
    CHECK(sql_int(s, "SELECT count(*) FROM adapters WHERE adapter = 1 AND scatter_gather = 1 "
                     "AND dma64 = 1 AND created_seq = 0 AND released_seq IS NULL") == 1);
    CHECK(sql_int(s, "SELECT count(*) FROM v_sg WHERE crosses_4g") == 1);
    CHECK(!strcmp(sql_text(s, "SELECT duration_us FROM v_transfers WHERE xfer = 7"), "20.0"));
    CHECK(sql_int(s, "SELECT count(*) FROM v_timeline") == 22);
    dmt_store_close(st);
}

/* ---- refusals ----------------------------------------------------------------------- */

/* open must fail with code (or, when open_may_pass, succeed: the damage is
 * then found by reading the tables); info fails with code. */
static void expect_refused(const char *path, int code, const char *what, bool open_may_pass)
{
    dmt_store *st = NULL;
    dmt_error err;
    memset(&err, 0, sizeof err);
    int rc = dmt_store_open(path, DMT_STORE_RDONLY, &st, &err);
    CHECKF(rc == code || (open_may_pass && rc == 0), "%s: open gave %d (%s), expected %d", what, rc,
           err.msg, code);
    CHECK(st == NULL || rc == 0);
    dmt_store_close(st);
    dmt_header h;
    dmt_stats s;
    rc = dmt_store_info(path, &h, &s, &err);
    CHECKF(rc == code, "%s: info gave %d (%s), expected %d", what, rc, err.msg, code);
    CHECK(rc == 0 || dmt_error_exit_status(rc) == 2 || code == DMT_E_IO);
}

static void expect_open(const char *path, int code, const char *what)
{
    expect_refused(path, code, what, false);
}

static void test_refusals(void)
{
    char trace[512], db[512], p[512];
    dmt_error err;
    tpath(trace, sizeof trace, "every.dmat");
    tpath(db, sizeof db, "ref.db");
    CHECK(dmt_store_import(trace, db, NULL, NULL, &err) == 0);
    size_t len;
    uint8_t *good = tk_slurp(db, &len);
    CHECK(good && len > 65536);
    if (!good)
        return;

    /* wrong version */
    tpath(p, sizeof p, "version.db");
    CHECK(spill(p, good, len) == 0);
    sqlite3 *s;
    CHECK(sqlite3_open(p, &s) == SQLITE_OK);
    char pragma[64];
    snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", DMT_STORE_SCHEMA_VERSION + 1);
    CHECK(sqlite3_exec(s, pragma, NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(s);
    expect_open(p, DMT_E_VERSION, "a newer user_version");

    /* a foreign SQLite database */
    tpath(p, sizeof p, "foreign.db");
    CHECK(sqlite3_open(p, &s) == SQLITE_OK);
    CHECK(sqlite3_exec(s, "CREATE TABLE t(x); INSERT INTO t VALUES (1)", NULL, NULL, NULL) ==
          SQLITE_OK);
    sqlite3_close(s);
    expect_open(p, DMT_E_FOREIGN, "foreign SQLite database");
    /* ... with our application_id but no tables */
    tpath(p, sizeof p, "hollow.db");
    CHECK(sqlite3_open(p, &s) == SQLITE_OK);
    char hollow[160];
    snprintf(hollow, sizeof hollow,
             "PRAGMA application_id = 0x444D5442; PRAGMA user_version = %d; "
             "CREATE TABLE meta(key, value)",
             DMT_STORE_SCHEMA_VERSION);
    CHECK(sqlite3_exec(s, hollow, NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(s);
    expect_open(p, DMT_E_FORMAT, "store without tables");
    /* not SQLite at all: the trace, a text file, an empty file */
    expect_open(trace, DMT_E_FOREIGN, "a trace file");
    tpath(p, sizeof p, "text.db");
    CHECK(spill(p, "hello\n", 6) == 0);
    expect_open(p, DMT_E_FOREIGN, "a text file");
    tpath(p, sizeof p, "zero.db");
    CHECK(spill(p, "", 0) == 0);
    expect_open(p, DMT_E_FOREIGN, "an empty file");
    tpath(p, sizeof p, "missing.db");
    expect_open(p, DMT_E_IO, "a missing file");

    /* corrupted: the schema page, then every page after the first */
    uint8_t *bad = malloc(len);
    memcpy(bad, good, len);
    uint32_t page = (uint32_t)good[16] << 8 | good[17];
    if (page == 1)
        page = 65536;
    memset(bad + 100, 0xA5, page - 100);
    tpath(p, sizeof p, "corrupt1.db");
    CHECK(spill(p, bad, len) == 0);
    expect_open(p, DMT_E_FORMAT, "damaged schema page");
    memcpy(bad, good, len);
    memset(bad + page, 0xA5, len - page);
    tpath(p, sizeof p, "corrupt2.db");
    CHECK(spill(p, bad, len) == 0);
    expect_refused(p, DMT_E_FORMAT, "damaged data pages", true);
    /* cut in half */
    tpath(p, sizeof p, "half.db");
    CHECK(spill(p, good, len / 2) == 0);
    expect_refused(p, DMT_E_FORMAT, "a database cut in half", true);
    free(bad);
    free(good);
}

/* ---- all or nothing --------------------------------------------------------------- */

static int cancel_at(void *ctx, const dmt_store_progress *p)
{
    int *phase = ctx;
    return p->phase >= *phase;
}

/* dmt/source.h over a trace and over its import: the same header, records,
 * indexes and cut; the flags do what they say. */
static int count_record(void *ctx, const dmt_record *r, uint64_t index)
{
    uint64_t *n = ctx;
    CHECK(index == *n && r->kind != DMT_K_CHUNK);
    (*n)++;
    return 0;
}

static void check_sources(const char *trace, const char *db, uint64_t records)
{
    dmt_source *a, *b;
    dmt_error err;
    CHECKF(dmt_source_open(trace, 0, &a, &err) == 0, "%s", err.msg);
    CHECKF(dmt_source_open(db, 0, &b, &err) == 0, "%s", err.msg);
    if (!a || !b)
        return;
    CHECK(dmt_source_kind(a) == DMT_FILE_TRACE && dmt_source_kind(b) == DMT_FILE_DB);
    CHECK(dmt_source_store(a) == NULL && dmt_source_store(b) != NULL);
    CHECK(header_equal(dmt_source_header(a), dmt_source_header(b)));
    dmt_record ra, rb;
    uint64_t ia, ib, n = 0;
    int ca, cb = 0;
    while ((ca = dmt_source_next(a, &ra, &ia, &err)) == 1 &&
           (cb = dmt_source_next(b, &rb, &ib, &err)) == 1) {
        CHECKF(ia == n && ib == n && tk_records_equal(&ra, &rb) && ra.seq == rb.seq,
               "source record %llu", (unsigned long long)n);
        n++;
    }
    CHECK(ca == 0 && dmt_source_next(b, &rb, &ib, &err) == 0 && n == records);
    uint64_t at_a = 1, at_b = 0;
    const char *why_a = NULL, *why_b = NULL;
    CHECK(dmt_source_cut(a, &at_a, &why_a) && dmt_source_cut(b, &at_b, &why_b));
    CHECK(at_a == at_b && why_a && why_b && !strcmp(why_a, why_b));
    dmt_source_close(a);
    dmt_source_close(b);

    bool cut = false;
    int kind = 0;
    n = 0;
    CHECK(dmt_source_each(db, count_record, &n, &cut, &kind, &err) == 0);
    CHECK(cut && kind == DMT_FILE_DB && n == records);
    CHECK(dmt_source_open(db, DMT_SOURCE_TRACE_ONLY, &b, &err) == DMT_E_USAGE && !b);
    CHECK(dmt_source_open(trace, DMT_SOURCE_STRICT, &a, &err) == 0);
    if (a) {
        while ((ca = dmt_source_next(a, &ra, &ia, &err)) == 1)
            ;
        CHECK(ca == DMT_E_TRUNCATED);
        dmt_source_close(a);
    }
    CHECK(dmt_source_open(trace, DMT_SOURCE_FRAMING, &a, &err) == 0);
    if (a) {
        uint64_t chunks = 0;
        while (dmt_source_next(a, &ra, &ia, &err) == 1)
            if (ra.kind == DMT_K_CHUNK)
                chunks += ia == DMT_NO_INDEX;
        CHECK(chunks > 0);
        dmt_source_close(a);
    }
}

static void test_all_or_nothing(void)
{
    char trace[512], db[512], p[512];
    dmt_error err;
    dmt_store_import_result res;
    tpath(trace, sizeof trace, "aon.dmat");
    tpath(db, sizeof db, "aon.db");
    gen_opts o = {.events = 30000, .seed = 3};
    CHECK(gen_trace_write(trace, &o, NULL, &err) == 0);
    /* an existing target that every failure must leave alone */
    static const char old[] = "previous contents";
    CHECK(spill(db, old, sizeof old) == 0);
#define UNTOUCHED()                                                                                \
    do {                                                                                           \
        size_t n_;                                                                                 \
        uint8_t *c_ = tk_slurp(db, &n_);                                                           \
        CHECK(c_ &&n_ == sizeof old && !memcmp(c_, old, n_));                                      \
        free(c_);                                                                                  \
        CHECK(count_prefixed("aon.db.tmp") == 0);                                                  \
    } while (0)

    /* a trace corrupt in the middle: a flipped byte breaks a chunk's CRC */
    size_t len;
    uint8_t *t = tk_slurp(trace, &len);
    CHECK(t != NULL);
    if (!t)
        return;
    tpath(p, sizeof p, "corrupt.dmat");
    t[len / 2] ^= 0x40;
    CHECK(spill(p, t, len) == 0);
    t[len / 2] ^= 0x40;
    int rc = dmt_store_import(p, db, NULL, &res, &err);
    CHECKF(rc == DMT_E_CHECKSUM || rc == DMT_E_FORMAT, "corrupt trace: %d %s", rc, err.msg);
    CHECK(err.offset != DMT_NO_INDEX && err.offset <= len && !res.output_error);
    CHECK(dmt_error_exit_status(rc) == 2);
    UNTOUCHED();
    /* a cut trace: refused without allow_cut, imported to its last whole
     * record with it */
    tpath(p, sizeof p, "cut.dmat");
    CHECK(spill(p, t, len * 2 / 3) == 0);
    rc = dmt_store_import(p, db, NULL, &res, &err);
    CHECKF(rc == DMT_E_TRUNCATED, "cut trace, strict: %d %s", rc, err.msg);
    UNTOUCHED();
    char cdb[512];
    tpath(cdb, sizeof cdb, "cut.db");
    dmt_store_import_opts co = {.allow_cut = true};
    CHECKF(dmt_store_import(p, cdb, &co, &res, &err) == 0, "cut trace: %s", err.msg);
    CHECK(res.cut && res.cut_offset > 0 && res.cut_offset <= len * 2 / 3 && res.records > 1000);
    check_against_trace(p, cdb, DMT_READ_ALLOW_CUT);
    dmt_store *st;
    CHECK(dmt_store_open(cdb, DMT_STORE_RDONLY, &st, &err) == 0);
    if (st) {
        bool cut = false;
        uint64_t at = 0;
        char why[96];
        CHECK(dmt_store_cut(st, &cut, &at, why, sizeof why, &err) == 0);
        CHECK(cut && at == res.cut_offset && why[0]);
        dmt_store_close(st);
    }
    check_sources(p, cdb, res.records);
    free(t);

    /* SQLite failing midway (injected), and a cancel in each phase */
    dmt_store_import_opts fo = {.fail_after = 12345};
    rc = dmt_store_import(trace, db, &fo, &res, &err);
    CHECK(rc == DMT_E_IO && res.output_error);
    UNTOUCHED();
    for (int phase = DMT_STORE_PHASE_LOAD; phase <= DMT_STORE_PHASE_COMMIT; phase++) {
        dmt_store_import_opts ko = {.progress = cancel_at, .ctx = &phase};
        rc = dmt_store_import(trace, db, &ko, &res, &err);
        CHECKF(rc == DMT_E_IO && strstr(err.msg, "interrupted"), "cancel in phase %d: %d %s", phase,
               rc, err.msg);
        UNTOUCHED();
    }
    /* no directory to write in */
    tpath(p, sizeof p, "no/such/dir/x.db");
    rc = dmt_store_import(trace, p, NULL, &res, &err);
    CHECK(rc == DMT_E_IO && res.output_error && dmt_error_exit_status(rc) == 3);
    /* a read-only directory (meaningless for root, who may write anyway) */
    if (geteuid() != 0) {
        char ro[256];
        snprintf(ro, sizeof ro, "%.200s/ro", tmpdir);
        CHECK(mkdir(ro, 0555) == 0);
        snprintf(p, sizeof p, "%s/x.db", ro);
        rc = dmt_store_import(trace, p, NULL, &res, &err);
        CHECK(rc == DMT_E_IO && !exists(p));
        rmdir(ro);
    }
    /* a missing trace */
    tpath(p, sizeof p, "missing.dmat");
    rc = dmt_store_import(p, db, NULL, &res, &err);
    CHECK(rc == DMT_E_IO && !res.output_error);
    UNTOUCHED();
    /* and finally a good import replaces the target */
    CHECK(dmt_store_import(trace, db, NULL, &res, &err) == 0);
    CHECK(res.db_bytes > 0 && count_prefixed("aon.db.tmp") == 0);
    check_against_trace(trace, db, 0);
#undef UNTOUCHED
}

/* ---- late records: a transfer written and reopened ---------------------------------- */

static void test_late_records(void)
{
    char trace[512], db[512];
    dmt_writer *w = trace_begin(trace, db, "late", "late", 0);
    dmt_error err;
    rec_simple(w, DMT_K_ADAPTER_CREATE, 0, 0, false, 0, T(0));
    rec_dma(w, DMT_K_START_DMA, 1, 0x1000, 0, T(1), 0, NULL);
    rec_dma(w, DMT_K_COMPLETE_DMA, 1, 0, 0, T(2), 0, NULL);
    /* more than the importer's window of records later: a second completion
     * and the digest */
    for (int i = 0; i < 70000; i++)
        rec_reg(w, DMT_K_REG_READ, 0x110, (uint64_t)i, T(3) + i);
    rec_dma(w, DMT_K_COMPLETE_DMA, 1, 0, 0, T(100000), 0, NULL);
    rec_dma(w, DMT_K_DIGEST, 1, 0x1000, 0, T(100001), 0, NULL);
    CHECK(dmt_writer_close(w, &err) == 0);
    CHECKF(dmt_store_import(trace, db, NULL, NULL, &err) == 0, "%s", err.msg);
    check_against_trace(trace, db, 0);
    dmt_store *st;
    CHECK(dmt_store_open(db, DMT_STORE_RDONLY, &st, &err) == 0);
    if (!st)
        return;
    dmt_store_transfer t;
    CHECK(dmt_store_transfer_get(st, 1, &t, &err) == 1);
    CHECK(t.complete_count == 2 && !strcmp(t.outcome, "completed-twice") && t.has_digest);
    CHECK(t.t_end == T(100001) && t.duration_ns == 1000);
    /* the reopened transfer's span widens window queries */
    CHECK(dmt_store_max_transfer_ns(st) == T(100001) - T(1));
    static bcoll c;
    int64_t lane = sql_int(dmt_store_sqlite(st), "SELECT lane FROM lanes WHERE kind = 'transfers'");
    c.n = 0;
    CHECK(dmt_store_summary(st, 7, lane, T(0), T(200000), collect_bucket, &c, &err) == 1);
    CHECK(c.n == 1 && c.b[0].count == 1 && c.b[0].vlast == 1 && c.b[0].t_last == T(100001));
    dmt_store_close(st);
}

static void check_append(const char *name, const char *trace, const uint64_t *ends, size_t n_ends,
                         const dmt_store_import_opts *opts);

/* Late records for transfers written in id order (the importer keeps those
 * ids as one run, not map entries): one inside the run, then ones on both
 * sides of it and at its ends, each reopened exactly once - with the
 * default bounds and with the small ones (the written ids no longer all
 * fit: the table answers). */
static void test_late_run(void)
{
    char trace[512], db[512];
    dmt_writer *w = trace_begin(trace, db, "late-run", "late-run", 0);
    dmt_error err;
    rec_simple(w, DMT_K_ADAPTER_CREATE, 0, 0, false, 0, T(0));
    int64_t ts = 1;
    for (uint32_t x = 1; x <= 60; x++) {
        rec_dma(w, DMT_K_START_DMA, x, 0x1000, 0, T(ts++), 0, NULL);
        rec_dma(w, DMT_K_COMPLETE_DMA, x, 0, 0, T(ts++), 0, NULL);
    }
    static const uint32_t late[] = {30, 10, 50, 29, 31, 1, 60, 45};
    for (size_t k = 0; k < sizeof late / sizeof *late; k++) {
        for (int i = 0; i < 70000; i++)
            rec_reg(w, DMT_K_REG_READ, 0x110, (uint64_t)i, T(ts++));
        rec_dma(w, DMT_K_COMPLETE_DMA, late[k], 0, 0, T(ts++), 0, NULL);
    }
    CHECK(dmt_writer_close(w, &err) == 0);
    for (int lim = 0; lim < 2; lim++) {
        dmt_store_import_opts o = {.small_limits = lim};
        CHECKF(dmt_store_import(trace, db, &o, NULL, &err) == 0, "%s", err.msg);
        check_against_trace(trace, db, 0);
        dmt_store *st;
        CHECK(dmt_store_open(db, DMT_STORE_RDONLY, &st, &err) == 0);
        if (!st)
            return;
        CHECK(sql_int(dmt_store_sqlite(st), "SELECT count(*) FROM transfers") == 60);
        for (uint32_t x = 1; x <= 60; x++) {
            int twice = 0;
            for (size_t k = 0; k < sizeof late / sizeof *late; k++)
                twice |= late[k] == x;
            dmt_store_transfer t;
            CHECK(dmt_store_transfer_get(st, x, &t, &err) == 1);
            CHECKF(t.complete_count == 1u + (unsigned)twice, "xfer %u: %u completions", x,
                   (unsigned)t.complete_count);
        }
        dmt_store_close(st);
    }
    static const uint64_t ends[] = {121, 70122, 140123, 300000, 420000};
    check_append("late-run", trace, ends, sizeof ends / sizeof *ends, NULL);
}

/* Records out of time order (several CPUs): small jitter, and now and then
 * a jump back by more than a bucket, which the importer merges into rows
 * it has written already. */
static void test_time_reversal(void)
{
    char trace[512], db[512];
    dmt_writer *w = trace_begin(trace, db, "rev", "reversal", 0);
    dmt_error err;
    unsigned long long rnd = 99;
    int64_t ts = 1000000000;
    for (int i = 0; i < 20000; i++) {
        uint64_t x = tk_rand(&rnd);
        int64_t t = ts + (int64_t)(x % 3000) - 1500;
        if (i % 97 == 0)
            t -= (int64_t)(x % 5000000); /* up to 5 ms back */
        if (i % 5 == 0)
            rec_simple(w, DMT_K_INTERRUPT, 0, 0, x & 1, x >> 40, t);
        else if (i % 7 == 0)
            rec_simple(w, DMT_K_MARKER, 0, 0, false, 0, t);
        else
            rec_reg(w, x & 1 ? DMT_K_REG_WRITE : DMT_K_REG_READ, 0x100 + 4 * (x % 3),
                    x % 11 == 0 ? UINT64_MAX - (x >> 50) : x >> 44, t);
        ts += 700;
    }
    CHECK(dmt_writer_close(w, &err) == 0);
    CHECKF(dmt_store_import(trace, db, NULL, NULL, &err) == 0, "%s", err.msg);
    check_against_trace(trace, db, 0);
    compare_stored_computed(db, "rev-ondemand.db", 100);
}

/* The importer's memory bounds (tiny, through the test hook): transfers
 * written early and reloaded, written ids looked up in the table, shared
 * lanes for devices and adapters beyond the bound.  The result still
 * matches the trace, stored and computed summaries agree, and (with no
 * more devices than the bound) the transfers equal a normal import's. */
static void test_small_limits(void)
{
    char trace[512], db[512], ref[512];
    dmt_error err;
    tpath(trace, sizeof trace, "lim.dmat");
    tpath(db, sizeof db, "lim.db");
    tpath(ref, sizeof ref, "lim-ref.db");
    gen_opts o = {.events = 20000, .seed = 11};
    CHECK(gen_trace_write(trace, &o, NULL, &err) == 0);
    dmt_store_import_opts so = {.small_limits = true};
    CHECKF(dmt_store_import(trace, db, &so, NULL, &err) == 0, "%s", err.msg);
    CHECKF(dmt_store_import(trace, ref, NULL, NULL, &err) == 0, "%s", err.msg);
    check_against_trace(trace, db, 0);
    compare_stored_computed(db, "lim-ondemand.db", 100);
    sqlite3 *s;
    CHECK(sqlite3_open_v2(db, &s, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK);
    char sql[1200];
    snprintf(sql, sizeof sql, "ATTACH '%s' AS r", ref);
    CHECK(sqlite3_exec(s, sql, NULL, NULL, NULL) == SQLITE_OK);
    CHECK(sql_int(s, "SELECT count(*) FROM (SELECT * FROM main.transfers EXCEPT "
                     "SELECT * FROM r.transfers)") == 0);
    CHECK(sql_int(s, "SELECT count(*) FROM (SELECT * FROM r.transfers EXCEPT "
                     "SELECT * FROM main.transfers)") == 0);
    CHECK(sql_int(s, "SELECT count(*) FROM main.transfers") > 1000);
    /* 4 register lanes of their own, then "devD other" and shared lanes */
    CHECK(sql_int(s, "SELECT count(*) FROM lanes WHERE kind = 'register' AND off IS NOT NULL") ==
          4);
    CHECK(sql_int(s, "SELECT count(*) FROM lanes WHERE kind = 'register' AND off IS NULL") >= 1);
    sqlite3_close(s);

    /* many devices and adapters, transfers never completed */
    dmt_writer *w = trace_begin(trace, db, "many", "many", 0);
    for (uint32_t i = 0; i < 3000; i++) {
        dmt_record r;
        memset(&r, 0, sizeof r);
        r.ts = T(i);
        r.kind = i % 3 == 0 ? DMT_K_INTERRUPT : i % 3 == 1 ? DMT_K_START_DMA : DMT_K_DPC;
        r.dev = i % 50;
        r.adapter = i % 40;
        r.claimed = true;
        r.xfer = i % 3 == 2 ? i - 1 - (i % 7) * 3 : i; /* DPCs for earlier transfers */
        r.length = 4096;
        CHECK(dmt_writer_append(w, &r, &err) == 0);
        if (i % 10 == 0)
            rec_reg(w, DMT_K_REG_WRITE, 0x100 + 4 * (i % 37), i, T(i));
    }
    CHECK(dmt_writer_close(w, &err) == 0);
    CHECKF(dmt_store_import(trace, db, &so, NULL, &err) == 0, "%s", err.msg);
    check_against_trace(trace, db, 0);
    compare_stored_computed(db, "many-ondemand.db", 20);
    CHECK(sqlite3_open_v2(db, &s, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    CHECK(sql_int(s, "SELECT count(*) FROM transfers") == 1000);
    CHECK(sql_int(s, "SELECT count(*) FROM transfers WHERE dpc_seq IS NOT NULL") > 500);
    CHECK(sql_int(s, "SELECT count(*) FROM lanes WHERE dev IS NULL AND adapter IS NULL AND "
                     "kind IN ('transfers', 'interrupts', 'register')") >= 2);
    sqlite3_close(s);
}

/* SG elements are keyed exec_seq * 4096 + idx: an EXECUTE_DMA at sequence
 * number 2^51 - 1 is the last that fits; one at 2^51 is refused as bad
 * input (record and byte named), leaving nothing behind. */
static void test_sg_key_limit(void)
{
    static const dmt_sg_elem sg[2] = {{0x10000, 4096}, {0x30000, 100}};
    for (int over = 0; over < 2; over++) {
        char trace[512], db[512];
        dmt_writer *w =
            trace_begin(trace, db, "sgkey", "sg-key", (UINT64_C(1) << 51) - 2 + (uint64_t)over);
        unlink(db);
        dmt_error err;
        rec_dma(w, DMT_K_START_DMA, 1, 4196, 0, T(0), 0, NULL);
        rec_dma(w, DMT_K_EXECUTE_DMA, 1, 4196, 0, T(1), 2, sg);
        rec_dma(w, DMT_K_COMPLETE_DMA, 1, 0, 0, T(2), 0, NULL);
        CHECK(dmt_writer_close(w, &err) == 0);
        dmt_store_import_result res;
        int rc = dmt_store_import(trace, db, NULL, &res, &err);
        if (over) {
            CHECKF(rc == DMT_E_FORMAT && !res.output_error && err.offset > 0 && err.index == 1 &&
                       strstr(err.msg, "2^51"),
                   "rc %d index %llu: %s", rc, (unsigned long long)err.index, err.msg);
            CHECK(!exists(db));
            continue;
        }
        CHECKF(rc == 0, "%s", err.msg);
        check_against_trace(trace, db, 0);
        dmt_store *st;
        CHECK(dmt_store_open(db, DMT_STORE_RDONLY, &st, &err) == 0);
        if (!st)
            continue;
        dmt_sg_elem got[4];
        CHECK(dmt_store_transfer_sg(st, 1, got, 4, &err) == 2);
        CHECK(got[1].addr == 0x30000 && got[1].len == 100);
        CHECK(sql_int(dmt_store_sqlite(st), "SELECT max(exec_seq) FROM sg_elements") ==
              (INT64_C(1) << 51) - 1);
        dmt_store_close(st);
    }
}

/* ---- import equality: the content readers use, pinned ------------------------ */

/* Every table the viewer, the queries, the audit, export and fleet read, as
 * the columns they read in a fixed order (sg_elements by its transfer
 * position, transfers' SG list through sg_first), so a change of layout
 * that keeps the content keeps these digests.  meta without the import
 * facts. */
static const char *const content_sql[] = {
    "SELECT key, value FROM meta WHERE key NOT IN ('source_path', 'source_size', "
    "'source_mtime', 'import_time', 'importer') ORDER BY key",
    "SELECT kind, name FROM kinds ORDER BY kind",
    "SELECT seq, ts, dev, off, value, width, is_write FROM reg_accesses ORDER BY seq",
    "SELECT seq, ts, dev, off, width, is_write, count, hex(vals) FROM reg_buffers ORDER BY seq",
    "SELECT dev, off, width, name FROM reg_names ORDER BY dev, off, width",
    "SELECT dev, off, width, name, low, high FROM reg_fields ORDER BY dev, off, width, name",
    "SELECT seq, ts, kind, xfer, adapter, mdl, offset, length, write_to_device, context, status, "
    "algo, value, n_sg, flags FROM dma_calls ORDER BY seq",
    "SELECT s.exec_seq, d.xfer, s.idx, s.addr, s.length FROM sg_elements s JOIN dma_calls d ON "
    "d.seq = s.exec_seq ORDER BY s.exec_seq, s.idx",
    "SELECT seq, idx, offset, length FROM digest_ranges ORDER BY seq, idx",
    "SELECT seq, ts, kind, id, adapter, dev, addr, length, va, op, flags, map_registers, "
    "addr_limit, max_length FROM resources ORDER BY seq",
    "SELECT seq, ts, cb, offset, hex(data) FROM desc_writes ORDER BY seq",
    "SELECT seq, ts, mdl, offset, hex(data) FROM payloads ORDER BY seq",
    "SELECT seq, ts, mdl, algo, seed, offset, length FROM patterns ORDER BY seq",
    "SELECT seq, ts, dev, claimed, value FROM interrupts ORDER BY seq",
    "SELECT seq, ts, dev, xfer FROM dpcs ORDER BY seq",
    "SELECT seq, ts, text FROM markers ORDER BY seq",
    "SELECT first_seq, ts, count, reason FROM lost ORDER BY first_seq",
    "SELECT * FROM adapters ORDER BY adapter",
    "SELECT * FROM buffers ORDER BY mdl",
    "SELECT * FROM common_buffers ORDER BY cb",
    "SELECT xfer, adapter, mdl, offset, requested, granted, write_to_device, context, start_seq, "
    "start_ts, exec_seq, exec_ts, end_seq, end_ts, end_status, end_length, complete_seq, "
    "complete_ts, complete_status, complete_count, interrupt_seq, interrupt_ts, dpc_seq, dpc_ts, "
    "n_sg, sg_bytes, sg_lo, sg_hi, digest, digest_algo, digest_len, truncated, bounced, outcome, "
    "t_begin, t_end, duration_ns FROM transfers ORDER BY xfer",
    "SELECT t.xfer, s.exec_seq, s.idx, s.addr, s.length FROM transfers t JOIN sg_elements s ON "
    "s.id BETWEEN t.sg_first AND t.sg_first + t.n_sg - 1 ORDER BY t.xfer, s.idx",
    "SELECT lane, kind, dev, adapter, off, name FROM lanes ORDER BY lane",
    "SELECT level, lane, bucket, count, bytes, vmin, vmax, vlast, t_first, t_last FROM summary "
    "ORDER BY level, lane, bucket",
    "SELECT first_seq, last_seq, ts_min, ts_max, records FROM time_index ORDER BY first_seq",
    "SELECT * FROM findings ORDER BY id",
};

/* FNV-1a of the text of every row of every content_sql query. */
static uint64_t content_digest(const char *db, const char *name)
{
    sqlite3 *s;
    uint64_t h = 0xcbf29ce484222325ull;
    CHECK(sqlite3_open_v2(db, &s, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    for (size_t i = 0; i < sizeof content_sql / sizeof *content_sql; i++) {
        sqlite3_stmt *q;
        int rc = sqlite3_prepare_v2(s, content_sql[i], -1, &q, NULL);
        CHECKF(rc == SQLITE_OK, "%s: %s: %s", name, content_sql[i], sqlite3_errmsg(s));
        if (rc != SQLITE_OK)
            continue;
        uint64_t rows = 0, t = 0xcbf29ce484222325ull;
        while (sqlite3_step(q) == SQLITE_ROW) {
            rows++;
            for (int c = 0; c < sqlite3_column_count(q); c++) {
                const unsigned char *v = sqlite3_column_text(q, c);
                const char *p = v ? (const char *)v : "\x01NULL";
                for (; *p; p++)
                    t = (t ^ (uint8_t)*p) * 0x100000001b3ull;
                t = (t ^ '|') * 0x100000001b3ull;
            }
            t = (t ^ '\n') * 0x100000001b3ull;
        }
        sqlite3_finalize(q);
        if (getenv("DMT_TEST_SHOW_DIGESTS"))
            fprintf(stderr, "%s: %llu rows %016llx %.60s\n", name, (unsigned long long)rows,
                    (unsigned long long)t, content_sql[i]);
        h = (h ^ t) * 0x100000001b3ull;
    }
    sqlite3_close(s);
    return h;
}

/* The store of every import below equals, for every table a reader uses,
 * the store the importer of schema version 4 made of the same trace
 * (digests taken from it before the layout changed; see content_sql).
 * Re-taken once since, for two additive changes only, checked table by
 * table with DMT_TEST_SHOW_DIGESTS: the kinds table's row for kind 27
 * (CALIBRATION), and the every-kind trace gaining a CALIBRATION record
 * (the sequence numbers after it shift by one). */
static void test_import_equality(void)
{
    static const struct {
        const char *name;
        uint64_t digest;
    } want[] = {
        {"every", 0x6779082e4ac6aa7dull},
        {"gen", 0x2047b2a63251cc74ull},
        {"gen-small", 0x0fa2875ca0fd597eull},
        {"late", 0x33efc2e1e05ac4dcull},
    };
    char trace[512], db[512];
    dmt_error err;
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        dmt_store_import_opts so = {.small_limits = true};
        const dmt_store_import_opts *opts = NULL;
        if (!strcmp(want[i].name, "every")) {
            tpath(trace, sizeof trace, "eq-every.dmat");
            write_every_kind(trace, 1);
        } else if (!strcmp(want[i].name, "late")) {
            tpath(trace, sizeof trace, "late.dmat"); /* test_late_records wrote it */
        } else {
            tpath(trace, sizeof trace, "eq-gen.dmat");
            gen_opts o = {.events = 30000, .seed = 5};
            CHECK(gen_trace_write(trace, &o, NULL, &err) == 0);
            if (!strcmp(want[i].name, "gen-small"))
                opts = &so;
        }
        tpath(db, sizeof db, "eq.db");
        unlink(db);
        CHECKF(dmt_store_import(trace, db, opts, NULL, &err) == 0, "%s: %s", want[i].name, err.msg);
        uint64_t d = content_digest(db, want[i].name);
        CHECKF(d == want[i].digest, "%s: content digest %016llx, want %016llx", want[i].name,
               (unsigned long long)d, (unsigned long long)want[i].digest);
    }
}

/* ---- appending a growing trace in batches ---------------------------------------- */

/* Rows of table t in one database and not the other (both directions). */
static int64_t table_diff(sqlite3 *s, const char *cols, const char *t, const char *where)
{
    char sql[2000];
    snprintf(sql, sizeof sql,
             "SELECT (SELECT count(*) FROM (SELECT %s FROM main.%s %s EXCEPT SELECT %s FROM r.%s "
             "%s)) + (SELECT count(*) FROM (SELECT %s FROM r.%s %s EXCEPT SELECT %s FROM main.%s "
             "%s)) + abs((SELECT count(*) FROM main.%s %s) - (SELECT count(*) FROM r.%s %s))",
             cols, t, where, cols, t, where, cols, t, where, cols, t, where, t, where, t, where);
    return sql_int(s, sql);
}

/* The appended store equals a whole import of the same prefix, table by
 * table (meta: all but the import facts). */
static void compare_stores(const char *app, const char *ref, uint64_t records)
{
    static const char *const tables[] = {
        "reg_accesses", "reg_buffers", "dma_calls",      "sg_elements", "resources", "desc_writes",
        "payloads",     "patterns",    "interrupts",     "dpcs",        "markers",   "lost",
        "adapters",     "buffers",     "common_buffers", "transfers",   "lanes",     "summary",
        "time_index",   "findings",    "reg_names",      "reg_fields",  "cpu_runs"};
    sqlite3 *s;
    CHECK(sqlite3_open_v2(app, &s, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    char sql[1200];
    snprintf(sql, sizeof sql, "ATTACH '%s' AS r", ref);
    CHECK(sqlite3_exec(s, sql, NULL, NULL, NULL) == SQLITE_OK);
    for (size_t i = 0; i < sizeof tables / sizeof *tables; i++) {
        int64_t d = table_diff(s, "*", tables[i], "");
        CHECKF(d == 0, "after %llu records: %s differs in %lld rows", (unsigned long long)records,
               tables[i], (long long)d);
    }
    /* the same tables, views and indexes (pages aside) */
    int64_t d = table_diff(s, "type, name, tbl_name, sql", "sqlite_master", "");
    CHECKF(d == 0, "after %llu records: the schema differs", (unsigned long long)records);
    d = table_diff(s, "*", "meta",
                   "WHERE key NOT IN ('source_path', 'source_size', 'source_mtime', "
                   "'import_time', 'cut_reason', 'trace_bytes')");
    CHECKF(d == 0, "after %llu records: meta differs in %lld rows", (unsigned long long)records,
           (long long)d);
    sqlite3_close(s);
}

/* A full and a trace-backed store of the same trace: the trace-backed one
 * has no resources rows (the records stay in the trace) and the same
 * adapters, buffers and common_buffers, folded in C where the full import
 * runs store.sql's derive over its resources rows. */
static void expect_same_derived(const char *what, const char *full, const char *backed)
{
    static const char *const tables[] = {"adapters", "buffers", "common_buffers"};
    sqlite3 *s;
    CHECK(sqlite3_open_v2(backed, &s, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    char sql[1200];
    snprintf(sql, sizeof sql, "ATTACH '%s' AS r", full);
    CHECK(sqlite3_exec(s, sql, NULL, NULL, NULL) == SQLITE_OK);
    CHECKF(sql_int(s, "SELECT count(*) FROM main.resources") == 0,
           "%s: the trace-backed store has resources rows", what);
    CHECKF(sql_int(s, "SELECT count(*) FROM r.resources") > 0, "%s: no resources rows", what);
    for (size_t i = 0; i < sizeof tables / sizeof *tables; i++) {
        int64_t d = table_diff(s, "*", tables[i], "");
        CHECKF(d == 0, "%s: %s differs in %lld rows", what, tables[i], (long long)d);
    }
    sqlite3_close(s);
}

/* Append `trace` in batches ending after the records in ends[] (the last
 * batch takes the rest), and after every commit compare with an import of
 * the file cut right after the batch's last record. */
static void check_append(const char *name, const char *trace, const uint64_t *ends, size_t n_ends,
                         const dmt_store_import_opts *opts)
{
    char app[512], cut[512], ref[512];
    snprintf(app, sizeof app, "%s/%s-app.db", tmpdir, name);
    snprintf(cut, sizeof cut, "%s/%s-prefix.dmat", tmpdir, name);
    snprintf(ref, sizeof ref, "%s/%s-prefix.db", tmpdir, name);
    FILE *f = fopen(trace, "rb");
    CHECK(f != NULL);
    if (!f)
        return;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    uint8_t *bytes = malloc((size_t)size);
    rewind(f);
    CHECK(bytes && fread(bytes, 1, (size_t)size, f) == (size_t)size);
    fclose(f);
    dmt_reader *rd;
    dmt_error err;
    CHECK(dmt_reader_open(trace, 0, &rd, &err) == 0);
    dmt_store_appender *a = NULL;
    CHECKF(dmt_store_append_open(app, trace, dmt_reader_header(rd), opts, &a, &err) == 0, "%s",
           err.msg);
    if (!a) {
        dmt_reader_close(rd);
        free(bytes);
        return;
    }
    dmt_record r;
    uint64_t n = 0;
    int rc = 1;
    for (size_t b = 0; b <= n_ends && rc == 1; b++) {
        uint64_t end = b < n_ends ? ends[b] : UINT64_MAX;
        while (n < end && (rc = dmt_reader_next(rd, &r, &err)) == 1) {
            dmt_reader_resume rp;
            dmt_reader_boundary(rd, &rp);
            dmt_store_append_resume(a, &rp);
            CHECKF(dmt_store_append_add(a, &r, &err) == 0, "append: %s", err.msg);
            n++;
        }
        bool whole = rc == 0;
        uint64_t off = dmt_reader_offset(rd);
        dmt_store_append_facts fa = {.cut = !whole, .cut_offset = off, .cut_why = "growing"};
        CHECKF(dmt_store_append_commit(a, &fa, &err) == 0, "commit: %s", err.msg);
        /* the reference: the file cut after the same record, imported whole */
        const char *src = trace;
        if (!whole) {
            src = cut;
            CHECK(spill(cut, bytes, (size_t)off) == 0);
        }
        dmt_store_import_opts ro = opts ? *opts : (dmt_store_import_opts){0};
        ro.allow_cut = true;
        dmt_store_import_result res;
        CHECKF(dmt_store_import(src, ref, &ro, &res, &err) == 0, "import: %s", err.msg);
        CHECKF(res.records == n && res.cut == !whole && (whole || res.cut_offset == off),
               "%s: prefix of %llu records imported as %llu (cut %d at %llu)", name,
               (unsigned long long)n, (unsigned long long)res.records, res.cut,
               (unsigned long long)res.cut_offset);
        compare_stores(app, ref, n);
    }
    CHECK(rc == 0);
    CHECK(dmt_store_append_records(a) == n);
    dmt_store_append_close(a);
    dmt_reader_close(rd);
    free(bytes);
    check_against_trace(trace, app, 0);
}

/* A resource record (kinds 9 .. 14) of id `id`; creating kinds carry v in
 * their descriptive fields, so each create is told apart in the rows. */
static void rec_res(dmt_writer *w, uint32_t kind, uint32_t id, uint64_t v, int64_t ts)
{
    dmt_record r;
    dmt_error err;
    memset(&r, 0, sizeof r);
    r.kind = kind;
    r.ts = ts;
    r.adapter = kind <= DMT_K_ADAPTER_RELEASE ? id : 1;
    r.mdl = id;
    r.cb = id;
    r.dev = (uint32_t)v;
    r.sg = v & 1;
    r.dma64 = v & 2;
    r.cached = v & 1;
    r.length = v * 0x1000;
    r.map_registers = (uint32_t)v;
    r.addr_limit = UINT64_MAX - v;
    r.va = 0xffff800000000000ull + v;
    r.addr = 0x100000 + v;
    r.op = (uint32_t)(v % 3);
    CHECK(dmt_writer_append(w, &r, &err) == 0);
}

static void test_append(void)
{
    char trace[512];
    dmt_error err;
    /* a generated session: batch boundaries inside transfers, at block
     * boundaries (4096), a single record */
    tpath(trace, sizeof trace, "app-gen.dmat");
    gen_opts o = {.events = 30000, .seed = 5};
    CHECK(gen_trace_write(trace, &o, NULL, &err) == 0);
    static const uint64_t ends[] = {0, 1, 37, 4096, 4097, 9000, 16384, 23001};
    check_append("gen", trace, ends, sizeof ends / sizeof *ends, NULL);
    /* the memory bounds: early writes, reloads, shared lanes */
    dmt_store_import_opts so = {.small_limits = true};
    static const uint64_t ends2[] = {500, 5000, 12345};
    check_append("lim", trace, ends2, 3, &so);
    /* a transfer written and reopened 70 000 records later (the transfer
     * lanes are recomputed from then on) */
    tpath(trace, sizeof trace, "late.dmat");
    static const uint64_t ends3[] = {2, 3, 40000, 70002, 70003};
    check_append("late", trace, ends3, 5, NULL);
    /* time going back by more than a bucket: late summary events */
    tpath(trace, sizeof trace, "rev.dmat");
    static const uint64_t ends4[] = {100, 5000, 5001, 15000};
    check_append("rev", trace, ends4, 4, NULL);
    /* the derived resource rows across commits: released before created,
     * created again (new columns, the first creation kept), released and
     * created again, released and never created; in both store modes */
    dmt_writer *w = trace_begin(trace, NULL, "app-res", "app-res", 0);
    static const struct {
        uint32_t kind, id;
    } rs[] = {
        {DMT_K_ADAPTER_RELEASE, 2}, {DMT_K_BUFFER_UNLOCK, 7},   {DMT_K_ADAPTER_CREATE, 1},
        {DMT_K_BUFFER_LOCK, 5},     {DMT_K_COMMON_ALLOC, 3}, /* commit after 5 */
        {DMT_K_BUFFER_LOCK, 7},     {DMT_K_BUFFER_UNLOCK, 5},   {DMT_K_BUFFER_LOCK, 5},
        {DMT_K_ADAPTER_CREATE, 2},  {DMT_K_COMMON_RELEASE, 9}, /* commit after 10 */
        {DMT_K_COMMON_RELEASE, 3},  {DMT_K_COMMON_ALLOC, 3},    {DMT_K_BUFFER_UNLOCK, 99},
        {DMT_K_ADAPTER_CREATE, 1},  {DMT_K_ADAPTER_RELEASE, 1}, /* commit after 15 */
        {DMT_K_BUFFER_LOCK, 7},     {DMT_K_BUFFER_UNLOCK, 7},   {DMT_K_BUFFER_LOCK, 7},
        {DMT_K_COMMON_ALLOC, 9},    {DMT_K_BUFFER_LOCK, 99}, /* commit after 20 */
        {DMT_K_ADAPTER_RELEASE, 2}, {DMT_K_BUFFER_UNLOCK, 7},   {DMT_K_COMMON_RELEASE, 3},
    };
    uint64_t n = 0;
    for (size_t i = 0; i < sizeof rs / sizeof *rs; i++, n++)
        rec_res(w, rs[i].kind, rs[i].id, n + 1, T((int64_t)n));
    /* more ids of a table than one multi-row upsert takes, created, then
     * created again, some released, in the next commits */
    for (int round = 0; round < 2; round++)
        for (uint32_t id = 100; id < 170; id++, n++) {
            uint32_t kind = round && id % 3 == 0 ? DMT_K_BUFFER_UNLOCK
                            : id % 5 == 0        ? DMT_K_COMMON_ALLOC
                                                 : DMT_K_BUFFER_LOCK;
            rec_res(w, kind, id, n + 1, T((int64_t)n));
        }
    CHECK(dmt_writer_close(w, &err) == 0);
    static const uint64_t ends5[] = {5, 10, 15, 20, 21, 23 + 70, 23 + 100};
    size_t n_ends = sizeof ends5 / sizeof *ends5;
    check_append("res", trace, ends5, n_ends, NULL);
    dmt_store_import_opts tb = {.events_in_trace = true};
    check_append("res-tb", trace, ends5, n_ends, &tb);
    /* whole imports: trace-backed ones fold the rows in C (with small
     * limits, a fold every few records: releases before creation across
     * folds) where the full one runs store.sql's derive */
    char full[512], backed[512];
    tpath(full, sizeof full, "res-full.db");
    tpath(backed, sizeof backed, "res-trace.db");
    CHECKF(dmt_store_import(trace, full, NULL, NULL, &err) == 0, "%s", err.msg);
    CHECKF(dmt_store_import(trace, backed, &tb, NULL, &err) == 0, "%s", err.msg);
    expect_same_derived("resources", full, backed);
    dmt_store_import_opts tbs = {.events_in_trace = true, .small_limits = true};
    CHECKF(dmt_store_import(trace, backed, &tbs, NULL, &err) == 0, "%s", err.msg);
    expect_same_derived("resources, small limits", full, backed);
    check_append("res-tbs", trace, ends5, n_ends, &tbs);
    /* more ids released and never created than the fold remembers (8 with
     * small limits): bad input for a trace-backed import, named by the
     * record; a full store (store.sql's derive) takes them */
    w = trace_begin(trace, NULL, "app-res-cap", "app-res", 0);
    for (uint32_t id = 500; id < 510; id++)
        rec_res(w, DMT_K_BUFFER_UNLOCK, id, id - 499, T((int64_t)id));
    CHECK(dmt_writer_close(w, &err) == 0);
    CHECKF(dmt_store_import(trace, full, NULL, NULL, &err) == 0, "%s", err.msg);
    CHECK(dmt_store_import(trace, backed, &tbs, NULL, &err) == DMT_E_FORMAT);
    CHECKF(strstr(err.msg, "record seq 8: more than 8 resource ids released") != NULL, "%s",
           err.msg);
    CHECKF(dmt_store_import(trace, backed, &tb, NULL, &err) == 0, "%s", err.msg);
    expect_same_derived("resources released only", full, backed);
    /* buffers in flight: locked in id order, each unlocked `depth` locks
     * later - the fold's records nearly sorted (3: an insertion sort with
     * moves) or far from it (300: past its budget, qsort) */
    static const uint32_t depths[] = {3, 300};
    for (size_t d = 0; d < 2; d++) {
        w = trace_begin(trace, NULL, "app-res-pipe", "app-res", 0);
        n = 0;
        for (uint32_t k = 0; k < 600 + depths[d]; k++) {
            if (k < 600) {
                n++;
                rec_res(w, DMT_K_BUFFER_LOCK, 1000 + k, n, T((int64_t)n));
            }
            if (k >= depths[d]) {
                n++;
                rec_res(w, DMT_K_BUFFER_UNLOCK, 1000 + k - depths[d], n, T((int64_t)n));
            }
        }
        CHECK(dmt_writer_close(w, &err) == 0);
        CHECKF(dmt_store_import(trace, full, NULL, NULL, &err) == 0, "%s", err.msg);
        CHECKF(dmt_store_import(trace, backed, &tb, NULL, &err) == 0, "%s", err.msg);
        expect_same_derived(d ? "buffers in flight, far" : "buffers in flight", full, backed);
        static const uint64_t ends6[] = {1, 400, 777};
        check_append(d ? "pipe-far" : "pipe", trace, ends6, 3, &tb);
    }
}

/* The CPU of every record: runs where it changes, read back by the
 * iterator (from any record); in the rows of DMA calls, interrupts and DPCs
 * (NULL before the first CPU record), the first ExecuteDma's in transfers,
 * the highest in meta; an append equals the import. */
static void test_cpu(void)
{
    char trace[512], db[512];
    dmt_error err;
    tk_begin(0x10000, DMT_LOCK_MODIFY);
    uint32_t first = tk_nrec;
    for (uint32_t x = 1; x <= 4; x++) {
        dmt_sg_elem sg = {0x100000 * x, 0x1000};
        tk_chunk(x, 1 + (x & 1), 1, 1 + (x & 1), x & 1 ? TK_RING1 : TK_RING0, 1, x & 1, 0, 1, &sg,
                 true);
    }
    tk_end_trace();
    /* CPUs from the first transfer on: 2 and 5 in turns of 3 records */
    for (uint32_t i = first; i < tk_nrec; i++)
        tk_rec[i].cpu = (i / 3) % 2 ? 5 : 2;
    tpath(trace, sizeof trace, "cpu.dmat");
    tpath(db, sizeof db, "cpu.db");
    CHECK(tk_write_trace(trace, "test_store cpu") == 0);
    CHECKF(dmt_store_import(trace, db, NULL, NULL, &err) == 0, "%s", err.msg);
    dmt_store *st;
    CHECKF(dmt_store_open(db, 0, &st, &err) == 0, "%s", err.msg);
    if (!st)
        return;
    sqlite3 *s = dmt_store_sqlite(st);
    CHECK(sql_int(s, "SELECT value FROM meta WHERE key = 'cpu_max'") == 5);
    CHECK(sql_int(s, "SELECT count(*) FROM dma_calls WHERE cpu IS NULL") == 0);
    CHECK(sql_int(s, "SELECT count(*) FROM interrupts WHERE cpu IS NULL") == 0);
    CHECK(sql_int(s, "SELECT count(*) FROM dpcs WHERE cpu NOT IN (2, 5)") == 0);
    CHECK(sql_int(s, "SELECT count(*) FROM transfers t JOIN dma_calls d ON d.seq = t.exec_seq "
                     "WHERE d.cpu = t.exec_cpu") == 4);
    dmt_store_iter *it;
    CHECK(dmt_store_iter_open(st, 0, &it, &err) == 0);
    dmt_record r;
    uint32_t checked = 0, bad = 0;
    for (uint32_t i = 0; it && dmt_store_iter_next(it, &r, &err) == 1; i++) {
        uint32_t want = i < tk_nrec ? tk_rec[i].cpu : DMT_CPU_NONE;
        checked++;
        if (r.cpu != want && bad++ < 3)
            CHECKF(0, "record %u (%s): cpu %u, the trace says %u", i, dmt_kind_name(r.kind), r.cpu,
                   want);
    }
    CHECK(checked == tk_nrec && bad == 0);
    dmt_store_iter_close(it);
    /* from the middle of a run */
    CHECK(dmt_store_iter_open(st, first + 4, &it, &err) == 0);
    CHECK(it && dmt_store_iter_next(it, &r, &err) == 1 && r.seq == first + 4 &&
          r.cpu == tk_rec[first + 4].cpu);
    dmt_store_iter_close(it);
    uint32_t runs = 0;
    for (uint32_t i = 0; i < tk_nrec; i++)
        runs += tk_rec[i].cpu != (i ? tk_rec[i - 1].cpu : DMT_CPU_NONE);
    CHECK(sql_int(s, "SELECT count(*) FROM cpu_runs") == runs);
    dmt_store_close(st);
    /* a trace without CPU records: NULL everywhere, no cpu_max */
    for (uint32_t i = 0; i < tk_nrec; i++)
        tk_rec[i].cpu = DMT_CPU_NONE;
    CHECK(tk_write_trace(trace, "test_store cpu") == 0);
    CHECK(dmt_store_import(trace, db, NULL, NULL, &err) == 0);
    CHECK(dmt_store_open(db, 0, &st, &err) == 0);
    if (st) {
        s = dmt_store_sqlite(st);
        CHECK(sql_int(s, "SELECT count(*) FROM meta WHERE key = 'cpu_max'") == 0);
        CHECK(sql_int(s, "SELECT count(*) FROM dma_calls WHERE cpu IS NOT NULL") == 0);
        CHECK(sql_int(s, "SELECT count(*) FROM transfers WHERE exec_cpu IS NOT NULL") == 0);
        CHECK(sql_int(s, "SELECT count(*) FROM cpu_runs") == 0);
        dmt_store_close(st);
    }
    for (uint32_t i = first; i < tk_nrec; i++)
        tk_rec[i].cpu = (i / 3) % 2 ? 5 : 2;
    CHECK(tk_write_trace(trace, "test_store cpu") == 0);
    static const uint64_t ends[] = {3, 20, 41};
    check_append("cpu", trace, ends, 3, NULL);
}

/* ---- trace-backed stores ------------------------------------------------------------ */

/* A transcript of every answer of dmt/store_query.h on a store, as text:
 * two stores answer the same when their transcripts are equal. */
typedef struct transcript {
    char *p;
    size_t n, cap;
    uint64_t lines;
} transcript;

static void tx_printf(transcript *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tx_printf(transcript *t, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (k < 0)
        return;
    size_t m = (size_t)k < sizeof line ? (size_t)k : sizeof line - 1;
    if (t->n + m + 2 > t->cap) {
        t->cap = (t->n + m + 2) * 2;
        t->p = realloc(t->p, t->cap);
    }
    memcpy(t->p + t->n, line, m);
    t->n += m;
    t->p[t->n++] = '\n';
    t->p[t->n] = 0;
    t->lines++;
}

static void tx_bytes(transcript *t, const char *what, const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    tx_printf(t, "  %s %zu bytes %016llx", what, n, (unsigned long long)h);
}

static int tx_event(void *ctx, const dmt_store_event *e)
{
    transcript *t = ctx;
    tx_printf(t, "ev k%u s%llu t%lld d%llu o%llu v%llu w%llu %d%d c%u cpu%u", e->kind,
              (unsigned long long)e->seq, (long long)e->ts, (unsigned long long)e->dev,
              (unsigned long long)e->off, (unsigned long long)e->value,
              (unsigned long long)e->width, e->is_write, e->claimed, e->count, e->cpu);
    tx_bytes(t, "data", e->data, e->len);
    return 0;
}

static int tx_hit(void *ctx, const dmt_store_hit *h)
{
    tx_printf(ctx, "hit t%lld s%llu x%u", (long long)h->ts, (unsigned long long)h->seq, h->xfer);
    return 0;
}

static int tx_block(void *ctx, const dmt_store_time_block *b)
{
    tx_printf(ctx, "block %llu-%llu %lld-%lld %llu", (unsigned long long)b->first_seq,
              (unsigned long long)b->last_seq, (long long)b->ts_min, (long long)b->ts_max,
              (unsigned long long)b->records);
    return 0;
}

static int tx_bucket(void *ctx, const dmt_store_bucket *b)
{
    tx_printf(ctx, "bucket l%lld L%d b%lld n%llu y%llu %d%d %llu %llu %llu %lld %lld",
              (long long)b->lane, b->level, (long long)b->bucket, (unsigned long long)b->count,
              (unsigned long long)b->bytes, b->has_range, b->has_last, (unsigned long long)b->vmin,
              (unsigned long long)b->vmax, (unsigned long long)b->vlast, (long long)b->t_first,
              (long long)b->t_last);
    return 0;
}

static int tx_xfer(void *ctx, const dmt_store_transfer *x)
{
    tx_printf(ctx, "xfer %u %s %lld %lld s%llu e%llu", x->xfer, x->outcome, (long long)x->t_begin,
              (long long)x->t_end, (unsigned long long)x->start_seq,
              (unsigned long long)x->exec_seq);
    return 0;
}

static int tx_lost(void *ctx, const dmt_store_lost *l)
{
    tx_printf(ctx, "lost %llu %llu %lld %u", (unsigned long long)l->first_seq,
              (unsigned long long)l->count, (long long)l->ts, l->reason);
    return 0;
}

static int tx_adapter(void *ctx, const dmt_store_adapter *a)
{
    tx_printf(ctx, "adapter %u %lld %llu", a->adapter, (long long)a->dev,
              (unsigned long long)a->max_length);
    return 0;
}

typedef struct blocks {
    dmt_store_time_block b[4096];
    int n;
} blocks;

static int keep_block(void *ctx, const dmt_store_time_block *b)
{
    blocks *k = ctx;
    if (k->n < 4096)
        k->b[k->n++] = *b;
    return 0;
}

/* Every query of dmt/store_query.h over st, into t; every_seq: ts_before
 * and record_cpu at every sequence number (else at block edges). */
static void transcript_of(const char *db, transcript *t, bool every_seq)
{
    dmt_store *st;
    dmt_error err;
    CHECKF(dmt_store_open(db, DMT_STORE_RDONLY, &st, &err) == 0, "%s: %s", db, err.msg);
    if (!st)
        return;
    int64_t t0 = 0, t1 = -1, v;
    CHECK(dmt_store_time_range(st, &t0, &t1, &err) == 0);
    tx_printf(t, "range %lld %lld span %lld min %d", (long long)t0, (long long)t1,
              (long long)dmt_store_max_transfer_ns(st), dmt_store_summary_min_level(st));
    static const char *const keys[] = {"records", "first_ts", "last_ts", "cpu_max", "seq0", "cut"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        v = 0;
        int r = dmt_store_meta_int(st, keys[i], &v, &err);
        tx_printf(t, "meta %s %d %lld", keys[i], r, (long long)v);
    }
    static blocks bl;
    bl.n = 0;
    CHECK(dmt_store_time_index(st, tx_block, t, &err) >= 0);
    CHECK(dmt_store_time_index(st, keep_block, &bl, &err) >= 0);
    uint64_t s_lo = bl.n ? bl.b[0].first_seq : 0, s_hi = bl.n ? bl.b[bl.n - 1].last_seq : 0;
    for (uint64_t s = s_lo; bl.n && s <= s_hi + 1; s++) {
        if (!every_seq && s != s_lo && s != s_hi + 1 && s % 997 != 0)
            continue;
        int64_t ts = 0;
        uint32_t cpu = 0;
        int a = dmt_store_ts_before(st, s, &ts, &err);
        int b = dmt_store_record_cpu(st, s, &cpu, &err);
        CHECKF(a >= 0 && b >= 0, "%s: seq %llu: %s", db, (unsigned long long)s, err.msg);
        tx_printf(t, "seq %llu before %d %lld cpu %d %u", (unsigned long long)s, a,
                  a == 1 ? (long long)ts : 0, b, b == 1 ? cpu : 0);
    }
    int nl = dmt_store_lanes(st, NULL, 0, &err);
    dmt_store_lane *lanes = calloc((size_t)nl + 1, sizeof *lanes);
    CHECK(dmt_store_lanes(st, lanes, (size_t)nl, &err) == nl);
    for (int i = 0; i < nl; i++)
        tx_printf(t, "lane %lld %d %lld %lld %lld %s", (long long)lanes[i].lane, lanes[i].kind,
                  (long long)lanes[i].dev, (long long)lanes[i].adapter, (long long)lanes[i].off,
                  lanes[i].name);
    CHECK(dmt_store_adapters(st, tx_adapter, t, &err) >= 0);
    CHECK(dmt_store_lost_ranges(st, tx_lost, t, &err) >= 0);
    /* windows: everything, a middle slice, one block's span */
    int64_t mid = t0 + (t1 - t0) / 2;
    int64_t win[3][2] = {{t0, t1}, {mid, mid + 3000000}, {t0, t0}};
    uint64_t seqw[3][2] = {{0, UINT64_MAX}, {0, UINT64_MAX}, {s_lo, s_lo}};
    if (bl.n > 1) {
        win[2][0] = bl.b[1].ts_min;
        win[2][1] = bl.b[1].ts_max;
        seqw[2][0] = bl.b[1].first_seq;
        seqw[2][1] = bl.b[1].last_seq;
    }
    for (int w = 0; w < 3; w++) {
        tx_printf(t, "window %d", w);
        int n = dmt_store_events(st, 0x1F, seqw[w][0], seqw[w][1], win[w][0], win[w][1], tx_event,
                                 t, &err);
        CHECKF(n >= 0, "%s: events: %s", db, err.msg);
        tx_printf(t, "events %d", n);
        for (unsigned set = 1; set <= 0x10; set <<= 1)
            tx_printf(t, "set %u: %d", set,
                      dmt_store_events(st, set, seqw[w][0], seqw[w][1], win[w][0], win[w][1], NULL,
                                       NULL, &err));
        for (int L = 0; L < DMT_STORE_LEVELS; L++)
            for (int i = 0; i < nl; i++)
                CHECK(dmt_store_summary(st, L, lanes[i].lane, win[w][0], win[w][1], tx_bucket, t,
                                        &err) >= 0);
        CHECK(dmt_store_transfers(st, -1, win[w][0], win[w][1], tx_xfer, t, &err) >= 0);
    }
    /* a callback that stops early, and one that fails */
    tx_printf(t, "events limited %d",
              dmt_store_events(st, 0x1F, 0, UINT64_MAX, INT64_MIN, INT64_MAX, NULL, NULL, &err));
    for (int L = DMT_STORE_MIN_STORED_LEVEL; L < DMT_STORE_LEVELS; L++) {
        CHECK(dmt_store_buckets(st, L, -1, INT64_MIN, INT64_MAX, tx_bucket, t, &err) >= 0);
        for (int i = 0; i < nl; i++) {
            dmt_store_bucket b;
            int r = dmt_store_bucket_before(st, L, lanes[i].lane, mid >> DMT_STORE_LEVEL_SHIFT(L),
                                            &b, &err);
            if (r == 1)
                tx_bucket(t, &b);
        }
    }
    /* transfers one by one, with their SG lists */
    for (uint32_t x = 0; x < 64; x++) {
        dmt_store_transfer tr;
        if (dmt_store_transfer_get(st, x, &tr, &err) == 1) {
            tx_xfer(t, &tr);
            dmt_sg_elem sg[16];
            int n = dmt_store_transfer_sg(st, x, sg, 16, &err);
            tx_printf(t, "sg %d", n);
            for (int i = 0; i < n && i < 16; i++)
                tx_printf(t, "  %llx %u", (unsigned long long)sg[i].addr, sg[i].len);
        }
    }
    dmt_store_xfer_query q = {.dir = -1, .has_addr = true, .addr_lo = 0, .addr_hi = UINT64_MAX};
    CHECK(dmt_store_find_transfers(st, &q, 100, tx_hit, t, &err) >= 0);
    q = (dmt_store_xfer_query){
        .dir = -1, .has_addr = true, .addr_lo = 0x1000000, .addr_hi = 0x9000000};
    CHECK(dmt_store_find_transfers(st, &q, 100, tx_hit, t, &err) >= 0);
    q = (dmt_store_xfer_query){.dir = 1,
                               .has_len = true,
                               .len_hi = 1 << 20,
                               .has_addr = true,
                               .addr_lo = 1ull << 32,
                               .addr_hi = UINT64_MAX};
    CHECK(dmt_store_find_transfers(st, &q, 5, tx_hit, t, &err) >= 0);
    q = (dmt_store_xfer_query){.dir = 1, .text = "completed"};
    CHECK(dmt_store_find_transfers(st, &q, 100, tx_hit, t, &err) >= 0);
    CHECK(dmt_store_find_markers(st, "", 100, tx_hit, t, &err) >= 0);
    CHECK(dmt_store_find_markers(st, "a", 3, tx_hit, t, &err) >= 0);
    /* register searches at every offset the lanes name, every operator */
    for (int i = 0; i < nl; i++) {
        if (lanes[i].kind != DMT_LANE_REGISTER || lanes[i].off < 0)
            continue;
        uint64_t off = (uint64_t)lanes[i].off;
        tx_printf(t, "reg %llx", (unsigned long long)off);
        CHECK(dmt_store_find_reg_writes(st, off, 50, tx_hit, t, &err) >= 0);
        CHECK(dmt_store_find_reg_writes(st, off, 1, tx_hit, t, &err) >= 0);
        static const char ops[] = "=!<>c";
        for (const char *op = ops; *op; op++) {
            CHECK(dmt_store_find_reg_field(st, off, 4, 0xF, *op, 3, 50, tx_hit, t, &err) >= 0);
            CHECK(dmt_store_find_reg_field(st, off, 0, UINT64_MAX, *op, 1, 50, tx_hit, t, &err) >=
                  0);
            CHECK(dmt_store_find_reg_field(st, off, 70, 1, *op, 0, 5, tx_hit, t, &err) >= 0);
        }
    }
    free(lanes);
    dmt_store_close(st);
}

/* The two stores answer every query alike (the first difference named). */
static void expect_same_answers(const char *what, const char *full, const char *backed,
                                bool every_seq)
{
    transcript a = {0}, b = {0};
    transcript_of(full, &a, every_seq);
    transcript_of(backed, &b, every_seq);
    bool same = a.n == b.n && a.n && !memcmp(a.p, b.p, a.n);
    if (!same && a.p && b.p) {
        size_t i = 0, line = 1;
        while (i < a.n && i < b.n && a.p[i] == b.p[i])
            line += a.p[i++] == '\n';
        size_t s = i;
        while (s > 0 && a.p[s - 1] != '\n')
            s--;
        fprintf(stderr, "  %s: line %zu: full rows \"%.120s\" / trace-backed \"%.120s\"\n", what,
                line, a.p + s, b.p + s);
    }
    CHECKF(same, "%s: the trace-backed store answers differently (%llu / %llu lines)", what,
           (unsigned long long)a.lines, (unsigned long long)b.lines);
    CHECKF(a.lines > 50, "%s: only %llu lines of answers", what, (unsigned long long)a.lines);
    free(a.p);
    free(b.p);
}

static void import_both(const char *trace, const char *full, const char *backed,
                        const dmt_store_import_opts *base)
{
    dmt_error err;
    dmt_store_import_opts o = base ? *base : (dmt_store_import_opts){0};
    o.events_in_trace = false;
    CHECKF(dmt_store_import(trace, full, &o, NULL, &err) == 0, "%s", err.msg);
    o.events_in_trace = true;
    CHECKF(dmt_store_import(trace, backed, &o, NULL, &err) == 0, "%s", err.msg);
}

static int64_t db_int(const char *db, const char *sql)
{
    sqlite3 *s;
    int64_t v = -1;
    if (sqlite3_open_v2(db, &s, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK)
        v = sql_int(s, sql);
    sqlite3_close(s);
    return v;
}

/* The trace of a trace-backed store gone, cut, replaced or damaged: the
 * queries that read it fail with one error, never crash, and the rest of
 * the store still answers. */
static void expect_trace_refused(const char *what, const char *db, int code)
{
    dmt_store *st;
    dmt_error err;
    CHECKF(dmt_store_open(db, DMT_STORE_RDONLY, &st, &err) == 0, "%s: open: %s", what, err.msg);
    if (!st)
        return;
    int n = dmt_store_events(st, 0x1F, 0, UINT64_MAX, INT64_MIN, INT64_MAX, NULL, NULL, &err);
    CHECKF(n < 0 && (code == 0 || n == code), "%s: events gave %d (%s)", what, n, err.msg);
    CHECKF(n >= 0 || strstr(err.msg, "trace"), "%s: message \"%s\"", what, err.msg);
    int64_t ts;
    CHECKF(dmt_store_ts_before(st, 1000000, &ts, &err) < 0, "%s: ts_before", what);
    CHECKF(dmt_store_find_reg_writes(st, 0, 10, NULL, NULL, &err) < 0, "%s: find", what);
    dmt_store_iter *it = NULL;
    dmt_record r;
    int rc = dmt_store_iter_open(st, 0, &it, &err);
    while (rc == 0 && (rc = dmt_store_iter_next(it, &r, &err)) == 1)
        rc = 0;
    CHECKF(rc < 0, "%s: the iterator read to the end", what);
    dmt_store_iter_close(it);
    /* the tables still answer */
    int64_t t0, t1;
    CHECK(dmt_store_time_range(st, &t0, &t1, &err) == 0);
    CHECK(dmt_store_lanes(st, NULL, 0, &err) > 0);
    CHECK(dmt_store_transfers(st, -1, t0, t1, NULL, NULL, &err) > 0);
    CHECK(dmt_store_summary(st, 5, 1, t0, t1, NULL, NULL, &err) >= 0);
    dmt_store_close(st);
}

static void copy_file(const char *from, const char *to, size_t keep)
{
    size_t len;
    uint8_t *p = tk_slurp(from, &len);
    CHECK(p && spill(to, p, keep < len ? keep : len) == 0);
    free(p);
}

static void test_trace_backed(void)
{
    char trace[512], full[512], backed[512];
    dmt_error err;

    /* every record kind (the fixture), LOST ranges included */
    tpath(trace, sizeof trace, "tb-every.dmat");
    tpath(full, sizeof full, "tb-every-full.db");
    tpath(backed, sizeof backed, "tb-every-trace.db");
    write_every_kind(trace, 1);
    import_both(trace, full, backed, NULL);
    CHECK(db_int(backed, "SELECT count(*) FROM reg_accesses") == 0 &&
          db_int(backed, "SELECT count(*) FROM dma_calls") == 0 &&
          db_int(backed, "SELECT count(*) FROM sg_elements") == 0 &&
          db_int(full, "SELECT count(*) FROM reg_accesses") > 0);
    CHECK(db_int(backed, "SELECT count(*) FROM time_index WHERE rp_offset IS NULL") == 0);
    expect_same_derived("every kind", full, backed);
    expect_same_answers("every kind", full, backed, true);
    check_against_trace(trace, backed, 0);

    /* a generated session (many blocks and chunks), and its CPU trace */
    tpath(trace, sizeof trace, "tb-gen.dmat");
    tpath(full, sizeof full, "tb-gen-full.db");
    tpath(backed, sizeof backed, "tb-gen-trace.db");
    gen_opts o = {.events = 30000, .seed = 9};
    CHECK(gen_trace_write(trace, &o, NULL, &err) == 0);
    import_both(trace, full, backed, NULL);
    expect_same_derived("generated", full, backed);
    expect_same_answers("generated", full, backed, false);
    check_against_trace(trace, backed, 0);
    CHECKF(
        db_int(backed, "SELECT page_count * page_size FROM pragma_page_count, pragma_page_size") <
            db_int(full, "SELECT page_count * page_size FROM pragma_page_count, pragma_page_size"),
        "the trace-backed store is not smaller");
    char cpu[512];
    tpath(cpu, sizeof cpu, "cpu.dmat"); /* test_cpu wrote it */
    CHECK(exists(cpu));
    if (exists(cpu)) {
        tpath(full, sizeof full, "tb-cpu-full.db");
        tpath(backed, sizeof backed, "tb-cpu-trace.db");
        import_both(cpu, full, backed, NULL);
        expect_same_answers("per-CPU", full, backed, true);
    }

    /* appends in batches, trace-backed: each commit equals the import of
     * the same prefix (check_append), and answers as a full-rows import */
    dmt_store_import_opts tb = {.events_in_trace = true};
    static const uint64_t ends[] = {0, 1, 37, 4096, 4097, 9000, 16384, 23001};
    check_append("tbapp", trace, ends, sizeof ends / sizeof *ends, &tb);
    char app[512];
    snprintf(app, sizeof app, "%s/tbapp-app.db", tmpdir);
    tpath(full, sizeof full, "tb-gen-full.db");
    expect_same_derived("appended", full, app);
    expect_same_answers("appended", full, app, false);

    /* hostile: the trace gone, cut, replaced, damaged; resume points bent */
    char moved[512], db[512], other[512];
    tpath(moved, sizeof moved, "tb-moved.dmat");
    tpath(db, sizeof db, "tb-moved.db");
    tpath(other, sizeof other, "tb-other.dmat");
    copy_file(trace, moved, SIZE_MAX);
    dmt_store_import_opts ho = {.events_in_trace = true};
    CHECKF(dmt_store_import(moved, db, &ho, NULL, &err) == 0, "%s", err.msg);
    size_t len;
    uint8_t *orig = tk_slurp(moved, &len);
    unlink(moved);
    expect_trace_refused("trace gone", db, DMT_E_IO);
    copy_file(trace, moved, len / 2);
    expect_trace_refused("trace cut", db, DMT_E_FORMAT);
    gen_opts o2 = {.events = 40000, .seed = 10};
    CHECK(gen_trace_write(other, &o2, NULL, &err) == 0);
    copy_file(other, moved, SIZE_MAX);
    expect_trace_refused("trace replaced", db, 0);
    if (orig) {
        orig[len / 2] ^= 0x40; /* a bit flipped inside a chunk */
        CHECK(spill(moved, orig, len) == 0);
        dmt_store *st;
        CHECK(dmt_store_open(db, DMT_STORE_RDONLY, &st, &err) == 0);
        int n =
            st ? dmt_store_events(st, 0x1F, 0, UINT64_MAX, INT64_MIN, INT64_MAX, NULL, NULL, &err)
               : 0;
        CHECKF(n < 0, "a damaged chunk read as %d events", n);
        dmt_store_close(st);
        orig[len / 2] ^= 0x40;
        CHECK(spill(moved, orig, len) == 0);
    }
    /* resume points bent by hand: off a boundary, past the end */
    static const char *const bends[] = {
        "UPDATE time_index SET rp_offset = rp_offset + 1",
        "UPDATE time_index SET rp_offset = rp_offset + 1000000000",
        "UPDATE time_index SET rp_seq = rp_seq + 1",
        "UPDATE time_index SET rp_offset = NULL",
        "UPDATE meta SET value = value + 1 WHERE key = 'trace_header_crc'",
    };
    for (size_t i = 0; i < sizeof bends / sizeof *bends; i++) {
        char bent[512];
        tpath(bent, sizeof bent, "tb-bent.db");
        copy_file(db, bent, SIZE_MAX);
        sqlite3 *s;
        CHECK(sqlite3_open(bent, &s) == SQLITE_OK);
        CHECK(sqlite3_exec(s, bends[i], NULL, NULL, NULL) == SQLITE_OK);
        sqlite3_close(s);
        expect_trace_refused(bends[i], bent, 0);
    }
    /* and the untouched trace back in place: answers again */
    tpath(full, sizeof full, "tb-gen-full.db");
    expect_same_answers("trace restored", full, db, false);
    /* the store and its trace moved together to another folder: the trace
     * is found beside the store */
    char dir[512], db2[600], trace2[600];
    tpath(dir, sizeof dir, "tb-elsewhere");
    CHECK(mkdir(dir, 0755) == 0 || errno == EEXIST);
    snprintf(db2, sizeof db2, "%s/tb-moved.db", dir);
    snprintf(trace2, sizeof trace2, "%s/tb-moved.dmat", dir);
    copy_file(db, db2, SIZE_MAX);
    copy_file(moved, trace2, SIZE_MAX);
    unlink(moved);
    expect_same_answers("moved together", full, db2, false);
    expect_trace_refused("moved apart", db, DMT_E_IO);
    free(orig);
}

static void cleanup(void)
{
    DIR *d = opendir(tmpdir);
    struct dirent *e;
    char p[600];
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.') {
            snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
            unlink(p);
        }
    if (d)
        closedir(d);
    rmdir(tmpdir);
}

int main(void)
{
    /* this file is <source>/core/tests/test_store.c */
    snprintf(schema_dir, sizeof schema_dir, "%s", __FILE__);
    for (int up = 0; up < 3; up++) {
        char *slash = strrchr(schema_dir, '/');
        if (slash)
            *slash = 0;
        else
            snprintf(schema_dir, sizeof schema_dir, "..");
    }
    strcat(schema_dir, "/schema");
    if (!tk_mkdtemp(tmpdir, sizeof tmpdir, "dmt_test_store"))
        return 1;
    test_schema_embedded();
    test_every_kind();
    test_derived();
    test_late_records();
    test_late_run();
    test_time_reversal();
    test_import_equality();
    test_sg_key_limit();
    test_small_limits();
    test_generated();
    test_refusals();
    test_all_or_nothing();
    test_append();
    test_cpu();
    test_trace_backed();
    if (!tk_failures)
        cleanup();
    else
        fprintf(stderr, "test files kept in %s\n", tmpdir);
    return tk_result("test_store");
}
