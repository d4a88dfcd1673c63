/*
 * export.c - Chrome/Perfetto Trace Event Format JSON and CSV export of a
 * trace (see dmt/export.h; layouts in docs/audit-rules.md, "Export").
 *
 * JSON is written in one streaming pass, the audit engine running alongside
 * so its findings become instant events.  Tracks are threads of process 1:
 *
 *   tid 1          findings            instant events, name = rule id
 *   tid 2          markers and loss    instant events
 *   tid 10, 11 ..  adapter N           complete events, one per transfer
 *                  devD interrupts     instant events (interrupt, dpc)
 *                  devD registers      counter events, name "devD 0xOFF"
 *
 * Every track's events leave in time order: a transfer is an "X" event
 * stamped at its StartDma and known only at its CompleteDma, so each adapter
 * keeps a FIFO of its transfers in start order and emits from the head as
 * heads complete (a head that never completes is emitted, "not-completed",
 * when the queue grows past QUEUE_MAX or at the end).  Record times from
 * several CPUs can be slightly out of order; an event is stamped no earlier
 * than the previous event of its track (clamped, never reordered).  Times
 * are microseconds since the first record, printed with ns precision.
 *
 * CSV goes through the store: a .db is dumped table by table with SQL; a
 * trace file is imported into a temporary database first (findings
 * included), so the files are exactly the database's tables.
 */
#include "dmt/export.h"
#include "rmap/regmap.h"

#include <errno.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dmt/audit.h"
#include "dmt/json.h"
#include "dmt/record.h"
#include "dmt/source.h"
#include "dmt/sniff.h"
#include "dmt/store.h"

#define QUEUE_MAX   4096u      /* transfers waiting per adapter before one is forced out */
#define SG_KEEP_MAX (1u << 20) /* SG elements kept for waiting transfers */
#define MAX_TRACKS  4096u
#define MARKER_NAME 80u

/* ---- JSON output ---------------------------------------------------------------- */

typedef struct track {
    int kind; /* 1 adapter, 2 interrupts, 3 registers, 4 findings, 5 markers */
    uint32_t key;
    uint32_t lane; /* adapters: 0, or 1.. for transfers overlapping one on lane 0.. */
    uint32_t tid, sort;
    int64_t last;       /* ns since t0 of the last event */
    int64_t busy_until; /* adapter lanes: end of the last transfer */
    /* adapter tracks: the transfer queue (indexes into pend, -1 = none) */
    int32_t head, tail;
    uint32_t queued;
} track;

typedef struct pending {
    bool used, started, executed, completed, ended, start_failed;
    uint32_t xfer, adapter, mdl;
    uint32_t track;
    int64_t t_start, t_end; /* ns since t0 */
    uint64_t offset, requested, granted, context;
    bool wtd;
    uint32_t end_status, complete_status;
    uint32_t n_sg, xfer_flags;
    dmt_sg_elem *sg; /* NULL when not kept */
    bool sg_omitted;
    int32_t next;
    uint64_t start_seq;
} pending;

typedef struct chrome {
    FILE *f;
    rmap_namer *names; /* NULL: counters named by offset */
    bool first_event;
    bool have_t0;
    int64_t t0, t_last;
    track tracks[MAX_TRACKS];
    uint32_t n_tracks;
    uint32_t next_tid;
    pending *pend;
    uint32_t pend_cap;
    int32_t free_head;
    uint64_t sg_kept;
    struct {
        uint32_t adapter, dev;
    } ad_dev[256]; /* for track names */
    uint32_t n_ad_dev;
    dmt_audit *audit;
    dmt_export_stats st;
    int error;     /* sticky DMT_E_* */
    int sys_errno; /* errno of the first failed write to the output */
} chrome;

static void jtime(FILE *f, int64_t ns)
{
    if (ns < 0)
        ns = 0;
    fprintf(f, "%" PRId64 ".%03d", ns / 1000, (int)(ns % 1000));
}

static int64_t rel(chrome *c, int64_t ts)
{
    return ts - c->t0;
}

/* Begin an event: {"ph":..,"name":..,"pid":1,"tid":..,"ts":..  (caller
 * adds fields and the closing brace). */
static void ev_begin(chrome *c, const char *ph, track *t, int64_t ns, const char *name)
{
    FILE *f = c->f;
    if (t) {
        if (ns < t->last)
            ns = t->last;
        t->last = ns;
    }
    fputs(c->first_event ? "\n" : ",\n", f);
    c->first_event = false;
    fprintf(f, "{\"ph\":\"%s\",\"name\":", ph);
    dmt_json_puts(f, name, DMT_JSON_DEL);
    fprintf(f, ",\"pid\":1,\"tid\":%u,\"ts\":", t ? t->tid : 0u);
    jtime(f, ns);
    c->st.events++;
}

