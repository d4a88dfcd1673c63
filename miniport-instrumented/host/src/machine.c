/*
 * machine.c - the hvp machine: configuration, the global registry of
 * machines, per-thread simulated CPU state (IRQL), misuse reporting, driver
 * loading (VideoPortInitialize, FindAdapter, HwInitialize), IOCTLs, and the
 * interrupt/DPC engine (VideoPortQueueDpc, VideoPortSynchronizeExecution,
 * Enable/DisableInterrupt).
 *
 * Interrupt path
 * --------------
 *   dmm engine raises its line ---> irq_cb (any thread, no hvp lock but the
 *                                   layout read lock)
 *                                     sets irq_pending
 *   threaded:       interrupt thread: service_interrupt()
 *   deterministic:  the next delivery point on the thread that runs the
 *                   driver: hvp__deliver()
 *
 *   service_interrupt: intr_lock, IRQL = DEVICE, HwVidInterrupt(devext);
 *   repeated while the (level-triggered) line stays asserted and no new edge
 *   arrived, at most 64 times in a row (then HVP_MISUSE_INTR_NOT_ACKED).
 *
 *   VideoPortQueueDpc: one DPC object per device (as KeInsertQueueDpc on the
 *   device's KDPC): a second request before the DPC starts is coalesced and
 *   returns FALSE.  The DPC runs at DISPATCH_LEVEL on the DPC thread
 *   (threaded) or at the next delivery point (deterministic).
 *
 * Delivery points (deterministic mode) - the calling thread's simulated IRQL
 * is PASSIVE and it is not already delivering:
 *   - an IRQL lowered back to PASSIVE (end of StartDma, spin lock release,
 *     end of SynchronizeExecution, CompleteDma at PASSIVE);
 *   - the end of a register access made at PASSIVE;
 *   - VideoPortWaitForSingleObject and VideoPortStallExecution at PASSIVE;
 *   - after HwVidFindAdapter, HwVidInitialize and HwVidStartIO return;
 *   - hvp_wait_idle.
 * Pending interrupts are serviced first, then the queued DPC, until neither
 * is left.  With one calling thread the order of everything is fixed.
 */
#include "hvp_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

_Thread_local hvp_cpu hvp__cpu;

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static hvp_machine *g_machines;

#define STATUS_SUCCESS_           0x00000000u
#define STATUS_INVALID_PARAMETER_ 0xC000000Du
#define STATUS_REVISION_MISMATCH_ 0xC0000059u

static const wchar_t g_registry_path[] =
    L"\\Registry\\Machine\\System\\CurrentControlSet\\Services\\dmatrace";

/* ---- configuration -------------------------------------------------------- */

static const char *const g_placement_names[] = {"any", "below-4g", "above-4g", "below-16m"};

const char *hvp_placement_name(enum hvp_placement p)
{
    return (unsigned)p <= HVP_PLACE_BELOW_16M ? g_placement_names[p] : NULL;
}

bool hvp_placement_parse(const char *name, enum hvp_placement *out)
{
    for (unsigned i = 0; i <= HVP_PLACE_BELOW_16M; i++)
        if (strcmp(name, g_placement_names[i]) == 0) {
            *out = (enum hvp_placement)i;
            return true;
        }
    return false;
}

void hvp_config_default(hvp_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->seed = 1;
    cfg->contig_permille = 500;
    cfg->placement = HVP_PLACE_ANY;
    cfg->ram_low_top = 0xC0000000ull;
    cfg->ram_high_size = 4ull << 30;
    cfg->pool32_size = 64ull << 20;
    cfg->map_register_cap = 64;
    cfg->bar_phys = 0xFE000000ull;
    cfg->irq_level = 11;
    cfg->pci_vendor = 0x1234;
    cfg->pci_device = 0xD3A0;
    cfg->clock_step_ns = 1000;
    cfg->mmio_ns = 100;
    cfg->quarantine = 256;
    cfg->va_size = 256u << 20;
    cfg->wait_cap_ms = 30000;
}

static const char *const g_misuse_names[HVP_MISUSE_COUNT] = {
    [HVP_MISUSE_NONE] = "none",
    [HVP_MISUSE_BAD_DEVEXT] = "bad_devext",
    [HVP_MISUSE_BAD_ARG] = "bad_arg",
    [HVP_MISUSE_IRQL] = "irql",
    [HVP_MISUSE_DPC_IRQL] = "dpc_irql",
    [HVP_MISUSE_INIT] = "init",
    [HVP_MISUSE_ADAPTER_UNKNOWN] = "adapter_unknown",
    [HVP_MISUSE_ADAPTER_PUT_TWICE] = "adapter_put_twice",
    [HVP_MISUSE_ADAPTER_BUSY] = "adapter_busy",
    [HVP_MISUSE_CB_UNKNOWN] = "cb_unknown",
    [HVP_MISUSE_CB_MISMATCH] = "cb_mismatch",
    [HVP_MISUSE_LOCK_BAD_ARGS] = "lock_bad_args",
    [HVP_MISUSE_MDL_UNKNOWN] = "mdl_unknown",
    [HVP_MISUSE_MDL_UNLOCKED] = "mdl_unlocked",
    [HVP_MISUSE_UNLOCK_TWICE] = "unlock_twice",
    [HVP_MISUSE_UNLOCK_BUSY] = "unlock_busy",
    [HVP_MISUSE_START_BAD_RANGE] = "start_bad_range",
    [HVP_MISUSE_COMPLETE_TWICE] = "complete_twice",
    [HVP_MISUSE_COMPLETE_UNKNOWN] = "complete_unknown",
    [HVP_MISUSE_COMPLETE_MISMATCH] = "complete_mismatch",
    [HVP_MISUSE_REG_OUT_OF_RANGE] = "reg_out_of_range",
    [HVP_MISUSE_REG_WIDTH] = "reg_width",
    [HVP_MISUSE_PORT_IO] = "port_io",
    [HVP_MISUSE_MAP_RANGE] = "map_range",
    [HVP_MISUSE_UNMAP_UNKNOWN] = "unmap_unknown",
    [HVP_MISUSE_SPINLOCK] = "spinlock",
    [HVP_MISUSE_EVENT] = "event",
    [HVP_MISUSE_SYNC_NESTED] = "sync_nested",
    [HVP_MISUSE_INTR_NOT_ACKED] = "intr_not_acked",
    [HVP_MISUSE_IOCTL_OVERFLOW] = "ioctl_overflow",
    [HVP_MISUSE_DEVICE_LOCK] = "device_lock",
    [HVP_MISUSE_LEAK] = "leak",
};

