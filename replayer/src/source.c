/*
 * source.c - rpl_source: records in order from a trace file (.dmat, cut
 * files allowed) or from a store (.db, through dmt_store_iter when the
 * store is built in: RPL_HAVE_STORE), and rpl_replay_file on top of it.
 */
#include <stdlib.h>
#include <string.h>

#include "dmt/reader.h"
#include "dmt/sniff.h"
#include "rpl/replay.h"
#ifdef RPL_HAVE_STORE
#include "dmt/store.h"
#endif

struct rpl_source {
    dmt_reader *rd;
#ifdef RPL_HAVE_STORE
    dmt_store *st;
    dmt_store_iter *it;
    dmt_header hdr;
#endif
};

int rpl_source_open(const char *path, rpl_source **out, dmt_error *err)
{
    *out = NULL;
    int kind = dmt_sniff(path, err);
    if (kind < 0)
        return kind;
    rpl_source *s = calloc(1, sizeof *s);
    if (!s)
        return dmt_error_set(err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX, "out of memory");
    if (kind == DMT_FILE_DB) {
#ifdef RPL_HAVE_STORE
        int rc = dmt_store_open(path, DMT_STORE_RDONLY, &s->st, err);
        if (rc == 0)
            rc = dmt_store_header(s->st, &s->hdr, err);
        if (rc == 0)
            rc = dmt_store_iter_open(s->st, 0, &s->it, err);
        if (rc < 0) {
            rpl_source_close(s);
            return rc;
        }
        *out = s;
        return 0;
#else
        free(s);
        return dmt_error_set(err, DMT_E_USAGE, DMT_NO_INDEX, DMT_NO_INDEX,
                             "this build reads databases (.db) only once the store is built in; "
                             "replay the .dmat file");
#endif
    }
    int rc = dmt_reader_open(path, DMT_READ_ALLOW_CUT, &s->rd, err);
    if (rc < 0) {
        free(s);
        return rc;
    }
    *out = s;
    return 0;
}

int rpl_source_next(rpl_source *s, dmt_record *rec, dmt_error *err)
{
#ifdef RPL_HAVE_STORE
    if (s->it)
        return dmt_store_iter_next(s->it, rec, err);
#endif
    return dmt_reader_next(s->rd, rec, err);
}

bool rpl_source_cut(rpl_source *s, uint64_t *offset, const char **why)
{
    if (s->rd)
        return dmt_reader_cut(s->rd, offset, why);
    return false;
}

const dmt_header *rpl_source_header(rpl_source *s)
{
#ifdef RPL_HAVE_STORE
    if (s->st)
        return &s->hdr;
#endif
    return dmt_reader_header(s->rd);
}

void rpl_source_close(rpl_source *s)
{
    if (!s)
        return;
#ifdef RPL_HAVE_STORE
    if (s->it)
        dmt_store_iter_close(s->it);
    if (s->st)
        dmt_store_close(s->st);
#endif
    if (s->rd)
        dmt_reader_close(s->rd);
    free(s);
}

int rpl_replay_file(const char *path, const rpl_opts *o, rpl_replay **out, dmt_error *err)
{
    *out = NULL;
    rpl_source *src;
    int rc = rpl_source_open(path, &src, err);
    if (rc < 0)
        return rc;
    rpl_replay *r = rpl_new(o, err);
    if (!r) {
        rpl_source_close(src);
        return DMT_E_NOMEM;
    }
    *out = r;
    rpl_set_header(r, rpl_source_header(src));
    dmt_record rec;
    while ((rc = rpl_source_next(src, &rec, err)) == 1) {
        int f = rpl_feed(r, &rec, err);
        if (f < 0) {
            rpl_source_close(src);
            return f;
        }
        if (f == 1)
            break;
    }
    if (rc < 0) {
        rpl_source_close(src);
        return rc;
    }
    uint64_t at;
    const char *why;
    if (rc == 0 && rpl_source_cut(src, &at, &why))
        rpl_note_cut(r, at, why);
    rpl_source_close(src);
    rc = rpl_finish(r);
    return rc < 0 ? rc : 0;
}