static void meta_thread(chrome *c, uint32_t tid, const char *name, uint32_t sort)
{
    FILE *f = c->f;
    fputs(c->first_event ? "\n" : ",\n", f);
    c->first_event = false;
    fprintf(f,
            "{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":1,\"tid\":%u,\"ts\":0,"
            "\"args\":{\"name\":",
            tid);
    dmt_json_puts(f, name, DMT_JSON_DEL);
    fputs("}}", f);
    fprintf(f,
            ",\n{\"ph\":\"M\",\"name\":\"thread_sort_index\",\"pid\":1,\"tid\":%u,\"ts\":0,"
            "\"args\":{\"sort_index\":%u}}",
            tid, sort);
    c->st.events += 2;
    c->st.metadata += 2;
}

static track *track_find(chrome *c, int kind, uint32_t key, uint32_t lane, uint32_t dev)
{
    for (uint32_t i = 0; i < c->n_tracks; i++)
        if (c->tracks[i].kind == kind && c->tracks[i].key == key && c->tracks[i].lane == lane)
            return &c->tracks[i];
    if (c->n_tracks == MAX_TRACKS)
        return NULL;
    track *t = &c->tracks[c->n_tracks++];
    memset(t, 0, sizeof *t);
    t->kind = kind;
    t->key = key;
    t->lane = lane;
    t->head = t->tail = -1;
    t->busy_until = INT64_MIN;
    char name[64];
    uint32_t sort;
    switch (kind) {
    case 4:
        t->tid = 1;
        snprintf(name, sizeof name, "findings");
        sort = 0;
        break;
    case 5:
        t->tid = 2;
        snprintf(name, sizeof name, "markers and loss");
        sort = 1;
        break;
    case 1:
        t->tid = c->next_tid++;
        for (uint32_t i = 0; i < c->n_ad_dev; i++)
            if (c->ad_dev[i].adapter == key)
                dev = c->ad_dev[i].dev;
        if (dev)
            snprintf(name, sizeof name, "adapter %u (dev%u)", key, dev);
        else
            snprintf(name, sizeof name, "adapter %u", key);
        if (lane)
            snprintf(name + strlen(name), sizeof name - strlen(name), " #%u", lane + 1);
        sort = (100 + c->n_tracks) * 64;
        for (uint32_t i = 0; lane && i + 1 < c->n_tracks; i++)
            if (c->tracks[i].kind == 1 && c->tracks[i].key == key && c->tracks[i].lane == 0)
                sort = c->tracks[i].sort + (lane < 63 ? lane : 63);
        break;
    case 2:
        t->tid = c->next_tid++;
        snprintf(name, sizeof name, "dev%u interrupts", key);
        sort = (100 + c->n_tracks) * 64;
        break;
    default:
        t->tid = c->next_tid++;
        snprintf(name, sizeof name, "dev%u registers", key);
        sort = (100 + c->n_tracks) * 64;
        break;
    }
    t->sort = sort;
    c->st.tracks++;
    meta_thread(c, t->tid, name, sort);
    return t;
}

static track *track_get(chrome *c, int kind, uint32_t key, uint32_t dev)
{
    return track_find(c, kind, key, 0, dev);
}

/* ---- transfers -------------------------------------------------------------------------- */

static int32_t pend_alloc(chrome *c)
{
    if (c->free_head < 0) {
        uint32_t ncap = c->pend_cap ? c->pend_cap * 2 : 64;
        pending *np = realloc(c->pend, sizeof *np * ncap);
        if (!np)
            return -1;
        c->pend = np;
        for (uint32_t i = ncap; i-- > c->pend_cap;) {
            c->pend[i].used = false;
            c->pend[i].sg = NULL;
            c->pend[i].next = c->free_head;
            c->free_head = (int32_t)i;
        }
        c->pend_cap = ncap;
    }
    int32_t i = c->free_head;
    c->free_head = c->pend[i].next;
    memset(&c->pend[i], 0, sizeof c->pend[i]);
    c->pend[i].used = true;
    c->pend[i].next = -1;
    return i;
}

static void pend_release(chrome *c, int32_t i)
{
    pending *p = &c->pend[i];
    if (p->sg) {
        c->sg_kept -= p->n_sg;
        free(p->sg);
        p->sg = NULL;
    }
    p->used = false;
    p->next = c->free_head;
    c->free_head = i;
}

static pending *pend_find(chrome *c, track *t, uint32_t xfer)
{
    for (int32_t i = t->head; i >= 0; i = c->pend[i].next)
        if (c->pend[i].xfer == xfer)
            return &c->pend[i];
    return NULL;
}

/* Transfers that overlap in time go to further lanes of their adapter, so
 * that no lane holds two overlapping complete events (Perfetto nests
 * same-track slices and refuses partial overlaps). */