const char *hvp_misuse_name(enum hvp_misuse kind)
{
    if ((unsigned)kind >= HVP_MISUSE_COUNT || !g_misuse_names[kind])
        return "?";
    return g_misuse_names[kind];
}

/* ---- registry, logging ----------------------------------------------------- */

hvp_machine *hvp__current(void)
{
    if (hvp__cpu.m)
        return hvp__cpu.m;
    pthread_mutex_lock(&g_lock);
    hvp_machine *m = g_machines; /* most recently created */
    pthread_mutex_unlock(&g_lock);
    return m;
}

static hvp_machine *find_machine(const void *p, bool by_devext)
{
    pthread_mutex_lock(&g_lock);
    hvp_machine *m = g_machines;
    for (; m; m = m->next_machine)
        if (by_devext ? (m->devext && m->devext == p) : (const void *)m == p)
            break;
    pthread_mutex_unlock(&g_lock);
    return m;
}

hvp_machine *hvp__machine_of(const void *devext, const char *fn)
{
    hvp_machine *cur = hvp__cpu.m;
    if (cur && devext && cur->devext == devext)
        return cur;
    hvp_machine *m = devext ? find_machine(devext, true) : NULL;
    if (m)
        return m;
    m = hvp__current();
    hvp__misuse(m, HVP_MISUSE_BAD_DEVEXT, "%s: HwDeviceExtension %p is not the device's", fn,
                devext);
    return m;
}

void hvp__stat_add(hvp_machine *m, uint64_t *field, uint64_t n)
{
    (void)m;
    __atomic_fetch_add(field, n, __ATOMIC_RELAXED);
}

static void emit(hvp_machine *m, enum hvp_log_level level, enum hvp_misuse kind, int dlevel,
                 const char *text)
{
    if (!m || !m->cfg.log)
        return;
    hvp_log_msg msg = {.level = level, .misuse = kind, .driver_level = dlevel, .text = text};
    m->cfg.log(m->cfg.log_ctx, &msg);
}

/* emit, formatting the text first (only when a log callback will take it). */
static void vemit(hvp_machine *m, enum hvp_log_level level, enum hvp_misuse kind, const char *fmt,
                  va_list ap) __attribute__((format(printf, 4, 0)));
static void vemit(hvp_machine *m, enum hvp_log_level level, enum hvp_misuse kind, const char *fmt,
                  va_list ap)
{
    if (!m || !m->cfg.log)
        return;
    char buf[512];
    vsnprintf(buf, sizeof(buf), fmt, ap);
    emit(m, level, kind, 0, buf);
}

void hvp__misuse(hvp_machine *m, enum hvp_misuse kind, const char *fmt, ...)
{
    if (!m)
        m = hvp__current();
    if (!m)
        return;
    if ((unsigned)kind < HVP_MISUSE_COUNT)
        hvp__stat_add(m, &m->st.misuse[kind], 1);
    hvp__stat_add(m, &m->st.misuse_total, 1);
    va_list ap;
    va_start(ap, fmt);
    vemit(m, HVP_LOG_MISUSE, kind, fmt, ap);
    va_end(ap);
}

void hvp__log(hvp_machine *m, enum hvp_log_level level, const char *fmt, ...)
{
    if (!m)
        m = hvp__current();
    va_list ap;
    va_start(ap, fmt);
    vemit(m, level, HVP_MISUSE_NONE, fmt, ap);
    va_end(ap);
}

void hvp__log_driver(hvp_machine *m, int driver_level, const char *text)
{
    emit(m, HVP_LOG_DRIVER, HVP_MISUSE_NONE, driver_level, text);
}

void hvp__unsupported(const char *fn)
{
    hvp_machine *m = hvp__current();
    if (!m)
        return;
    hvp__stat_add(m, &m->st.unsupported_calls, 1);
    hvp__log(m, HVP_LOG_WARN, "%s is not supported by the host VideoPort", fn);
}

/* ---- IRQL ---------------------------------------------------------------- */

bool hvp__check_irql(hvp_machine *m, uint8_t max, const char *fn)
{
    if (hvp__cpu.irql <= max)
        return true;
    hvp__misuse(m, HVP_MISUSE_IRQL, "%s called at IRQL %u (allowed: <= %u)", fn, hvp__cpu.irql,
                max);
    return false;
}

uint8_t hvp__raise(uint8_t irql)
{
    uint8_t old = hvp__cpu.irql;
    if (irql > old)
        hvp__cpu.irql = irql;
    return old;
}

void hvp__lower(hvp_machine *m, uint8_t irql)
{
    hvp__cpu.irql = irql;
    if (irql == HVP_IRQL_PASSIVE)
        hvp__deliver(m);
}

UCHAR NTAPI VideoPortGetCurrentIrql(VOID)
{
    return hvp__cpu.irql;
}

/* ---- interrupt lock ------------------------------------------------------ */

bool hvp__intr_owned_by_me(hvp_machine *m)
{
    /* Only the holder itself can see its own id here, so relaxed loads are
     * enough; the owner id is atomic because other threads read it while
     * the holder writes it. */
    return atomic_load(&m->intr_held) &&
           atomic_load_explicit(&m->intr_owner, memory_order_relaxed) == (uintptr_t)pthread_self();
}

