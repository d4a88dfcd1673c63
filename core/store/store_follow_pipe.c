/*
 * store_follow_pipe.c - dmt_follow_pipe: reading, verifying and auditing a
 * growing trace on a thread of its own, batches of record copies handed to
 * the thread that writes the store (see dmt/follow_pipe.h).
 *
 *   reader thread (reader_main)            caller's thread
 *   fills slot[head]:                      takes slot[tail] (full),
 *     dmt_follow_next -> dmt_audit_add     reads it, releases it
 *     -> copy (dmt_imp_copy_parts)
 *     findings -> the same slot
 *   full[head] = true  ---- mu, cv ---->   full[tail] = false
 *   head++ (ring of NSLOT)  <---- cv ----  tail++
 *
 * Invariants (the hand-offs)
 *  - A slot belongs to the reader thread while full[i] is false and to
 *    the caller while it is true; full[] changes under mu only, and each
 *    side reads or writes a slot's contents only while it owns it, so the
 *    mutex orders every write of a slot before the other side's reads.
 *  - Slots are filled and taken in one cyclic order (head, tail): records,
 *    boundaries and findings arrive in file order, each record once.
 *  - dmt_follow, the audit and `index` are the reader thread's alone from
 *    start until it is joined; the caller never touches them.
 *  - The audit sink runs on the reader thread, inside dmt_audit_add or
 *    dmt_audit_finish, and appends to the slot being filled: a finding goes
 *    out with the record that produced it (finish's: with the last batch).
 *  - A batch is published when it is full (PIPE_RECORDS records, or the
 *    arena near its end), when dmt_follow has nothing verified (caught_up,
 *    only when it holds records or findings), or at the end (status <= 0;
 *    the reader thread ends after it).
 *  - The reader thread, finding the next slot full, waits until at most
 *    half of them are full (reader_waits: only then does a release wake
 *    it), so a follower that is behind wakes it once per NSLOT/2 batches,
 *    not once per batch.  Slots are still filled in ring order: the next
 *    one is free once any are (the caller frees them in the same order).
 *  - Without the thread (threaded false: one CPU), take fills slot 0 on
 *    the caller's thread with the same code; nothing is shared then.
 *  - stop (under mu) ends the reader thread at its next check: between
 *    records every CHECK_RECS, while it waits for a free slot, and while it
 *    polls a trace with nothing new.
 * Memory: NSLOT slots of fixed size plus each slot's findings (at most one
 * batch's: the audit's own bounds limit what one record or the end yields).
 */
#include "dmt/follow_pipe.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store_import_internal.h"

#define NSLOT DMT_FOLLOW_PIPE_BATCHES
/* Small batches, so a slot's records may still be in the caches when the
 * follower takes them (4096 records of 272 bytes, the import's batch, is
 * 1.1 MB a slot); under load 256 and 4096 measured alike (catch-up: 0.19 +
 * 0.14 against 0.17 + 0.14 s/M on the two threads), not yet compared on
 * an idle machine. */
#define PIPE_RECORDS 256
#define PIPE_ARENA   (4 * VAR_MAX)
#define POLL_MS      10 /* nothing new in the trace: poll this often */
#define CHECK_RECS   128u

typedef struct slot {
    dmt_follow_batch b; /* what the caller sees (points into the arrays below) */
    dmt_record rec[PIPE_RECORDS];
    unsigned bound_at[PIPE_RECORDS];
    dmt_reader_resume bound[PIPE_RECORDS];
    uint8_t *arena;
    size_t used;
    dmt_finding *found;
    size_t n_found, cap_found;
    bool oom; /* a finding did not fit: the batch ends the pipe with DMT_E_NOMEM */
} slot;

struct dmt_follow_pipe {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    slot *s[NSLOT];
    bool full[NSLOT];  /* mu */
    unsigned nfull;    /* mu: slots full */
    bool reader_waits; /* mu: for free slots (woken when half are free) */
    unsigned head;     /* reader thread's */
    unsigned tail;     /* caller's */
    bool stop;         /* mu */
    bool taken_last;   /* caller's: the last batch was taken */
    bool threaded;     /* else the caller's thread fills slot 0 in take */
    bool started;
    pthread_t th;
    /* the reader thread's */
    dmt_follow *fl;
    dmt_audit *au;
    slot *cur; /* the slot being filled (the audit sink's target) */
    uint64_t index;
    uint64_t bound_off;
    bool stalled;
};

