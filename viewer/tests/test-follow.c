/*
 * test-follow.c - the viewer's follow mode end to end under Xvfb: a real
 * `dmatrace record` (slowed down, small ring) drains a real `dmatrace
 * capture --ring` with a planted fault (sg-skip); the window follows the
 * growing trace.  While the capture still runs (the trace has no END
 * record), the model must show records, a LOST range (the small ring
 * overflows) and the planted fault's finding, and the view must end at the
 * newest record; selecting a transfer pauses ("paused, N new records"),
 * the resume action follows again; after the recorder stops, the status
 * says the recording ended and the model holds every record of the file.
 * Waits are on conditions with generous limits; the latency from a
 * record's time to its commit is reported, never asserted.  Screenshots
 * are written next to the test binary.  Also `--render` of the growing
 * file: it draws what is on disk (exit 0, a PNG).  And a trace that
 * stopped growing with its last chunk cut inside a record, whole records
 * before the cut (a recorder killed mid-write): the follower stalls, reads
 * the cut chunk's whole records as any cut file is read, and ends with the
 * records and the audit findings `dmt_audit_file` finds in the same bytes.
 */
#include <glib/gstdio.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dmt/audit.h"
#include "dmt/reader.h"
#include "dmt/sniff.h"
#include "dmt/testkit.h"
#include "dmtv-application.h"
#include "dmtv-follow.h"
#include "dmtv-window.h"
#include "guikit.h"
#include "tracegen.h"

#define LONG_MS 240000 /* generous: the machine may be busy */

typedef struct {
    DmtvWindow *win;
    const char *trace;
    const char *status_has;
} Ctx;

static gboolean file_started(gpointer p)
{
    GStatBuf st;
    return g_stat(((Ctx *)p)->trace, &st) == 0 && st.st_size > 64;
}

static const DmtvTrace *trace_of(Ctx *c)
{
    DmtvModel *m = dmtv_window_get_model(c->win);
    return m ? dmtv_model_get_trace(m) : NULL;
}

static gboolean has_finding(const DmtvTrace *tr, const char *rule)
{
    for (size_t i = 0; tr && i < tr->n_findings; i++)
        if (!strcmp(tr->findings[i].rule, rule))
            return TRUE;
    return FALSE;
}

/* Records, a LOST range and the planted fault's finding on screen. */
static gboolean seen_all(gpointer p)
{
    const DmtvTrace *tr = trace_of(p);
    return tr && tr->records > 0 && tr->n_lost > 0 && has_finding(tr, "prog-skipped");
}

static gboolean status_has(gpointer p)
{
    Ctx *c = p;
    char *s = dmtv_window_get_status_text(c->win);
    gboolean yes = strstr(s, c->status_has) != NULL;
    g_free(s);
    return yes;
}

static GPid spawn(char **argv)
{
    GPid pid = 0;
    GError *e = NULL;
    if (!g_spawn_async(NULL, argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL,
                       NULL, NULL, &pid, &e)) {
        fprintf(stderr, "cannot run %s: %s\n", argv[0], e->message);
        g_error_free(e);
        return 0;
    }
    return pid;
}

static gboolean running(GPid pid)
{
    int st;
    return pid > 0 && waitpid(pid, &st, WNOHANG) == 0;
}

static uint64_t file_records(const char *path)
{
    dmt_reader *rd;
    dmt_error e;
    dmt_record r;
    uint64_t n = 0;
    if (dmt_reader_open(path, DMT_READ_ALLOW_CUT, &rd, &e) != 0)
        return 0;
    while (dmt_reader_next(rd, &r, &e) == 1)
        n++;
    dmt_reader_close(rd);
    return n;
}

