/*
 * replay_file.c - rpl_replay_file: a whole trace (.dmat, cut files allowed)
 * or database (.db), read through dmt/source.h, fed to a fresh engine.
 *
 * Records are read in batches of up to BATCH and then fed, rather than one
 * read and one fed in turn: the decoder's and the engine's code and tables
 * each stay hot for a run of records instead of evicting each other at
 * every record (on register writes the alternation cost ~15% of file ->
 * verdict; BENCHMARKS.md, Replay).  Exactly the records, errors and stops
 * of reading one and feeding one:
 *
 *   read r0 r1 .. rk     (stop after BATCH, at the end, at an error, or
 *        |                at a record pointing into the reader's buffers:
 *        v                sg_list, values, bytes live until the next read)
 *   feed r0 r1 .. rk     (a stop or a failure of the engine ends it here:
 *        |                records read ahead are dropped, and so is an
 *        v                error the reader met after them - reading one
 *   the reader's rc       at a time would never have read that far)
 */
#include "dmt/source.h"
#include "rpl/replay.h"

#define BATCH 32

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
    dmt_record batch[BATCH];
    dmt_error rd_err; /* the reader's error, said only once the records before it are fed */
    dmt_error_clear(&rd_err);
    bool stopped = false;
    do {
        unsigned n = 0;
        while (n < BATCH && (rc = dmt_source_next(src, &batch[n], NULL, &rd_err)) == 1) {
            const dmt_record *b = &batch[n++];
            if (b->sg_list || b->values || b->bytes)
                break; /* they point into the reader: feed before reading on */
        }
        for (unsigned i = 0; i < n; i++) {
            int f = rpl_feed(r, &batch[i], err);
            if (f < 0) {
                dmt_source_close(src);
                return f;
            }
            if (f == 1) {
                stopped = true;
                break;
            }
        }
    } while (rc == 1 && !stopped);
    if (!stopped && rc < 0) {
        if (err)
            *err = rd_err;
        dmt_source_close(src);
        return rc;
    }
    uint64_t at;
    const char *why;
    if (!stopped && rc == 0 && dmt_source_cut(src, &at, &why))
        rpl_note_cut(r, at, why);
    dmt_source_close(src);
    rc = rpl_finish(r);
    return rc < 0 ? rc : 0;
}