static track *lane_for(chrome *c, track *t0, int64_t start)
{
    for (uint32_t lane = 0;; lane++) {
        track *t = lane ? track_find(c, 1, t0->key, lane, 0) : t0;
        if (!t)
            return t0; /* out of tracks: share lane 0 */
        if (t->busy_until <= start)
            return t;
    }
}

static void emit_transfer(chrome *c, track *t0, pending *p, bool forced)
{
    FILE *f = c->f;
    char name[96];
    uint64_t bytes = p->executed ? p->granted : p->requested;
    const char *dir = p->started ? (p->wtd ? "to-device" : "from-device") : "direction-unknown";
    snprintf(name, sizeof name, "xfer %u %s %" PRIu64 " B", p->xfer, dir, bytes);
    int64_t end = p->completed ? p->t_end : c->t_last;
    track *t = lane_for(c, t0, p->t_start);
    ev_begin(c, "X", t, p->t_start, name);
    int64_t start = t->last;
    t->busy_until = end > start ? end : start;
    fputs(",\"cat\":\"transfer\",\"dur\":", f);
    jtime(f, end > start ? end - start : 0);
    const char *outcome = p->start_failed           ? "failed"
                          : !p->completed           ? "not-completed"
                          : p->complete_status != 0 ? "failed"
                                                    : "completed";
    fprintf(f, ",\"args\":{\"xfer\":%u,\"adapter\":%u,\"direction\":\"%s\",\"outcome\":\"%s\"",
            p->xfer, p->adapter, dir, outcome);
    if (p->started)
        fprintf(f,
                ",\"mdl\":%u,\"offset\":%" PRIu64 ",\"requested\":%" PRIu64
                ",\"context\":\"0x%" PRIx64 "\"",
                p->mdl, p->offset, p->requested, p->context);
    if (p->executed)
        fprintf(f, ",\"granted\":%" PRIu64 ",\"sg_elements\":%u", p->granted, p->n_sg);
    if (p->executed && (p->xfer_flags & DMT_XF_BOUNCE_CHECKED))
        fprintf(f, ",\"bounced\":%s", p->xfer_flags & DMT_XF_BOUNCED ? "true" : "false");
    if (p->ended)
        fprintf(f, ",\"start_status\":%u", p->end_status);
    if (p->completed)
        fprintf(f, ",\"complete_status\":%u", p->complete_status);
    if (p->start_seq != UINT64_MAX)
        fprintf(f, ",\"seq\":%" PRIu64, p->start_seq);
    if (forced)
        fputs(",\"forced\":true", f);
    if (p->sg) {
        fputs(",\"sg\":[", f);
        for (uint32_t i = 0; i < p->n_sg; i++)
            fprintf(f, "%s[\"0x%" PRIx64 "\",%u]", i ? "," : "", p->sg[i].addr, p->sg[i].len);
        fputc(']', f);
    } else if (p->sg_omitted) {
        fputs(",\"sg_omitted\":true", f);
    }
    fputs("}}", f);
    c->st.transfers++;
}

/* Emit completed transfers from the head of t's queue. */
static void drain_queue(chrome *c, track *t, bool all)
{
    while (t->head >= 0) {
        int32_t i = t->head;
        pending *p = &c->pend[i];
        bool force = !p->completed && (all || t->queued > QUEUE_MAX);
        if (!p->completed && !force)
            break;
        emit_transfer(c, t, p, force && !all);
        t->head = p->next;
        if (t->head < 0)
            t->tail = -1;
        t->queued--;
        pend_release(c, i);
    }
}

static pending *transfer_for(chrome *c, const dmt_record *r, bool create, track **tp)
{
    track *t = track_get(c, 1, r->adapter, 0);
    *tp = t;
    if (!t)
        return NULL;
    pending *p = pend_find(c, t, r->xfer);
    if (p || !create)
        return p;
    int32_t i = pend_alloc(c);
    if (i < 0) {
        c->error = DMT_E_NOMEM;
        return NULL;
    }
    p = &c->pend[i];
    p->xfer = r->xfer;
    p->adapter = r->adapter;
    p->t_start = rel(c, r->ts);
    p->start_seq = r->seq;
    if (t->tail >= 0)
        c->pend[t->tail].next = i;
    else
        t->head = i;
    t->tail = i;
    t->queued++;
    return p;
}

/* ---- the record pass ------------------------------------------------------------------------ */

