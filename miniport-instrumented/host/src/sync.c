/*
 * sync.c - VideoPort spin locks, events and waits, and time
 * (QueryPerformanceCounter, QuerySystemTime, StallExecution).
 *
 * Spin locks are mutexes plus an owner so misuse is reported instead of
 * deadlocking: a recursive acquire is absorbed (counted, not locked), a
 * release by a non-owner is ignored.  Acquire raises the simulated IRQL to
 * DISPATCH_LEVEL and returns the old one; release restores the given IRQL
 * (a delivery point when that is PASSIVE, see machine.c).
 *
 * Waits: threaded mode blocks on a condition variable (an infinite wait is
 * capped by hvp_config.wait_cap_ms so a lost interrupt cannot hang a tool);
 * deterministic mode never blocks: it runs pending interrupts and DPCs on the
 * waiting thread and, if the event is still not signaled and nothing is left
 * to run, returns WAIT_TIMEOUT at once (advancing the synthetic clock by a
 * finite timeout, or counting waits_abandoned for an infinite one).
 *
 * Deleted spin locks and events stay allocated (marked dead) until the
 * machine is freed, so a stale handle is reported, never dereferenced after
 * free.
 */
#include "hvp_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EPOCH_1601_TO_1970_S 11644473600ull
#define MAX_WAIT_100NS       (1ull << 50) /* ~3.6 years: keeps clocks far from wrapping */
#define DET_SYSTIME_BASE     ((EPOCH_1601_TO_1970_S + 1704067200ull) * 10000000ull) /* 2024-01-01 */

/* ---- spin locks ---------------------------------------------------------- */

/* The lock object, dead or alive (reported if unknown or dead). */
static struct hvp_spin_lock *spin_lookup(hvp_machine *m, const void *p, const char *fn)
{
    pthread_mutex_lock(&m->lock);
    struct hvp_spin_lock *s = m->spinlocks;
    while (s && s != p)
        s = s->next;
    pthread_mutex_unlock(&m->lock);
    if (!s)
        hvp__misuse(m, HVP_MISUSE_SPINLOCK,
                    "%s: %p is not a spin lock from "
                    "VideoPortCreateSpinLock",
                    fn, p);
    else if (s->dead)
        hvp__misuse(m, HVP_MISUSE_SPINLOCK, "%s: spin lock %p was deleted", fn, p);
    return s;
}

static struct hvp_spin_lock *spin_find(hvp_machine *m, const void *p, const char *fn)
{
    struct hvp_spin_lock *s = spin_lookup(m, p, fn);
    return s && !s->dead ? s : NULL;
}

VP_STATUS NTAPI VideoPortCreateSpinLock(IN PVOID HwDeviceExtension, OUT PSPIN_LOCK *SpinLock)
{
    hvp_machine *m = hvp__machine_of(HwDeviceExtension, "VideoPortCreateSpinLock");
    if (!m)
        return ERROR_INVALID_PARAMETER;
    hvp__check_irql(m, HVP_IRQL_PASSIVE, "VideoPortCreateSpinLock");
    if (!SpinLock) {
        hvp__misuse(m, HVP_MISUSE_BAD_ARG, "VideoPortCreateSpinLock: NULL SpinLock");
        return ERROR_INVALID_PARAMETER;
    }
    struct hvp_spin_lock *s = calloc(1, sizeof(*s));
    if (!s)
        return ERROR_NOT_ENOUGH_MEMORY;
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_lock(&m->lock);
    s->next = m->spinlocks;
    m->spinlocks = s;
    pthread_mutex_unlock(&m->lock);
    *SpinLock = s;
    return NO_ERROR;
}

VP_STATUS NTAPI VideoPortDeleteSpinLock(IN PVOID HwDeviceExtension, IN PSPIN_LOCK SpinLock)
{
    hvp_machine *m = hvp__machine_of(HwDeviceExtension, "VideoPortDeleteSpinLock");
    if (!m)
        return ERROR_INVALID_PARAMETER;
    struct hvp_spin_lock *s = spin_find(m, SpinLock, "VideoPortDeleteSpinLock");
    if (!s)
        return ERROR_INVALID_PARAMETER;
    if (atomic_load(&s->held))
        hvp__misuse(m, HVP_MISUSE_SPINLOCK, "VideoPortDeleteSpinLock: lock %p is held", (void *)s);
    s->dead = true;
    return NO_ERROR;
}

