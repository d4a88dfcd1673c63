/*
 * store.c - open and check a store, its header and import facts, the
 * statistics `info` prints (computed from the tables), and the viewer's
 * queries: time range, lanes, summary buckets (stored, or computed on
 * demand for the finest levels), transfers in a window, SG lists.
 * See dmt/store.h and schema/store.sql.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dmt/sniff.h"
#include "store_internal.h"

typedef struct bset {
    dmt_store_bucket *b; /* sorted by bucket */
    size_t n, cap;
} bset;

typedef struct od_cache {
    bool valid;
    int level;
    int64_t T0, T1; /* value lanes: whole buckets computed */
    int64_t X0, X1; /* transfer lanes: t_begin range computed */
    bset *sets;     /* per lane (lane - 1) */
    size_t nsets;
} od_cache;

typedef struct lane_index {
    bool loaded;
    dmt_store_lane *lanes;
    size_t n;
    dmt_store_map reg;     /* (dev, off) -> lane - 1 */
    dmt_store_map other;   /* dev -> "other registers" lane - 1 */
    dmt_store_map irq;     /* dev -> lane - 1 */
    dmt_store_map xfer;    /* adapter -> lane - 1 */
    int64_t lost, markers; /* lane - 1, or -1 */
    /* the shared lanes of a trace with more than DMT_STORE_MAX_LANES lanes
     * (dev / adapter NULL): lane - 1, or UINT32_MAX */
    uint32_t over_reg, over_irq, over_xfer;
} lane_index;

struct dmt_store {
    sqlite3 *db;
    int min_level;         /* finest stored summary level */
    int64_t max_span;      /* meta max_transfer_ns */
    struct od_cache *od;   /* on-demand summary levels (store.c, below) */
    struct lane_index *li; /* lanes by (dev, off), adapter, ... */
};

static void store_free_caches(dmt_store *st);

static int64_t meta_int(dmt_store *st, const char *key, int64_t dflt)
{
    sqlite3_stmt *q;
    int64_t v = dflt;
    if (sqlite3_prepare_v2(st->db, "SELECT value FROM meta WHERE key = ?", -1, &q, NULL) != 0)
        return dflt;
    sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
    if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_type(q, 0) != SQLITE_NULL)
        v = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return v;
}

/* Check the 100-byte SQLite header before SQLite sees the file. */
static int check_header(const char *path, dmt_error *err)
{
    uint8_t h[100];
    long n = dmt_read_head(path, h, sizeof h, err);
    if (n < 0)
        return (int)n;
    if (n < 16 || memcmp(h, "SQLite format 3", 16) != 0)
        return dmt_error_set(err, DMT_E_FOREIGN, 0, DMT_NO_INDEX,
                             "not a SQLite database (expected a dmatrace store)");
    if (n < 100)
        return dmt_error_set(err, DMT_E_FORMAT, (uint64_t)n, DMT_NO_INDEX,
                             "SQLite header cut short (%ld of 100 bytes)", n);
    uint32_t app = (uint32_t)h[68] << 24 | (uint32_t)h[69] << 16 | (uint32_t)h[70] << 8 | h[71];
    uint32_t ver = (uint32_t)h[60] << 24 | (uint32_t)h[61] << 16 | (uint32_t)h[62] << 8 | h[63];
    if (app != DMT_STORE_APPLICATION_ID)
        return dmt_error_set(err, DMT_E_FOREIGN, 68, DMT_NO_INDEX,
                             "a SQLite database, but not a dmatrace store (application_id "
                             "0x%08x, expected 0x%08x \"DMTB\")",
                             app, DMT_STORE_APPLICATION_ID);
    if (ver != DMT_STORE_SCHEMA_VERSION)
        return dmt_error_set(err, DMT_E_VERSION, 60, DMT_NO_INDEX,
                             "store schema version %u; this build reads version %d (re-import "
                             "the trace)",
                             ver, DMT_STORE_SCHEMA_VERSION);
    return 0;
}

/* Every table and column the code reads must be there. */
static int check_schema(dmt_store *st, dmt_error *err)
{
    static const char *const probes[] = {
        "SELECT key, value FROM meta",
        "SELECT seq, ts, dev, off, value, width, is_write FROM reg_accesses",
        "SELECT seq, ts, dev, off, width, is_write, count, vals FROM reg_buffers",
        "SELECT seq, ts, kind, xfer, adapter, mdl, offset, length, write_to_device, context, "
        "status, algo, value, n_sg, flags FROM dma_calls",
        "SELECT id, exec_seq, xfer, idx, addr, length FROM sg_elements",
        "SELECT seq, ts, kind, id, adapter, dev, addr, length, va, op, flags, map_registers, "
        "addr_limit, max_length FROM resources",
        "SELECT seq, ts, cb, offset, data FROM desc_writes",
        "SELECT seq, ts, mdl, offset, data FROM payloads",
        "SELECT seq, ts, mdl, algo, seed, offset, length FROM patterns",
        "SELECT seq, ts, dev, claimed, value FROM interrupts",
        "SELECT seq, ts, dev, xfer FROM dpcs",
        "SELECT seq, ts, text FROM markers",
        "SELECT first_seq, ts, count, reason FROM lost",
        "SELECT lane, kind, dev, adapter, off, name FROM lanes",
        "SELECT level, lane, bucket, count, bytes, vmin, vmax, vlast, t_first, t_last FROM summary",
        "SELECT first_seq, last_seq, ts_min, ts_max, records FROM time_index",
        "SELECT id, rule, severity, seq, ts, xfer, adapter, message, uncertain, records FROM "
        "findings",
        NULL};
    char sql[1024];
    for (int i = 0; i <= (int)(sizeof probes / sizeof probes[0]) - 1; i++) {
        if (probes[i])
            snprintf(sql, sizeof sql, "%s LIMIT 1", probes[i]);
        else
            snprintf(sql, sizeof sql, "SELECT %s FROM transfers LIMIT 1", dmt_store_xfer_columns);
        sqlite3_stmt *q;
        int rc = sqlite3_prepare_v2(st->db, sql, -1, &q, NULL);
        if (rc == SQLITE_OK) {
            rc = sqlite3_step(q);
            sqlite3_finalize(q);
            if (rc == SQLITE_ROW || rc == SQLITE_DONE)
                continue;
            return dmt_store_sql_error(err, st->db, rc, "reading the store");
        }
        if ((rc & 0xFF) == SQLITE_ERROR)
            return dmt_error_set(err, DMT_E_FORMAT, DMT_NO_INDEX, DMT_NO_INDEX,
                                 "not a complete dmatrace store: %s", sqlite3_errmsg(st->db));
        return dmt_store_sql_error(err, st->db, rc, "reading the schema");
    }
    return 0;
}

