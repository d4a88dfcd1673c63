/*
 * store_import_xfer.c - the importer's transfers: state from a transfer's
 * first record until LAG records after its completion (or until too many
 * are open), interrupt and DPC attribution, rows written K at a time, and
 * a written transfer reloaded (INSERT OR REPLACE) when a later record
 * names it.  See the invariants at the top of store_import.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_import_internal.h"

/* ---- transfers ----------------------------------------------------------------- */

int dmt_imp_xfer_rows(imp *im, const dmt_store_transfer *t, size_t n)
{
    int rc = 0;
    size_t i = 0;
    if (n >= K)
        dmt_bc_attach(&im->bc_x_many, im->x_many);
    if (n % K)
        dmt_bc_attach(&im->bc_x_one, im->x_one);
    for (; i + K <= n && !rc; i += K) {
        for (int j = 0; j < K && !rc; j++)
            rc = dmt_store_xfer_bind(&im->bc_x_many, j * DMT_STORE_XFER_NSTORED, &t[i + (size_t)j]);
        if (!rc)
            rc = dmt_imp_step_done(im, im->x_many, "transfers");
    }
    for (; i < n && !rc; i++) {
        rc = dmt_store_xfer_bind(&im->bc_x_one, 0, &t[i]);
        if (!rc)
            rc = dmt_imp_step_done(im, im->x_one, "transfers");
    }
    return rc;
}

int dmt_imp_xfer_unstore(imp *im, uint32_t xfer)
{
    sqlite3_bind_int64(im->x_del, 1, xfer);
    return dmt_imp_step_done(im, im->x_del, "transfers");
}

/* ---- the written ids: the run xw_lo..xw_hi plus the map xwritten -------------- */

static bool xw_has(const imp *im, uint32_t xfer)
{
    if (im->xw_have && xfer >= im->xw_lo && xfer <= im->xw_hi)
        return true;
    return im->xwritten.n && dmt_store_map_get(&im->xwritten, xfer, 0) != UINT32_MAX;
}

/* Remember xfer as written: it extends the run when next to it (taking the
 * map's ids that then touch it), else it goes to the map while the map is
 * within its bound (beyond: xwritten_full, the table answers). */
static int xw_add(imp *im, uint32_t xfer)
{
    if (!im->xw_have) {
        im->xw_lo = im->xw_hi = xfer;
        im->xw_have = true;
        return 0;
    }
    if (im->xw_hi != UINT32_MAX && xfer == im->xw_hi + 1) {
        im->xw_hi = xfer;
        while (im->xwritten.n && im->xw_hi != UINT32_MAX &&
               dmt_store_map_get(&im->xwritten, im->xw_hi + 1, 0) != UINT32_MAX) {
            dmt_store_map_del(&im->xwritten, im->xw_hi + 1, 0);
            im->xw_hi++;
        }
        return 0;
    }
    if (im->xw_lo && xfer == im->xw_lo - 1) {
        im->xw_lo = xfer;
        while (im->xwritten.n && im->xw_lo &&
               dmt_store_map_get(&im->xwritten, im->xw_lo - 1, 0) != UINT32_MAX) {
            dmt_store_map_del(&im->xwritten, im->xw_lo - 1, 0);
            im->xw_lo--;
        }
        return 0;
    }
    if (im->xwritten.n >= im->lim.xwritten) {
        im->xwritten_full = true;
        return 0;
    }
    return dmt_store_map_put(&im->xwritten, xfer, 0, 1) ? dmt_imp_oom(im) : 0;
}

/* xfer is open again: out of the run (its shorter side goes to the map, as
 * far as the map's bound allows) or the map. */
static int xw_del(imp *im, uint32_t xfer)
{
    if (!im->xw_have || xfer < im->xw_lo || xfer > im->xw_hi) {
        dmt_store_map_del(&im->xwritten, xfer, 0);
        return 0;
    }
    uint32_t lo = im->xw_lo, hi = im->xw_hi, a, b; /* a..b: to the map */
    if (lo == hi) {
        im->xw_have = false;
        return 0;
    }
    if (xfer - lo <= hi - xfer) { /* keep xfer+1..hi */
        im->xw_lo = xfer + 1;
        a = lo;
        b = xfer;
    } else { /* keep lo..xfer-1 */
        im->xw_hi = xfer - 1;
        a = xfer;
        b = hi;
    }
    for (uint32_t id = a;; id++) {
        if (id != xfer) {
            if (im->xwritten.n >= im->lim.xwritten) {
                im->xwritten_full = true;
                break;
            }
            if (dmt_store_map_put(&im->xwritten, id, 0, 1))
                return dmt_imp_oom(im);
        }
        if (id == b)
            break;
    }
    return 0;
}

