/*
 * cmd_check.c - `dmatrace check`, `dmatrace bless` and `dmatrace corpus add`:
 * the regression corpus from the command line (the library is cor/corpus.h).
 *
 * Traces are checked in parallel by forked workers (-j N, default the
 * number of CPUs): each child runs one trace's replay, driver replay and
 * audit and sends its cor_actual back through a pipe; a child that dies is
 * that trace's ERROR, never the runner's.  Results are reported in manifest
 * order whatever order the workers finish in.
 */
#include <errno.h>
#include <fnmatch.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cor/corpus.h"

typedef struct runner {
    const cor_manifest *m;
    const cor_run_opts *o;
    cor_actual *actual; /* per trace */
    double *seconds;
} runner;

typedef struct worker {
    pid_t pid;
    int fd;
    size_t trace;
    size_t got;
    double t0;
} worker;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static unsigned default_jobs(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 && n < 1024 ? (unsigned)n : 1;
}

static bool start_worker(runner *rn, size_t i, worker *w)
{
    int p[2];
    if (pipe(p) != 0)
        return false;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        return false;
    }
    if (pid == 0) {
        close(p[0]);
        const cor_trace *t = &rn->m->traces[i];
        cor_actual a;
        cor_run_trace(t, cor_trace_set(t, rn->o->key), rn->o, &a);
        const char *b = (const char *)&a;
        size_t left = sizeof a;
        while (left) {
            ssize_t k = write(p[1], b, left);
            if (k <= 0 && errno != EINTR)
                _exit(3);
            if (k > 0)
                b += k, left -= (size_t)k;
        }
        _exit(0);
    }
    close(p[1]);
    *w = (worker){pid, p[0], i, 0, now_s()};
    return true;
}