static void on_finding(void *user, const dmt_finding *f)
{
    dmt_follow_pipe *p = user;
    slot *s = p->cur;
    if (s->n_found == s->cap_found) {
        size_t cap = s->cap_found ? 2 * s->cap_found : 64;
        dmt_finding *nf = realloc(s->found, cap * sizeof *nf);
        if (!nf) {
            s->oom = true;
            return;
        }
        s->found = nf;
        s->cap_found = cap;
    }
    s->found[s->n_found++] = *f;
}

static bool stopping(dmt_follow_pipe *p)
{
    pthread_mutex_lock(&p->mu);
    bool stop = p->stop;
    pthread_mutex_unlock(&p->mu);
    return stop;
}

/* ms from now, for pthread_cond_timedwait */
static struct timespec deadline(unsigned ms)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    t.tv_nsec += (long)ms * 1000000l;
    t.tv_sec += t.tv_nsec / 1000000000l;
    t.tv_nsec %= 1000000000l;
    return t;
}

/* Wait up to ms for stop; true when stopping. */
static bool nap(dmt_follow_pipe *p, unsigned ms)
{
    struct timespec t = deadline(ms);
    pthread_mutex_lock(&p->mu);
    while (!p->stop)
        if (pthread_cond_timedwait(&p->cv, &p->mu, &t) == ETIMEDOUT)
            break;
    bool stop = p->stop;
    pthread_mutex_unlock(&p->mu);
    return stop;
}

enum { FILL_READY, FILL_EMPTY, FILL_STOP };

/* Fill slot s until it is full, nothing new is verified, or the end:
 * FILL_READY; FILL_EMPTY when nothing new is verified and the slot is
 * empty; FILL_STOP when stopped. */
static int fill(dmt_follow_pipe *p, slot *s)
{
    dmt_follow_batch *b = &s->b;
    memset(b, 0, sizeof *b);
    b->rec = s->rec;
    b->bound = s->bound;
    b->bound_at = s->bound_at;
    b->status = 1;
    b->ts_min = INT64_MAX;
    b->ts_max = INT64_MIN;
    s->used = 0;
    s->n_found = 0;
    s->oom = false;
    p->cur = s;
    unsigned n = 0;
    while (n < PIPE_RECORDS && s->used + VAR_MAX + 64 <= PIPE_ARENA) {
        dmt_record *r = &s->rec[n];
        int rc = dmt_follow_next(p->fl, r, &b->err);
        if (rc == 1) {
            dmt_reader_resume *rp = &s->bound[b->nbound];
            dmt_reader_boundary(dmt_follow_reader(p->fl), rp);
            if (rp->offset != p->bound_off || !p->index) {
                p->bound_off = rp->offset;
                s->bound_at[b->nbound++] = n;
            }
            if (p->au && dmt_audit_add(p->au, r, p->index) != 0) {
                b->status = dmt_error_set(&b->err, DMT_E_NOMEM, r->pos, p->index,
                                          "the audit: out of memory");
                break;
            }
            p->index++;
            if (r->ts < b->ts_min)
                b->ts_min = r->ts;
            if (r->ts > b->ts_max)
                b->ts_max = r->ts;
            dmt_imp_copy_parts(s->arena, &s->used, r);
            n++;
            if (n % CHECK_RECS == 0 && stopping(p))
                return FILL_STOP;
        } else if (rc == DMT_FOLLOW_AGAIN) {
            if (!n && !s->n_found)
                return FILL_EMPTY;
            b->caught_up = true;
            break;
        } else if (rc == DMT_FOLLOW_STALLED) {
            p->stalled = true; /* the rest of the file as it is, cut chunk included */
            dmt_follow_stop(p->fl);
        } else {
            b->status = rc; /* 0: the end; else the follower's error (err) */
            if (rc == 0 && p->au && dmt_audit_finish(p->au, p->stalled) != 0)
                b->status = dmt_error_set(&b->err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX,
                                          "the audit: out of memory");
            break;
        }
    }
    if (s->oom && b->status > 0)
        b->status = dmt_error_set(&b->err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX,
                                  "the audit's findings: out of memory");
    b->n = n;
    b->found = s->found;
    b->n_found = s->n_found;
    b->stalled = p->stalled;
    b->skipped = dmt_reader_skipped(dmt_follow_reader(p->fl));
    b->committed = dmt_follow_committed(p->fl);
    return FILL_READY;
}