int dmt_imp_xfer_flush(imp *im)
{
    int rc = dmt_imp_xfer_rows(im, im->xbuf, (size_t)im->xn);
    im->xrows += (uint64_t)im->xn;
    im->xn = 0;
    return rc;
}

int dmt_imp_xfer_write(imp *im, uint32_t idx)
{
    xstate *x = &im->xs[idx];
    dmt_store_xfer_finish(&x->t);
    int rc = 0;
    if (!x->dirty) {
        /* unchanged since an append's commit wrote its row (store_append.c):
         * that row is this one */
    } else if (x->reloaded) {
        /* its row exists: replace it (pending rows first, in order) */
        rc = dmt_imp_xfer_flush(im);
        if (!rc) {
            dmt_bc_attach(&im->bc_x_replace, im->x_replace);
            rc = dmt_store_xfer_bind(&im->bc_x_replace, 0, &x->t);
        }
        if (!rc)
            rc = dmt_imp_step_done(im, im->x_replace, "transfers");
        if (!rc)
            im->xrows++;
    } else if (x->stored && (rc = dmt_imp_xfer_unstore(im, x->t.xfer))) {
        /* failed: the append is rolled back */
    } else {
        x->stored = false;
        im->xbuf[im->xn++] = x->t;
        if (im->xn == K)
            rc = dmt_imp_xfer_flush(im);
    }
    /* every written transfer widens the span, reloaded ones too (their
     * summaries are recomputed, not their span) */
    if (x->t.t_end - x->t.t_begin > im->max_span)
        im->max_span = x->t.t_end - x->t.t_begin;
    if (!rc && !im->xfer_reloaded)
        rc = dmt_imp_transfer_event(im, &x->t);
    dmt_store_map_del(&im->xmap, x->t.xfer, 0);
    if (!rc)
        rc = xw_add(im, x->t.xfer);
    if (!rc && dmt_imp_grow((void **)&im->xfree, &im->capxfree, im->nxfree + 1, sizeof(uint32_t)))
        rc = dmt_imp_oom(im);
    if (!rc)
        im->xfree[im->nxfree++] = idx;
    return rc;
}

/* Was transfer xfer written to the table already (and not reopened)? */
static int xfer_written(imp *im, uint32_t xfer, bool *yes)
{
    *yes = xw_has(im, xfer);
    if (*yes || !im->xwritten_full)
        return 0;
    int rc = dmt_imp_xfer_flush(im);
    if (rc)
        return rc;
    sqlite3_bind_int64(im->x_get, 1, xfer);
    int s = sqlite3_step(im->x_get);
    sqlite3_reset(im->x_get);
    if (s != SQLITE_ROW && s != SQLITE_DONE)
        return dmt_store_sql_error(im->err, im->db, s, "transfers");
    *yes = s == SQLITE_ROW;
    return 0;
}

static int created_push(imp *im, uint32_t xfer)
{
    if (im->cr_len > 2 * im->xmap.n + 4096) {
        /* drop the ids written since (amortised: the ring at least halves) */
        size_t n = 0;
        for (size_t i = 0; i < im->cr_len; i++) {
            uint32_t id = im->created[(im->cr_head + i) % im->cr_cap];
            if (dmt_store_map_get(&im->xmap, id, 0) != UINT32_MAX)
                im->created[(im->cr_head + n++) % im->cr_cap] = id;
        }
        im->cr_len = n;
    }
    if (im->cr_len == im->cr_cap) {
        size_t nc = im->cr_cap ? im->cr_cap * 2 : 1024;
        uint32_t *a = malloc(nc * sizeof *a);
        if (!a)
            return dmt_imp_oom(im);
        for (size_t i = 0; i < im->cr_len; i++)
            a[i] = im->created[(im->cr_head + i) % im->cr_cap];
        free(im->created);
        im->created = a;
        im->cr_cap = nc;
        im->cr_head = 0;
    }
    im->created[(im->cr_head + im->cr_len++) % im->cr_cap] = xfer;
    return 0;
}

/* Write transfer xfer when it is still open. */
static int write_if_open(imp *im, uint32_t xfer)
{
    uint32_t v = dmt_store_map_get(&im->xmap, xfer, 0);
    return v != UINT32_MAX ? dmt_imp_xfer_write(im, v) : 0;
}

/* Too many open transfers: write the oldest still open ones. */
static int evict_open(imp *im)
{
    while (im->xmap.n > im->lim.xopen && im->cr_len) {
        uint32_t xfer = im->created[im->cr_head];
        im->cr_head = (im->cr_head + 1) % im->cr_cap;
        im->cr_len--;
        int rc = write_if_open(im, xfer);
        if (rc)
            return rc;
    }
    return 0;
}

/* The open state of transfer xfer (record seq names it): created, or
 * reloaded when it was written already.  NULL with *rc set on failure. */