static void on_finding(void *user, const dmt_finding *fd)
{
    chrome *c = user;
    FILE *f = c->f;
    track *t = track_get(c, 4, 0, 0);
    const dmt_audit_rule_info *ri = &dmt_audit_rules()[fd->rule];
    ev_begin(c, "i", t, rel(c, fd->ts), ri->id);
    fprintf(f, ",\"cat\":\"finding\",\"s\":\"t\",\"args\":{\"severity\":\"%s\",\"dv\":",
            dmt_audit_severity_name(fd->severity));
    dmt_json_puts(f, ri->dv, DMT_JSON_DEL);
    fprintf(f, ",\"uncertain\":%s,\"seq\":%" PRIu64 ",\"records\":[",
            fd->uncertain ? "true" : "false", fd->seq);
    for (uint32_t k = 0; k < fd->n_refs; k++)
        fprintf(f, "%s%" PRIu64, k ? "," : "", fd->refs[k]);
    fputs("],\"message\":", f);
    dmt_json_puts(f, fd->message, DMT_JSON_DEL);
    if (fd->xfer)
        fprintf(f, ",\"xfer\":%u", fd->xfer);
    if (fd->adapter)
        fprintf(f, ",\"adapter\":%u", fd->adapter);
    if (fd->uncertain) {
        fputs(",\"uncertain_why\":", f);
        dmt_json_puts(f, fd->uncertain_why, DMT_JSON_DEL);
    }
    fputs("}}", f);
    c->st.findings++;
}

/* Counter values are doubles: 53 bits hold exactly. */
static uint64_t counter_value(uint64_t v)
{
    return v > (UINT64_C(1) << 53) ? (UINT64_C(1) << 53) : v;
}

static void reg_counter(chrome *c, uint32_t dev, uint64_t off, unsigned width, uint64_t value,
                        int64_t t)
{
    char name[600];
    track *tr = track_get(c, 3, dev, dev);
    const rmap_decoded *d = c->names ? rmap_namer_decode(c->names, off, width * 8u, value) : NULL;
    if (d)
        snprintf(name, sizeof name, "dev%u %s", dev, d->name);
    else
        snprintf(name, sizeof name, "dev%u 0x%" PRIx64, dev, off);
    ev_begin(c, "C", tr, t, name);
    fprintf(c->f, ",\"cat\":\"register\",\"args\":{\"value\":%" PRIu64, counter_value(value));
    /* one counter series per field, by name */
    for (unsigned i = 0; d && i < d->n_fields; i++) {
        fputc(',', c->f);
        dmt_json_puts(c->f, d->fields[i].name, DMT_JSON_DEL);
        fprintf(c->f, ":%" PRIu64, counter_value(d->fields[i].raw));
    }
    fputs("}}", c->f);
    c->st.counters++;
}

