/*
 * store.c - open and check a store, its cached statements, its header and
 * import facts, and the statistics `info` prints (computed from the
 * tables).  The queries are store_query.c and store_levels.c.
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

/* One integer from sql (a text parameter ?1 bound to key when key), or dflt
 * when there is no row, the value is NULL or the query fails. */
static int64_t sql_int_key(dmt_store *st, const char *sql, const char *key, int64_t dflt)
{
    int64_t v;
    return dmt_store_one_int(st, sql, &DMT_STORE_TEXT(key), key != NULL, &v, "", NULL) == 1 ? v
                                                                                            : dflt;
}

static int64_t sql_int(dmt_store *st, const char *sql, int64_t dflt)
{
    return sql_int_key(st, sql, NULL, dflt);
}

static int64_t meta_int(dmt_store *st, const char *key, int64_t dflt)
{
    return sql_int_key(st, "SELECT value FROM meta WHERE key = ?1", key, dflt);
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
        "status, algo, value, n_sg, flags, cpu FROM dma_calls",
        "SELECT id, exec_seq, idx, addr, length FROM sg_elements",
        "SELECT seq, idx, offset, length FROM digest_ranges",
        "SELECT seq, ts, kind, id, adapter, dev, addr, length, va, op, flags, map_registers, "
        "addr_limit, max_length FROM resources",
        "SELECT seq, ts, cb, offset, data FROM desc_writes",
        "SELECT seq, ts, mdl, offset, data FROM payloads",
        "SELECT seq, ts, mdl, algo, seed, offset, length FROM patterns",
        "SELECT seq, ts, dev, claimed, value, cpu FROM interrupts",
        "SELECT seq, ts, dev, xfer, cpu FROM dpcs",
        "SELECT seq, ts, text FROM markers",
        "SELECT seq, ts, tsc, counter, counter_hz, mult, shift, err_ns FROM calibrations",
        "SELECT first_seq, ts, count, reason FROM lost",
        "SELECT first_seq, cpu FROM cpu_runs",
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
    if (!st)
        return dmt_error_set(err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX, "out of memory");
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
    int64_t app = 0;
    rc = dmt_store_one_int(st, "PRAGMA application_id", NULL, 0, &app, "reading the store", err);
    if (rc >= 0)
        rc = app == DMT_STORE_APPLICATION_ID
                 ? 0
                 : dmt_error_set(err, DMT_E_FOREIGN, 68, DMT_NO_INDEX, "not a dmatrace store");
    if (!rc)
        rc = check_schema(st, err);
    if (rc) {
        dmt_store_close(st);
        return rc;
    }
    st->min_level = (int)meta_int(st, "summary_min_level", DMT_STORE_MIN_STORED_LEVEL);
    if (st->min_level < 0 || st->min_level > DMT_STORE_LEVELS)
        st->min_level = DMT_STORE_LEVELS;
    st->trace_backed = dmt_store_trace_backed(st);
    st->max_span = meta_int(st, "max_transfer_ns", 0);
    if (st->max_span <= 0) /* not recorded: from the table */
        st->max_span = sql_int(st, "SELECT max(t_end - t_begin) FROM transfers", 0);
    if (st->max_span < 0)
        st->max_span = 0;
    if (flags & DMT_STORE_INTERACTIVE)
        sqlite3_exec(st->db, "PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY;", NULL, NULL,
                     NULL);
    *out = st;
    return 0;
}

void dmt_store_close(dmt_store *st)
{
    if (!st)
        return;
    dmt_store_levels_free(st);
    for (int i = 0; i < DMT_Q_COUNT_; i++)
        sqlite3_finalize(st->q[i]);
    sqlite3_close_v2(st->db);
    free(st);
}

struct sqlite3 *dmt_store_sqlite(dmt_store *st)
{
    return st->db;
}

int dmt_store_cached(dmt_store *st, int id, const char *sql, sqlite3_stmt **q, dmt_error *err)
{
    if (!st->q[id]) {
        int rc = dmt_store_prepare(st->db, sql, true, &st->q[id], err);
        if (rc)
            return rc;
    }
    sqlite3_reset(st->q[id]);
    sqlite3_clear_bindings(st->q[id]);
    *q = st->q[id];
    return 0;
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
        else if (!strcmp(k, "regmap_name"))
            copy_text(hdr->regmap_name, sizeof hdr->regmap_name, t);
        else if (!strcmp(k, "regmap_hash"))
            hdr->regmap_hash = (uint64_t)v;
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
        int rc = dmt_store_meta_text(st, "cut_reason", why, why_cap, err);
        if (rc < 0)
            return rc;
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
    } simple[] = {{"desc_writes", DMT_K_DESC_WRITE},
                  {"payloads", DMT_K_PAYLOAD},
                  {"patterns", DMT_K_PATTERN},
                  {"interrupts", DMT_K_INTERRUPT},
                  {"dpcs", DMT_K_DPC},
                  {"markers", DMT_K_MARKER},
                  {"calibrations", DMT_K_CALIBRATION}};
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

/* A trace-backed store's statistics: its records, read from the trace, as
 * dmt_stats_add counts them (what the tables' aggregates equal). */
static int stats_of_trace(dmt_store *st, dmt_stats *stats, dmt_error *err)
{
    dmt_store_iter *it;
    int rc = dmt_store_iter_open(st, 0, &it, err);
    dmt_record r;
    while (!rc && (rc = dmt_store_iter_next(it, &r, err)) == 1) {
        dmt_stats_add(stats, &r);
        rc = 0;
    }
    dmt_store_iter_close(it);
    return rc;
}

int dmt_store_stats(dmt_store *st, dmt_stats *stats, dmt_error *err)
{
    dmt_stats_init(stats);
    if (st->trace_backed)
        return stats_of_trace(st, stats, err);
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