static void run(void)
{
    char *dir = tg_tmpdir();
    g_setenv("XDG_CACHE_HOME", dir, TRUE);
    g_setenv("XDG_DATA_HOME", dir, TRUE);
    char *ring = g_build_filename(dir, "live.ring", NULL);
    char *trace = g_build_filename(dir, "live.dmat", NULL);
    Ctx c = {.trace = trace};

    /* the recorder: a 64 KiB ring drained slowly (about 8 records per
     * 100 ms), so the paced capture still overflows it (LOST) */
    char *rec_argv[] = {DMT_CLI,         "record", "--ring", ring,         "-o",
                        trace,           "--size", "64K",    "--flush-ms", "100",
                        "--throttle-us", "100000", NULL};
    GPid rec = spawn(rec_argv);
    CHECK(rec > 0);
    CHECKF(gk_wait_for(file_started, &c, LONG_MS), "the recorder never wrote %s", trace);

    DmtvApplication *app = dmtv_application_new();
    GError *e = NULL;
    CHECK(g_application_register(G_APPLICATION(app), NULL, &e));
    g_clear_error(&e);
    DmtvWindow *win = dmtv_window_new(app);
    c.win = win;
    gtk_window_set_default_size(GTK_WINDOW(win), 1500, 950);
    gtk_window_present(GTK_WINDOW(win));
    gk_pump(200);
    CHECKF(dmtv_window_follow(win, trace, &e), "%s", e ? e->message : "");
    g_clear_error(&e);

    /* single-threaded, so the planted transfer (the 5th) is the same every
     * run and reaches the ring before it can fill; paced, so the capture
     * lasts minutes: the checks below happen while it runs */
    char *cap_argv[] = {DMT_CLI,     "capture", "--scenario", "mixed",    "--transfers",
                        "2000",      "--seed",  "5",          "--inject", "sg-skip",
                        "--pace-ms", "100",     "--ring",     ring,       NULL};
    GPid cap = spawn(cap_argv);
    CHECK(cap > 0);

    /* while the recording runs: records, the loss and the finding */
    CHECKF(gk_wait_for(seen_all, &c, LONG_MS), "records/LOST/finding not shown");
    CHECKF(running(cap) && running(rec) && dmt_sniff_ended(trace, NULL) == 0,
           "the capture ended before the test stopped it");
    const DmtvTrace *tr = trace_of(&c);
    if (!tr)
        return;
    fprintf(stderr,
            "shown while recording: %" G_GUINT64_FORMAT " records, %zu lost ranges, %zu "
            "findings; commit lag behind the newest record: %.1f ms\n",
            tr->records, tr->n_lost, tr->n_findings, (double)dmtv_window_follow_lag_ns(win) / 1e6);
    CHECK(dmtv_window_is_following(win));
    DmtvTimeline *tl = dmtv_window_get_timeline(win);
    const DmtvView *v = dmtv_timeline_get_view(tl);
    CHECKF(v->t1 >= tr->t_last && v->t0 <= tr->t_last, "following: the newest record is in view");
    c.status_has = "following";
    CHECK(gk_wait_for(status_has, &c, 5000));
    gk_pump(300);
    gk_screenshot(GTK_WIDGET(win), "viewer-follow.png");

    /* --render on the growing file: what is on disk now, not an error */
    {
        char *png = g_build_filename(dir, "growing.png", NULL);
        char *argv[] = {DMTV_VIEWER_BIN, "--render", png, "--size", "800x400", trace, NULL};
        int status = -1;
        GError *se = NULL;
        gboolean spawned =
            g_spawn_sync(NULL, argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL, NULL, &status, &se);
        CHECKF(spawned, "--render did not start: %s", se ? se->message : "?");
        g_clear_error(&se);
        CHECK(running(rec) && dmt_sniff_ended(trace, NULL) == 0); /* still growing */
        CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 0, "--render exited %d", status);
        GStatBuf st;
        CHECK(g_stat(png, &st) == 0 && st.st_size > 1000);
        g_free(png);
    }

    /* selecting a transfer pauses; the status counts what came since */
    GArray *xs = dmtv_model_transfers_in(dmtv_window_get_model(win), tr->t_first, tr->t_last, 1);
    CHECK(xs->len == 1);
    if (xs->len)
        dmtv_timeline_select_transfer(tl, g_array_index(xs, DmtvTransfer, 0).xfer);
    g_array_unref(xs);
    CHECK(!dmtv_window_is_following(win));
    c.status_has = "paused, ";
    CHECK(gk_wait_for(status_has, &c, 5000));
    int64_t paused_t1 = dmtv_timeline_get_view(tl)->t1;
    gk_pump(1500);
    CHECK(dmtv_timeline_get_view(tl)->t1 == paused_t1); /* the view stays */
    fprintf(stderr, "paused: %" G_GUINT64_FORMAT " new records since\n",
            dmtv_window_follow_new_records(win));
    gk_screenshot(GTK_WIDGET(win), "viewer-follow-paused.png");

    /* the resume action (End, the Follow button) follows again */
    g_action_group_activate_action(G_ACTION_GROUP(win), "follow-resume", NULL);
    CHECK(dmtv_window_is_following(win));
    c.status_has = "following";
    CHECK(gk_wait_for(status_has, &c, 5000));
    tr = trace_of(&c);
    v = dmtv_timeline_get_view(tl);
    CHECK(tr && v->t1 >= tr->t_last);

    /* scrolling back pauses too */
    dmtv_timeline_pan(tl, -3.0);
    CHECK(!dmtv_window_is_following(win));
    g_action_group_activate_action(G_ACTION_GROUP(win), "follow-resume", NULL);
    CHECK(dmtv_window_is_following(win));

    /* the recording ends: END record, every record of the file shown */
    int st = 0;
    kill(cap, SIGKILL);
    waitpid(cap, &st, 0);
    kill(rec, SIGINT);
    waitpid(rec, &st, 0);
    CHECK(dmt_sniff_ended(trace, NULL) == 1);
    c.status_has = "recording ended";
    CHECKF(gk_wait_for(status_has, &c, LONG_MS), "the end of the recording was not shown");
    tr = trace_of(&c);
    uint64_t on_disk = file_records(trace);
    CHECKF(tr && tr->records == on_disk, "model %" G_GUINT64_FORMAT ", file %" G_GUINT64_FORMAT,
           tr ? tr->records : 0, on_disk);
    CHECK(has_finding(tr, "prog-skipped"));
    gk_pump(300);
    gk_screenshot(GTK_WIDGET(win), "viewer-follow-ended.png");

    gtk_window_destroy(GTK_WINDOW(win));
    gk_pump(100);
    g_object_unref(app);
    g_free(ring);
    CHECK(tg_fixtures_done(dir, NULL, trace) == 0);
}