static int chrome_record(void *ctx, const dmt_record *r, uint64_t index)
{
    chrome *c = ctx;
    FILE *f = c->f;
    if (!c->have_t0) {
        c->t0 = r->ts;
        c->have_t0 = true;
    }
    c->st.records++;
    int64_t t = rel(c, r->ts);
    if (t > c->t_last)
        c->t_last = t;
    track *tr;
    pending *p;
    switch (r->kind) {
    case DMT_K_ADAPTER_CREATE:
        if (c->n_ad_dev < sizeof c->ad_dev / sizeof c->ad_dev[0]) {
            c->ad_dev[c->n_ad_dev].adapter = r->adapter;
            c->ad_dev[c->n_ad_dev].dev = r->dev;
            c->n_ad_dev++;
        }
        break;
    case DMT_K_REG_WRITE:
        reg_counter(c, r->dev, r->off, r->width, r->value, t);
        break;
    case DMT_K_REG_WRITE_BUF:
        for (uint32_t i = 0; i < r->n_values; i++)
            reg_counter(c, r->dev, r->off + (uint64_t)r->width * i, r->width, r->values[i], t);
        break;
    case DMT_K_START_DMA:
        p = transfer_for(c, r, true, &tr);
        if (p) {
            p->started = true;
            p->mdl = r->mdl;
            p->offset = r->offset;
            p->requested = r->length;
            p->wtd = r->write_to_device;
            p->context = r->context;
        }
        break;
    case DMT_K_EXECUTE_DMA:
        p = transfer_for(c, r, true, &tr);
        if (p && !p->executed) {
            p->executed = true;
            p->granted = r->length;
            p->n_sg = r->n_sg;
            p->xfer_flags = r->xfer_flags;
            if (c->sg_kept + r->n_sg <= SG_KEEP_MAX && r->n_sg) {
                p->sg = malloc(sizeof(dmt_sg_elem) * r->n_sg);
                if (p->sg) {
                    for (uint32_t i = 0; i < r->n_sg; i++)
                        p->sg[i] = dmt_record_sg_at(r, i);
                    c->sg_kept += r->n_sg;
                }
            }
            p->sg_omitted = !p->sg && r->n_sg;
        }
        break;
    case DMT_K_START_DMA_END:
        p = transfer_for(c, r, false, &tr);
        if (p) {
            p->ended = true;
            p->end_status = r->status;
            if (r->status != 0 && !p->executed) { /* failed: nothing will follow */
                p->start_failed = true;
                p->completed = true;
                p->t_end = t;
                drain_queue(c, tr, false);
            }
        }
        break;
    case DMT_K_COMPLETE_DMA:
        p = r->xfer ? transfer_for(c, r, false, &tr) : NULL;
        if (p && !p->completed) {
            p->completed = true;
            p->complete_status = r->status;
            p->t_end = t;
            drain_queue(c, tr, false);
        }
        break;
    case DMT_K_INTERRUPT:
        tr = track_get(c, 2, r->dev, r->dev);
        ev_begin(c, "i", tr, t, r->claimed ? "interrupt" : "interrupt (not claimed)");
        fprintf(f,
                ",\"cat\":\"interrupt\",\"s\":\"t\",\"args\":{\"dev\":%u,\"claimed\":%s,"
                "\"value\":\"0x%" PRIx64 "\",\"seq\":%" PRIu64 "}}",
                r->dev, r->claimed ? "true" : "false", r->value, r->seq);
        c->st.interrupts++;
        break;
    case DMT_K_DPC:
        tr = track_get(c, 2, r->dev, r->dev);
        ev_begin(c, "i", tr, t, "dpc");
        fprintf(f,
                ",\"cat\":\"dpc\",\"s\":\"t\",\"args\":{\"dev\":%u,\"xfer\":%u,\"seq\":%" PRIu64
                "}}",
                r->dev, r->xfer, r->seq);
        c->st.dpcs++;
        break;
    case DMT_K_MARKER: {
        char name[MARKER_NAME + 1];
        size_t n = r->n_bytes < MARKER_NAME ? r->n_bytes : MARKER_NAME;
        for (size_t i = 0; i < n; i++)
            name[i] = r->bytes[i] >= 0x20 && r->bytes[i] < 0x7f ? (char)r->bytes[i] : '?';
        name[n] = 0;
        tr = track_get(c, 5, 0, 0);
        ev_begin(c, "i", tr, t, name);
        fputs(",\"cat\":\"marker\",\"s\":\"t\",\"args\":{\"text\":", f);
        /* text from a trace is not necessarily UTF-8: keep printable ASCII */
        dmt_json_write(f, (const char *)r->bytes, r->n_bytes, DMT_JSON_ASCII);
        fprintf(f, ",\"seq\":%" PRIu64 "}}", r->seq);
        c->st.markers++;
        break;
    }
    case DMT_K_LOST: {
        char name[64];
        snprintf(name, sizeof name, "lost %" PRIu64 " records", r->count);
        tr = track_get(c, 5, 0, 0);
        ev_begin(c, "i", tr, t, name);
        fprintf(f,
                ",\"cat\":\"lost\",\"s\":\"p\",\"args\":{\"first_seq\":%" PRIu64
                ",\"count\":%" PRIu64 ",\"reason\":%u}}",
                r->value, r->count, r->reason);
        c->st.lost++;
        break;
    }
    default:
        break;
    }
    if (c->audit && dmt_audit_add(c->audit, r, index) < 0)
        c->error = DMT_E_NOMEM;
    if (ferror(f) && !c->error) {
        c->error = DMT_E_IO;
        c->sys_errno = errno;
    }
    return c->error ? c->error : 0;
}

/* A temporary name next to path; the caller renames it over path. */
static FILE *open_temp(const char *path, char *tmp, size_t cap, dmt_error *err)
{
    snprintf(tmp, cap, "%s.tmp-XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int e = errno;
        dmt_error_set(err, DMT_E_IO, DMT_NO_INDEX, DMT_NO_INDEX, "%s: cannot create: %s", path,
                      strerror(e));
        if (err)
            err->sys_errno = e;
        return NULL;
    }
    fchmod(fd, 0644);
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        unlink(tmp);
        dmt_error_set(err, DMT_E_IO, DMT_NO_INDEX, DMT_NO_INDEX, "%s: cannot create", path);
    }
    return f;
}

static int finish_temp(FILE *f, const char *tmp, const char *path, int rc, dmt_error *err)
{
    bool bad = ferror(f) != 0;
    if (fflush(f) != 0 || fsync(fileno(f)) != 0)
        bad = true;
    if (fclose(f) != 0)
        bad = true;
    if (rc == 0 && bad)
        rc = dmt_error_set(err, DMT_E_IO, DMT_NO_INDEX, DMT_NO_INDEX, "%s: write failed: %s", path,
                           strerror(errno));
    if (rc == 0 && rename(tmp, path) != 0)
        rc = dmt_error_set(err, DMT_E_IO, DMT_NO_INDEX, DMT_NO_INDEX, "%s: cannot rename: %s", path,
                           strerror(errno));
    if (rc != 0)
        unlink(tmp);
    return rc;
}

