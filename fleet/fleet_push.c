/*
 * fleet_push.c - flt_push: one trace into the fleet store, exactly once.
 *
 * Local work first, nothing sent: a .dmat is imported into a temporary store
 * (the store library's import, its limits), the store's record stream is
 * rewritten as the canonical .dmat whose SHA-256 is the trace's identity,
 * the audit and the replay run over the store.  Then ONE transaction: the
 * traces row (INSERT ... ON CONFLICT (hash) DO NOTHING: a trace already
 * there, or being pushed by another process, makes this push a no-op once
 * that one commits) and COPY into every per-trace table.  A push cut at any
 * point leaves no row visible; running it again completes it.
 *
 * The store is read only through dmt/store.h and dmt/store_query.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dmm/map.h"
#include "dmt/audit.h"
#include "dmt/sniff.h"
#include "dmt/store.h"
#include "dmt/store_query.h"
#include "dmt/writer.h"
#include "fleet_internal.h"
#include "rpl/replay.h"

#define PART_BYTES (1u << 20) /* trace_files part size */
#define MAX_KEPT   (1u << 24) /* transfers / findings a push holds in memory */
#define MODEL_DEVS 64u        /* device ids tracked for "is the model" */

typedef struct push {
    flt_conn *c;
    dmt_store *st;
    const char *db;
    char dmat[PATH_MAX];
    dmt_header hdr;
    dmt_stats stats;
    uint64_t model_devs; /* bit d: dev d read the model's ID */
    dmt_store_transfer *xf;
    size_t n_xf, cap_xf;
    flt_findings fi;
    dmt_error *err;
} push;

static int grow(void **p, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return 0;
    size_t c = *cap ? *cap * 2 : 256;
    if (c > MAX_KEPT)
        return -1;
    void *q = realloc(*p, c * size);
    if (!q)
        return -1;
    *p = q;
    *cap = c;
    return 0;
}

/* Pass 1: the canonical .dmat (header + every record through the writer)
 * and which devices are the model (their ID register reads). */
static int canonical(push *p)
{
    dmt_writer *w;
    if (dmt_writer_open(p->dmat, &p->hdr, 0, &w, p->err) != 0)
        return p->err->code;
    dmt_store_iter *it;
    if (dmt_store_iter_open(p->st, 0, &it, p->err) != 0) {
        dmt_writer_abort(w);
        return p->err->code;
    }
    dmt_record r;
    int rc;
    while ((rc = dmt_store_iter_next(it, &r, p->err)) == 1) {
        if (r.kind == DMT_K_REG_READ && r.off == DMM_REG_ID && r.dev < MODEL_DEVS &&
            (r.value & DMM_ID_MASK) == DMM_ID_MAGIC)
            p->model_devs |= UINT64_C(1) << r.dev;
        if ((rc = dmt_writer_append(w, &r, p->err)) != 0)
            break;
    }
    dmt_store_iter_close(it);
    if (rc != 0) {
        dmt_writer_abort(w);
        return rc;
    }
    return dmt_writer_close(w, p->err);
}

static int keep_transfer(void *ctx, const dmt_store_transfer *t)
{
    push *p = ctx;
    if (grow((void **)&p->xf, &p->cap_xf, p->n_xf, sizeof *p->xf) != 0)
        return -1;
    p->xf[p->n_xf++] = *t;
    return 0;
}