typedef struct {
    DmtvFollowUpdate last; /* without its model */
    gboolean done;
} Stalled;

static void on_stalled_update(DmtvFollowUpdate *u, gpointer user)
{
    Stalled *s = user;
    s->last = *u;
    s->last.model = NULL;
    s->done = u->state != DMTV_FOLLOW_GROWING;
}

static void count_finding(void *user, const dmt_finding *f)
{
    (void)f;
    (*(guint64 *)user)++;
}

/* Where to cut the finished trace at path so that its last chunk keeps
 * whole records after its last verified CHUNK: one byte into the record
 * after the middle one of the last chunk holding at least 16 records.
 * *verified: the records before that chunk (what a follower verifies). */
static uint64_t cut_inside_last_chunk(const char *path, uint64_t *verified)
{
    dmt_reader *rd = NULL;
    dmt_error err = {0};
    uint64_t cut = 0;
    *verified = 0;
    if (dmt_reader_open(path, 0, &rd, &err))
        return 0;
    GArray *ends = g_array_new(FALSE, FALSE, sizeof(uint64_t)); /* record i's end offset */
    dmt_reader_resume chunk = {0}, best = {0};
    dmt_reader_boundary(rd, &chunk);
    uint64_t best_n = 0;
    dmt_record rec;
    for (;;) {
        dmt_reader_resume b;
        dmt_reader_boundary(rd, &b);
        if (b.offset != chunk.offset) { /* a chunk ended: keep it if big enough */
            if (b.count - chunk.count >= 16) {
                best = chunk;
                best_n = b.count - chunk.count;
            }
            chunk = b;
        }
        if (dmt_reader_next(rd, &rec, &err) != 1)
            break;
        uint64_t end = dmt_reader_offset(rd);
        g_array_append_val(ends, end);
    }
    if (best_n) {
        uint64_t mid = best.count + best_n / 2; /* records kept */
        cut = g_array_index(ends, uint64_t, mid - 1) + 1;
        *verified = best.count;
    }
    g_array_free(ends, TRUE);
    dmt_reader_close(rd);
    return cut;
}