static bool spin_owned_by_me(struct hvp_spin_lock *s)
{
    return atomic_load(&s->held) && pthread_equal(s->owner, pthread_self());
}

static void spin_lock(hvp_machine *m, struct hvp_spin_lock *s, const char *fn)
{
    if (spin_owned_by_me(s)) {
        hvp__misuse(m, HVP_MISUSE_SPINLOCK,
                    "%s: lock %p acquired again by its owner: deadlock on Windows", fn, (void *)s);
        s->recursion++;
        return;
    }
    pthread_mutex_lock(&s->mu);
    s->owner = pthread_self();
    atomic_store(&s->held, true);
}

/* false if the caller does not own it (reported). */
static bool spin_unlock(hvp_machine *m, struct hvp_spin_lock *s, const char *fn)
{
    if (!spin_owned_by_me(s)) {
        hvp__misuse(m, HVP_MISUSE_SPINLOCK,
                    "%s: lock %p released by a thread that does not "
                    "hold it",
                    fn, (void *)s);
        return false;
    }
    if (s->recursion) {
        s->recursion--;
        return true;
    }
    atomic_store(&s->held, false);
    pthread_mutex_unlock(&s->mu);
    return true;
}

VOID NTAPI VideoPortAcquireSpinLock(IN PVOID HwDeviceExtension, IN PSPIN_LOCK SpinLock,
                                    OUT PUCHAR OldIrql)
{
    const char *fn = "VideoPortAcquireSpinLock";
    hvp_machine *m = hvp__machine_of(HwDeviceExtension, fn);
    uint8_t old = hvp__cpu.irql;
    if (OldIrql)
        *OldIrql = old;
    else
        hvp__misuse(m, HVP_MISUSE_BAD_ARG, "%s: NULL OldIrql", fn);
    if (!m)
        return;
    hvp__check_irql(m, HVP_IRQL_DISPATCH, fn);
    struct hvp_spin_lock *s = spin_find(m, SpinLock, fn);
    if (!s)
        return;
    spin_lock(m, s, fn);
    hvp__raise(HVP_IRQL_DISPATCH);
}

/* The machine of a call that must be made at DISPATCH_LEVEL already (the
 * *AtDpcLevel / *FromDpcLevel calls); a misuse is counted if it is not. */
static hvp_machine *dpc_level_call(PVOID HwDeviceExtension, const char *fn)
{
    hvp_machine *m = hvp__machine_of(HwDeviceExtension, fn);
    if (m && hvp__cpu.irql != HVP_IRQL_DISPATCH)
        hvp__misuse(m, HVP_MISUSE_IRQL, "%s called at IRQL %u (must be DISPATCH_LEVEL)", fn,
                    hvp__cpu.irql);
    return m;
}

VOID NTAPI VideoPortAcquireSpinLockAtDpcLevel(IN PVOID HwDeviceExtension, IN PSPIN_LOCK SpinLock)
{
    const char *fn = "VideoPortAcquireSpinLockAtDpcLevel";
    hvp_machine *m = dpc_level_call(HwDeviceExtension, fn);
    if (!m)
        return;
    struct hvp_spin_lock *s = spin_find(m, SpinLock, fn);
    if (s)
        spin_lock(m, s, fn);
}

VOID NTAPI VideoPortReleaseSpinLock(IN PVOID HwDeviceExtension, IN PSPIN_LOCK SpinLock,
                                    IN UCHAR NewIrql)
{
    const char *fn = "VideoPortReleaseSpinLock";
    hvp_machine *m = hvp__machine_of(HwDeviceExtension, fn);
    if (!m)
        return;
    /* a deleted lock still held by the caller is released (after the report) so
     * the caller's IRQL comes back */
    struct hvp_spin_lock *s = spin_lookup(m, SpinLock, fn);
    if (s && s->dead && !spin_owned_by_me(s))
        return;
    if (!s || !spin_unlock(m, s, fn))
        return;
    hvp__lower(m, NewIrql);
}