int dmt_store_open(const char *path, unsigned flags, dmt_store **out, dmt_error *err)
{
    *out = NULL;
    int rc = check_header(path, err);
    if (rc)
        return rc;
    dmt_store *st = calloc(1, sizeof *st);
    if (st) {
        st->od = calloc(1, sizeof *st->od);
        st->li = calloc(1, sizeof *st->li);
    }
    if (!st || !st->od || !st->li) {
        if (st) {
            free(st->od);
            free(st->li);
        }
        free(st);
        return dmt_error_set(err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX, "out of memory");
    }
    int of = (flags & DMT_STORE_RDWR) ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY;
    rc = sqlite3_open_v2(path, &st->db, of | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        rc = dmt_store_sql_error(err, st->db, rc, "cannot open");
        dmt_store_close(st);
        return rc;
    }
    sqlite3_extended_result_codes(st->db, 1);
    sqlite3_busy_timeout(st->db, 2000);
    /* The header check above raced nothing SQLite will not re-check: verify
     * through SQLite too (a damaged page 1 shows here). */
    sqlite3_stmt *q;
    rc = sqlite3_prepare_v2(st->db, "PRAGMA application_id", -1, &q, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(q);
        if (rc == SQLITE_ROW && sqlite3_column_int64(q, 0) != DMT_STORE_APPLICATION_ID)
            rc = -1;
        else if (rc == SQLITE_ROW)
            rc = 0;
        sqlite3_finalize(q);
    }
    if (rc == -1)
        rc = dmt_error_set(err, DMT_E_FOREIGN, 68, DMT_NO_INDEX, "not a dmatrace store");
    else if (rc)
        rc = dmt_store_sql_error(err, st->db, rc, "reading the store");
    if (!rc)
        rc = check_schema(st, err);
    if (rc) {
        dmt_store_close(st);
        return rc;
    }
    st->min_level = (int)meta_int(st, "summary_min_level", DMT_STORE_MIN_STORED_LEVEL);
    if (st->min_level < 0 || st->min_level > DMT_STORE_LEVELS)
        st->min_level = DMT_STORE_LEVELS;
    st->max_span = meta_int(st, "max_transfer_ns", 0);
    if (st->max_span < 0)
        st->max_span = 0;
    *out = st;
    return 0;
}

void dmt_store_close(dmt_store *st)
{
    if (!st)
        return;
    store_free_caches(st);
    free(st->od);
    free(st->li);
    sqlite3_close_v2(st->db);
    free(st);
}

struct sqlite3 *dmt_store_sqlite(dmt_store *st)
{
    return st->db;
}

/* ---- header, cut ------------------------------------------------------------ */

static void copy_text(char *dst, size_t cap, const unsigned char *s)
{
    snprintf(dst, cap, "%s", s ? (const char *)s : "");
}

int dmt_store_header(dmt_store *st, dmt_header *hdr, dmt_error *err)
{
    memset(hdr, 0, sizeof *hdr);
    sqlite3_stmt *q;
    int rc = dmt_store_prepare(st->db, "SELECT key, value FROM meta", false, &q, err);
    if (rc)
        return rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        const char *k = (const char *)sqlite3_column_text(q, 0);
        int64_t v = sqlite3_column_int64(q, 1);
        const unsigned char *t = sqlite3_column_text(q, 1);
        if (!k)
            continue;
        if (!strcmp(k, "version"))
            hdr->version = (uint32_t)v;
        else if (!strcmp(k, "t0"))
            hdr->t0 = v;
        else if (!strcmp(k, "page_shift"))
            hdr->page_shift = (uint32_t)v;
        else if (!strcmp(k, "seq0"))
            hdr->seq0 = (uint64_t)v;
        else if (!strcmp(k, "producer"))
            copy_text(hdr->producer, sizeof hdr->producer, t);
        else if (!strcmp(k, "clock"))
            copy_text(hdr->clock, sizeof hdr->clock, t);
        else if (!strcmp(k, "host"))
            copy_text(hdr->host, sizeof hdr->host, t);
        else if (!strcmp(k, "scenario"))
            copy_text(hdr->scenario, sizeof hdr->scenario, t);
        else if (!strcmp(k, "seed"))
            hdr->seed = (uint64_t)v;
        else if (!strcmp(k, "ring_size"))
            hdr->ring_size = (uint64_t)v;
        else if (!strcmp(k, "ring_policy"))
            hdr->ring_policy = (uint32_t)v;
        else if (!strcmp(k, "os"))
            copy_text(hdr->os, sizeof hdr->os, t);
        else if (!strcmp(k, "boot_options"))
            copy_text(hdr->boot_options, sizeof hdr->boot_options, t);
        else if (!strcmp(k, "os_build"))
            hdr->os_build = (uint32_t)v;
        else if (!strcmp(k, "cpus"))
            hdr->cpus = (uint32_t)v;
        else if (!strcmp(k, "page_size"))
            hdr->page_size = (uint32_t)v;
        else if (!strcmp(k, "clock_hz"))
            hdr->clock_hz = (uint64_t)v;
        else if (!strcmp(k, "phys_mem"))
            hdr->phys_mem = (uint64_t)v;
        else if (!strcmp(k, "placement")) {
            copy_text(hdr->placement, sizeof hdr->placement, t);
            hdr->has_layout = true;
        } else if (!strcmp(k, "contig_permille"))
            hdr->contig_permille = (uint32_t)v;
        else if (!strcmp(k, "map_register_cap"))
            hdr->map_register_cap = (uint32_t)v;
        else if (!strcmp(k, "ram_low_top"))
            hdr->ram_low_top = (uint64_t)v;
        else if (!strcmp(k, "ram_high_top"))
            hdr->ram_high_top = (uint64_t)v;
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE)
        return dmt_store_sql_error(err, st->db, rc, "meta");
    return 0;
}