/* Read what is there from w; true when the worker is done (result or death). */
static bool pump(runner *rn, worker *w)
{
    char *b = (char *)&rn->actual[w->trace];
    ssize_t k = read(w->fd, b + w->got, sizeof(cor_actual) - w->got);
    if (k > 0) {
        w->got += (size_t)k;
        if (w->got < sizeof(cor_actual))
            return false;
    } else if (k < 0 && errno == EINTR)
        return false;
    close(w->fd);
    int st = 0;
    waitpid(w->pid, &st, 0);
    rn->seconds[w->trace] = now_s() - w->t0;
    if (w->got != sizeof(cor_actual)) {
        cor_actual *a = &rn->actual[w->trace];
        memset(a, 0, sizeof *a);
        a->error = true;
        if (WIFSIGNALED(st))
            snprintf(a->error_text, sizeof a->error_text, "%s: the check crashed (signal %d)",
                     rn->m->traces[w->trace].path, WTERMSIG(st));
        else
            snprintf(a->error_text, sizeof a->error_text, "%s: the check died (status %d)",
                     rn->m->traces[w->trace].path, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    }
    return true;
}

/* Run the selected traces with up to jobs workers; progress on a TTY. */
static int run_all(runner *rn, const size_t *sel, size_t nsel, unsigned jobs)
{
    worker *ws = calloc(jobs, sizeof *ws);
    struct pollfd *pf = calloc(jobs, sizeof *pf);
    if (!ws || !pf) {
        free(ws);
        free(pf);
        return -1;
    }
    const bool tty = cli_progress_enabled();
    size_t next = 0, done = 0, active = 0;
    while (done < nsel) {
        while (active < jobs && next < nsel) {
            if (!start_worker(rn, sel[next], &ws[active])) {
                cor_actual *a = &rn->actual[sel[next]];
                memset(a, 0, sizeof *a);
                a->error = true;
                snprintf(a->error_text, sizeof a->error_text, "cannot start a worker: %s",
                         strerror(errno));
                done++;
            } else
                active++;
            next++;
        }
        if (!active)
            continue;
        for (size_t i = 0; i < active; i++)
            pf[i] = (struct pollfd){ws[i].fd, POLLIN, 0};
        if (poll(pf, active, -1) < 0 && errno != EINTR)
            break;
        for (size_t i = 0; i < active;) {
            if (pf[i].revents && pump(rn, &ws[i])) {
                done++;
                ws[i] = ws[active - 1];
                pf[i] = pf[active - 1];
                active--;
                if (tty)
                    fprintf(stderr, "\rcheck: %zu/%zu traces   ", done, nsel);
            } else
                i++;
        }
    }
    if (tty)
        fprintf(stderr, "\r\033[K");
    free(ws);
    free(pf);
    return 0;
}

static bool has_label(const cor_trace *t, const char *l)
{
    for (size_t i = 0; i < t->n_labels; i++)
        if (!strcmp(t->labels[i], l))
            return true;
    return false;
}

/* Does pattern name trace t (its path as written, its resolved path, or a
 * glob over either)? */
static bool names(const cor_trace *t, const char *pat)
{
    return !strcmp(pat, t->path) || !strcmp(pat, t->resolved) || !fnmatch(pat, t->path, 0);
}

typedef struct common {
    const char *key;
    unsigned jobs;
    const char *labels[16], *xlabels[16];
    size_t n_labels, n_xlabels;
    bool no_driver;
} common;

static int parse_common(const char *cmd, int c, common *co)
{
    uint64_t v;
    switch (c) {
    case 'j':
        if (!cli_parse_u64(optarg, &v) || v == 0 || v > 256)
            return cli_usage(cmd, "-j needs 1..256, not '%s'", optarg);
        co->jobs = (unsigned)v;
        return 0;
    case 'k':
        co->key = optarg;
        return 0;
    case 'L':
        if (co->n_labels == 16)
            return cli_usage(cmd, "at most 16 --label");
        co->labels[co->n_labels++] = optarg;
        return 0;
    case 'X':
        if (co->n_xlabels == 16)
            return cli_usage(cmd, "at most 16 --exclude-label");
        co->xlabels[co->n_xlabels++] = optarg;
        return 0;
    case 'D':
        co->no_driver = true;
        return 0;
    }
    return cli_usage(cmd, "bad option");
}

/* The traces selected by labels and patterns (argv[first..argc)). */
static size_t select_traces(const cor_manifest *m, const common *co, char **pats, int npats,
                            size_t *sel)
{
    size_t n = 0;
    for (size_t i = 0; i < m->n; i++) {
        const cor_trace *t = &m->traces[i];
        bool ok = true;
        for (size_t l = 0; l < co->n_labels; l++)
            ok &= has_label(t, co->labels[l]);
        for (size_t l = 0; l < co->n_xlabels; l++)
            ok &= !has_label(t, co->xlabels[l]);
        if (ok && npats) {
            bool any = false;
            for (int p = 0; p < npats; p++)
                any |= names(t, pats[p]);
            ok = any;
        }
        if (ok)
            sel[n++] = i;
    }
    return n;
}

static int load(const char *cmd, const char *path, cor_manifest **m)
{
    dmt_error err;
    int rc = cor_manifest_load(path, m, &err);
    if (rc == 0)
        return 0;
    if (err.index != DMT_NO_INDEX)
        fprintf(stderr, "dmatrace %s: %s:%" PRIu64 ": %s\n", cmd, path, err.index, err.msg);
    else
        fprintf(stderr, "dmatrace %s: %s: %s\n", cmd, path, err.msg);
    return rc == DMT_E_IO ? CLI_FAIL : CLI_BAD;
}

#define COMMON_LONGOPTS                                                                            \
    {"jobs", required_argument, 0, 'j'}, {"key", required_argument, 0, 'k'},                       \
        {"label", required_argument, 0, 'L'}, {"exclude-label", required_argument, 0, 'X'},        \
        {"no-driver", no_argument, 0, 'D'},                                                        \
    {                                                                                              \
        "help", no_argument, 0, 'h'                                                                \
    }

static void check_help(void)
{
    printf("usage: dmatrace check MANIFEST [PATTERN...] [-j N] [--key KEY] [--label L]...\n"
           "                      [--exclude-label L]... [--no-driver] [--junit FILE] [--tap]\n\n"
           "Run every selected trace of a regression corpus (a YAML manifest; README.md)\n"
           "through the replay, the driver replay and the audit, in parallel, and compare\n"
           "with the expectations the manifest keeps.  One line per trace:\n"
           "  PASS   as expected          XFAIL  a known divergence still occurs\n"
           "  FAIL   a difference         XPASS  a known divergence is gone (bless it)\n"
           "  ERROR  missing, changed or unreadable trace\n\n"
           "  -j N              parallel workers (default: the number of CPUs)\n"
           "  --key KEY         the expectation set (device revision / driver build) to use;\n"
           "                    a trace without one falls back to its 'default' set\n"
           "  --label L         only traces with label L (repeatable: all of them)\n"
           "  --exclude-label L skip traces with label L\n"
           "  --no-driver       skip the driver replays\n"
           "  --junit FILE      also write JUnit XML (one testcase per trace and check)\n"
           "  --tap             print TAP 13 on stdout (for prove) instead of the lines\n"
           "PATTERN: a trace path as the manifest writes it, or a glob over it.\n"
           "Exit status: 0 nothing failed; 1 FAIL, XPASS or ERROR; 2 bad manifest or usage.\n");
}

int cmd_check(int argc, char **argv)
{
    static const struct option lo[] = {COMMON_LONGOPTS,
                                       {"junit", required_argument, 0, 'J'},
                                       {"tap", no_argument, 0, 'T'},
                                       {0, 0, 0, 0}};
    common co = {.jobs = default_jobs()};
    const char *junit = NULL;
    bool tap = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "j:k:h", lo, NULL)) != -1) {
        if (c == 'h') {
            check_help();
            return CLI_OK;
        } else if (c == 'J')
            junit = optarg;
        else if (c == 'T')
            tap = true;
        else if (parse_common("check", c, &co) != 0)
            return CLI_BAD;
    }
    if (optind >= argc)
        return cli_usage("check", "name the MANIFEST");
    cor_manifest *m;
    int st = load("check", argv[optind], &m);
    if (st)
        return st;
    size_t *sel = calloc(m->n ? m->n : 1, sizeof *sel);
    cor_actual *act = calloc(m->n ? m->n : 1, sizeof *act);
    double *secs = calloc(m->n ? m->n : 1, sizeof *secs);
    cor_result *res = calloc(m->n ? m->n : 1, sizeof *res);
    if (!sel || !act || !secs || !res) {
        st = cli_fail("check", CLI_FAIL, "out of memory");
        goto out;
    }
    size_t nsel = select_traces(m, &co, argv + optind + 1, argc - optind - 1, sel);
    cor_run_opts ro = {co.key, co.no_driver};
    runner rn = {m, &ro, act, secs};
    run_all(&rn, sel, nsel, co.jobs);
    size_t count[COR_STATUS_N_] = {0};
    FILE *lines = tap ? stderr : stdout;
    for (size_t k = 0; k < nsel; k++) {
        const cor_trace *t = &m->traces[sel[k]];
        res[k].trace = t;
        res[k].seconds = secs[sel[k]];
        cor_compare(t, cor_trace_set(t, co.key), &act[sel[k]], &res[k].v);
        int s = res[k].v.overall;
        count[s]++;
        fprintf(lines, "%-5s %s", cor_status_name(s), t->path);
        for (int ch = 0; ch < COR_CHECK_N_; ch++)
            if (res[k].v.ran[ch] && res[k].v.status[ch] == s && s != COR_PASS) {
                fprintf(lines, ": %s: %s", cor_check_name(ch), res[k].v.text[ch]);
                break;
            }
        fputc('\n', lines);
    }
    if (tap)
        cor_write_tap(stdout, res, nsel);
    if (junit) {
        FILE *f = fopen(junit, "w");
        if (!f) {
            st = cli_fail("check", CLI_FAIL, "%s: %s", junit, strerror(errno));
            goto out;
        }
        cor_write_junit(f, argv[optind], res, nsel);
        if (fclose(f) != 0) {
            st = cli_fail("check", CLI_FAIL, "%s: %s", junit, strerror(errno));
            goto out;
        }
    }
    fprintf(lines, "%zu traces: %zu passed, %zu failed, %zu xfail, %zu xpass, %zu errors\n", nsel,
            count[COR_PASS], count[COR_FAIL], count[COR_XFAIL], count[COR_XPASS], count[COR_ERROR]);
    /* The plain closing line CI runners read. */
    fprintf(lines, "%zu passed, %zu failed\n", count[COR_PASS] + count[COR_XFAIL],
            count[COR_FAIL] + count[COR_XPASS] + count[COR_ERROR]);
    st = count[COR_FAIL] || count[COR_XPASS] || count[COR_ERROR] ? CLI_FOUND : CLI_OK;