VOID NTAPI VideoPortReleaseSpinLockFromDpcLevel(IN PVOID HwDeviceExtension, IN PSPIN_LOCK SpinLock)
{
    const char *fn = "VideoPortReleaseSpinLockFromDpcLevel";
    hvp_machine *m = dpc_level_call(HwDeviceExtension, fn);
    if (!m)
        return;
    struct hvp_spin_lock *s = spin_lookup(m, SpinLock, fn);
    if (s && (!s->dead || spin_owned_by_me(s)))
        spin_unlock(m, s, fn);
}

/* ---- events -------------------------------------------------------------- */

static hvp_event *event_find(hvp_machine *m, const void *p, const char *fn)
{
    pthread_mutex_lock(&m->lock);
    hvp_event *e = m->events;
    while (e && (const void *)&e->eng != p)
        e = e->next;
    pthread_mutex_unlock(&m->lock);
    if (!e)
        hvp__misuse(m, HVP_MISUSE_EVENT, "%s: %p is not an event from VideoPortCreateEvent", fn, p);
    else if (e->dead)
        hvp__misuse(m, HVP_MISUSE_EVENT, "%s: event %p was deleted", fn, p);
    else
        return e;
    return NULL;
}

VP_STATUS NTAPI VideoPortCreateEvent(IN PVOID HwDeviceExtension, IN ULONG EventFlag,
                                     IN PVOID Unused, OUT PEVENT *ppEvent)
{
    (void)Unused;
    hvp_machine *m = hvp__machine_of(HwDeviceExtension, "VideoPortCreateEvent");
    if (!m)
        return ERROR_INVALID_PARAMETER;
    if (!ppEvent) {
        hvp__misuse(m, HVP_MISUSE_BAD_ARG, "VideoPortCreateEvent: NULL ppEvent");
        return ERROR_INVALID_PARAMETER;
    }
    hvp_event *e = calloc(1, sizeof(*e));
    if (!e)
        return ERROR_NOT_ENOUGH_MEMORY;
    pthread_mutex_init(&e->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&e->cv, &ca);
    pthread_condattr_destroy(&ca);
    e->notification = (EventFlag & EVENT_TYPE_MASK) == NOTIFICATION_EVENT;
    e->signaled = (EventFlag & INITIAL_EVENT_STATE_MASK) == INITIAL_EVENT_SIGNALED;
    e->eng.pKEvent = e;
    e->eng.fFlags = EventFlag;
    pthread_mutex_lock(&m->lock);
    e->next = m->events;
    m->events = e;
    pthread_mutex_unlock(&m->lock);
    *ppEvent = &e->eng;
    return NO_ERROR;
}

VP_STATUS NTAPI VideoPortDeleteEvent(IN PVOID HwDeviceExtension, IN PEVENT pEvent)
{
    hvp_machine *m = hvp__machine_of(HwDeviceExtension, "VideoPortDeleteEvent");
    if (!m)
        return ERROR_INVALID_PARAMETER;
    hvp_event *e = event_find(m, pEvent, "VideoPortDeleteEvent");
    if (!e)
        return ERROR_INVALID_PARAMETER;
    e->dead = true;
    return NO_ERROR;
}

LONG NTAPI VideoPortSetEvent(IN PVOID HwDeviceExtension, IN PEVENT pEvent)
{
    hvp_machine *m = hvp__machine_of(HwDeviceExtension, "VideoPortSetEvent");
    if (!m)
        return 0;
    hvp__check_irql(m, HVP_IRQL_DISPATCH, "VideoPortSetEvent");
    hvp_event *e = event_find(m, pEvent, "VideoPortSetEvent");
    if (!e)
        return 0;
    pthread_mutex_lock(&e->mu);
    LONG prev = e->signaled;
    e->signaled = true;
    pthread_cond_broadcast(&e->cv);
    pthread_mutex_unlock(&e->mu);
    return prev;
}

