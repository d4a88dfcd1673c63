/*
 * source.c - dmt_source: every record of a trace (.dmat, through the
 * reader) or of a database (.db, through the store's record iterator), in
 * sequence order, and the callback walker on top (see dmt/source.h).
 *
 * Invariants: exactly one of rd / st is set after open; the store's
 * iterator is opened on the first dmt_source_next (so asking a .db for its
 * header, its cut or its store costs no merge); index counts the records
 * returned, framing excluded.
 */
#include "dmt/source.h"

#include <stdlib.h>

#include "dmt/reader.h"
#include "dmt/sniff.h"

struct dmt_source {
    int kind; /* DMT_FILE_* */
    dmt_reader *rd;
    dmt_store *st;
    dmt_store_iter *it;
    dmt_header hdr; /* a store's */
    uint64_t index; /* records returned, framing excluded */
    bool db_cut;
    uint64_t db_cut_at;
    char db_why[96];
};

static int open_db(dmt_source *s, const char *path, dmt_error *err)
{
    int rc = dmt_store_open(path, DMT_STORE_RDONLY, &s->st, err);
    if (rc == 0)
        rc = dmt_store_header(s->st, &s->hdr, err);
    if (rc == 0)
        rc = dmt_store_cut(s->st, &s->db_cut, &s->db_cut_at, s->db_why, sizeof s->db_why, err);
    return rc;
}

int dmt_source_open(const char *path, unsigned flags, dmt_source **out, dmt_error *err)
{
    *out = NULL;
    int kind = dmt_sniff(path, err);
    if (kind < 0)
        return kind;
    if (kind == DMT_FILE_DB && (flags & DMT_SOURCE_TRACE_ONLY))
        return dmt_error_set(err, DMT_E_USAGE, DMT_NO_INDEX, DMT_NO_INDEX,
                             "a database (.db), not a trace file (.dmat)");
    dmt_source *s = calloc(1, sizeof *s);
    if (!s)
        return dmt_error_set(err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX, "out of memory");
    s->kind = kind;
    int rc;
    if (kind == DMT_FILE_DB) {
        rc = open_db(s, path, err);
    } else {
        unsigned rflags = (flags & DMT_SOURCE_STRICT ? 0u : DMT_READ_ALLOW_CUT) |
                          (flags & DMT_SOURCE_FRAMING ? DMT_READ_FRAMING : 0u);
        rc = dmt_reader_open(path, rflags, &s->rd, err);
    }
    if (rc < 0) {
        dmt_source_close(s);
        return rc;
    }
    *out = s;
    return 0;
}

void dmt_source_close(dmt_source *s)
{
    if (!s)
        return;
    dmt_store_iter_close(s->it);
    if (s->st)
        dmt_store_close(s->st);
    if (s->rd)
        dmt_reader_close(s->rd);
    free(s);
}

int dmt_source_kind(const dmt_source *s)
{
    return s->kind;
}

const dmt_header *dmt_source_header(const dmt_source *s)
{
    return s->rd ? dmt_reader_header(s->rd) : &s->hdr;
}

dmt_store *dmt_source_store(dmt_source *s)
{
    return s->st;
}

int dmt_source_next(dmt_source *s, dmt_record *rec, uint64_t *index, dmt_error *err)
{
    int rc;
    if (s->rd) {
        rc = dmt_reader_next(s->rd, rec, err);
    } else {
        if (!s->it && (rc = dmt_store_iter_open(s->st, 0, &s->it, err)) < 0)
            return rc;
        rc = dmt_store_iter_next(s->it, rec, err);
    }
    if (rc != 1)
        return rc;
    bool framing = rec->kind == DMT_K_CHUNK || rec->kind == DMT_K_END;
    if (index)
        *index = framing ? DMT_NO_INDEX : s->index;
    if (!framing)
        s->index++;
    return 1;
}

bool dmt_source_cut(const dmt_source *s, uint64_t *offset, const char **why)
{
    if (s->rd)
        return dmt_reader_cut(s->rd, offset, why);
    if (offset)
        *offset = s->db_cut_at;
    if (why)
        *why = s->db_cut ? s->db_why : NULL;
    return s->db_cut;
}

int dmt_source_walk(dmt_source *s, dmt_record_fn fn, void *ctx, dmt_error *err)
{
    dmt_record r;
    uint64_t index;
    int rc;
    while ((rc = dmt_source_next(s, &r, &index, err)) == 1) {
        if ((rc = fn(ctx, &r, index)) < 0)
            return dmt_error_set(err, rc, s->rd ? r.pos : DMT_NO_INDEX, index, "%s",
                                 rc == DMT_E_NOMEM ? "out of memory" : "cannot process the record");
    }
    return rc;
}

int dmt_source_each(const char *path, dmt_record_fn fn, void *ctx, bool *cut, int *kind,
                    dmt_error *err)
{
    dmt_source *s;
    *cut = false;
    int rc = dmt_source_open(path, 0, &s, err);
    if (rc < 0)
        return rc;
    if (kind)
        *kind = s->kind;
    rc = dmt_source_walk(s, fn, ctx, err);
    if (rc == 0)
        *cut = dmt_source_cut(s, NULL, NULL);
    dmt_source_close(s);
    return rc;
}