int dmt_export_chrome(const char *in, const char *out, const dmt_export_opts *opts,
                      dmt_export_stats *stats, dmt_error *err)
{
    dmt_export_opts o;
    memset(&o, 0, sizeof o);
    if (opts)
        o = *opts;
    dmt_source *src;
    int rc = dmt_source_open(in, 0, &src, err);
    if (rc < 0)
        return rc;
    chrome *c = calloc(1, sizeof *c);
    if (!c) {
        dmt_source_close(src);
        return dmt_error_set(err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX, "out of memory");
    }
    c->first_event = true;
    c->next_tid = 10;
    c->free_head = -1;
    if (o.regmap && !(c->names = rmap_namer_new(o.regmap, o.regmap_domain))) {
        free(c);
        return dmt_error_set(err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX, "out of memory");
    }
    if (!o.no_findings) {
        dmt_audit_config ac;
        memset(&ac, 0, sizeof ac);
        ac.rules = o.rules;
        ac.end_is_unload = o.end_is_unload;
        ac.sink = on_finding;
        ac.user = c;
        c->audit = dmt_audit_new(&ac);
        if (!c->audit) {
            rmap_namer_free(c->names);
            free(c);
            dmt_source_close(src);
            return dmt_error_set(err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX, "out of memory");
        }
    }
    char tmp[4096 + 16];
    c->f = open_temp(out, tmp, sizeof tmp, err);
    if (!c->f) {
        dmt_audit_free(c->audit);
        rmap_namer_free(c->names);
        free(c);
        dmt_source_close(src);
        return DMT_E_IO;
    }
    FILE *f = c->f;
    fputs("{\"displayTimeUnit\":\"ns\",\"otherData\":{\"producer\":\"dmatrace export\","
          "\"source\":",
          f);
    dmt_json_puts(f, in, DMT_JSON_DEL);
    fputs(",\"time_unit\":\"us since the first record\"},\"traceEvents\":[", f);
    fputs("\n{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":1,\"tid\":0,\"ts\":0,\"args\":{"
          "\"name\":",
          f);
    {
        const char *base = strrchr(in, '/');
        char pname[300];
        snprintf(pname, sizeof pname, "dmatrace %s", base ? base + 1 : in);
        dmt_json_puts(f, pname, DMT_JSON_DEL);
    }
    fputs("}}", f);
    c->first_event = false;
    c->st.events++;
    c->st.metadata++;
    /* fixed tracks first, so they sort on top */
    track_get(c, 4, 0, 0);
    track_get(c, 5, 0, 0);

    rc = dmt_source_walk(src, chrome_record, c, err);
    bool cut = rc == 0 && dmt_source_cut(src, NULL, NULL);
    dmt_source_close(src);
    if (c->error == DMT_E_IO) /* the output failed, not the record it was writing */
        rc = dmt_error_set(err, DMT_E_IO, DMT_NO_INDEX, DMT_NO_INDEX, "%s: write failed: %s", out,
                           strerror(c->sys_errno ? c->sys_errno : EIO));
    if (rc == 0 && c->audit)
        dmt_audit_finish(c->audit, cut);
    if (rc == 0)
        for (uint32_t i = 0; i < c->n_tracks; i++)
            if (c->tracks[i].kind == 1 && c->tracks[i].lane == 0)
                drain_queue(c, &c->tracks[i], true);
    if (rc == 0 && c->error)
        rc = dmt_error_set(err, c->error, DMT_NO_INDEX, DMT_NO_INDEX, "%s",
                           c->error == DMT_E_NOMEM ? "out of memory" : "write failed");
    fputs("\n]}\n", f);
    rc = finish_temp(f, tmp, out, rc, err);
    if (stats)
        *stats = c->st;
    for (uint32_t i = 0; i < c->pend_cap; i++)
        if (c->pend[i].used)
            free(c->pend[i].sg);
    free(c->pend);
    dmt_audit_free(c->audit);
    rmap_namer_free(c->names);
    free(c);
    return rc;
}

/* ---- CSV ----------------------------------------------------------------------------------------
 */

static void csv_text(FILE *f, const unsigned char *s, int n)
{
    bool quote = n == 0;
    for (int i = 0; i < n && !quote; i++)
        if (s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r' ||
            (i == 0 && (s[i] == ' ' || s[i] == '\\')) || (i == n - 1 && s[i] == ' '))
            quote = true;
    if (!quote) {
        fwrite(s, 1, (size_t)n, f);
        return;
    }
    fputc('"', f);
    for (int i = 0; i < n; i++) {
        if (s[i] == '"')
            fputc('"', f);
        fputc(s[i], f);
    }
    fputc('"', f);
}