int dmt_store_cut(dmt_store *st, bool *cut, uint64_t *offset, char *why, size_t why_cap,
                  dmt_error *err)
{
    *cut = meta_int(st, "cut", 0) != 0;
    *offset = (uint64_t)meta_int(st, "cut_offset", 0);
    if (why && why_cap) {
        why[0] = 0;
        sqlite3_stmt *q;
        int rc = dmt_store_prepare(st->db, "SELECT value FROM meta WHERE key = 'cut_reason'", false,
                                   &q, err);
        if (rc)
            return rc;
        if (sqlite3_step(q) == SQLITE_ROW)
            copy_text(why, why_cap, sqlite3_column_text(q, 0));
        sqlite3_finalize(q);
    }
    return 0;
}

/* ---- statistics ----------------------------------------------------------------
 * Field by field what dmt_stats_add computes over the trace, from the tables:
 * per-kind counts, min/max time and sequence, lost ranges, SG elements and
 * granted bytes of EXECUTE_DMA, and the first 64 adapters by first
 * appearance (ADAPTER_CREATE or EXECUTE_DMA) with their last ADAPTER_CREATE's
 * description. */

typedef struct ad_acc {
    uint32_t id;
    uint64_t first; /* first appearance (seq) */
    bool created;
    uint64_t exec_n, exec_bytes;
    dmt_stats_adapter desc;
} ad_acc;

typedef struct stats_ctx {
    dmt_stats *s;
    ad_acc *ads;
    size_t n, cap;
    dmt_store_map map;
} stats_ctx;

static void see(dmt_stats *s, uint32_t kind, uint64_t n, int64_t tmin, int64_t tmax, uint64_t smin,
                uint64_t smax)
{
    if (!n)
        return;
    s->records += n;
    s->by_kind[kind] += n;
    if (tmin < s->first_ts)
        s->first_ts = tmin;
    if (tmax > s->last_ts)
        s->last_ts = tmax;
    if (smin < s->first_seq)
        s->first_seq = smin;
    if (smax > s->last_seq)
        s->last_seq = smax;
}

/* Aggregate rows of (group, count, min ts, max ts, min seq, max seq). */
static int agg(dmt_store *st, dmt_stats *s, const char *sql, const uint32_t *kind_of_group,
               int ngroups, dmt_error *err)
{
    sqlite3_stmt *q;
    int rc = dmt_store_prepare(st->db, sql, false, &q, err);
    if (rc)
        return rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        int64_t g = sqlite3_column_int64(q, 0);
        uint32_t kind =
            kind_of_group ? (g >= 0 && g < ngroups ? kind_of_group[g] : 0) : (uint32_t)g;
        if (kind == 0 || kind >= DMT_K_MAX_)
            continue;
        see(s, kind, (uint64_t)sqlite3_column_int64(q, 1), sqlite3_column_int64(q, 2),
            sqlite3_column_int64(q, 3), (uint64_t)sqlite3_column_int64(q, 4),
            (uint64_t)sqlite3_column_int64(q, 5));
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE)
        return dmt_store_sql_error(err, st->db, rc, "statistics");
    return 0;
}

static ad_acc *ad_get(stats_ctx *c, uint32_t id, uint64_t seq)
{
    uint32_t v = dmt_store_map_get(&c->map, id, 0);
    if (v == UINT32_MAX) {
        if (c->n == c->cap) {
            size_t nc = c->cap ? c->cap * 2 : 16;
            ad_acc *a = realloc(c->ads, nc * sizeof *a);
            if (!a)
                return NULL;
            c->ads = a;
            c->cap = nc;
        }
        v = (uint32_t)c->n++;
        memset(&c->ads[v], 0, sizeof c->ads[v]);
        c->ads[v].id = id;
        c->ads[v].first = seq;
        if (dmt_store_map_put(&c->map, id, 0, v))
            return NULL;
    }
    ad_acc *a = &c->ads[v];
    if (seq < a->first)
        a->first = seq;
    return a;
}

static int cmp_first(const void *x, const void *y)
{
    const ad_acc *a = x, *b = y;
    return a->first < b->first ? -1 : a->first > b->first;
}