void hvp__intr_acquire(hvp_machine *m)
{
    pthread_mutex_lock(&m->intr_lock);
    atomic_store_explicit(&m->intr_owner, (uintptr_t)pthread_self(), memory_order_relaxed);
    atomic_store(&m->intr_held, true);
}

void hvp__intr_release(hvp_machine *m)
{
    atomic_store(&m->intr_held, false);
    pthread_mutex_unlock(&m->intr_lock);
}

/* ---- interrupts and DPCs --------------------------------------------------- */

static void irq_cb(void *ctx)
{
    hvp_machine *m = ctx;
    hvp__stat_add(m, &m->st.irq_edges, 1);
    pthread_mutex_lock(&m->ev_lock);
    m->irq_pending = true;
    pthread_cond_broadcast(&m->ev_cond);
    pthread_mutex_unlock(&m->ev_lock);
}

/* Called with isr_running already set by the caller; clears it. */
static void service_interrupt(hvp_machine *m)
{
    hvp_cpu saved = hvp__cpu;
    hvp__cpu.m = m;
    for (unsigned n = 0;; n++) {
        pthread_mutex_lock(&m->ev_lock);
        bool ok = m->intr_connected && m->intr_enabled && m->hw.HwInterrupt;
        pthread_mutex_unlock(&m->ev_lock);
        if (!ok) {
            if (m->rp && hvp__replay_replaces(m)) /* replay hook point */
                hvp__replay_isr_skipped(m);
            break;
        }
        hvp__intr_acquire(m);
        hvp__cpu.irql = HVP_IRQL_DEVICE;
        hvp__cpu.in_isr = true;
        BOOLEAN claimed = m->hw.HwInterrupt(m->devext);
        hvp__cpu.in_isr = false;
        hvp__cpu.irql = saved.irql;
        hvp__intr_release(m);
        hvp__stat_add(m, &m->st.isr_calls, 1);
        if (claimed)
            hvp__stat_add(m, &m->st.isr_claimed, 1);
        /* replay hook point: a backend standing for the device owes one
         * HwVidInterrupt call per raise */
        bool line =
            m->rp && hvp__replay_replaces(m) ? hvp__replay_isr_done(m) : dmm_irq_line(m->dev);
        pthread_mutex_lock(&m->ev_lock);
        bool edge = m->irq_pending;
        pthread_mutex_unlock(&m->ev_lock);
        if (!line || edge)
            break; /* done, or a fresh edge will bring us back */
        if (n + 1 >= 64) {
            hvp__misuse(m, HVP_MISUSE_INTR_NOT_ACKED,
                        "interrupt line still asserted after %u HwVidInterrupt calls (last "
                        "returned %s); interrupt dropped until the next edge",
                        n + 1, claimed ? "TRUE" : "FALSE");
            break;
        }
    }
    hvp__cpu = saved;
    pthread_mutex_lock(&m->ev_lock);
    m->isr_running = false;
    pthread_cond_broadcast(&m->ev_cond);
    pthread_mutex_unlock(&m->ev_lock);
}

/* Run the queued DPC at DISPATCH_LEVEL.  Called with ev_lock held and
 * m->dpc_queued set; returns with ev_lock released. */
static void run_queued_dpc(hvp_machine *m)
{
    PMINIPORT_DPC_ROUTINE fn = m->dpc_fn;
    void *ctx = m->dpc_ctx;
    m->dpc_queued = false;
    m->dpc_running = true;
    pthread_mutex_unlock(&m->ev_lock);
    hvp_cpu saved = hvp__cpu;
    hvp__cpu.m = m;
    hvp__cpu.irql = HVP_IRQL_DISPATCH;
    fn(m->devext, ctx);
    hvp__stat_add(m, &m->st.dpcs_run, 1);
    hvp__cpu = saved;
    pthread_mutex_lock(&m->ev_lock);
    m->dpc_running = false;
    pthread_cond_broadcast(&m->ev_cond);
    pthread_mutex_unlock(&m->ev_lock);
}

void hvp__deliver(hvp_machine *m)
{
    if (!m || !m->cfg.deterministic || hvp__cpu.irql != HVP_IRQL_PASSIVE || hvp__cpu.delivering)
        return;
    if (pthread_mutex_trylock(&m->deliver_lock) != 0)
        return;
    hvp__cpu.delivering = true;
    for (uint64_t rounds = 0;; rounds++) {
        if (rounds == 100000000ull) {
            hvp__log(m, HVP_LOG_ERROR, "interrupt/DPC livelock: stopped delivering");
            break;
        }
        pthread_mutex_lock(&m->ev_lock);
        if (m->irq_pending) {
            m->irq_pending = false;
            m->isr_running = true;
            pthread_mutex_unlock(&m->ev_lock);
            service_interrupt(m);
            continue;
        }
        if (m->dpc_queued) {
            run_queued_dpc(m);
            continue;
        }
        pthread_mutex_unlock(&m->ev_lock);
        break;
    }
    hvp__cpu.delivering = false;
    pthread_mutex_unlock(&m->deliver_lock);
}

bool hvp__deferred(const hvp_machine *m)
{
    return (m->dev_cfg.flags & DMM_CFG_DEFERRED) != 0;
}

void hvp__advance(hvp_machine *m, uint64_t ns)
{
    if (m->cfg.deterministic)
        atomic_fetch_add(&m->det_clock, ns);
    if (hvp__deferred(m) && ns)
        dmm_advance(m->dev, ns);
}

bool hvp__idle_skip(hvp_machine *m)
{
    if (!hvp__deferred(m))
        return false;
    uint64_t next = dmm_next_completion(m->dev);
    if (next == UINT64_MAX)
        return false;
    uint64_t cyc = dmm_cycles(m->dev);
    uint64_t delta = next > cyc ? next - cyc : 0;
    atomic_fetch_add(&m->det_clock, delta);
    dmm_advance(m->dev, delta);
    return true;
}

