/*
 * fuzz_import_audit.c - fuzz target: a trace imported into the SQLite store
 * and audited, from arbitrary bytes.
 *
 * Per input (written to a private tmpfs directory as in.dmat):
 *  1. dmt_store_import(in.dmat -> out.db, allow_cut).  It fails only with
 *     an input error (format, version, truncated, checksum, foreign) and
 *     then leaves nothing behind - no out.db, no temporary file (all or
 *     nothing); the reader in the same mode must have failed too.  When the
 *     reader reads the input to its end, the import must succeed.
 *  2. On success: dmt_store_info equals dmt_stats accumulated over the
 *     reader's records (the store promises field-by-field equality), and
 *     the store's record iterator returns exactly the reader's records.
 *  3. The audit engine over the trace and over the database gives the same
 *     findings (count and rule by rule); the findings can be stored in the
 *     database; the viewer queries (time range, lanes, summaries,
 *     transfers, SG lists) run without error over what was imported.
 */
#include "dmt/audit.h"
#include "dmt/reader.h"
#include "dmt/stats.h"
#include "dmt/store.h"
#include "dmt/store_query.h"
#include "fuzz_common.h"

#define MAX_FINDINGS 64

typedef struct sink {
    dmt_finding f[MAX_FINDINGS];
    size_t n, total;
} sink;

static void on_finding(void *user, const dmt_finding *f)
{
    sink *s = user;
    FZ_CHECK(f->rule < DMT_R_COUNT_, "finding rule %u", f->rule);
    FZ_CHECK(memchr(f->message, 0, sizeof f->message) != NULL, "unterminated message");
    FZ_CHECK(f->n_refs <= DMT_AUDIT_MAX_REFS, "n_refs %u", f->n_refs);
    if (s->n < MAX_FINDINGS)
        s->f[s->n++] = *f;
    s->total++;
}

/* The reader's view: stats, and whether the whole input was read. */
static int reader_stats(const char *trace, dmt_stats *st, uint64_t *records)
{
    dmt_reader *rd;
    dmt_error err;
    int rc = dmt_reader_open(trace, DMT_READ_ALLOW_CUT, &rd, &err);
    dmt_stats_init(st);
    *records = 0;
    if (rc)
        return rc;
    dmt_record r;
    while ((rc = dmt_reader_next(rd, &r, &err)) == 1) {
        dmt_stats_add(st, &r);
        (*records)++;
    }
    dmt_reader_close(rd);
    return rc;
}