static int send_transfers(push *p, int64_t id)
{
    flt_copy cp;
    if (flt_copy_begin(&cp, p->c, "COPY transfers FROM STDIN", p->err) != 0)
        return p->err->code;
    for (size_t i = 0; i < p->n_xf; i++) {
        const dmt_store_transfer *t = &p->xf[i];
        bool ex = t->exec_seq != DMT_STORE_NONE;
        flt_copy_i64(&cp, id);
        flt_copy_i64(&cp, t->xfer);
        if (t->has_adapter)
            flt_copy_i64(&cp, t->adapter);
        else
            flt_copy_null(&cp);
        flt_copy_i64(&cp, t->mdl);
        flt_copy_i64(&cp, (int64_t)t->requested);
        if (ex) {
            flt_copy_i64(&cp, (int64_t)t->granted);
        } else {
            flt_copy_null(&cp);
        }
        flt_copy_bool(&cp, t->write_to_device);
        if (ex) {
            flt_copy_i64(&cp, t->n_sg);
            flt_copy_i64(&cp, (int64_t)t->sg_bytes);
            flt_copy_i64(&cp, (int64_t)t->sg_lo);
            flt_copy_i64(&cp, (int64_t)t->sg_hi);
        } else {
            for (int k = 0; k < 4; k++)
                flt_copy_null(&cp);
        }
        flt_copy_bool(&cp, t->truncated);
        if (ex && t->bounce_known)
            flt_copy_bool(&cp, t->bounced);
        else
            flt_copy_null(&cp);
        flt_copy_text(&cp, t->outcome);
        flt_copy_i64(&cp, t->t_begin);
        flt_copy_i64(&cp, t->t_end);
        if (t->has_duration)
            flt_copy_i64(&cp, t->duration_ns);
        else
            flt_copy_null(&cp);
        flt_copy_end_row(&cp);
    }
    return flt_copy_finish(&cp, p->err);
}

static int send_sg(push *p, int64_t id)
{
    dmt_sg_elem *sg = malloc(DMT_MAX_SG_ELEMENTS * sizeof *sg);
    if (!sg)
        return dmt_error_set(p->err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX, "out of memory");
    flt_copy cp;
    if (flt_copy_begin(&cp, p->c, "COPY sg_elements FROM STDIN", p->err) != 0) {
        free(sg);
        return p->err->code;
    }
    int rc = 0;
    for (size_t i = 0; i < p->n_xf && rc >= 0; i++) {
        rc = dmt_store_transfer_sg(p->st, p->xf[i].xfer, sg, DMT_MAX_SG_ELEMENTS, p->err);
        for (int k = 0; k < rc && k < (int)DMT_MAX_SG_ELEMENTS; k++) {
            flt_copy_i64(&cp, id);
            flt_copy_i64(&cp, p->xf[i].xfer);
            flt_copy_i64(&cp, k);
            flt_copy_i64(&cp, (int64_t)sg[k].addr);
            flt_copy_i64(&cp, sg[k].len);
            flt_copy_end_row(&cp);
        }
    }
    free(sg);
    if (rc < 0) {
        flt_copy_abort(&cp);
        return rc;
    }
    return flt_copy_finish(&cp, p->err);
}

static int send_reg_writes(push *p, int64_t id, uint64_t *n)
{
    flt_copy cp;
    if (flt_copy_begin(&cp, p->c, "COPY reg_writes FROM STDIN", p->err) != 0)
        return p->err->code;
    dmt_store_iter *it;
    if (dmt_store_iter_open(p->st, 0, &it, p->err) != 0) {
        flt_copy_abort(&cp);
        return p->err->code;
    }
    dmt_record r;
    int rc;
    while ((rc = dmt_store_iter_next(it, &r, p->err)) == 1) {
        if (r.kind != DMT_K_REG_WRITE)
            continue;
        dmm_map_hit hit;
        bool model = r.dev < MODEL_DEVS && (p->model_devs >> r.dev & 1);
        flt_copy_i64(&cp, id);
        flt_copy_i64(&cp, (int64_t)r.seq);
        flt_copy_i64(&cp, r.ts);
        flt_copy_i64(&cp, r.dev);
        flt_copy_i64(&cp, (int64_t)r.off);
        flt_copy_i64(&cp, (int64_t)r.value);
        flt_copy_i64(&cp, r.width);
        flt_copy_text(&cp, model && dmm_map_lookup(r.off, &hit) ? hit.name : NULL);
        flt_copy_end_row(&cp);
        ++*n;
    }
    dmt_store_iter_close(it);
    if (rc != 0) {
        flt_copy_abort(&cp);
        return rc;
    }
    return flt_copy_finish(&cp, p->err);
}