static void run_stalled(void)
{
    char *dir = tg_tmpdir();
    char *trace = g_build_filename(dir, "stalled.dmat", NULL);
    CHECK(tg_write_dmat(trace, 3000) == 0);
    /* no END, the last chunk cut after whole records, inside the next one */
    uint64_t verified = 0, cut = cut_inside_last_chunk(trace, &verified);
    CHECKF(cut > 4096 && verified > 0, "cut at %" G_GUINT64_FORMAT, cut);
    CHECK(truncate(trace, (off_t)cut) == 0);
    CHECK(dmt_sniff_ended(trace, NULL) == 0);
    guint64 want_findings = 0;
    dmt_audit_config cfg = {.sink = count_finding, .user = &want_findings};
    dmt_audit_stats as;
    dmt_error err;
    CHECKF(dmt_audit_file(trace, &cfg, &as, &err) == 0, "%s", err.msg);
    /* the follower must read records past the last verified chunk */
    CHECKF(as.cut && want_findings > 0 && as.records > verified,
           "audit %" G_GUINT64_FORMAT " records, %" G_GUINT64_FORMAT " in verified chunks",
           (guint64)as.records, verified);

    Stalled s = {0};
    GError *e = NULL;
    DmtvFollower *f = dmtv_follow_start(trace, on_stalled_update, &s, &e);
    CHECKF(f != NULL, "%s", e ? e->message : "?");
    gint64 until = g_get_monotonic_time() + (gint64)(DMTV_FOLLOW_STALL_MS + 60000) * 1000;
    while (f && !s.done && g_get_monotonic_time() < until)
        g_main_context_iteration(NULL, TRUE);
    CHECKF(s.done && s.last.state == DMTV_FOLLOW_STALLED, "state %d: %s", (int)s.last.state,
           s.last.message);
    CHECKF(s.last.records == as.records && s.last.findings == want_findings,
           "followed %" G_GUINT64_FORMAT " records, %" G_GUINT64_FORMAT
           " findings; the audit of the file %" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT,
           s.last.records, s.last.findings, (guint64)as.records, want_findings);
    dmtv_follow_stop(f);
    char *db = dmtv_follow_cache_path(trace);
    for (int i = 0; i < 3; i++) {
        char *side = g_strconcat(db, i == 1 ? "-wal" : i == 2 ? "-shm" : "", NULL);
        g_unlink(side);
        g_free(side);
    }
    CHECK(tg_fixtures_done(dir, db, trace) == 0);
}

int main(int argc, char **argv)
{
    (void)argc;
    const char *mark = g_getenv("DMTV_IN_XVFB");
    if (!mark)
        return gk_reexec_under_xvfb(argv, "viewer_follow");
    g_file_set_contents(mark, "started", -1, NULL);
    if (!gtk_init_check()) {
        fprintf(stderr, "viewer_follow: cannot open the X display: skipped\n");
        return 77;
    }
    run_stalled();
    run();
    return tk_result("viewer_follow");
}
