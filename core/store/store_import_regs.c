/*
 * store_import_regs.c - the register-name tables of an import (reg_names,
 * reg_fields; schema/store.sql): every distinct (dev, off, width) of
 * reg_accesses that the import's register map defines, with its fields
 * (a trace-backed store, whose reg_accesses stay empty: every one
 * dmt_imp_reg_seen noted while streaming).
 * Runs after the load, inside the import's transaction; the map is the
 * caller's (dmt_store_import_opts.regmap), and is untrusted only in the
 * sense the regmap library already bounds.
 */
#include <stdlib.h>

#include "rmap/regmap.h"
#include "store_import_internal.h"

int dmt_imp_reg_seen(imp *im, uint32_t dev, uint64_t off, uint32_t width)
{
    uint64_t a = (uint64_t)dev << 8 | (width & 0xFFu);
    if (!im->o || !im->o->regmap || dmt_store_map_get(&im->reg_seen, a, off) != UINT32_MAX ||
        im->nregs >= im->lim.map)
        return 0; /* no map to name them with, known, or beyond the bound */
    if (dmt_imp_grow((void **)&im->regs, &im->capregs, 2 * im->nregs + 2, sizeof *im->regs) ||
        dmt_store_map_put(&im->reg_seen, a, off, 1))
        return dmt_imp_oom(im);
    im->regs[2 * im->nregs] = a;
    im->regs[2 * im->nregs + 1] = off;
    im->nregs++;
    return 0;
}

/* temp.regs_seen(dev, off, width): the registers dmt_imp_reg_seen noted. */
static int regs_seen_table(imp *im)
{
    sqlite3_stmt *ins = NULL;
    int rc = dmt_store_exec(im->db,
                            "CREATE TEMP TABLE IF NOT EXISTS regs_seen(dev, off, width);"
                            "DELETE FROM temp.regs_seen;",
                            im->err);
    if (!rc)
        rc = dmt_store_prepare(im->db, "INSERT INTO temp.regs_seen VALUES (?, ?, ?)", false, &ins,
                               im->err);
    for (size_t i = 0; i < im->nregs && !rc; i++) {
        sqlite3_bind_int64(ins, 1, (int64_t)(im->regs[2 * i] >> 8));
        sqlite3_bind_int64(ins, 2, (int64_t)im->regs[2 * i + 1]);
        sqlite3_bind_int64(ins, 3, (int64_t)(im->regs[2 * i] & 0xFFu));
        rc = dmt_imp_step_done(im, ins, "regs_seen");
    }
    sqlite3_finalize(ins);
    return rc;
}

int dmt_imp_reg_names(imp *im)
{
    if (!im->o || !im->o->regmap)
        return 0;
    const rmap *m = im->o->regmap;
    size_t dom = im->o->regmap_domain;
    sqlite3_stmt *sel = NULL, *name = NULL, *field = NULL;
    rmap_decoded *d = malloc(sizeof *d);
    if (!d)
        return dmt_imp_oom(im);
    /* the registers accessed: from the rows, or (trace-backed) the set
     * noted while streaming, offered as a temporary table */
    int rc = 0;
    if (im->trace_backed)
        rc = regs_seen_table(im);
    if (!rc)
        rc = dmt_store_prepare(im->db,
                               im->trace_backed
                                   ? "SELECT dev, off, width FROM temp.regs_seen"
                                   : "SELECT DISTINCT dev, off, width FROM reg_accesses",
                               false, &sel, im->err);
    if (!rc)
        rc = dmt_store_prepare(im->db,
                               "INSERT INTO reg_names(dev, off, width, name) VALUES (?,?,?,?)",
                               false, &name, im->err);
    if (!rc)
        rc = dmt_store_prepare(im->db,
                               "INSERT OR IGNORE INTO reg_fields(dev, off, width, name, low, high) "
                               "VALUES (?,?,?,?,?,?)",
                               false, &field, im->err);
    int step = SQLITE_DONE;
    while (!rc && (step = sqlite3_step(sel)) == SQLITE_ROW) {
        int64_t dev = sqlite3_column_int64(sel, 0), off = sqlite3_column_int64(sel, 1),
                width = sqlite3_column_int64(sel, 2);
        if (width <= 0 || width > 8 ||
            !rmap_decode(m, dom, (uint64_t)off, (unsigned)width * 8u, 0, d))
            continue;
        sqlite3_bind_int64(name, 1, dev);
        sqlite3_bind_int64(name, 2, off);
        sqlite3_bind_int64(name, 3, width);
        sqlite3_bind_text(name, 4, d->name, -1, SQLITE_STATIC);
        rc = dmt_imp_step_done(im, name, "reg_names");
        for (unsigned i = 0; i < d->n_fields && !rc; i++) {
            sqlite3_bind_int64(field, 1, dev);
            sqlite3_bind_int64(field, 2, off);
            sqlite3_bind_int64(field, 3, width);
            sqlite3_bind_text(field, 4, d->fields[i].name, -1, SQLITE_STATIC);
            sqlite3_bind_int(field, 5, (int)d->fields[i].low);
            sqlite3_bind_int(field, 6, (int)d->fields[i].high);
            rc = dmt_imp_step_done(im, field, "reg_fields");
        }
    }
    if (!rc && step != SQLITE_DONE)
        rc = dmt_error_set(im->err, DMT_E_IO, DMT_NO_INDEX, DMT_NO_INDEX, "reg_accesses: %s",
                           sqlite3_errmsg(im->db));
    sqlite3_finalize(sel);
    sqlite3_finalize(name);
    sqlite3_finalize(field);
    free(d);
    return rc;
}