VOID NTAPI VideoPortClearEvent(IN PVOID HwDeviceExtension, IN PEVENT pEvent)
{
    hvp_machine *m = hvp__machine_of(HwDeviceExtension, "VideoPortClearEvent");
    if (!m)
        return;
    hvp_event *e = event_find(m, pEvent, "VideoPortClearEvent");
    if (!e)
        return;
    pthread_mutex_lock(&e->mu);
    e->signaled = false;
    pthread_mutex_unlock(&e->mu);
}

LONG NTAPI VideoPortReadStateEvent(IN PVOID HwDeviceExtension, IN PEVENT pEvent)
{
    hvp_machine *m = hvp__machine_of(HwDeviceExtension, "VideoPortReadStateEvent");
    if (!m)
        return 0;
    hvp_event *e = event_find(m, pEvent, "VideoPortReadStateEvent");
    if (!e)
        return 0;
    pthread_mutex_lock(&e->mu);
    LONG s = e->signaled;
    pthread_mutex_unlock(&e->mu);
    return s;
}

static bool event_take(hvp_event *e)
{
    pthread_mutex_lock(&e->mu);
    bool s = e->signaled;
    if (s && !e->notification)
        e->signaled = false;
    pthread_mutex_unlock(&e->mu);
    return s;
}

static uint64_t systime_100ns(hvp_machine *m)
{
    if (m && m->cfg.deterministic)
        return DET_SYSTIME_BASE + atomic_load(&m->det_clock) / 100;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ((uint64_t)ts.tv_sec + EPOCH_1601_TO_1970_S) * 10000000ull + (uint64_t)ts.tv_nsec / 100;
}

VP_STATUS NTAPI VideoPortWaitForSingleObject(IN PVOID HwDeviceExtension, IN PVOID Object,
                                             IN PLARGE_INTEGER Timeout OPTIONAL)
{
    const char *fn = "VideoPortWaitForSingleObject";
    hvp_machine *m = hvp__machine_of(HwDeviceExtension, fn);
    if (!m)
        return ERROR_INVALID_PARAMETER;
    hvp_event *e = event_find(m, Object, fn);
    if (!e)
        return ERROR_INVALID_PARAMETER;
    bool infinite = Timeout == NULL;
    uint64_t rel_ns = 0;
    if (!infinite) {
        LONGLONG q = Timeout->QuadPart;
        uint64_t ticks = 0; /* 100 ns units */
        if (q < 0) {
            ticks = (uint64_t)(-(q + 1)) + 1;
        } else if (q > 0) {
            uint64_t now = systime_100ns(m);
            ticks = (uint64_t)q > now ? (uint64_t)q - now : 0;
        }
        rel_ns = ticks > MAX_WAIT_100NS ? MAX_WAIT_100NS * 100 : ticks * 100;
    }
    if (infinite || rel_ns)
        hvp__check_irql(m, HVP_IRQL_PASSIVE, fn);
    else
        hvp__check_irql(m, HVP_IRQL_DISPATCH, fn);

    if (m->cfg.deterministic) {
        uint64_t start = atomic_load(&m->det_clock);
        for (;;) {
            if (event_take(e))
                return NO_ERROR;
            if (hvp__cpu.irql != HVP_IRQL_PASSIVE || hvp__cpu.delivering)
                break;
            pthread_mutex_lock(&m->ev_lock);
            bool pending = m->irq_pending || m->dpc_queued;
            pthread_mutex_unlock(&m->ev_lock);
            if (pending) {
                hvp__deliver(m);
                pthread_mutex_lock(&m->ev_lock);
                bool still = m->irq_pending || m->dpc_queued;
                pthread_mutex_unlock(&m->ev_lock);
                if (still) /* another thread is delivering: no progress possible */
                    break;
                continue;
            }
            /* The CPU would idle: let the device reach its next completion if
             * that happens before the timeout. */
            if (hvp__deferred(m)) {
                uint64_t next = dmm_next_completion(m->dev);
                uint64_t cyc = dmm_cycles(m->dev);
                uint64_t delta = next > cyc ? next - cyc : 0;
                uint64_t used = atomic_load(&m->det_clock) - start;
                if (next != UINT64_MAX && (infinite || used + delta <= rel_ns) && hvp__idle_skip(m))
                    continue;
            }
            break;
        }
        if (event_take(e))
            return NO_ERROR;
        if (infinite) {
            hvp__stat_add(m, &m->st.waits_abandoned, 1);
            hvp__log(m, HVP_LOG_WARN,
                     "%s: infinite wait on event %p that nothing pending can "
                     "signal; returning WAIT_TIMEOUT",
                     fn, Object);
        } else {
            uint64_t used = atomic_load(&m->det_clock) - start;
            if (used < rel_ns)
                hvp__advance(m, rel_ns - used);
        }
        return WAIT_TIMEOUT;
    }

    uint64_t wait_ns = infinite ? (uint64_t)m->cfg.wait_cap_ms * 1000000ull : rel_ns;
    bool bounded = !infinite || m->cfg.wait_cap_ms != 0;
    struct timespec dl;
    clock_gettime(CLOCK_MONOTONIC, &dl);
    uint64_t ns = (uint64_t)dl.tv_nsec + wait_ns % 1000000000ull;
    dl.tv_sec += (time_t)(wait_ns / 1000000000ull + ns / 1000000000ull);
    dl.tv_nsec = (long)(ns % 1000000000ull);
    pthread_mutex_lock(&e->mu);
    while (!e->signaled) {
        if (!bounded)
            pthread_cond_wait(&e->cv, &e->mu);
        else if (pthread_cond_timedwait(&e->cv, &e->mu, &dl) == ETIMEDOUT)
            break;
    }
    bool got = e->signaled;
    if (got && !e->notification)
        e->signaled = false;
    pthread_mutex_unlock(&e->mu);
    if (got)
        return NO_ERROR;
    if (infinite) {
        hvp__stat_add(m, &m->st.waits_abandoned, 1);
        hvp__log(m, HVP_LOG_WARN, "%s: infinite wait on event %p hit the %u ms cap", fn, Object,
                 m->cfg.wait_cap_ms);
    }
    return WAIT_TIMEOUT;
}