static void *reader_main(void *arg)
{
    dmt_follow_pipe *p = arg;
#ifdef __linux__
    pthread_setname_np(pthread_self(), "dmt-follow-rd"); /* in perf and top */
#endif
    for (;;) {
        pthread_mutex_lock(&p->mu);
        if (p->full[p->head]) { /* then until half are free: fewer wake-ups */
            p->reader_waits = true;
            while (p->nfull > NSLOT / 2 && !p->stop)
                pthread_cond_wait(&p->cv, &p->mu);
            p->reader_waits = false;
        }
        bool stop = p->stop;
        slot *s = p->s[p->head];
        pthread_mutex_unlock(&p->mu);
        int fr = FILL_STOP;
        while (!stop && (fr = fill(p, s)) == FILL_EMPTY)
            stop = nap(p, POLL_MS);
        if (fr != FILL_READY)
            return NULL;
        bool last = s->b.status <= 0;
        pthread_mutex_lock(&p->mu);
        p->full[p->head] = true;
        p->nfull++;
        p->head = (p->head + 1) % NSLOT;
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
        if (last)
            return NULL;
    }
}

int dmt_follow_pipe_start(dmt_follow *fl, const dmt_audit_config *audit, bool threaded,
                          dmt_follow_pipe **out, dmt_error *err)
{
    *out = NULL;
    dmt_follow_pipe *p = calloc(1, sizeof *p);
    if (!p) {
        dmt_follow_close(fl);
        return dmt_error_set(err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX, "out of memory");
    }
    p->fl = fl;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    bool ok = true;
    for (int i = 0; i < NSLOT && ok; i++)
        ok = (p->s[i] = calloc(1, sizeof(slot))) && (p->s[i]->arena = malloc(PIPE_ARENA));
    if (ok && audit) {
        dmt_audit_config c = *audit;
        c.sink = on_finding;
        c.user = p;
        ok = (p->au = dmt_audit_new(&c)) != NULL;
    }
    if (!ok) {
        dmt_follow_pipe_stop(p);
        return dmt_error_set(err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX, "out of memory");
    }
    p->threaded = threaded;
    if (threaded && pthread_create(&p->th, NULL, reader_main, p) != 0) {
        dmt_follow_pipe_stop(p);
        return dmt_error_set(err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX,
                             "cannot start the reader thread");
    }
    p->started = threaded;
    *out = p;
    return 0;
}

const dmt_follow_batch *dmt_follow_pipe_take(dmt_follow_pipe *p, unsigned wait_ms)
{
    if (p->taken_last)
        return NULL;
    if (!p->threaded) { /* the same batches, filled here */
        slot *s = p->s[0];
        if (fill(p, s) != FILL_READY) {
            struct timespec w = {.tv_sec = wait_ms / 1000, .tv_nsec = (wait_ms % 1000) * 1000000l};
            nanosleep(&w, NULL);
            return NULL;
        }
        p->taken_last = s->b.status <= 0;
        return &s->b;
    }
    struct timespec t = deadline(wait_ms);
    pthread_mutex_lock(&p->mu);
    while (!p->full[p->tail] && wait_ms)
        if (pthread_cond_timedwait(&p->cv, &p->mu, &t) == ETIMEDOUT)
            break;
    const dmt_follow_batch *b = p->full[p->tail] ? &p->s[p->tail]->b : NULL;
    pthread_mutex_unlock(&p->mu);
    if (b && b->status <= 0)
        p->taken_last = true;
    return b;
}

void dmt_follow_pipe_release(dmt_follow_pipe *p, const dmt_follow_batch *b)
{
    if (!b || !p->threaded)
        return;
    pthread_mutex_lock(&p->mu);
    p->full[p->tail] = false;
    p->nfull--;
    p->tail = (p->tail + 1) % NSLOT;
    if (p->reader_waits && p->nfull <= NSLOT / 2)
        pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

void dmt_follow_pipe_stop(dmt_follow_pipe *p)
{
    if (!p)
        return;
    if (p->started) {
        pthread_mutex_lock(&p->mu);
        p->stop = true;
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
        pthread_join(p->th, NULL);
    }
    for (int i = 0; i < NSLOT; i++) {
        if (!p->s[i])
            continue;
        free(p->s[i]->arena);
        free(p->s[i]->found);
        free(p->s[i]);
    }
    dmt_audit_free(p->au);
    dmt_follow_close(p->fl);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p);
}
