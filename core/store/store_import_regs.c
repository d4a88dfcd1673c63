/*
 * store_import_regs.c - the register-name tables of an import (reg_names,
 * reg_fields; schema/store.sql): every distinct (dev, off, width) of
 * reg_accesses that the import's register map defines, with its fields.
 * Runs after the load, inside the import's transaction; the map is the
 * caller's (dmt_store_import_opts.regmap), and is untrusted only in the
 * sense the regmap library already bounds.
 */
#include <stdlib.h>

#include "rmap/regmap.h"
#include "store_import_internal.h"

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
    int rc = dmt_store_prepare(im->db, "SELECT DISTINCT dev, off, width FROM reg_accesses", false,
                               &sel, im->err);
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