static void compare_stats(const dmt_stats *a, const dmt_stats *b)
{
#define S(x)                                                                                       \
    FZ_CHECK(a->x == b->x, "stats." #x ": trace %lld, store %lld", (long long)a->x, (long long)b->x)
    S(records);
    for (int k = 0; k < DMT_K_MAX_; k++)
        FZ_CHECK(a->by_kind[k] == b->by_kind[k], "by_kind[%d]: trace %llu, store %llu", k,
                 (unsigned long long)a->by_kind[k], (unsigned long long)b->by_kind[k]);
    if (a->records) {
        S(first_ts);
        S(last_ts);
        S(first_seq);
        S(last_seq);
    }
    S(lost_records);
    S(lost_ranges);
    for (int k = 0; k < 5; k++)
        S(lost_by_reason[k]);
    S(sg_elements);
    S(dma_bytes);
    S(n_adapters);
    for (uint32_t i = 0; i < a->n_adapters && i < DMT_STATS_MAX_ADAPTERS; i++) {
        S(adapters[i].id);
        S(adapters[i].dev);
        S(adapters[i].sg);
        S(adapters[i].dma32);
        S(adapters[i].dma64);
        S(adapters[i].max_length);
        S(adapters[i].map_registers);
        S(adapters[i].addr_limit);
        S(adapters[i].transfers);
        S(adapters[i].bytes);
    }
#undef S
}

/* The store's iterator must return the reader's records. */
static void compare_records(const char *trace, const char *db)
{
    dmt_reader *rd;
    dmt_store *st;
    dmt_store_iter *it;
    dmt_error err;
    FZ_CHECK(dmt_reader_open(trace, DMT_READ_ALLOW_CUT, &rd, &err) == 0, "reader: %s", err.msg);
    FZ_CHECK(dmt_store_open(db, DMT_STORE_RDONLY, &st, &err) == 0, "store open: %s", err.msg);
    FZ_CHECK(dmt_store_iter_open(st, 0, &it, &err) == 0, "iter open: %s", err.msg);
    for (uint64_t i = 0;; i++) {
        dmt_record a, b;
        int ra = dmt_reader_next(rd, &a, &err);
        FZ_CHECK(ra >= 0, "reader: %s", err.msg);
        int rb = dmt_store_iter_next(it, &b, &err);
        FZ_CHECK(rb >= 0, "iter: %s", err.msg);
        FZ_CHECK(ra == rb, "record %llu: reader %d, store %d", (unsigned long long)i, ra, rb);
        if (ra == 0)
            break;
        fz_check_record(&b);
        const char *why = "";
        FZ_CHECK(fz_record_equal(&a, &b, &why), "record %llu (seq %llu, %s) differs: %s",
                 (unsigned long long)i, (unsigned long long)a.seq, dmt_kind_name(a.kind), why);
    }
    dmt_store_iter_close(it);
    dmt_store_close(st);
    dmt_reader_close(rd);
}

static int count_bucket(void *ctx, const dmt_store_bucket *b)
{
    (void)b;
    return ++*(uint64_t *)ctx > 4096;
}

typedef struct xfers {
    uint64_t n;
    uint32_t first[4];
} xfers;

static int on_xfer(void *ctx, const dmt_store_transfer *t)
{
    xfers *x = ctx;
    FZ_CHECK(memchr(t->outcome, 0, sizeof t->outcome) != NULL, "unterminated outcome");
    if (x->n < 4)
        x->first[x->n] = t->xfer;
    return ++x->n > 4096;
}

/* The viewer's queries over whatever was imported. */
static void viewer_queries(const char *db)
{
    dmt_store *st;
    dmt_error err;
    FZ_CHECK(dmt_store_open(db, DMT_STORE_RDONLY, &st, &err) == 0, "store open: %s", err.msg);
    int64_t t0, t1;
    FZ_CHECK(dmt_store_time_range(st, &t0, &t1, &err) == 0, "time range: %s", err.msg);
    dmt_store_lane lanes[32];
    int n = dmt_store_lanes(st, lanes, 32, &err);
    FZ_CHECK(n >= 0, "lanes: %s", err.msg);
    if (t0 <= t1) {
        int level = DMT_STORE_LEVELS - 1; /* a stored level; 0 below is computed */
        for (int i = 0; i < n && i < 32; i++) {
            FZ_CHECK(memchr(lanes[i].name, 0, sizeof lanes[i].name) != NULL, "lane name");
            uint64_t cnt = 0;
            FZ_CHECK(
                dmt_store_summary(st, level, lanes[i].lane, t0, t1, count_bucket, &cnt, &err) >= 0,
                "summary level %d lane %lld: %s", level, (long long)lanes[i].lane, err.msg);
            cnt = 0;
            FZ_CHECK(dmt_store_summary(st, 0, lanes[i].lane, t0, t0 + 100000, count_bucket, &cnt,
                                       &err) >= 0,
                     "summary level 0 lane %lld: %s", (long long)lanes[i].lane, err.msg);
        }
        xfers x;
        memset(&x, 0, sizeof x);
        FZ_CHECK(dmt_store_transfers(st, -1, t0, t1, on_xfer, &x, &err) >= 0, "transfers: %s",
                 err.msg);
        for (uint64_t i = 0; i < x.n && i < 4; i++) {
            dmt_store_transfer t;
            dmt_sg_elem sg[8];
            FZ_CHECK(dmt_store_transfer_get(st, x.first[i], &t, &err) == 1, "transfer %u: %s",
                     x.first[i], err.msg);
            FZ_CHECK(dmt_store_transfer_sg(st, x.first[i], sg, 8, &err) >= 0, "sg of %u: %s",
                     x.first[i], err.msg);
        }
    }
    dmt_store_close(st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char trace[320], db[320];
    dmt_error err;
    fz_path(trace, sizeof trace, "in.dmat");
    fz_path(db, sizeof db, "out.db");
    unlink(db);
    fz_write_file(trace, data, size);

    dmt_stats rs;
    uint64_t nrec;
    int rrc = reader_stats(trace, &rs, &nrec);

    dmt_store_import_opts o;
    memset(&o, 0, sizeof o);
    o.allow_cut = true;
    dmt_store_import_result res;
    int rc = dmt_store_import(trace, db, &o, &res, &err);
    if (rc != 0) {
        FZ_CHECK(rc == DMT_E_FORMAT || rc == DMT_E_VERSION || rc == DMT_E_TRUNCATED ||
                     rc == DMT_E_CHECKSUM || rc == DMT_E_FOREIGN,
                 "import failed with %d (not an input error): %s", rc, err.msg);
        FZ_CHECK(!res.output_error, "import blamed the output: %s", err.msg);
        FZ_CHECK(rrc < 0, "the reader reads the whole trace (%llu records) but import failed: %s",
                 (unsigned long long)nrec, err.msg);
        FZ_CHECK(access(db, F_OK) != 0, "a failed import left %s", db);
        FZ_CHECK(fz_count_other_files("in.dmat", NULL) == 0, "a failed import left a file");
        return 0;
    }
    FZ_CHECK(rrc == 0, "import succeeded where the reader fails (%d)", rrc);
    FZ_CHECK(res.records == nrec, "imported %llu records, the reader read %llu",
             (unsigned long long)res.records, (unsigned long long)nrec);
    FZ_CHECK(fz_count_other_files("in.dmat", "out.db") == 0, "import left a temporary file");

    dmt_stats ss;
    FZ_CHECK(dmt_store_info(db, NULL, &ss, &err) == 0, "store info: %s", err.msg);
    compare_stats(&rs, &ss);
    compare_records(trace, db);

    dmt_audit_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.end_is_unload = size & 1;
    static sink on_trace, on_db;
    dmt_audit_stats at, ad;
    on_trace.n = on_trace.total = 0;
    on_db.n = on_db.total = 0;
    cfg.sink = on_finding;
    cfg.user = &on_trace;
    rc = dmt_audit_file(trace, &cfg, &at, &err);
    FZ_CHECK(rc == 0, "audit of the trace: %s", err.msg);
    cfg.user = &on_db;
    rc = dmt_audit_file(db, &cfg, &ad, &err);
    FZ_CHECK(rc == 0, "audit of the database: %s", err.msg);
    FZ_CHECK(at.findings == on_trace.total, "stats say %llu findings, sink saw %llu",
             (unsigned long long)at.findings, (unsigned long long)on_trace.total);
    FZ_CHECK(at.records == ad.records && at.findings == ad.findings,
             "trace audit: %llu records %llu findings; database audit: %llu / %llu",
             (unsigned long long)at.records, (unsigned long long)at.findings,
             (unsigned long long)ad.records, (unsigned long long)ad.findings);
    for (int i = 0; i < DMT_R_COUNT_; i++)
        FZ_CHECK(at.by_rule[i] == ad.by_rule[i], "rule %s: trace %llu, database %llu",
                 dmt_audit_rules()[i].id, (unsigned long long)at.by_rule[i],
                 (unsigned long long)ad.by_rule[i]);
    rc = dmt_audit_store_findings(db, on_db.f, on_db.n, &err);
    FZ_CHECK(rc == 0, "storing %zu findings: %s", on_db.n, err.msg);

    viewer_queries(db);
    return 0;
}