static int sql_err(sqlite3 *db, dmt_error *err, const char *what)
{
    return dmt_error_set(err, DMT_E_IO, DMT_NO_INDEX, DMT_NO_INDEX, "%s: %s", what,
                         sqlite3_errmsg(db));
}

/* "table" -> PostgreSQL type of a declared SQLite column type. */
static const char *pg_type(const char *decl)
{
    if (!decl || !*decl)
        return "text";
    if (strstr(decl, "INT"))
        return "bigint";
    if (strstr(decl, "BLOB"))
        return "bytea";
    if (strstr(decl, "REAL") || strstr(decl, "FLOA") || strstr(decl, "DOUB"))
        return "double precision";
    return "text";
}

static int dump_table(sqlite3 *db, const char *dir, const char *table, FILE *psql,
                      dmt_export_stats *st, dmt_error *err)
{
    char path[4096], tmp[4096 + 16], sql[512];
    snprintf(path, sizeof path, "%s/%s.csv", dir, table);
    snprintf(sql, sizeof sql, "SELECT * FROM \"%s\"", table);
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK)
        return sql_err(db, err, table);
    FILE *f = open_temp(path, tmp, sizeof tmp, err);
    if (!f) {
        sqlite3_finalize(q);
        return DMT_E_IO;
    }
    int nc = sqlite3_column_count(q);
    /* header, and the PostgreSQL table */
    fprintf(psql, "CREATE TABLE \"%s\" (", table);
    for (int i = 0; i < nc; i++) {
        const char *name = sqlite3_column_name(q, i);
        if (i)
            fputc(',', f);
        csv_text(f, (const unsigned char *)name, (int)strlen(name));
        const char *decl = sqlite3_column_decltype(q, i);
        if (!decl && !strcmp(table, "transfers") &&
            (!strcmp(name, "sg_first") || !strcmp(name, "truncated")))
            decl = "INTEGER"; /* computed by the view: no declared type (outcome: text) */
        fprintf(psql, "%s\"%s\" %s", i ? ", " : "", name, pg_type(decl));
    }
    fputs("\r\n", f);
    fprintf(psql, ");\n\\copy \"%s\" FROM '%s.csv' WITH (FORMAT csv, HEADER true)\n", table, table);
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        for (int i = 0; i < nc; i++) {
            if (i)
                fputc(',', f);
            switch (sqlite3_column_type(q, i)) {
            case SQLITE_NULL:
                break;
            case SQLITE_INTEGER:
                fprintf(f, "%lld", (long long)sqlite3_column_int64(q, i));
                break;
            case SQLITE_FLOAT:
                fprintf(f, "%.17g", sqlite3_column_double(q, i));
                break;
            case SQLITE_BLOB: {
                const unsigned char *b = sqlite3_column_blob(q, i);
                int n = sqlite3_column_bytes(q, i);
                fputs("\\x", f); /* PostgreSQL bytea hex input */
                for (int k = 0; k < n; k++)
                    fprintf(f, "%02x", b[k]);
                break;
            }
            default:
                csv_text(f, sqlite3_column_text(q, i), sqlite3_column_bytes(q, i));
                break;
            }
        }
        fputs("\r\n", f);
        st->events++;
    }
    sqlite3_finalize(q);
    int r = rc == SQLITE_DONE ? 0 : sql_err(db, err, table);
    r = finish_temp(f, tmp, path, r, err);
    if (r == 0)
        st->tables++;
    return r;
}