static int stats_body(dmt_store *st, stats_ctx *c, dmt_error *err)
{
    dmt_stats *s = c->s;
    int rc;
    static const uint32_t reg_kinds[2] = {DMT_K_REG_READ, DMT_K_REG_WRITE};
    static const uint32_t regbuf_kinds[2] = {DMT_K_REG_READ_BUF, DMT_K_REG_WRITE_BUF};
    if ((rc = agg(st, s,
                  "SELECT is_write != 0, count(*), min(ts), max(ts), min(seq), max(seq) "
                  "FROM reg_accesses GROUP BY 1",
                  reg_kinds, 2, err)) ||
        (rc = agg(st, s,
                  "SELECT is_write != 0, count(*), min(ts), max(ts), min(seq), max(seq) "
                  "FROM reg_buffers GROUP BY 1",
                  regbuf_kinds, 2, err)) ||
        (rc = agg(st, s,
                  "SELECT kind, count(*), min(ts), max(ts), min(seq), max(seq) "
                  "FROM resources GROUP BY kind",
                  NULL, 0, err)))
        return rc;
    static const struct {
        const char *table;
        uint32_t kind;
    } simple[] = {
        {"desc_writes", DMT_K_DESC_WRITE}, {"payloads", DMT_K_PAYLOAD}, {"patterns", DMT_K_PATTERN},
        {"interrupts", DMT_K_INTERRUPT},   {"dpcs", DMT_K_DPC},         {"markers", DMT_K_MARKER}};
    for (size_t i = 0; i < sizeof simple / sizeof simple[0]; i++) {
        char sql[160];
        snprintf(sql, sizeof sql,
                 "SELECT %u, count(*), min(ts), max(ts), min(seq), max(seq) FROM %s "
                 "HAVING count(*) > 0",
                 simple[i].kind, simple[i].table);
        if ((rc = agg(st, s, sql, NULL, 0, err)))
            return rc;
    }

    /* lost ranges */
    sqlite3_stmt *q;
    if ((rc = dmt_store_prepare(st->db, "SELECT first_seq, ts, count, reason FROM lost", false, &q,
                                err)))
        return rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        uint64_t first = (uint64_t)sqlite3_column_int64(q, 0);
        int64_t ts = sqlite3_column_int64(q, 1);
        uint64_t count = (uint64_t)sqlite3_column_int64(q, 2);
        int64_t reason = sqlite3_column_int64(q, 3);
        see(s, DMT_K_LOST, 1, ts, ts, first, first + count - 1);
        s->lost_records += count;
        s->lost_ranges++;
        if (reason >= 0 && reason < DMT_LOST_N_)
            s->lost_by_reason[reason] += count;
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE)
        return dmt_store_sql_error(err, st->db, rc, "lost");

    /* adapters created */
    if ((rc = dmt_store_prepare(st->db,
                                "SELECT seq, id, dev, flags, max_length, map_registers, addr_limit "
                                "FROM resources WHERE kind = 9 ORDER BY seq",
                                false, &q, err)))
        return rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        ad_acc *a =
            ad_get(c, (uint32_t)sqlite3_column_int64(q, 1), (uint64_t)sqlite3_column_int64(q, 0));
        if (!a) {
            sqlite3_finalize(q);
            return dmt_error_set(err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX, "out of memory");
        }
        int64_t fl = sqlite3_column_int64(q, 3);
        a->created = true;
        a->desc.dev = (uint32_t)sqlite3_column_int64(q, 2);
        a->desc.sg = fl & 1;
        a->desc.dma32 = (fl & 2) != 0;
        a->desc.dma64 = (fl & 4) != 0;
        a->desc.max_length = (uint64_t)sqlite3_column_int64(q, 4);
        a->desc.map_registers = (uint32_t)sqlite3_column_int64(q, 5);
        a->desc.addr_limit = (uint64_t)sqlite3_column_int64(q, 6);
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE)
        return dmt_store_sql_error(err, st->db, rc, "resources");

    /* DMA calls: counts, and EXECUTE_DMA's elements and bytes (unsigned sums
     * with the same wrap-around as dmt_stats) */
    if ((rc = dmt_store_prepare(
             st->db, "SELECT kind, ts, seq, adapter, length, n_sg FROM dma_calls", false, &q, err)))
        return rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        int64_t kind = sqlite3_column_int64(q, 0);
        int64_t ts = sqlite3_column_int64(q, 1);
        uint64_t seq = (uint64_t)sqlite3_column_int64(q, 2);
        if (kind <= 0 || kind >= DMT_K_MAX_)
            continue;
        see(s, (uint32_t)kind, 1, ts, ts, seq, seq);
        if (kind == DMT_K_EXECUTE_DMA) {
            uint64_t len = (uint64_t)sqlite3_column_int64(q, 4);
            s->sg_elements += (uint64_t)sqlite3_column_int64(q, 5);
            s->dma_bytes += len;
            ad_acc *a = ad_get(c, (uint32_t)sqlite3_column_int64(q, 3), seq);
            if (!a) {
                sqlite3_finalize(q);
                return dmt_error_set(err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX, "out of memory");
            }
            a->exec_n++;
            a->exec_bytes += len;
        }
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE)
        return dmt_store_sql_error(err, st->db, rc, "dma_calls");

    if (c->n)
        qsort(c->ads, c->n, sizeof *c->ads, cmp_first);
    for (size_t i = 0; i < c->n && s->n_adapters < DMT_STATS_MAX_ADAPTERS; i++) {
        dmt_stats_adapter *o = &s->adapters[s->n_adapters++];
        *o = c->ads[i].desc;
        o->id = c->ads[i].id;
        o->transfers = c->ads[i].exec_n;
        o->bytes = c->ads[i].exec_bytes;
    }
    return 0;
}

int dmt_store_stats(dmt_store *st, dmt_stats *stats, dmt_error *err)
{
    dmt_stats_init(stats);
    stats_ctx c;
    memset(&c, 0, sizeof c);
    c.s = stats;
    /* one read transaction, unless the caller has one open already */
    bool own = sqlite3_get_autocommit(st->db) != 0;
    int rc = own ? dmt_store_exec(st->db, "BEGIN", err) : 0;
    if (!rc) {
        rc = stats_body(st, &c, err);
        if (own)
            sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL);
    }
    free(c.ads);
    dmt_store_map_free(&c.map);
    return rc;
}

int dmt_store_info(const char *path, dmt_header *hdr, dmt_stats *stats, dmt_error *err)
{
    dmt_store *st;
    int rc = dmt_store_open(path, DMT_STORE_RDONLY, &st, err);
    if (rc)
        return rc;
    if (hdr)
        rc = dmt_store_header(st, hdr, err);
    if (!rc)
        rc = dmt_store_stats(st, stats, err);
    dmt_store_close(st);
    return rc;
}

/* ---- viewer helpers ---------------------------------------------------------- */

int dmt_store_time_range(dmt_store *st, int64_t *t0, int64_t *t1, dmt_error *err)
{
    sqlite3_stmt *q;
    *t0 = 0;
    *t1 = -1;
    int rc = dmt_store_prepare(st->db, "SELECT min(ts_min), max(ts_max) FROM time_index", false, &q,
                               err);
    if (rc)
        return rc;
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        if (sqlite3_column_type(q, 0) != SQLITE_NULL) {
            *t0 = sqlite3_column_int64(q, 0);
            *t1 = sqlite3_column_int64(q, 1);
        }
        rc = 0;
    } else {
        rc = dmt_store_sql_error(err, st->db, rc, "time_index");
    }
    sqlite3_finalize(q);
    return rc;
}

static void read_lane(sqlite3_stmt *q, dmt_store_lane *l)
{
    memset(l, 0, sizeof *l);
    l->lane = sqlite3_column_int64(q, 0);
    l->kind = dmt_store_lane_kind_of((const char *)sqlite3_column_text(q, 1));
    l->dev = sqlite3_column_type(q, 2) == SQLITE_NULL ? -1 : sqlite3_column_int64(q, 2);
    l->adapter = sqlite3_column_type(q, 3) == SQLITE_NULL ? -1 : sqlite3_column_int64(q, 3);
    l->off = sqlite3_column_type(q, 4) == SQLITE_NULL ? -1 : sqlite3_column_int64(q, 4);
    copy_text(l->name, sizeof l->name, sqlite3_column_text(q, 5));
}