out:
    free(sel);
    free(act);
    free(secs);
    free(res);
    cor_manifest_free(m);
    return st;
}

/* ---- bless ---------------------------------------------------------------------- */

static void bless_help(void)
{
    printf("usage: dmatrace bless MANIFEST [TRACE...] [--key KEY] [--model-revision N]\n"
           "                      [--dry-run] [-j N] [--label L]... [--no-driver]\n\n"
           "Re-run the named traces (default: every trace whose check FAILs or XPASSes) and\n"
           "rewrite their expectation set for KEY (default 'default') in place to what they\n"
           "give now.  Each change is printed first; comments and everything else in the\n"
           "manifest are kept byte for byte.  --dry-run only prints.  A manifest that does\n"
           "not parse is never rewritten.\n");
}

int cmd_bless(int argc, char **argv)
{
    static const struct option lo[] = {COMMON_LONGOPTS,
                                       {"dry-run", no_argument, 0, 'n'},
                                       {"model-revision", required_argument, 0, 'R'},
                                       {0, 0, 0, 0}};
    common co = {.jobs = default_jobs()};
    bool dry = false;
    uint64_t rev = 0;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "j:k:nh", lo, NULL)) != -1) {
        if (c == 'h') {
            bless_help();
            return CLI_OK;
        } else if (c == 'n')
            dry = true;
        else if (c == 'R') {
            if (!cli_parse_u64(optarg, &rev) || rev == 0 || rev > 255)
                return cli_usage("bless", "--model-revision needs 1..255, not '%s'", optarg);
        } else if (parse_common("bless", c, &co) != 0)
            return CLI_BAD;
    }
    if (optind >= argc)
        return cli_usage("bless", "name the MANIFEST");
    cor_manifest *m;
    int st = load("bless", argv[optind], &m);
    if (st)
        return st;
    const int npats = argc - optind - 1;
    size_t *sel = calloc(m->n ? m->n : 1, sizeof *sel);
    cor_actual *act = calloc(m->n ? m->n : 1, sizeof *act);
    double *secs = calloc(m->n ? m->n : 1, sizeof *secs);
    cor_edit *edits = calloc(m->n ? m->n : 1, sizeof *edits);
    size_t n_edits = 0;
    if (!sel || !act || !secs || !edits) {
        st = cli_fail("bless", CLI_FAIL, "out of memory");
        goto out;
    }
    size_t nsel = select_traces(m, &co, argv + optind + 1, npats, sel);
    if (npats && nsel == 0) {
        st = cli_usage("bless", "no trace of the manifest matches");
        goto out;
    }
    /* A set that names a model revision keeps it unless one is given. */
    cor_run_opts ro = {co.key, co.no_driver};
    runner rn = {m, &ro, act, secs};
    run_all(&rn, sel, nsel, co.jobs);
    for (size_t k = 0; k < nsel; k++) {
        const cor_trace *t = &m->traces[sel[k]];
        const cor_set *set = cor_trace_set(t, co.key);
        cor_verdict v;
        cor_compare(t, set, &act[sel[k]], &v);
        if (act[sel[k]].error) {
            fprintf(stderr, "dmatrace bless: %s: %s (not blessed)\n", t->path,
                    act[sel[k]].error_text);
            st = CLI_FOUND;
            continue;
        }
        if (!npats && v.overall != COR_FAIL && v.overall != COR_XPASS)
            continue;
        dmt_error err;
        if (cor_bless_edit(m, t, co.key, (uint32_t)rev, &act[sel[k]], &edits[n_edits], &err)) {
            st = cli_fail("bless", CLI_FAIL, "%s", err.msg);
            goto out;
        }
        const cor_edit *e = &edits[n_edits++];
        printf("%s (line %" PRIu64 "):\n  - %.*s\n  + %s\n", t->path, t->line,
               (int)(e->end - e->start), m->text + e->start, e->text);
    }
    if (n_edits == 0)
        printf("nothing to bless\n");
    else if (!dry) {
        dmt_error err;
        if (cor_write_edits(m, edits, n_edits, &err) != 0)
            st = cli_fail("bless", CLI_FAIL, "%s: %s", m->path, err.msg);
        else
            printf("%s: %zu expectation set(s) rewritten\n", m->path, n_edits);
    }