void hvp__kick(hvp_machine *m)
{
    if (!m->threads_started || !hvp__deferred(m))
        return;
    pthread_mutex_lock(&m->ev_lock);
    m->dev_kick = true;
    pthread_cond_broadcast(&m->ev_cond);
    pthread_mutex_unlock(&m->ev_lock);
}

static void deadline_in(struct timespec *dl, uint64_t ns)
{
    clock_gettime(CLOCK_MONOTONIC, dl);
    uint64_t t = (uint64_t)dl->tv_nsec + ns % 1000000000ull;
    dl->tv_sec += (time_t)(ns / 1000000000ull + t / 1000000000ull);
    dl->tv_nsec = (long)(t % 1000000000ull);
}

/* The interrupt thread also keeps device time for deferred runs: a run whose
 * model cost is N cycles completes N ns (real time) after it was seen. */
static void *intr_main(void *arg)
{
    hvp_machine *m = arg;
    hvp__cpu.m = m;
    pthread_mutex_lock(&m->ev_lock);
    while (!m->stop) {
        if (m->irq_pending) {
            m->irq_pending = false;
            m->isr_running = true;
            pthread_mutex_unlock(&m->ev_lock);
            service_interrupt(m);
            pthread_mutex_lock(&m->ev_lock);
            continue;
        }
        uint64_t next = hvp__deferred(m) ? dmm_next_completion(m->dev) : UINT64_MAX;
        if (next == UINT64_MAX) {
            m->dev_kick = false;
            while (!m->dev_kick && !m->irq_pending && !m->stop)
                pthread_cond_wait(&m->ev_cond, &m->ev_lock);
            continue;
        }
        uint64_t cyc = dmm_cycles(m->dev);
        uint64_t delta = next > cyc ? next - cyc : 0;
        if (delta) {
            struct timespec dl;
            deadline_in(&dl, delta);
            m->dev_kick = false;
            int rc = 0;
            while (!m->dev_kick && !m->irq_pending && !m->stop && rc != ETIMEDOUT)
                rc = pthread_cond_timedwait(&m->ev_cond, &m->ev_lock, &dl);
            if (rc != ETIMEDOUT)
                continue; /* woken early: recompute */
        }
        pthread_mutex_unlock(&m->ev_lock);
        hvp__advance(m, delta);
        pthread_mutex_lock(&m->ev_lock);
        pthread_cond_broadcast(&m->ev_cond); /* wait_idle watches pending runs */
    }
    pthread_mutex_unlock(&m->ev_lock);
    return NULL;
}

static void *dpc_main(void *arg)
{
    hvp_machine *m = arg;
    hvp__cpu.m = m;
    pthread_mutex_lock(&m->ev_lock);
    while (!m->stop) {
        if (!m->dpc_queued) {
            pthread_cond_wait(&m->ev_cond, &m->ev_lock);
            continue;
        }
        run_queued_dpc(m);
        pthread_mutex_lock(&m->ev_lock);
    }
    pthread_mutex_unlock(&m->ev_lock);
    return NULL;
}

BOOLEAN NTAPI VideoPortQueueDpc(IN PVOID HwDeviceExtension,
                                IN PMINIPORT_DPC_ROUTINE CallbackRoutine, IN PVOID Context)
{
    hvp_machine *m = hvp__machine_of(HwDeviceExtension, "VideoPortQueueDpc");
    if (!m)
        return FALSE;
    if (!CallbackRoutine) {
        hvp__misuse(m, HVP_MISUSE_BAD_ARG, "VideoPortQueueDpc: NULL routine");
        return FALSE;
    }
    if (hvp__cpu.irql < HVP_IRQL_DISPATCH)
        hvp__misuse(m, HVP_MISUSE_DPC_IRQL, "VideoPortQueueDpc called at IRQL %u (needs >= %u)",
                    hvp__cpu.irql, HVP_IRQL_DISPATCH);
    pthread_mutex_lock(&m->ev_lock);
    bool queued = !m->dpc_queued;
    if (queued) {
        m->dpc_queued = true;
        m->dpc_fn = CallbackRoutine;
        m->dpc_ctx = Context;
        pthread_cond_broadcast(&m->ev_cond);
    }
    pthread_mutex_unlock(&m->ev_lock);
    hvp__stat_add(m, queued ? &m->st.dpcs_queued : &m->st.dpcs_coalesced, 1);
    /* A DPC queued at PASSIVE (misuse) still runs: deliver now. */
    if (hvp__cpu.irql == HVP_IRQL_PASSIVE)
        hvp__deliver(m);
    return queued ? TRUE : FALSE;
}

BOOLEAN NTAPI VideoPortSynchronizeExecution(IN PVOID HwDeviceExtension,
                                            IN VIDEO_SYNCHRONIZE_PRIORITY Priority,
                                            IN PMINIPORT_SYNCHRONIZE_ROUTINE SynchronizeRoutine,
                                            IN PVOID Context)
{
    hvp_machine *m = hvp__machine_of(HwDeviceExtension, "VideoPortSynchronizeExecution");
    if (!SynchronizeRoutine) {
        hvp__misuse(m, HVP_MISUSE_BAD_ARG, "VideoPortSynchronizeExecution: NULL routine");
        return FALSE;
    }
    if (!m || Priority == VpLowPriority)
        return SynchronizeRoutine(Context);
    if (hvp__intr_owned_by_me(m)) {
        hvp__misuse(m, HVP_MISUSE_SYNC_NESTED,
                    "VideoPortSynchronizeExecution called while holding the interrupt lock "
                    "(from the ISR or a synchronized routine): deadlock on Windows");
        return SynchronizeRoutine(Context);
    }
    hvp__intr_acquire(m);
    uint8_t old = hvp__raise(HVP_IRQL_DEVICE);
    BOOLEAN r = SynchronizeRoutine(Context);
    hvp__cpu.irql = old;
    hvp__intr_release(m);
    if (old == HVP_IRQL_PASSIVE)
        hvp__deliver(m);
    return r;
}