int dmt_store_lanes(dmt_store *st, dmt_store_lane *lanes, size_t cap, dmt_error *err)
{
    sqlite3_stmt *q;
    int rc = dmt_store_prepare(
        st->db, "SELECT lane, kind, dev, adapter, off, name FROM lanes ORDER BY lane", false, &q,
        err);
    if (rc)
        return rc;
    int n = 0;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if ((size_t)n < cap)
            read_lane(q, &lanes[n]);
        n++;
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE)
        return dmt_store_sql_error(err, st->db, rc, "lanes");
    return n;
}

static int get_lane(dmt_store *st, int64_t lane, dmt_store_lane *l, dmt_error *err)
{
    sqlite3_stmt *q;
    int rc = dmt_store_prepare(
        st->db, "SELECT lane, kind, dev, adapter, off, name FROM lanes WHERE lane = ?", false, &q,
        err);
    if (rc)
        return rc;
    sqlite3_bind_int64(q, 1, lane);
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        read_lane(q, l);
        rc = 0;
    } else if (rc == SQLITE_DONE) {
        rc = dmt_error_set(err, DMT_E_USAGE, DMT_NO_INDEX, DMT_NO_INDEX, "no lane %lld",
                           (long long)lane);
    } else {
        rc = dmt_store_sql_error(err, st->db, rc, "lanes");
    }
    sqlite3_finalize(q);
    return rc;
}

int dmt_store_level_for(int64_t t0, int64_t t1, unsigned max_buckets)
{
    if (t1 < t0)
        t1 = t0;
    for (int L = 0; L < DMT_STORE_LEVELS; L++) {
        uint64_t nb = (uint64_t)(dmt_store_bucket_of(t1, L) - dmt_store_bucket_of(t0, L)) + 1;
        if (nb <= max_buckets)
            return L;
    }
    return DMT_STORE_LEVELS - 1;
}

/* First time of bucket b at level L and the last, saturating. */
static int64_t bucket_start(int64_t b, int L)
{
    unsigned s = DMT_STORE_LEVEL_SHIFT(L);
    if (b > (INT64_MAX >> s))
        return INT64_MAX;
    if (b < (INT64_MIN >> s))
        return INT64_MIN;
    return (int64_t)((uint64_t)b << s);
}

static int64_t bucket_end(int64_t b, int L)
{
    int64_t s = bucket_start(b, L);
    int64_t w = (int64_t)1 << DMT_STORE_LEVEL_SHIFT(L);
    return s > INT64_MAX - (w - 1) ? INT64_MAX : s + (w - 1);
}

static int64_t sat_sub(int64_t a, int64_t b)
{
    int64_t r;
    return __builtin_sub_overflow(a, b, &r) ? INT64_MIN : r;
}

/* ---- summary levels computed on demand ----------------------------------------
 * Levels below min_level are computed from the event tables.  One pass over
 * the window's records fills the buckets of every lane at once (the viewer
 * asks lane after lane for the same window), and the result is kept until a
 * request falls outside it:
 *
 *   time_index -> seq range [s0, s1] -> reg_accesses + reg_buffers (merged
 *   by seq), interrupts, lost, markers -> lane by (dev, off) -> bucket sets
 *   transfers by t_begin (window widened by max_transfer_ns) -> adapter lane
 */

static void od_free(od_cache *c)
{
    for (size_t i = 0; i < c->nsets; i++)
        free(c->sets[i].b);
    free(c->sets);
    memset(c, 0, sizeof *c);
}

static void li_free(lane_index *x)
{
    free(x->lanes);
    dmt_store_map_free(&x->reg);
    dmt_store_map_free(&x->other);
    dmt_store_map_free(&x->irq);
    dmt_store_map_free(&x->xfer);
    memset(x, 0, sizeof *x);
}

static void store_free_caches(dmt_store *st)
{
    od_free(st->od);
    li_free(st->li);
}

static int li_load(dmt_store *st, dmt_error *err)
{
    lane_index *x = st->li;
    if (x->loaded)
        return 0;
    int n = dmt_store_lanes(st, NULL, 0, err);
    if (n < 0)
        return n;
    x->lanes = calloc((size_t)n + 1, sizeof *x->lanes);
    if (!x->lanes)
        return dmt_error_set(err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX, "out of memory");
    int m = dmt_store_lanes(st, x->lanes, (size_t)n, err);
    if (m < 0)
        return m;
    x->n = (size_t)(m < n ? m : n);
    x->lost = x->markers = -1;
    x->over_reg = x->over_irq = x->over_xfer = UINT32_MAX;
    for (size_t i = 0; i < x->n; i++) {
        const dmt_store_lane *l = &x->lanes[i];
        if (l->lane != (int64_t)i + 1)
            return dmt_error_set(err, DMT_E_FORMAT, DMT_NO_INDEX, DMT_NO_INDEX,
                                 "lanes are not numbered 1..%zu", x->n);
        int rc = 0;
        switch (l->kind) {
        case DMT_LANE_REGISTER:
            if (l->dev < 0)
                x->over_reg = (uint32_t)i;
            else if (l->off >= 0)
                rc = dmt_store_map_put(&x->reg, (uint64_t)l->dev, (uint64_t)l->off, (uint32_t)i);
            else
                rc = dmt_store_map_put(&x->other, (uint64_t)l->dev, 0, (uint32_t)i);
            break;
        case DMT_LANE_INTERRUPTS:
            if (l->dev < 0)
                x->over_irq = (uint32_t)i;
            else
                rc = dmt_store_map_put(&x->irq, (uint64_t)l->dev, 0, (uint32_t)i);
            break;
        case DMT_LANE_TRANSFERS:
            if (l->adapter < 0)
                x->over_xfer = (uint32_t)i;
            else
                rc = dmt_store_map_put(&x->xfer, (uint64_t)l->adapter, 0, (uint32_t)i);
            break;
        case DMT_LANE_LOST:
            x->lost = (int64_t)i;
            break;
        case DMT_LANE_MARKERS:
            x->markers = (int64_t)i;
            break;
        default:
            break;
        }
        if (rc)
            return dmt_error_set(err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX, "out of memory");
    }
    x->loaded = true;
    return 0;
}

