/*
 * follow.c - following a growing trace file (see dmt/follow.h).
 *
 * Two readers over the same file.  The scout (framing records on, follow
 * mode, no limit) parses ahead and moves `committed` to the end of every
 * CHUNK (or END) it has verified.  It is a reader in scout mode
 * (DMT_READ_SCOUT): the records between framing records are walked
 * (dmt_decode_walk: extent, kind and time, with every check of a full
 * decode) rather than decoded and not returned, so it costs less than the
 * main reader yet stops at exactly the record and with exactly the error
 * a full read stops with.  The main reader is in follow mode with
 * its limit at `committed`, so it hands out records from whole, verified
 * chunks only.  When the main reader reaches its limit, the scout advances;
 * when neither moves, the file is checked: replaced (another inode),
 * truncated below what the scout read, or unchanged for the stall time.
 *
 * Invariants: committed only grows and always sits just after a verified
 * CHUNK or END record; the scout stops for good at its first error, and
 * that error is what the follower reports once the main reader has handed
 * out everything before it; the scout runs at most SCOUT_AHEAD bytes ahead
 * of the main reader, so a large file that already exists starts streaming
 * at once.
 */
#include "dmt/follow.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define SCOUT_AHEAD (8u << 20)

struct dmt_follow {
    const char *path;
    dmt_reader *main, *scout;
    uint64_t committed;
    bool end_seen, stopped;
    int scout_rc; /* sticky scout error (0 = none) */
    dmt_error scout_err;
    dev_t dev;
    ino_t ino;
    off_t size;          /* file size at the last check */
    uint64_t changed_ns; /* when the size last changed */
    uint64_t stall_ns;
};

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int dmt_follow_open(const char *path, unsigned flags, uint64_t stall_ms, dmt_follow **out,
                    dmt_error *err)
{
    *out = NULL;
    dmt_follow *f = calloc(1, sizeof *f);
    if (!f)
        return dmt_error_set(err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX, "out of memory");
    f->path = path;
    f->stall_ns = stall_ms * 1000000ull;
    struct stat st;
    int rc;
    if (stat(path, &st) != 0) {
        int e = errno;
        free(f);
        dmt_error_set(err, DMT_E_IO, DMT_NO_INDEX, DMT_NO_INDEX, "cannot open: %s", strerror(e));
        if (err)
            err->sys_errno = e;
        return DMT_E_IO;
    }
    f->dev = st.st_dev;
    f->ino = st.st_ino;
    f->size = st.st_size;
    f->changed_ns = mono_ns();
    if ((rc = dmt_reader_open(path, DMT_READ_FRAMING | DMT_READ_SCOUT, &f->scout, err)) != 0 ||
        (rc = dmt_reader_open(path, flags, &f->main, err)) != 0) {
        dmt_follow_close(f);
        return rc;
    }
    f->committed = dmt_reader_offset(f->scout);
    dmt_reader_follow(f->scout, UINT64_MAX);
    dmt_reader_follow(f->main, f->committed);
    *out = f;
    return 0;
}

void dmt_follow_close(dmt_follow *f)
{
    if (!f)
        return;
    dmt_reader_close(f->main);
    dmt_reader_close(f->scout);
    free(f);
}

dmt_reader *dmt_follow_reader(dmt_follow *f)
{
    return f->main;
}

uint64_t dmt_follow_committed(const dmt_follow *f)
{
    return f->committed;
}

void dmt_follow_stop(dmt_follow *f)
{
    f->stopped = true;
    dmt_reader_unfollow(f->main);
}

/* Run the scout over what is on disk, up to SCOUT_AHEAD past the main
 * reader; move committed past every verified CHUNK/END. */
static void advance_scout(dmt_follow *f)
{
    dmt_record r;
    uint64_t stop_at = dmt_reader_offset(f->main) + SCOUT_AHEAD;
    while (!f->end_seen && !f->scout_rc && f->committed < stop_at) {
        int rc = dmt_reader_next(f->scout, &r, &f->scout_err);
        if (rc == DMT_READER_AGAIN)
            return;
        if (rc < 0) {
            f->scout_rc = rc;
            return;
        }
        if (rc == 0) { /* cannot happen in follow mode; treat as the end */
            f->end_seen = true;
            return;
        }
        if (r.kind == DMT_K_CHUNK || r.kind == DMT_K_END) {
            f->committed = dmt_reader_offset(f->scout);
            f->end_seen = r.kind == DMT_K_END;
        }
    }
}

/* Nothing new: was the file replaced, truncated, or has it stalled? */
static int check_file(dmt_follow *f, dmt_error *err)
{
    struct stat st;
    if (stat(f->path, &st) != 0 || st.st_dev != f->dev || st.st_ino != f->ino)
        return dmt_error_set(err, DMT_E_IO, f->committed, DMT_NO_INDEX,
                             "the file was removed or replaced while being followed");
    uint64_t seen = dmt_reader_offset(f->scout);
    if ((uint64_t)st.st_size < seen)
        return dmt_error_set(err, DMT_E_IO, (uint64_t)st.st_size, DMT_NO_INDEX,
                             "the file was truncated to %llu bytes while being followed (%llu "
                             "read)",
                             (unsigned long long)st.st_size, (unsigned long long)seen);
    uint64_t now = mono_ns();
    if (st.st_size != f->size) {
        f->size = st.st_size;
        f->changed_ns = now;
    }
    if (f->stall_ns && now - f->changed_ns >= f->stall_ns)
        return DMT_FOLLOW_STALLED;
    return DMT_FOLLOW_AGAIN;
}

/* The main reader is at committed: advance the scout and read on, or say
 * why not.  Out of line: dmt_follow_next's per-record path is one call. */
static __attribute__((noinline)) int follow_more(dmt_follow *f, dmt_record *rec, dmt_error *err)
{
    for (;;) {
        uint64_t before = f->committed;
        advance_scout(f);
        if (f->committed != before) {
            /* After END nothing may follow: let the main reader see it all,
             * as it would in a finished file. */
            dmt_reader_follow(f->main, f->end_seen ? UINT64_MAX : f->committed);
            int rc = dmt_reader_next(f->main, rec, err);
            if (rc != DMT_READER_AGAIN || f->stopped)
                return rc;
            continue;
        }
        if (f->scout_rc) {
            if (err)
                *err = f->scout_err;
            return f->scout_rc;
        }
        return check_file(f, err);
    }
}

int dmt_follow_next(dmt_follow *f, dmt_record *rec, dmt_error *err)
{
    int rc = dmt_reader_next(f->main, rec, err);
    if (rc != DMT_READER_AGAIN || f->stopped)
        return rc;
    return follow_more(f, rec, err);
}