static xstate *xfer_get(imp *im, uint32_t xfer, uint64_t seq, int *rc)
{
    uint32_t v = dmt_store_map_get(&im->xmap, xfer, 0);
    if (v != UINT32_MAX) {
        im->xs[v].dirty = true; /* every change to an open transfer comes through here */
        return &im->xs[v];
    }
    uint32_t idx;
    if (im->nxfree) {
        idx = im->xfree[--im->nxfree];
    } else {
        if (dmt_imp_grow((void **)&im->xs, &im->capxs, im->nxs + 1, sizeof(xstate))) {
            *rc = dmt_imp_oom(im);
            return NULL;
        }
        idx = (uint32_t)im->nxs++;
    }
    xstate *x = &im->xs[idx];
    memset(x, 0, sizeof *x);
    x->dirty = true;
    dmt_store_xfer_init(&x->t, xfer);
    x->born = seq;
    bool written;
    if ((*rc = xfer_written(im, xfer, &written)))
        return NULL;
    if (written) {
        /* a late record: reload the written row */
        if ((*rc = dmt_imp_xfer_flush(im)))
            return NULL;
        sqlite3_bind_int64(im->x_get, 1, xfer);
        int s = sqlite3_step(im->x_get);
        if (s == SQLITE_ROW)
            dmt_store_xfer_read(im->x_get, 0, &x->t);
        sqlite3_reset(im->x_get);
        if (s != SQLITE_ROW) {
            *rc = dmt_store_sql_error(im->err, im->db, s == SQLITE_DONE ? SQLITE_INTERNAL : s,
                                      "transfers reload");
            return NULL;
        }
        x->queued = true; /* never queued again: written at the end */
        x->reloaded = true;
        im->xfer_reloaded = true;
        if ((*rc = xw_del(im, xfer)))
            return NULL;
    }
    if (dmt_store_map_put(&im->xmap, xfer, 0, idx) || created_push(im, xfer)) {
        *rc = dmt_imp_oom(im);
        return NULL;
    }
    if (im->xmap.n > im->lim.xopen) {
        /* the new one is the newest: never the one written here */
        if ((*rc = evict_open(im)))
            return NULL;
        v = dmt_store_map_get(&im->xmap, xfer, 0);
        return v == UINT32_MAX ? NULL : &im->xs[v];
    }
    return x;
}

static const irqlast *last_irq(imp *im, uint64_t dev)
{
    uint32_t v = dmt_store_map_get(&im->irq_map, dev, 0);
    return v == UINT32_MAX ? NULL : &im->irqs[v];
}

/* The claimed interrupt on dev after the transfer was programmed. */
static void attribute_irq(imp *im, dmt_store_transfer *t, uint64_t dev)
{
    if (t->interrupt_seq != DMT_STORE_NONE)
        return;
    const irqlast *q = last_irq(im, dev);
    uint64_t after = t->exec_seq != DMT_STORE_NONE    ? t->exec_seq
                     : t->start_seq != DMT_STORE_NONE ? t->start_seq
                                                      : 0;
    if (q && q->valid && q->seq > after) {
        t->interrupt_seq = q->seq;
        t->interrupt_ts = q->ts;
    }
}

/* Write the open transfers in the order they were created, each once it is
 * done: completed more than LAG records before seq, or begun more than IDLE
 * records before seq without completing.  One that is neither holds back
 * the younger ones, so rows reach the table in creation order (xfer order
 * when ids grow): appended at its end instead of splitting a full page in
 * the middle (with 64 KiB pages a transfer that never completes, written
 * late, cost half a page).  A reloaded transfer is written at the end. */
int dmt_imp_drain_completed(imp *im, uint64_t seq)
{
    while (im->cr_len) {
        uint32_t xfer = im->created[im->cr_head];
        uint32_t v = dmt_store_map_get(&im->xmap, xfer, 0);
        if (v != UINT32_MAX && !im->xs[v].reloaded) {
            const xstate *x = &im->xs[v];
            uint64_t since = x->queued ? x->done : x->born;
            uint64_t wait = x->queued ? im->lim.lag : im->lim.idle;
            if (seq <= since || seq - since <= wait)
                break;
            int rc = dmt_imp_xfer_write(im, v);
            if (rc)
                return rc;
        }
        im->cr_head = (im->cr_head + 1) % im->cr_cap;
        im->cr_len--;
    }
    return 0;
}