/* The bucket of set s (lane, level) that ts falls into, created empty. */
static dmt_store_bucket *bset_at(bset *s, int64_t lane, int level, int64_t ts)
{
    int64_t k = dmt_store_bucket_of(ts, level);
    size_t lo = 0, hi = s->n;
    if (s->n && s->b[s->n - 1].bucket == k)
        return &s->b[s->n - 1];
    if (s->n && s->b[s->n - 1].bucket < k) {
        lo = s->n;
    } else {
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (s->b[mid].bucket < k)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo < s->n && s->b[lo].bucket == k)
            return &s->b[lo];
    }
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 64;
        dmt_store_bucket *nb = realloc(s->b, nc * sizeof *nb);
        if (!nb)
            return NULL;
        s->b = nb;
        s->cap = nc;
    }
    memmove(&s->b[lo + 1], &s->b[lo], (s->n - lo) * sizeof *s->b);
    s->n++;
    dmt_store_bucket_init(&s->b[lo], lane, level, k);
    return &s->b[lo];
}

/* Seq hull of the time_index blocks that meet [a, b]; *any false if none. */
static int seq_hull(dmt_store *st, int64_t a, int64_t b, int64_t *s0, int64_t *s1, bool *any,
                    dmt_error *err)
{
    sqlite3_stmt *q;
    int rc = dmt_store_prepare(st->db,
                               "SELECT min(first_seq), max(last_seq) FROM time_index "
                               "WHERE ts_max >= ? AND ts_min <= ?",
                               false, &q, err);
    if (rc)
        return rc;
    sqlite3_bind_int64(q, 1, a);
    sqlite3_bind_int64(q, 2, b);
    rc = sqlite3_step(q);
    *any = false;
    if (rc == SQLITE_ROW) {
        if (sqlite3_column_type(q, 0) != SQLITE_NULL) {
            *any = true;
            *s0 = sqlite3_column_int64(q, 0);
            *s1 = sqlite3_column_int64(q, 1);
        }
        rc = 0;
    } else {
        rc = dmt_store_sql_error(err, st->db, rc, "time_index");
    }
    sqlite3_finalize(q);
    return rc;
}

#define OD_NOMEM(err) dmt_error_set(err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX, "out of memory")

/* The lane the importer gave an event (see lane_get in store_import.c):
 * its own, else its device's "other" lane, else the shared one. */
static uint32_t reg_lane_of(const lane_index *x, uint64_t dev, uint64_t off)
{
    uint32_t v = dmt_store_map_get(&x->reg, dev, off);
    if (v == UINT32_MAX)
        v = dmt_store_map_get(&x->other, dev, 0);
    return v != UINT32_MAX ? v : x->over_reg;
}

static uint32_t by_id(const dmt_store_map *m, uint32_t over, uint64_t id)
{
    uint32_t v = dmt_store_map_get(m, id, 0);
    return v != UINT32_MAX ? v : over;
}

/* Registers: reg_accesses and reg_buffers merged by seq, so every lane sees
 * its accesses in stream order (vlast ties). */
static int od_registers(dmt_store *st, od_cache *c, int64_t s0, int64_t s1, dmt_error *err)
{
    const lane_index *x = st->li;
    sqlite3_stmt *q[2] = {NULL, NULL};
    int rc = dmt_store_prepare(st->db,
                               "SELECT seq, ts, dev, off, value, is_write FROM reg_accesses "
                               "WHERE seq BETWEEN ?1 AND ?2 AND ts BETWEEN ?3 AND ?4 ORDER BY seq",
                               false, &q[0], err);
    if (!rc)
        rc = dmt_store_prepare(st->db,
                               "SELECT seq, ts, dev, off, width, is_write, vals FROM reg_buffers "
                               "WHERE seq BETWEEN ?1 AND ?2 AND ts BETWEEN ?3 AND ?4 ORDER BY seq",
                               false, &q[1], err);
    int sa[2] = {SQLITE_DONE, SQLITE_DONE};
    for (int i = 0; i < 2 && !rc; i++) {
        sqlite3_bind_int64(q[i], 1, s0);
        sqlite3_bind_int64(q[i], 2, s1);
        sqlite3_bind_int64(q[i], 3, c->T0);
        sqlite3_bind_int64(q[i], 4, c->T1);
        sa[i] = sqlite3_step(q[i]);
    }
    while (!rc && (sa[0] == SQLITE_ROW || sa[1] == SQLITE_ROW)) {
        int w = sa[0] != SQLITE_ROW                                             ? 1
                : sa[1] != SQLITE_ROW                                           ? 0
                : sqlite3_column_int64(q[0], 0) < sqlite3_column_int64(q[1], 0) ? 0
                                                                                : 1;
        sqlite3_stmt *r = q[w];
        int64_t ts = sqlite3_column_int64(r, 1);
        uint64_t dev = (uint64_t)sqlite3_column_int64(r, 2);
        uint64_t off = (uint64_t)sqlite3_column_int64(r, 3);
        if (w == 0) {
            uint32_t li = reg_lane_of(x, dev, off);
            if (li != UINT32_MAX && li < c->nsets) {
                dmt_store_bucket *b = bset_at(&c->sets[li], (int64_t)li + 1, c->level, ts);
                if (!b)
                    rc = OD_NOMEM(err);
                else
                    dmt_store_bucket_add_value(b, ts, (uint64_t)sqlite3_column_int64(r, 4),
                                               sqlite3_column_int64(r, 5) != 0);
            }
        } else {
            uint64_t width = (uint64_t)sqlite3_column_int64(r, 4);
            bool wr = sqlite3_column_int64(r, 5) != 0;
            const uint8_t *v = sqlite3_column_blob(r, 6);
            int nb = sqlite3_column_bytes(r, 6);
            for (int i = 0; !rc && (i + 1) * 8 <= nb; i++) {
                uint32_t li = reg_lane_of(x, dev, off + (uint64_t)i * width);
                if (li == UINT32_MAX || li >= c->nsets)
                    continue;
                uint64_t val = 0;
                for (int k = 0; k < 8; k++)
                    val |= (uint64_t)v[i * 8 + k] << (8 * k);
                dmt_store_bucket *b = bset_at(&c->sets[li], (int64_t)li + 1, c->level, ts);
                if (!b)
                    rc = OD_NOMEM(err);
                else
                    dmt_store_bucket_add_value(b, ts, val, wr);
            }
        }
        sa[w] = sqlite3_step(r);
    }
    for (int i = 0; i < 2 && !rc; i++)
        if (sa[i] != SQLITE_DONE)
            rc = dmt_store_sql_error(err, st->db, sa[i], "registers");
    sqlite3_finalize(q[0]);
    sqlite3_finalize(q[1]);
    return rc;
}