static int send_findings(push *p, int64_t id)
{
    flt_copy cp;
    if (flt_copy_begin(&cp, p->c, "COPY findings FROM STDIN", p->err) != 0)
        return p->err->code;
    const dmt_audit_rule_info *rules = dmt_audit_rules();
    for (size_t i = 0; i < p->fi.n; i++) {
        const dmt_finding *f = &p->fi.f[i];
        flt_copy_i64(&cp, id);
        flt_copy_i64(&cp, (int64_t)i + 1);
        flt_copy_text(&cp, f->rule < DMT_R_COUNT_ ? rules[f->rule].id : "?");
        flt_copy_text(&cp, dmt_audit_severity_name(f->severity));
        flt_copy_i64(&cp, (int64_t)f->seq);
        flt_copy_i64(&cp, f->ts);
        if (f->xfer)
            flt_copy_i64(&cp, f->xfer);
        else
            flt_copy_null(&cp);
        if (f->adapter)
            flt_copy_i64(&cp, f->adapter);
        else
            flt_copy_null(&cp);
        flt_copy_bool(&cp, f->uncertain);
        flt_copy_text(&cp, f->message);
        flt_copy_end_row(&cp);
    }
    return flt_copy_finish(&cp, p->err);
}

/* The replay's verdict; a replay the engine refuses is stored as 'refused'
 * with its message, not a failed push. */
static int send_replay(push *p, int64_t id, int *revision, uint64_t *divs)
{
    rpl_opts o;
    rpl_opts_default(&o);
    rpl_replay *rp = NULL;
    dmt_error rerr;
    dmt_error_clear(&rerr);
    int rc = rpl_replay_file(p->db, &o, &rp, &rerr);
    flt_copy cp;
    if (flt_copy_begin(&cp, p->c, "COPY replays FROM STDIN", p->err) != 0) {
        rpl_free(rp);
        return p->err->code;
    }
    const rpl_summary *s = rp ? rpl_get_summary(rp) : NULL;
    const rpl_divergence *d = rc == 0 && s && s->kept ? rpl_divergence_at(rp, 0) : NULL;
    flt_copy_i64(&cp, id);
    flt_copy_text(&cp, rc != 0 || !s ? "refused" : s->divergences ? "diverges" : "replays");
    flt_copy_i64(&cp, s ? (int64_t)s->divergences : 0);
    flt_copy_i64(&cp, s ? (int64_t)s->records : 0);
    flt_copy_i64(&cp, s ? (int64_t)s->model.revision : 0);
    if (d) {
        flt_copy_text(&cp, rpl_div_kind_name(d->kind));
        flt_copy_i64(&cp, (int64_t)d->index);
        flt_copy_text(&cp, d->subject);
        flt_copy_text(&cp, d->expected);
        flt_copy_text(&cp, d->actual);
    } else {
        flt_copy_null(&cp);
        flt_copy_null(&cp);
        flt_copy_text(&cp, rc != 0 ? rerr.msg : NULL);
        flt_copy_null(&cp);
        flt_copy_null(&cp);
    }
    flt_copy_end_row(&cp);
    *revision = s && s->model_from_trace ? (int)s->model.revision : -1;
    *divs = s ? s->divergences : 0;
    rpl_free(rp);
    return flt_copy_finish(&cp, p->err);
}

static int send_file(push *p, int64_t id)
{
    FILE *f = fopen(p->dmat, "rb");
    if (!f)
        return dmt_error_set(p->err, DMT_E_IO, DMT_NO_INDEX, DMT_NO_INDEX, "%s: %s", p->dmat,
                             strerror(errno));
    uint8_t *buf = malloc(PART_BYTES);
    flt_copy cp;
    if (!buf || flt_copy_begin(&cp, p->c, "COPY trace_files FROM STDIN", p->err) != 0) {
        fclose(f);
        free(buf);
        return buf ? p->err->code
                   : dmt_error_set(p->err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX, "no memory");
    }
    size_t n;
    for (int part = 0; (n = fread(buf, 1, PART_BYTES, f)) > 0; part++) {
        flt_copy_i64(&cp, id);
        flt_copy_i64(&cp, part);
        flt_copy_bytea(&cp, buf, n);
        flt_copy_end_row(&cp);
    }
    free(buf);
    fclose(f);
    return flt_copy_finish(&cp, p->err);
}