int dmt_imp_on_transfer(imp *im, const dmt_record *r, uint64_t sg_first)
{
    int rc = 0;
    xstate *x = xfer_get(im, r->xfer, r->seq, &rc);
    if (!x)
        return rc;
    dmt_store_transfer *t = &x->t;
    if (r->ts < t->t_begin)
        t->t_begin = r->ts;
    if (r->ts > t->t_end)
        t->t_end = r->ts;
    if (r->kind != DMT_K_DIGEST && !t->has_adapter) {
        t->has_adapter = true;
        t->adapter = r->adapter;
    }
    switch (r->kind) {
    case DMT_K_START_DMA:
        if (t->start_seq == DMT_STORE_NONE) {
            t->start_seq = r->seq;
            t->start_ts = r->ts;
            t->has_adapter = true;
            t->adapter = r->adapter;
            t->mdl = r->mdl;
            t->offset = r->offset;
            t->requested = r->length;
            t->write_to_device = r->write_to_device;
            t->context = r->context;
        }
        break;
    case DMT_K_EXECUTE_DMA:
        if (t->exec_seq == DMT_STORE_NONE) {
            const dmt_sg_elem *sg = r->sg_list;
            t->exec_seq = r->seq;
            t->exec_ts = r->ts;
            t->exec_cpu = r->cpu;
            t->granted = r->length;
            t->bounce_known = (r->xfer_flags & DMT_XF_BOUNCE_CHECKED) != 0;
            t->bounced = t->bounce_known && (r->xfer_flags & DMT_XF_BOUNCED) != 0;
            t->n_sg = r->n_sg;
            t->sg_first = sg_first;
            t->sg_bytes = 0;
            t->sg_lo = UINT64_MAX;
            t->sg_hi = 0;
            for (uint32_t i = 0; i < r->n_sg; i++) {
                t->sg_bytes += sg[i].len;
                if (sg[i].addr < t->sg_lo)
                    t->sg_lo = sg[i].addr;
                if (sg[i].addr + sg[i].len > t->sg_hi)
                    t->sg_hi = sg[i].addr + sg[i].len;
            }
        }
        break;
    case DMT_K_START_DMA_END:
        if (t->end_seq == DMT_STORE_NONE) {
            t->end_seq = r->seq;
            t->end_ts = r->ts;
            t->end_status = r->status;
            t->end_length = r->length;
        }
        break;
    case DMT_K_COMPLETE_DMA:
        t->complete_count++;
        if (t->complete_seq == DMT_STORE_NONE) {
            t->complete_seq = r->seq;
            t->complete_ts = r->ts;
            t->complete_status = r->status;
            if (t->dpc_seq == DMT_STORE_NONE) {
                uint32_t d = dmt_store_map_get(&im->adev, r->adapter, 0);
                if (d != UINT32_MAX)
                    attribute_irq(im, t, im->adevs[d]);
            }
        }
        if (!x->queued) {
            x->queued = true;
            x->done = r->seq;
        }
        break;
    case DMT_K_DIGEST:
        if (!t->has_digest) {
            t->has_digest = true;
            t->digest = r->value;
            t->digest_algo = r->algo;
            t->digest_len = r->length;
        }
        break;
    default:
        break;
    }
    return rc;
}

int dmt_imp_on_dpc(imp *im, const dmt_record *r)
{
    if (r->xfer == 0)
        return 0;
    int rc = 0;
    uint32_t v = dmt_store_map_get(&im->xmap, r->xfer, 0);
    bool written = false;
    if (v == UINT32_MAX && (rc = xfer_written(im, r->xfer, &written)))
        return rc;
    if (v == UINT32_MAX && !written)
        return 0; /* no such transfer (yet): the dpcs row is all there is */
    xstate *x = xfer_get(im, r->xfer, r->seq, &rc);
    if (!x)
        return rc;
    dmt_store_transfer *t = &x->t;
    if (t->dpc_seq == DMT_STORE_NONE) {
        t->dpc_seq = r->seq;
        t->dpc_ts = r->ts;
        attribute_irq(im, t, r->dev);
    }
    if (r->ts < t->t_begin)
        t->t_begin = r->ts;
    if (r->ts > t->t_end)
        t->t_end = r->ts;
    return 0;
}

int dmt_imp_on_interrupt(imp *im, const dmt_record *r)
{
    if (!r->claimed)
        return 0;
    uint32_t v = dmt_store_map_get(&im->irq_map, r->dev, 0);
    if (v == UINT32_MAX) {
        if (im->irq_map.n >= im->lim.map)
            return 0;
        if (dmt_imp_grow((void **)&im->irqs, &im->capirqs, im->nirqs + 1, sizeof(irqlast)))
            return dmt_imp_oom(im);
        v = (uint32_t)im->nirqs++;
        if (dmt_store_map_put(&im->irq_map, r->dev, 0, v))
            return dmt_imp_oom(im);
    }
    im->irqs[v].seq = r->seq;
    im->irqs[v].ts = r->ts;
    im->irqs[v].valid = true;
    return 0;
}