/* Interrupts, lost ranges, markers. */
static int od_simple(dmt_store *st, od_cache *c, int which, int64_t s0, int64_t s1, dmt_error *err)
{
    static const char *const sql[3] = {
        "SELECT ts, dev, value, claimed FROM interrupts WHERE seq BETWEEN ?1 AND ?2 "
        "AND ts BETWEEN ?3 AND ?4 ORDER BY seq",
        "SELECT ts, 0, reason, count FROM lost WHERE first_seq BETWEEN ?1 AND ?2 "
        "AND ts BETWEEN ?3 AND ?4 ORDER BY first_seq",
        "SELECT ts, 0, 0, 0 FROM markers WHERE seq BETWEEN ?1 AND ?2 "
        "AND ts BETWEEN ?3 AND ?4 ORDER BY seq"};
    const lane_index *x = st->li;
    if ((which == 1 && x->lost < 0) || (which == 2 && x->markers < 0))
        return 0;
    sqlite3_stmt *q;
    int rc = dmt_store_prepare(st->db, sql[which], false, &q, err);
    if (rc)
        return rc;
    sqlite3_bind_int64(q, 1, s0);
    sqlite3_bind_int64(q, 2, s1);
    sqlite3_bind_int64(q, 3, c->T0);
    sqlite3_bind_int64(q, 4, c->T1);
    int s;
    while (!rc && (s = sqlite3_step(q)) == SQLITE_ROW) {
        int64_t ts = sqlite3_column_int64(q, 0);
        uint32_t li = which == 0 ? by_id(&x->irq, x->over_irq, (uint64_t)sqlite3_column_int64(q, 1))
                      : which == 1 ? (uint32_t)x->lost
                                   : (uint32_t)x->markers;
        if (li == UINT32_MAX || li >= c->nsets)
            continue;
        dmt_store_bucket *b = bset_at(&c->sets[li], (int64_t)li + 1, c->level, ts);
        if (!b)
            rc = OD_NOMEM(err);
        else if (which == 2)
            dmt_store_bucket_add_marker(b, ts);
        else
            dmt_store_bucket_add_value(b, ts, (uint64_t)sqlite3_column_int64(q, 2),
                                       (uint64_t)sqlite3_column_int64(q, 3));
    }
    if (!rc && s != SQLITE_DONE)
        rc = dmt_store_sql_error(err, st->db, s, "summary");
    sqlite3_finalize(q);
    return rc;
}

static int od_transfers(dmt_store *st, od_cache *c, dmt_error *err)
{
    const lane_index *x = st->li;
    sqlite3_stmt *q;
    int rc = dmt_store_prepare(st->db,
                               "SELECT adapter, t_begin, t_end, granted, duration_ns, outcome "
                               "FROM transfers WHERE t_begin BETWEEN ? AND ? AND adapter IS NOT "
                               "NULL ORDER BY t_begin",
                               false, &q, err);
    if (rc)
        return rc;
    sqlite3_bind_int64(q, 1, c->X0);
    sqlite3_bind_int64(q, 2, c->X1);
    int s;
    while (!rc && (s = sqlite3_step(q)) == SQLITE_ROW) {
        uint32_t li = by_id(&x->xfer, x->over_xfer, (uint64_t)sqlite3_column_int64(q, 0));
        if (li == UINT32_MAX || li >= c->nsets)
            continue;
        int64_t tb = sqlite3_column_int64(q, 1);
        dmt_store_bucket *b = bset_at(&c->sets[li], (int64_t)li + 1, c->level, tb);
        if (!b) {
            rc = OD_NOMEM(err);
            break;
        }
        const unsigned char *o = sqlite3_column_text(q, 5);
        dmt_store_bucket_add_transfer(
            b, tb, sqlite3_column_int64(q, 2), (uint64_t)sqlite3_column_int64(q, 3),
            sqlite3_column_type(q, 4) != SQLITE_NULL, sqlite3_column_int64(q, 4),
            !o || strcmp((const char *)o, "completed") != 0);
    }
    if (!rc && s != SQLITE_DONE)
        rc = dmt_store_sql_error(err, st->db, s, "transfers");
    sqlite3_finalize(q);
    return rc;
}

/* Make the cache hold level L for value lanes over [T0, T1] and transfer
 * lanes over t_begin in [X0, X1] (whole buckets). */
static int od_compute(dmt_store *st, int L, int64_t T0, int64_t T1, int64_t X0, int64_t X1,
                      dmt_error *err)
{
    od_cache *c = st->od;
    if (c->valid && c->level == L && c->T0 <= T0 && c->T1 >= T1 && c->X0 <= X0 && c->X1 >= X1)
        return 0;
    int rc = li_load(st, err);
    if (rc)
        return rc;
    od_free(c);
    c->sets = calloc(st->li->n + 1, sizeof *c->sets);
    if (!c->sets)
        return OD_NOMEM(err);
    c->nsets = st->li->n;
    c->level = L;
    c->T0 = T0;
    c->T1 = T1;
    c->X0 = X0;
    c->X1 = X1;
    int64_t s0 = 0, s1 = -1;
    bool any = false;
    rc = seq_hull(st, T0, T1, &s0, &s1, &any, err);
    if (!rc && any)
        rc = od_registers(st, c, s0, s1, err);
    for (int w = 0; w < 3 && !rc && any; w++)
        rc = od_simple(st, c, w, s0, s1, err);
    if (!rc)
        rc = od_transfers(st, c, err);
    if (rc)
        od_free(c);
    else
        c->valid = true;
    return rc;
}