out:
    for (size_t i = 0; i < n_edits; i++)
        free(edits[i].text);
    free(edits);
    free(sel);
    free(act);
    free(secs);
    cor_manifest_free(m);
    return st;
}

/* ---- corpus add ------------------------------------------------------------------- */

static void corpus_help(void)
{
    printf("usage: dmatrace corpus add MANIFEST TRACE [--label L]... [--notes TEXT]\n"
           "                            [--key KEY] [--no-driver]\n\n"
           "Add TRACE to the corpus with its current results as its expectations (the step\n"
           "after a capture on a test machine): replay, driver replay and audit run once,\n"
           "and an entry with the trace's path relative to the manifest, its content hash,\n"
           "the labels and one expectation set is appended.  The manifest is created when\n"
           "it does not exist.\n");
}

/* path relative to dir when it lies below it, else absolute. */
static char *relative_to(const char *dir, const char *path)
{
    char d[PATH_MAX], p[PATH_MAX];
    if (!realpath(dir, d) || !realpath(path, p))
        return NULL;
    size_t n = strlen(d);
    if (!strncmp(p, d, n) && p[n] == '/')
        return strdup(p + n + 1);
    return strdup(p);
}

int cmd_corpus(int argc, char **argv)
{
    static const struct option lo[] = {
        COMMON_LONGOPTS, {"notes", required_argument, 0, 'N'}, {0, 0, 0, 0}};
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        corpus_help();
        return argc < 2 ? CLI_BAD : CLI_OK;
    }
    if (strcmp(argv[1], "add") != 0)
        return cli_usage("corpus", "unknown subcommand '%s' (add)", argv[1]);
    common co = {.jobs = 1};
    const char *notes = NULL;
    int c;
    optind = 2;
    while ((c = getopt_long(argc, argv, "k:h", lo, NULL)) != -1) {
        if (c == 'h') {
            corpus_help();
            return CLI_OK;
        } else if (c == 'N')
            notes = optarg;
        else if (parse_common("corpus", c, &co) != 0)
            return CLI_BAD;
    }
    if (argc - optind != 2)
        return cli_usage("corpus", "usage: corpus add MANIFEST TRACE");
    const char *mpath = argv[optind], *tpath = argv[optind + 1];
    if (access(mpath, F_OK) != 0) {
        FILE *f = fopen(mpath, "wx");
        if (!f ||
            fputs("# dmatrace regression corpus (dmatrace check)\nversion: 1\ntraces:\n", f) < 0 ||
            fclose(f) != 0)
            return cli_fail("corpus", CLI_FAIL, "%s: %s", mpath, strerror(errno));
    }
    cor_manifest *m;
    int st = load("corpus", mpath, &m);
    if (st)
        return st;
    char *rel = relative_to(m->dir, tpath);
    char hash[32];
    dmt_error err;
    if (!rel) {
        st = cli_fail("corpus", CLI_BAD, "%s: %s", tpath, strerror(errno));
        goto out;
    }
    for (size_t i = 0; i < m->n; i++)
        if (!strcmp(m->traces[i].path, rel)) {
            st = cli_fail("corpus", CLI_BAD, "%s:%" PRIu64 ": %s is already in the corpus", mpath,
                          m->traces[i].line, rel);
            goto out;
        }
    if (!m->traces_last) {
        st = cli_fail("corpus", CLI_BAD,
                      "%s: the traces list must be a block list at the end of the manifest to "
                      "append to it",
                      mpath);
        goto out;
    }
    if (cor_hash_file(tpath, hash, sizeof hash, &err) != 0) {
        st = cli_report("corpus", tpath, &err);
        goto out;
    }
    cor_trace t;
    memset(&t, 0, sizeof t);
    t.path = rel;
    t.resolved = (char *)tpath;
    cor_actual a;
    cor_run_opts ro = {co.key, co.no_driver};
    cor_run_trace(&t, NULL, &ro, &a);
    if (a.error) {
        st = cli_fail("corpus", CLI_BAD, "%s", a.error_text);
        goto out;
    }
    char set[1024], labels[1024] = "";
    cor_set_text(set, sizeof set, co.key, 0, &a);
    for (size_t i = 0; i < co.n_labels; i++)
        snprintf(labels + strlen(labels), sizeof labels - strlen(labels), "%s%s", i ? ", " : "",
                 co.labels[i]);
    unsigned ind = m->n ? m->traces[m->n - 1].indent : 4;
    unsigned dash = ind >= 2 ? ind - 2 : 0;
    char *entry = NULL;
    char notes_line[600] = "", labels_line[1100] = "";
    if (notes)
        snprintf(notes_line, sizeof notes_line, "%*snotes: \"%s\"\n", (int)ind, "", notes);
    if (labels[0])
        snprintf(labels_line, sizeof labels_line, "%*slabels: [%s]\n", (int)ind, "", labels);
    if (asprintf(&entry, "%*s- path: %s\n%*shash: %s\n%s%s%*sexpect:\n%*s- %s\n", (int)dash, "",
                 rel, (int)ind, "", hash, labels_line, notes_line, (int)ind, "", (int)ind + 2, "",
                 set) < 0) {
        st = cli_fail("corpus", CLI_FAIL, "out of memory");
        goto out;
    }
    const bool nl = m->len && m->text[m->len - 1] != '\n';
    cor_edit e = {m->len, m->len, NULL};
    if (asprintf(&e.text, "%s%s", nl ? "\n" : "", entry) < 0)
        e.text = NULL;
    free(entry);
    if (!e.text || cor_write_edits(m, &e, 1, &err) != 0)
        st = cli_fail("corpus", CLI_FAIL, "%s: %s", mpath, e.text ? err.msg : "out of memory");
    else
        printf("%s: added %s: %s\n", mpath, rel, set);
    free(e.text);
out:
    free(rel);
    cor_manifest_free(m);
    return st;
}