static int dump_db(const char *db_path, const char *dir, dmt_export_stats *st, dmt_error *err)
{
    dmt_store *store;
    int rc = dmt_store_open(db_path, DMT_STORE_RDONLY, &store, err);
    if (rc)
        return rc;
    sqlite3 *db = dmt_store_sqlite(store);
    sqlite3_stmt *q;
    /* every table, with the view `transfers` for the table under it
     * (transfer_rows: the view adds the computed columns, schema/store.sql) */
    if (sqlite3_prepare_v2(db,
                           "SELECT name FROM sqlite_master WHERE (type = 'table' AND name != "
                           "'transfer_rows' OR type = 'view' AND name = 'transfers') AND name NOT "
                           "LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
                           -1, &q, NULL) != SQLITE_OK) {
        rc = sql_err(db, err, "listing the tables");
        dmt_store_close(store);
        return rc;
    }
    char lpath[4096], ltmp[4096 + 16], ppath[4096], ptmp[4096 + 16];
    snprintf(lpath, sizeof lpath, "%s/load.sqlite", dir);
    snprintf(ppath, sizeof ppath, "%s/load.psql", dir);
    FILE *lf = open_temp(lpath, ltmp, sizeof ltmp, err);
    FILE *pf = lf ? open_temp(ppath, ptmp, sizeof ptmp, err) : NULL;
    if (!lf || !pf) {
        if (lf) {
            fclose(lf);
            unlink(ltmp);
        }
        sqlite3_finalize(q);
        dmt_store_close(store);
        return DMT_E_IO;
    }
    fputs("-- load.sqlite: load these CSV files into a new database with the sqlite3 shell,\n"
          "-- from this directory:  sqlite3 NEW.db < load.sqlite\n"
          "-- (columns are created from the header rows; values load as text).\n",
          lf);
    fputs("-- load.psql: load these CSV files into PostgreSQL with psql, from this\n"
          "-- directory:  psql -d DB -f load.psql\n"
          "-- 64-bit unsigned trace values are stored as signed bigint (as in SQLite).\n",
          pf);
    while (rc == 0 && sqlite3_step(q) == SQLITE_ROW) {
        const char *table = (const char *)sqlite3_column_text(q, 0);
        char name[256];
        snprintf(name, sizeof name, "%s", table ? table : "");
        bool ok = name[0] != 0;
        for (const char *p = name; *p && ok; p++)
            ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                 *p == '_';
        if (!ok)
            continue; /* not a name we can use as a file name */
        fprintf(lf, ".import --csv %s.csv %s\n", name, name);
        rc = dump_table(db, dir, name, pf, st, err);
    }
    sqlite3_finalize(q);
    dmt_store_close(store);
    int r1 = finish_temp(lf, ltmp, lpath, rc, err);
    int r2 = finish_temp(pf, ptmp, ppath, r1, err);
    return r2;
}

typedef struct fcol {
    dmt_finding *f;
    size_t n, cap;
} fcol;

static void fcollect(void *user, const dmt_finding *f)
{
    fcol *c = user;
    if (c->n == c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 256;
        if (ncap > 1000000)
            return;
        dmt_finding *nf = realloc(c->f, sizeof *nf * ncap);
        if (!nf)
            return;
        c->f = nf;
        c->cap = ncap;
    }
    c->f[c->n++] = *f;
}

int dmt_export_csv(const char *in, const char *dir, const dmt_export_opts *opts,
                   dmt_export_stats *stats, dmt_error *err)
{
    dmt_export_opts o;
    memset(&o, 0, sizeof o);
    if (opts)
        o = *opts;
    dmt_export_stats st;
    memset(&st, 0, sizeof st);
    int kind = dmt_sniff(in, err);
    if (kind < 0)
        return kind;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return dmt_error_set(err, DMT_E_IO, DMT_NO_INDEX, DMT_NO_INDEX, "%s: cannot create: %s",
                             dir, strerror(errno));
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return dmt_error_set(err, DMT_E_USAGE, DMT_NO_INDEX, DMT_NO_INDEX, "%s: not a directory",
                             dir);
    if (kind == DMT_FILE_DB) {
        int rc = dump_db(in, dir, &st, err);
        if (stats)
            *stats = st;
        return rc;
    }
    /* a trace: through a temporary database, with its findings */
    char db[4096 + 32];
    snprintf(db, sizeof db, "%s/.dmatrace-export-XXXXXX", dir);
    int fd = mkstemp(db);
    if (fd < 0)
        return dmt_error_set(err, DMT_E_IO, DMT_NO_INDEX, DMT_NO_INDEX,
                             "%s: cannot create a temporary database: %s", dir, strerror(errno));
    close(fd);
    dmt_store_import_opts io;
    memset(&io, 0, sizeof io);
    io.allow_cut = true;
    io.regmap = o.regmap;
    io.regmap_domain = o.regmap_domain;
    io.regmap_name = o.regmap_name;
    dmt_store_import_result ir;
    int rc = dmt_store_import(in, db, &io, &ir, err);
    if (rc == 0)
        st.records = ir.records;
    if (rc == 0 && !o.no_findings) {
        fcol col;
        memset(&col, 0, sizeof col);
        dmt_audit_config ac;
        memset(&ac, 0, sizeof ac);
        ac.rules = o.rules;
        ac.end_is_unload = o.end_is_unload;
        ac.sink = fcollect;
        ac.user = &col;
        rc = dmt_audit_file(in, &ac, NULL, err);
        if (rc == 0)
            rc = dmt_audit_store_findings(db, col.f, col.n, err);
        st.findings = col.n;
        free(col.f);
    }
    if (rc == 0)
        rc = dump_db(db, dir, &st, err);
    unlink(db);
    char side[4096 + 48];
    snprintf(side, sizeof side, "%s-journal", db);
    unlink(side);
    snprintf(side, sizeof side, "%s-wal", db);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", db);
    unlink(side);
    if (stats)
        *stats = st;
    return rc;
}