static void check_line_on_enable(hvp_machine *m)
{
    if (dmm_irq_line(m->dev))
        irq_cb(m);
}

/* Interrupts of ext's machine on or off for caller fn; the machine when the
 * interrupt is connected, else NULL. */
static hvp_machine *intr_set_enabled(PVOID ext, const char *fn, bool on)
{
    hvp_machine *m = hvp__machine_of(ext, fn);
    if (!m)
        return NULL;
    pthread_mutex_lock(&m->ev_lock);
    bool connected = m->intr_connected;
    m->intr_enabled = on;
    pthread_mutex_unlock(&m->ev_lock);
    return connected ? m : NULL;
}

VP_STATUS NTAPI VideoPortEnableInterrupt(IN PVOID HwDeviceExtension)
{
    hvp_machine *m = intr_set_enabled(HwDeviceExtension, "VideoPortEnableInterrupt", true);
    if (!m)
        return ERROR_INVALID_FUNCTION;
    check_line_on_enable(m);
    return NO_ERROR;
}

VP_STATUS NTAPI VideoPortDisableInterrupt(IN PVOID HwDeviceExtension)
{
    return intr_set_enabled(HwDeviceExtension, "VideoPortDisableInterrupt", false)
               ? NO_ERROR
               : ERROR_INVALID_FUNCTION;
}

/* ---- clock -------------------------------------------------------------- */

/* ---- the deterministic VA arena ----------------------------------------- */

void *hvp__va_alloc(hvp_machine *m, size_t len)
{
    size_t n = (len + HVP_PAGE - 1) & ~(size_t)(HVP_PAGE - 1);
    if (!m->va_arena) {
        void *p = NULL;
        if (posix_memalign(&p, HVP_PAGE, n ? n : HVP_PAGE) != 0)
            return NULL;
        memset(p, 0, n ? n : HVP_PAGE);
        return p;
    }
    pthread_mutex_lock(&m->va_lock);
    void *p = NULL;
    if (n <= m->cfg.va_size - m->va_used) {
        p = m->va_arena + m->va_used;
        m->va_used += n ? n : HVP_PAGE;
    }
    pthread_mutex_unlock(&m->va_lock);
    return p; /* fresh arena pages are zero */
}

bool hvp__va_owned(const hvp_machine *m, const void *p)
{
    return m->va_arena && (const uint8_t *)p >= m->va_arena &&
           (const uint8_t *)p < m->va_arena + m->cfg.va_size;
}

void hvp__va_free(hvp_machine *m, void *p)
{
    if (p && !hvp__va_owned(m, p))
        free(p);
}

