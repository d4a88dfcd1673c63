/*
 * dmtv-regnames.c - register names and decodes from the register map (see
 * dmtv-regnames.h).  The default map is loaded on first use; a map that
 * fails to load leaves names off, never the viewer.
 */
#include "dmtv-regnames.h"

#include <gio/gio.h>

#include "rmap/regmap.h"

static struct {
    gboolean tried; /* a map was chosen (loaded, or none) */
    rmap *map;
    rmap_namer *namer;
} st;

static void drop(void)
{
    rmap_namer_free(st.namer);
    rmap_free(st.map);
    st.namer = NULL;
    st.map = NULL;
}

gboolean dmtv_regnames_load(const char *file, const char *variant, const char *domain,
                            GError **error)
{
    rmap *m;
    rmap_error err;
    if (rmap_load(file, variant, &m, &err) != 0) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s:%u: %s", err.file, err.line,
                    err.msg);
        return FALSE;
    }
    int dom = 0;
    if (domain && (dom = rmap_find_domain(m, domain)) < 0) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: no domain %s", file, domain);
        rmap_free(m);
        return FALSE;
    }
    rmap_namer *n = rmap_namer_new(m, (size_t)dom);
    if (!n) {
        rmap_free(m);
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "out of memory");
        return FALSE;
    }
    drop();
    st.map = m;
    st.namer = n;
    st.tried = TRUE;
    return TRUE;
}

void dmtv_regnames_none(void)
{
    drop();
    st.tried = TRUE;
}

static rmap_namer *namer(void)
{
    if (!st.tried) {
        st.tried = TRUE;
        char path[4096];
        if (rmap_find_shared("dmm.xml", path, sizeof path))
            dmtv_regnames_load(path, NULL, NULL, NULL);
    }
    return st.namer;
}

const char *dmtv_reg_name(uint64_t off)
{
    rmap_namer *n = namer();
    return n ? rmap_namer_name(n, off, 0) : NULL;
}

const char *dmtv_reg_doc(uint64_t off)
{
    rmap_namer *n = namer();
    const rmap_decoded *d = n ? rmap_namer_decode(n, off, 0, 0) : NULL;
    return d ? d->brief : NULL;
}

const char *dmtv_reg_decode(uint64_t off, uint64_t value)
{
    rmap_namer *n = namer();
    return n ? rmap_namer_text(n, off, 0, value, NULL) : NULL;
}

unsigned dmtv_reg_fields(uint64_t off, DmtvFieldLane *out, unsigned max)
{
    rmap_namer *n = namer();
    const rmap_decoded *d = n ? rmap_namer_decode(n, off, 0, 0) : NULL;
    unsigned k = 0;
    for (; d && k < d->n_fields && k < max; k++) {
        g_strlcpy(out[k].name, d->fields[k].name, sizeof out[k].name);
        out[k].low = (uint8_t)d->fields[k].low;
        out[k].high = (uint8_t)d->fields[k].high;
    }
    return k;
}

gboolean dmtv_reg_field_text(uint64_t off, uint64_t value, unsigned k, char *buf, size_t cap)
{
    rmap_namer *n = namer();
    const rmap_decoded *d = n ? rmap_namer_decode(n, off, 0, value) : NULL;
    if (!d || k >= d->n_fields)
        return FALSE;
    g_strlcpy(buf, d->fields[k].text, cap);
    return TRUE;
}