static int64_t scalar(flt_conn *c, PGresult *r, bool *found, dmt_error *err)
{
    int st = PQresultStatus(r);
    *found = false;
    int64_t v = 0;
    if (st != PGRES_TUPLES_OK) {
        PQclear(r);
        return flt_pg_error(err, DMT_E_IO, c->pg, "server");
    }
    if (PQntuples(r) > 0) {
        *found = true;
        v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    }
    PQclear(r);
    return v;
}

/* The transaction: the traces row, then every table.  Returns 0 (pushed or
 * already there) or a negative DMT_E* (rolled back). */
static int load(push *p, const flt_push_opts *o, flt_push_result *res)
{
    static const char ins[] =
        "INSERT INTO traces (hash, producer, clock, host, scenario, seed, ring_size, "
        "ring_policy, page_shift, t0, driver_build, t_first, t_last, records, lost, transfers, "
        "dmat_bytes) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, "
        "$16, $17) ON CONFLICT (hash) DO NOTHING RETURNING id";
    char num[9][24];
    const dmt_stats *s = &p->stats;
    FILE *f = fopen(p->dmat, "rb");
    long size = -1;
    if (f && fseek(f, 0, SEEK_END) == 0)
        size = ftell(f);
    if (f)
        fclose(f);
    snprintf(num[0], 24, "%lld", (long long)p->hdr.seed);
    snprintf(num[1], 24, "%lld", (long long)p->hdr.ring_size);
    snprintf(num[2], 24, "%u", p->hdr.ring_policy);
    snprintf(num[3], 24, "%u", p->hdr.page_shift);
    snprintf(num[4], 24, "%lld", (long long)p->hdr.t0);
    snprintf(num[5], 24, "%lld", (long long)s->first_ts);
    snprintf(num[6], 24, "%lld", (long long)s->last_ts);
    snprintf(num[7], 24, "%llu", (unsigned long long)(s->records));
    snprintf(num[8], 24, "%llu", (unsigned long long)s->lost_records);
    char nx[24], sz[24];
    snprintf(nx, sizeof nx, "%zu", p->n_xf);
    snprintf(sz, sizeof sz, "%ld", size);
    const char *v[17] = {res->hash,
                         p->hdr.producer,
                         p->hdr.clock,
                         p->hdr.host,
                         p->hdr.scenario,
                         num[0],
                         num[1],
                         num[2],
                         num[3],
                         num[4],
                         o->driver_build,
                         s->records ? num[5] : NULL,
                         s->records ? num[6] : NULL,
                         num[7],
                         num[8],
                         nx,
                         sz};
    if (flt_exec(p->c, "BEGIN", p->err) != 0)
        return p->err->code;
    bool found;
    int64_t id =
        scalar(p->c, PQexecParams(p->c->pg, ins, 17, NULL, v, NULL, NULL, 0), &found, p->err);
    int rc = found ? 0 : id < 0 ? (int)id : 1;
    if (rc == 1) { /* already there */
        flt_exec(p->c, "ROLLBACK", NULL);
        const char *hv[1] = {res->hash};
        id = scalar(p->c,
                    PQexecParams(p->c->pg, "SELECT id FROM traces WHERE hash = $1", 1, NULL, hv,
                                 NULL, NULL, 0),
                    &found, p->err);
        if (!found)
            return id < 0 ? (int)id
                          : dmt_error_set(p->err, DMT_E_IO, DMT_NO_INDEX, DMT_NO_INDEX,
                                          "trace %.16s vanished", res->hash);
        res->id = id;
        res->existed = true;
        return 0;
    }
    int revision = -1;
    if (rc == 0)
        rc = send_transfers(p, id);
    if (rc == 0)
        rc = send_sg(p, id);
    if (rc == 0)
        rc = send_reg_writes(p, id, &res->reg_writes);
    if (rc == 0)
        rc = send_findings(p, id);
    if (rc == 0)
        rc = send_replay(p, id, &revision, &res->divergences);
    if (rc == 0)
        rc = send_file(p, id);
    if (rc == 0) {
        /* the revision the replay found, then the per-trace aggregates */
        char q[160], rev[16] = "NULL";
        if (revision >= 0)
            snprintf(rev, sizeof rev, "%d", revision);
        snprintf(
            q, sizeof q,
            "UPDATE traces SET device_revision = %s WHERE id = %lld; SELECT fleet_derive(%lld)",
            rev, (long long)id, (long long)id);
        rc = flt_exec(p->c, q, p->err);
    }
    if (rc == 0 && o->stall_ms)
        usleep(o->stall_ms * 1000u);
    if (rc == 0)
        rc = flt_exec(p->c, "COMMIT", p->err);
    if (rc != 0) {
        flt_exec(p->c, "ROLLBACK", NULL);
        return rc;
    }
    res->id = id;
    return 0;
}