int dmt_store_summary(dmt_store *st, int level, int64_t lane, int64_t t0, int64_t t1,
                      dmt_store_bucket_fn fn, void *ctx, dmt_error *err)
{
    if (level < 0 || level >= DMT_STORE_LEVELS)
        return dmt_error_set(err, DMT_E_USAGE, DMT_NO_INDEX, DMT_NO_INDEX, "no level %d", level);
    dmt_store_lane l;
    int rc = get_lane(st, lane, &l, err);
    if (rc)
        return rc;
    bool xl = l.kind == DMT_LANE_TRANSFERS;
    int64_t b0 = dmt_store_bucket_of(t0, level), b1 = dmt_store_bucket_of(t1, level);
    /* transfers lanes: earlier buckets whose spans reach t0 */
    int64_t lo = xl ? dmt_store_bucket_of(sat_sub(t0, st->max_span), level) : b0;
    int n = 0;

    if (level >= st->min_level) {
        sqlite3_stmt *q;
        if ((rc = dmt_store_prepare(st->db,
                                    "SELECT bucket, count, bytes, vmin, vmax, vlast, t_first, "
                                    "t_last FROM summary WHERE level = ? AND lane = ? AND bucket "
                                    "BETWEEN ? AND ? ORDER BY bucket",
                                    false, &q, err)))
            return rc;
        sqlite3_bind_int64(q, 1, level);
        sqlite3_bind_int64(q, 2, lane);
        sqlite3_bind_int64(q, 3, lo);
        sqlite3_bind_int64(q, 4, b1);
        while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
            dmt_store_bucket b;
            dmt_store_bucket_init(&b, lane, level, sqlite3_column_int64(q, 0));
            b.count = (uint64_t)sqlite3_column_int64(q, 1);
            b.bytes = (uint64_t)sqlite3_column_int64(q, 2);
            b.has_range = sqlite3_column_type(q, 3) != SQLITE_NULL;
            b.vmin = (uint64_t)sqlite3_column_int64(q, 3);
            b.vmax = (uint64_t)sqlite3_column_int64(q, 4);
            b.has_last = sqlite3_column_type(q, 5) != SQLITE_NULL;
            b.vlast = (uint64_t)sqlite3_column_int64(q, 5);
            b.t_first = sqlite3_column_int64(q, 6);
            b.t_last = sqlite3_column_int64(q, 7);
            if (b.bucket < b0 && b.t_last < t0)
                continue;
            n++;
            if (fn && fn(ctx, &b))
                break;
        }
        sqlite3_finalize(q);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
            return dmt_store_sql_error(err, st->db, rc, "summary");
        return n;
    }

    /* computed on demand, whole buckets */
    int64_t X0 = bucket_start(dmt_store_bucket_of(sat_sub(t0, st->max_span), level), level);
    if ((rc = od_compute(st, level, bucket_start(b0, level), bucket_end(b1, level), X0,
                         bucket_end(b1, level), err)))
        return rc;
    const od_cache *c = st->od;
    if (lane < 1 || (size_t)lane > c->nsets)
        return 0;
    const bset *bs = &c->sets[lane - 1];
    for (size_t i = 0; i < bs->n; i++) {
        const dmt_store_bucket *b = &bs->b[i];
        if (b->bucket > b1 || b->bucket < lo)
            continue;
        if (b->bucket < b0 && (!xl || b->t_last < t0))
            continue;
        n++;
        if (fn && fn(ctx, b))
            break;
    }
    return n;
}

/* ---- transfers --------------------------------------------------------------------- */

int dmt_store_transfers(dmt_store *st, int64_t adapter, int64_t t0, int64_t t1,
                        dmt_store_transfer_fn fn, void *ctx, dmt_error *err)
{
    char sql[1024];
    snprintf(sql, sizeof sql,
             "SELECT %s FROM transfers WHERE t_begin BETWEEN ?1 AND ?2 AND t_end >= ?3 "
             "AND (?4 < 0 OR adapter = ?4) ORDER BY t_begin, xfer",
             dmt_store_xfer_columns);
    sqlite3_stmt *q;
    int rc = dmt_store_prepare(st->db, sql, false, &q, err);
    if (rc)
        return rc;
    sqlite3_bind_int64(q, 1, sat_sub(t0, st->max_span));
    sqlite3_bind_int64(q, 2, t1);
    sqlite3_bind_int64(q, 3, t0);
    sqlite3_bind_int64(q, 4, adapter);
    int n = 0;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        dmt_store_transfer t;
        dmt_store_xfer_read(q, 0, &t);
        n++;
        if (fn && fn(ctx, &t))
            break;
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return dmt_store_sql_error(err, st->db, rc, "transfers");
    return n;
}

int dmt_store_transfer_get(dmt_store *st, uint32_t xfer, dmt_store_transfer *t, dmt_error *err)
{
    char sql[1024];
    snprintf(sql, sizeof sql, "SELECT %s FROM transfers WHERE xfer = ?", dmt_store_xfer_columns);
    sqlite3_stmt *q;
    int rc = dmt_store_prepare(st->db, sql, false, &q, err);
    if (rc)
        return rc;
    sqlite3_bind_int64(q, 1, xfer);
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        dmt_store_xfer_read(q, 0, t);
        rc = 1;
    } else if (rc == SQLITE_DONE) {
        rc = 0;
    } else {
        rc = dmt_store_sql_error(err, st->db, rc, "transfers");
    }
    sqlite3_finalize(q);
    return rc;
}

int dmt_store_transfer_sg(dmt_store *st, uint32_t xfer, dmt_sg_elem *sg, size_t cap, dmt_error *err)
{
    dmt_store_transfer t;
    int rc = dmt_store_transfer_get(st, xfer, &t, err);
    if (rc <= 0)
        return rc;
    if (t.exec_seq == DMT_STORE_NONE || t.n_sg == 0)
        return 0;
    sqlite3_stmt *q;
    rc = dmt_store_prepare(st->db,
                           "SELECT addr, length FROM sg_elements WHERE id BETWEEN ? AND ? "
                           "ORDER BY id",
                           false, &q, err);
    if (rc)
        return rc;
    sqlite3_bind_int64(q, 1, (int64_t)t.sg_first);
    sqlite3_bind_int64(q, 2, (int64_t)(t.sg_first + t.n_sg - 1));
    size_t n = 0;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (n < cap) {
            sg[n].addr = (uint64_t)sqlite3_column_int64(q, 0);
            sg[n].len = (uint32_t)sqlite3_column_int64(q, 1);
        }
        n++;
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE)
        return dmt_store_sql_error(err, st->db, rc, "sg_elements");
    if (n != t.n_sg)
        return dmt_error_set(err, DMT_E_FORMAT, DMT_NO_INDEX, (uint64_t)t.exec_seq,
                             "transfer %u: %zu SG elements stored, %u expected", xfer, n, t.n_sg);
    return (int)n;
}