/* ---- time --------------------------------------------------------------------- */

LONGLONG NTAPI VideoPortQueryPerformanceCounter(IN PVOID HwDeviceExtension,
                                                OUT PLONGLONG PerformanceFrequency OPTIONAL)
{
    hvp_machine *m = HwDeviceExtension
                         ? hvp__machine_of(HwDeviceExtension, "VideoPortQueryPerformanceCounter")
                         : hvp__current();
    if (PerformanceFrequency)
        *PerformanceFrequency = 1000000000LL;
    return (LONGLONG)hvp__clock(m);
}

VOID NTAPI VideoPortQuerySystemTime(OUT PLARGE_INTEGER CurrentTime)
{
    if (CurrentTime)
        CurrentTime->QuadPart = (LONGLONG)systime_100ns(hvp__current());
}

VOID NTAPI VideoPortStallExecution(IN ULONG Microseconds)
{
    hvp_machine *m = hvp__current();
    if (m && m->cfg.deterministic) {
        hvp__advance(m, (uint64_t)Microseconds * 1000ull);
    } else if (Microseconds) {
        struct timespec ts = {.tv_sec = Microseconds / 1000000u,
                              .tv_nsec = (long)(Microseconds % 1000000u) * 1000L};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
            ;
    }
    if (m && hvp__cpu.irql == HVP_IRQL_PASSIVE)
        hvp__deliver(m);
}

/* ---- teardown -------------------------------------------------------------- */

void hvp__sync_teardown(hvp_machine *m)
{
    pthread_mutex_lock(&m->lock);
    while (m->spinlocks) {
        struct hvp_spin_lock *s = m->spinlocks;
        m->spinlocks = s->next;
        if (atomic_load(&s->held))
            hvp__misuse(m, HVP_MISUSE_LEAK, "spin lock %p still held at teardown", (void *)s);
        else
            pthread_mutex_destroy(&s->mu);
        free(s);
    }
    while (m->events) {
        hvp_event *e = m->events;
        m->events = e->next;
        pthread_cond_destroy(&e->cv);
        pthread_mutex_destroy(&e->mu);
        free(e);
    }
    pthread_mutex_unlock(&m->lock);
}