int flt_push(flt_conn *c, const char *path, const char *tmpdir, const flt_push_opts *o,
             flt_push_result *res, dmt_error *err)
{
    static const flt_push_opts none = {0};
    memset(res, 0, sizeof *res);
    if (!o)
        o = &none;
    push p = {.c = c, .err = err};
    char work[PATH_MAX - 64], tdb[PATH_MAX];
    snprintf(work, sizeof work, "%s/dmt-push-XXXXXX", tmpdir ? tmpdir : "/tmp");
    if (!mkdtemp(work))
        return dmt_error_set(err, DMT_E_IO, DMT_NO_INDEX, DMT_NO_INDEX, "%s: %s", work,
                             strerror(errno));
    snprintf(p.dmat, sizeof p.dmat, "%s/canonical.dmat", work);
    snprintf(tdb, sizeof tdb, "%s/trace.db", work);
    /* a trace or a store, told apart by content (docs/cli.md) */
    int rc = dmt_sniff(path, err);
    p.db = path;
    if (rc == DMT_FILE_DB) {
        rc = 0;
    } else if (rc == DMT_FILE_TRACE) {
        dmt_store_import_opts io = {.allow_cut = true};
        rc = dmt_store_import(path, tdb, &io, NULL, err);
        p.db = tdb;
    } else if (rc >= 0) {
        rc = dmt_error_set(err, DMT_E_FOREIGN, 0, DMT_NO_INDEX, "not a trace or a store");
    }
    if (rc == 0)
        rc = dmt_store_open(p.db, DMT_STORE_RDONLY, &p.st, err);
    if (rc == 0)
        rc = dmt_store_header(p.st, &p.hdr, err);
    if (rc == 0)
        rc = dmt_store_stats(p.st, &p.stats, err);
    if (rc == 0)
        rc = canonical(&p);
    if (rc == 0)
        rc = flt_sha256_file(p.dmat, res->hash, err);
    if (rc == 0) {
        int k = dmt_store_transfers(p.st, -1, INT64_MIN, INT64_MAX, keep_transfer, &p, err);
        if (k < 0)
            rc = k;
        else if (p.n_xf != (size_t)k)
            rc = dmt_error_set(err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX,
                               "%s: more transfers than a push holds (%u)", path, MAX_KEPT);
    }
    if (rc == 0) {
        dmt_audit_config cfg = {
            .rules = DMT_AUDIT_ALL_RULES, .sink = flt_keep_finding, .user = &p.fi};
        rc = dmt_audit_file(p.db, &cfg, NULL, err);
        if (rc == 0 && p.fi.overflow)
            rc = dmt_error_set(err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX,
                               "%s: more findings than a push holds (%u)", path, MAX_KEPT);
    }
    if (rc == 0)
        rc = load(&p, o, res);
    if (rc == 0) {
        res->records = p.stats.records;
        res->transfers = p.n_xf;
        res->sg_elements = p.stats.sg_elements;
        res->findings = p.fi.n;
    }
    dmt_store_close(p.st);
    free(p.xf);
    free(p.fi.f);
    unlink(p.dmat);
    unlink(tdb);
    rmdir(work);
    return rc;
}
