/*
 * replay_file.c - rpl_replay_file: a whole trace (.dmat, cut files allowed)
 * or database (.db), read through dmt/source.h, fed to a fresh engine.
 */
#include "dmt/source.h"
#include "rpl/replay.h"

int rpl_replay_file(const char *path, const rpl_opts *o, rpl_replay **out, dmt_error *err)
{
    *out = NULL;
    dmt_source *src;
    int rc = dmt_source_open(path, 0, &src, err);
    if (rc < 0)
        return rc;
    rpl_replay *r = rpl_new(o, err);
    if (!r) {
        dmt_source_close(src);
        return DMT_E_NOMEM;
    }
    *out = r;
    rpl_set_header(r, dmt_source_header(src));
    dmt_record rec;
    while ((rc = dmt_source_next(src, &rec, NULL, err)) == 1) {
        int f = rpl_feed(r, &rec, err);
        if (f < 0) {
            dmt_source_close(src);
            return f;
        }
        if (f == 1)
            break;
    }
    if (rc < 0) {
        dmt_source_close(src);
        return rc;
    }
    uint64_t at;
    const char *why;
    if (rc == 0 && dmt_source_cut(src, &at, &why))
        rpl_note_cut(r, at, why);
    dmt_source_close(src);
    rc = rpl_finish(r);
    return rc < 0 ? rc : 0;
}