uint64_t hvp__clock(hvp_machine *m)
{
    if (m && m->cfg.deterministic && !m->cfg.real_clock)
        return atomic_fetch_add(&m->det_clock, m->cfg.clock_step_ns) + m->cfg.clock_step_ns;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t hvp_clock_ns(hvp_machine *m)
{
    return hvp__clock(m);
}

/* ---- machine lifetime ---------------------------------------------------- */

static bool config_ok(hvp_machine *m, const hvp_config *c)
{
    const char *why = NULL;
    if (c->ram_low_top % HVP_PAGE || c->ram_high_size % HVP_PAGE || c->pool32_size % HVP_PAGE ||
        c->bar_phys % HVP_PAGE)
        why = "addresses and sizes must be page multiples";
    else if (c->ram_low_top < (128ull << 20) || c->ram_low_top > HVP_4G)
        why = "ram_low_top must be in [128 MiB, 4 GiB]";
    else if (c->pool32_size < (1ull << 20) || c->pool32_size > c->ram_low_top - (32ull << 20))
        why = "pool32_size must be in [1 MiB, ram_low_top - 32 MiB]";
    else if (c->bar_phys < c->ram_low_top || c->bar_phys + DMM_BAR_SIZE > HVP_4G)
        why = "bar_phys must lie in the hole [ram_low_top, 4 GiB)";
    else if (c->ram_high_size > (1ull << 46))
        why = "ram_high_size above 64 TiB";
    else if (c->placement == HVP_PLACE_ABOVE_4G && c->ram_high_size == 0)
        why = "placement ABOVE_4G needs ram_high_size";
    else if ((unsigned)c->placement > HVP_PLACE_BELOW_16M)
        why = "bad placement";
    else if (c->contig_permille > 1000)
        why = "contig_permille above 1000";
    else if (c->map_register_cap < 1 || c->map_register_cap > 65536)
        why = "map_register_cap must be in [1, 65536]";
    else if (c->quarantine < 1 || c->quarantine > 1u << 20)
        why = "quarantine must be in [1, 2^20]";
    else if (c->clock_step_ns < 1)
        why = "clock_step_ns must be >= 1";
    if (!why)
        return true;
    hvp_log_msg msg = {.level = HVP_LOG_ERROR, .text = why};
    if (c->log)
        c->log(c->log_ctx, &msg);
    (void)m;
    return false;
}

hvp_machine *hvp_machine_new(const hvp_config *cfg, const dmm_config *dev_cfg)
{
    hvp_config def;
    if (!cfg) {
        hvp_config_default(&def);
        cfg = &def;
    }
    if (!config_ok(NULL, cfg))
        return NULL;
    hvp_machine *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->cfg = *cfg;
    if (dev_cfg)
        m->dev_cfg = *dev_cfg;
    else
        dmm_config_default(&m->dev_cfg);
    m->quar = calloc(cfg->quarantine, sizeof(*m->quar));
    m->dead_mdls = calloc(cfg->quarantine, sizeof(*m->dead_mdls));
    pthread_mutex_init(&m->va_lock, NULL);
    if (cfg->va_base) {
        if (!m->cfg.va_size)
            m->cfg.va_size = 256u << 20;
        void *a = mmap((void *)(uintptr_t)cfg->va_base, m->cfg.va_size, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
        if (a == MAP_FAILED || (uintptr_t)a != cfg->va_base) {
            if (a != MAP_FAILED)
                munmap(a, m->cfg.va_size);
            hvp__log(m, HVP_LOG_WARN,
                     "cannot map the VA arena at 0x%llx; virtual addresses will vary",
                     (unsigned long long)cfg->va_base);
        } else {
            m->va_arena = a;
        }
    }
    m->pm = dmm_phys_new();
    if (!m->quar || !m->dead_mdls || !m->pm)
        goto fail_early;
    m->dev = dmm_dev_new(&m->dev_cfg, m->pm);
    if (!m->dev) {
        hvp__log(m, HVP_LOG_ERROR, "dmm_dev_new refused the device configuration");
        goto fail_early;
    }
    pthread_mutex_init(&m->lock, NULL);
    pthread_rwlockattr_t ra; /* register pollers must not starve LockBuffer/UnlockBuffer */
    pthread_rwlockattr_init(&ra);
    pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&m->layout, &ra);
    pthread_rwlockattr_destroy(&ra);
    pthread_mutex_init(&m->device_lock, NULL);
    pthread_mutex_init(&m->intr_lock, NULL);
    pthread_mutex_init(&m->ev_lock, NULL);
    pthread_mutex_init(&m->deliver_lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&m->ev_cond, &ca);
    pthread_condattr_destroy(&ca);
    if (hvp__phys_init(m) != 0) {
        hvp__log(m, HVP_LOG_ERROR, "out of memory setting up physical memory");
        hvp__phys_fini(m);
        dmm_dev_free(m->dev);
        goto fail_early;
    }
    dmm_dev_set_irq(m->dev, irq_cb, m);
    if (!cfg->deterministic) {
        if (pthread_create(&m->intr_thread, NULL, intr_main, m) != 0) {
            hvp__phys_fini(m);
            dmm_dev_set_irq(m->dev, NULL, NULL);
            dmm_dev_free(m->dev);
            goto fail_early;
        }
        if (pthread_create(&m->dpc_thread, NULL, dpc_main, m) != 0) {
            pthread_mutex_lock(&m->ev_lock);
            m->stop = true;
            pthread_cond_broadcast(&m->ev_cond);
            pthread_mutex_unlock(&m->ev_lock);
            pthread_join(m->intr_thread, NULL);
            hvp__phys_fini(m);
            dmm_dev_set_irq(m->dev, NULL, NULL);
            dmm_dev_free(m->dev);
            goto fail_early;
        }
        m->threads_started = true;
    }
    pthread_mutex_lock(&g_lock);
    m->next_machine = g_machines;
    g_machines = m;
    pthread_mutex_unlock(&g_lock);
    return m;

fail_early:
    if (m->va_arena)
        munmap(m->va_arena, m->cfg.va_size);
    dmm_phys_free(m->pm);
    free(m->quar);
    free(m->dead_mdls);
    free(m);
    return NULL;
}

void hvp_machine_free(hvp_machine *m)
{
    if (!m)
        return;
    if (hvp_wait_idle(m, 10000) != HVP_OK)
        hvp__log(m, HVP_LOG_WARN, "machine not idle after 10 s; tearing down anyway");
    pthread_mutex_lock(&m->ev_lock);
    m->intr_connected = false;
    m->stop = true;
    pthread_cond_broadcast(&m->ev_cond);
    pthread_mutex_unlock(&m->ev_lock);
    dmm_dev_set_irq(m->dev, NULL, NULL);
    if (m->threads_started) {
        pthread_join(m->intr_thread, NULL);
        pthread_join(m->dpc_thread, NULL);
    }
    hvp__dma_teardown(m);
    hvp__regs_teardown(m);
    hvp__sync_teardown(m);
    hvp__replay_free(m);

    pthread_mutex_lock(&g_lock);
    for (hvp_machine **pp = &g_machines; *pp; pp = &(*pp)->next_machine)
        if (*pp == m) {
            *pp = m->next_machine;
            break;
        }
    pthread_mutex_unlock(&g_lock);
    if (hvp__cpu.m == m)
        hvp__cpu.m = NULL;

    dmm_dev_free(m->dev);
    hvp__phys_fini(m);
    dmm_phys_free(m->pm);
    hvp__va_free(m, m->devext);
    free(m->quar);
    free(m->dead_mdls);
    pthread_cond_destroy(&m->ev_cond);
    pthread_mutex_destroy(&m->deliver_lock);
    pthread_mutex_destroy(&m->ev_lock);
    pthread_mutex_destroy(&m->intr_lock);
    pthread_mutex_destroy(&m->device_lock);
    pthread_rwlock_destroy(&m->layout);
    pthread_mutex_destroy(&m->lock);
    if (m->va_arena)
        munmap(m->va_arena, m->cfg.va_size);
    free(m);
}

/* ---- driver loading ------------------------------------------------------ */

static PVOID NTAPI get_proc_address(IN PVOID HwDeviceExtension, IN PUCHAR FunctionName)
{
    (void)HwDeviceExtension;
    if (!FunctionName)
        return NULL;
    return hvp__proc_address((const char *)FunctionName);
}

ULONG NTAPI VideoPortInitialize(IN PVOID Argument1, IN PVOID Argument2,
                                IN PVIDEO_HW_INITIALIZATION_DATA HwInitializationData,
                                IN PVOID HwContext)
{
    (void)Argument2;
    hvp_machine *m = find_machine(Argument1, false);
    if (!m) {
        hvp__misuse(NULL, HVP_MISUSE_INIT,
                    "VideoPortInitialize: Argument1 %p is not the DriverObject hvp passed",
                    Argument1);
        return STATUS_INVALID_PARAMETER_;
    }
    PVIDEO_HW_INITIALIZATION_DATA hw = HwInitializationData;
    if (!hw) {
        hvp__misuse(m, HVP_MISUSE_INIT, "VideoPortInitialize: NULL HwInitializationData");
        return STATUS_INVALID_PARAMETER_;
    }
    if (hw->HwInitDataSize > sizeof(VIDEO_HW_INITIALIZATION_DATA) ||
        hw->HwInitDataSize < (ULONG)SIZE_OF_NT4_VIDEO_HW_INITIALIZATION_DATA) {
        hvp__misuse(m, HVP_MISUSE_INIT, "VideoPortInitialize: HwInitDataSize %u not in [%u, %zu]",
                    hw->HwInitDataSize, (unsigned)SIZE_OF_NT4_VIDEO_HW_INITIALIZATION_DATA,
                    sizeof(VIDEO_HW_INITIALIZATION_DATA));
        return STATUS_REVISION_MISMATCH_;
    }
    if (!hw->HwFindAdapter || !hw->HwInitialize || !hw->HwStartIO) {
        hvp__misuse(m, HVP_MISUSE_INIT,
                    "VideoPortInitialize: HwFindAdapter, HwInitialize and HwStartIO are required");
        return STATUS_INVALID_PARAMETER_;
    }
    pthread_mutex_lock(&m->lock);
    bool again = m->registered;
    if (!again) {
        memset(&m->hw, 0, sizeof(m->hw));
        memcpy(&m->hw, hw, hw->HwInitDataSize);
        m->hw_context = HwContext;
        m->registered = true;
    }
    pthread_mutex_unlock(&m->lock);
    if (again)
        hvp__log(m, HVP_LOG_INFO,
                 "VideoPortInitialize called again; the first registration "
                 "is kept (one adapter per machine)");
    return STATUS_SUCCESS_;
}

int hvp_load_driver(hvp_machine *m, hvp_driver_entry_fn entry)
{
    if (!m || !entry)
        return HVP_EINVAL;
    if (m->loaded)
        return HVP_ESTATE;
    hvp_cpu saved = hvp__cpu;
    hvp__cpu = (hvp_cpu){.m = m, .irql = HVP_IRQL_PASSIVE};
    int rc = HVP_OK;
    unsigned st = entry(m, NULL);
    if (st != 0 || !m->registered) {
        hvp__log(m, HVP_LOG_ERROR, "DriverEntry returned 0x%08X%s", st,
                 m->registered ? "" : " without calling VideoPortInitialize");
        rc = HVP_EDRIVER;
        goto out;
    }
    m->loaded = true;
    size_t extsz = m->hw.HwDeviceExtensionSize ? m->hw.HwDeviceExtensionSize : 1;
    void *ext = hvp__va_alloc(m, extsz);
    if (!ext) {
        rc = HVP_ENOMEM;
        goto out;
    }
    pthread_mutex_lock(&g_lock); /* find_machine reads devext under g_lock */
    m->devext = ext;
    pthread_mutex_unlock(&g_lock);

    VIDEO_PORT_CONFIG_INFO *ci = &m->config_info;
    memset(ci, 0, sizeof(*ci));
    ci->Length = sizeof(*ci);
    ci->SystemIoBusNumber = 0;
    ci->AdapterInterfaceType = PCIBus;
    ci->BusInterruptLevel = m->cfg.irq_level;
    ci->BusInterruptVector = m->cfg.irq_level;
    ci->InterruptMode = LevelSensitive;
    ci->VideoPortGetProcAddress = get_proc_address;
    ci->DriverRegistryPath = (PWSTR)g_registry_path;
    ci->SystemMemorySize = hvp__ram_bytes(&m->cfg);
    UCHAR again = 0;
    VP_STATUS vs = m->hw.HwFindAdapter(ext, m->hw_context, NULL, ci, &again);
    hvp__deliver(m);
    if (vs != NO_ERROR) {
        hvp__log(m, HVP_LOG_ERROR, "HwVidFindAdapter returned %d", (int)vs);
        rc = HVP_ENODEV;
        goto out;
    }
    m->found = true;
    if (m->hw.HwInterrupt && (ci->BusInterruptLevel || ci->BusInterruptVector)) {
        pthread_mutex_lock(&m->ev_lock);
        m->intr_connected = true;
        m->intr_enabled = true;
        pthread_mutex_unlock(&m->ev_lock);
        check_line_on_enable(m);
    }
    BOOLEAN ok = m->hw.HwInitialize(ext);
    hvp__deliver(m);
    if (!ok) {
        hvp__log(m, HVP_LOG_ERROR, "HwVidInitialize returned FALSE");
        rc = HVP_EINIT;
    }
out:
    hvp__cpu = saved;
    return rc;
}

/* ---- IOCTLs and the device lock ------------------------------------------ */

static void device_lock_acquire(hvp_machine *m, bool by_driver)
{
    pthread_mutex_lock(&m->device_lock);
    m->device_lock_owner = pthread_self();
    m->device_lock_by_driver = by_driver;
    atomic_store(&m->device_lock_held, true);
}

static void device_lock_release(hvp_machine *m)
{
    m->device_lock_by_driver = false;
    atomic_store(&m->device_lock_held, false);
    pthread_mutex_unlock(&m->device_lock);
}

static bool device_lock_mine(hvp_machine *m)
{
    return atomic_load(&m->device_lock_held) && pthread_equal(m->device_lock_owner, pthread_self());
}

/* The device lock is the one VideoPort holds around HwVidStartIO. */
VOID NTAPI VideoPortAcquireDeviceLock(IN PVOID HwDeviceExtension)
{
    hvp_machine *m = hvp__machine_of(HwDeviceExtension, "VideoPortAcquireDeviceLock");
    if (!m)
        return;
    hvp__check_irql(m, HVP_IRQL_PASSIVE, "VideoPortAcquireDeviceLock");
    if (device_lock_mine(m)) {
        hvp__misuse(m, HVP_MISUSE_DEVICE_LOCK,
                    "VideoPortAcquireDeviceLock while already holding the device lock (%s): "
                    "deadlock on Windows; ignored",
                    m->device_lock_by_driver ? "recursive" : "inside HwVidStartIO");
        m->device_lock_absorbed++;
        return;
    }
    device_lock_acquire(m, true);
}

VOID NTAPI VideoPortReleaseDeviceLock(IN PVOID HwDeviceExtension)
{
    hvp_machine *m = hvp__machine_of(HwDeviceExtension, "VideoPortReleaseDeviceLock");
    if (!m)
        return;
    if (device_lock_mine(m) && m->device_lock_absorbed) {
        m->device_lock_absorbed--; /* pairs with an ignored acquire */
        return;
    }
    if (!device_lock_mine(m) || !m->device_lock_by_driver) {
        hvp__misuse(m, HVP_MISUSE_DEVICE_LOCK,
                    "VideoPortReleaseDeviceLock without a matching VideoPortAcquireDeviceLock; "
                    "ignored");
        return;
    }
    device_lock_release(m);
}

int32_t hvp_ioctl(hvp_machine *m, uint32_t code, const void *in, uint32_t in_len, void *out,
                  uint32_t out_len, uint32_t *bytes_returned)
{
    if (bytes_returned)
        *bytes_returned = 0;
    if (!m || (in_len && !in) || (out_len && !out))
        return HVP_EINVAL;
    if (!m->found)
        return HVP_ESTATE;
    size_t sz = in_len > out_len ? in_len : out_len;
    unsigned char *sys = calloc(1, sz ? sz : 1);
    if (!sys)
        return HVP_ENOMEM;
    if (in_len)
        memcpy(sys, in, in_len);
    STATUS_BLOCK sb;
    memset(&sb, 0, sizeof(sb));
    sb.Status = NO_ERROR;
    VIDEO_REQUEST_PACKET vrp = {
        .IoControlCode = code,
        .StatusBlock = &sb,
        .InputBuffer = sys,
        .InputBufferLength = in_len,
        .OutputBuffer = sys,
        .OutputBufferLength = out_len,
    };
    hvp__stat_add(m, &m->st.ioctls, 1);
    hvp_cpu saved = hvp__cpu;
    hvp__cpu = (hvp_cpu){.m = m, .irql = HVP_IRQL_PASSIVE};
    device_lock_acquire(m, false);
    BOOLEAN handled = m->hw.HwStartIO(m->devext, &vrp);
    device_lock_release(m);
    hvp__cpu.irql = HVP_IRQL_PASSIVE;
    hvp__deliver(m);
    hvp__cpu = saved;
    if (!handled)
        hvp__log(m, HVP_LOG_WARN, "HwVidStartIO returned FALSE for IOCTL 0x%08X", code);
    ULONG_PTR info = sb.Information;
    if (info > out_len) {
        hvp__misuse(m, HVP_MISUSE_IOCTL_OVERFLOW,
                    "IOCTL 0x%08X: StatusBlock->Information %lu > OutputBufferLength %u "
                    "(the I/O manager would copy past the caller's buffer)",
                    code, (unsigned long)info, out_len);
        info = out_len;
    }
    if (info)
        memcpy(out, sys, info);
    if (bytes_returned)
        *bytes_returned = (uint32_t)info;
    free(sys);
    return (int32_t)sb.Status;
}

/* ---- tool accessors --------------------------------------------------------- */

int hvp_wait_idle(hvp_machine *m, uint32_t timeout_ms)
{
    if (!m)
        return HVP_EINVAL;
    if (m->cfg.deterministic) {
        hvp_cpu saved = hvp__cpu;
        hvp__cpu.irql = HVP_IRQL_PASSIVE;
        hvp__cpu.delivering = false;
        do
            hvp__deliver(m);
        while (hvp__idle_skip(m));
        hvp__cpu = saved;
    }
    struct timespec dl;
    deadline_in(&dl, (uint64_t)timeout_ms * 1000000ull);
    int rc = HVP_OK;
    pthread_mutex_lock(&m->ev_lock);
    for (;;) {
        bool busy = m->isr_running || m->dpc_running ||
                    (m->threads_started &&
                     (m->irq_pending || m->dpc_queued ||
                      (hvp__deferred(m) && dmm_next_completion(m->dev) != UINT64_MAX)));
        if (!busy)
            break;
        if (timeout_ms == 0) {
            pthread_cond_wait(&m->ev_cond, &m->ev_lock);
        } else if (pthread_cond_timedwait(&m->ev_cond, &m->ev_lock, &dl) == ETIMEDOUT) {
            rc = HVP_ETIMEOUT;
            break;
        }
    }
    pthread_mutex_unlock(&m->ev_lock);
    return rc;
}

void hvp_stats_get(hvp_machine *m, hvp_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (!m)
        return;
    _Static_assert(sizeof(hvp_stats) % sizeof(uint64_t) == 0, "hvp_stats is all uint64_t");
    const uint64_t *src = (const uint64_t *)&m->st;
    uint64_t *dst = (uint64_t *)out;
    for (size_t i = 0; i < sizeof(hvp_stats) / sizeof(uint64_t); i++)
        dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}

const hvp_config *hvp_machine_config(hvp_machine *m)
{
    return m ? &m->cfg : NULL;
}

dmm_dev *hvp_dev(hvp_machine *m)
{
    return m ? m->dev : NULL;
}

dmm_phys *hvp_phys(hvp_machine *m)
{
    return m ? m->pm : NULL;
}

void *hvp_device_extension(hvp_machine *m)
{
    return m ? m->devext : NULL;
}
