/*
 * decode.c - what a loaded register map says about an access (rmap_decode,
 * rmap_format) and what it defines (rmap_list, counts, domains).
 *
 * Decoding never expands arrays: an offset is matched against an array by
 * arithmetic (index = (off - offset) / stride) and the search goes on inside
 * the element with the remainder, so a map's cost does not depend on its
 * array lengths.  The first active register in document order wins.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

static const rdomain *domain_at(const rmap *m, size_t i)
{
    const rdomain *d = m->domains;
    while (d && i--)
        d = d->next;
    return d;
}

size_t rmap_domain_count(const rmap *m)
{
    return (size_t)m->counts.domains;
}

const char *rmap_domain_name(const rmap *m, size_t i)
{
    const rdomain *d = domain_at(m, i);
    return d ? d->name : NULL;
}

unsigned rmap_domain_width(const rmap *m, size_t i)
{
    const rdomain *d = domain_at(m, i);
    return d ? d->width : 0;
}

int rmap_find_domain(const rmap *m, const char *name)
{
    int i = 0;
    for (const rdomain *d = m->domains; d; d = d->next, i++)
        if (!strcmp(d->name, name))
            return i;
    return -1;
}

void rmap_get_counts(const rmap *m, rmap_counts *out)
{
    *out = m->counts;
}

/* ---- values as their types show them ------------------------------------- */

static const char *enum_name(const renum *e, uint64_t v)
{
    for (const rvalue *x = e->values; x; x = x->next)
        if (x->src.active && x->has_value && x->value == v)
            return x->name;
    return NULL;
}

static int64_t sign_extend(uint64_t raw, unsigned bits)
{
    if (bits >= 64)
        return (int64_t)raw;
    uint64_t sign = UINT64_C(1) << (bits - 1);
    return (int64_t)((raw ^ sign) - sign);
}

size_t rmap_utoa(char *buf, size_t cap, uint64_t v, bool hex)
{
    static const char digits[] = "0123456789abcdef";
    char t[24];
    size_t n = 0, k = 0;
    unsigned base = hex ? 16 : 10;
    do {
        t[n++] = digits[v % base];
        v /= base;
    } while (v);
    if (hex) {
        t[n++] = 'x';
        t[n++] = '0';
    }
    while (n && k + 1 < cap)
        buf[k++] = t[--n];
    buf[k] = 0;
    return k;
}

void rmap_copy(char *buf, size_t cap, const char *s)
{
    size_t n = strlen(s);
    if (n > cap - 1)
        n = cap - 1;
    memcpy(buf, s, n);
    buf[n] = 0;
}

/* Text of a field of `bits` bits holding raw (value = raw << shr). */
static void show(const tinfo *t, unsigned bits, uint64_t raw, unsigned shr, char *buf, size_t cap,
                 const char **en)
{
    uint64_t v = shr < 64 ? raw << shr : 0;
    *en = NULL;
    switch (t->kind) {
    case T_BOOL:
    case T_UINT:
        rmap_utoa(buf, cap, v, false);
        break;
    case T_INT:
        snprintf(buf, cap, "%lld",
                 (long long)(int64_t)(shr < 64 ? (uint64_t)sign_extend(raw, bits) << shr : 0));
        break;
    case T_FIXED:
    case T_UFIXED: {
        double x = t->kind == T_FIXED ? (double)sign_extend(raw, bits) : (double)raw;
        for (unsigned i = 0; i < t->radix; i++)
            x /= 2.0;
        snprintf(buf, cap, "%.9g", x);
        break;
    }
    case T_FLOAT:
        if (bits == 32) {
            uint32_t u = (uint32_t)raw;
            float f;
            memcpy(&f, &u, sizeof f);
            snprintf(buf, cap, "%.9g", (double)f);
        } else if (bits == 64) {
            double d;
            memcpy(&d, &raw, sizeof d);
            snprintf(buf, cap, "%.17g", d);
        } else {
            snprintf(buf, cap, "0x%llx", (unsigned long long)v);
        }
        break;
    case T_ENUM:
        if ((*en = enum_name(t->en, v)) != NULL)
            rmap_copy(buf, cap, *en);
        else
            rmap_utoa(buf, cap, v, true);
        break;
    default:
        rmap_utoa(buf, cap, v, true);
        break;
    }
}

/* ---- decode ------------------------------------------------------------------ */

void rmap_put(namebuf *b, const char *fmt, ...)
{
    if (!b->cap || b->n + 1 >= b->cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
    va_end(ap);
    if (k > 0)
        b->n = b->n + (size_t)k < b->cap ? b->n + (size_t)k : b->cap - 1;
}

static void add_field(rmap_decoded *d, const char *prefix, const rfield *f, unsigned base)
{
    if (d->n_fields == RMAP_MAX_SHOWN) {
        d->fields_cut = true;
        return;
    }
    rmap_field_value *fv = &d->fields[d->n_fields++];
    if (prefix)
        snprintf(fv->name, sizeof fv->name, "%s.%s", prefix, f->name);
    else
        rmap_copy(fv->name, sizeof fv->name, f->name);
    fv->low = base + f->low;
    fv->high = base + f->high;
    uint64_t src = base ? rmap_bits(d->value, base, 63) : d->value;
    fv->raw = rmap_bits(src, f->low, f->high);
    fv->value = f->shr < 64 ? fv->raw << f->shr : 0;
    show(&f->type, f->high - f->low + 1, fv->raw, f->shr, fv->text, sizeof fv->text,
         &fv->enum_name);
}

static uint64_t add_fields(rmap_decoded *d, const rfield *fields, const char *prefix, unsigned base)
{
    uint64_t covered = 0;
    for (const rfield *f = fields; f; f = f->next) {
        if (!f->src.active)
            continue;
        covered |= rmap_mask(base + f->low, base + f->high);
        add_field(d, prefix, f, base);
        if (f->type.kind == T_BITSET)
            add_fields(d, f->type.bs->fields, f->name, base + f->low);
    }
    return covered;
}

static void fill(const rnode *r, uint64_t value, rmap_decoded *d)
{
    d->width = r->width;
    d->value = value;
    d->access = r->access;
    d->brief = r->brief;
    uint64_t covered = add_fields(d, r->fields, NULL, 0);
    if (r->type.kind == T_BITSET)
        covered |= add_fields(d, r->type.bs->fields, NULL, 0);
    if (d->n_fields) {
        uint64_t all = r->width >= 64 ? UINT64_MAX : (UINT64_C(1) << r->width) - 1;
        d->unknown = value & all & ~covered;
    } else {
        const char *en;
        show(&r->type, r->width, value, r->shr, d->text, sizeof d->text, &en);
    }
}

static const rnode *match(const rnode *n, uint64_t x, unsigned width, namebuf *nb)
{
    for (; n; n = n->next) {
        if (!n->src.active || x < n->offset)
            continue;
        uint64_t delta = x - n->offset, idx = 0, rest = delta;
        if (n->length > 1) {
            idx = delta / n->stride;
            rest = delta % n->stride;
            if (idx >= n->length)
                continue;
        }
        size_t keep = nb->n;
        if (n->kind == N_REG) {
            if (rest != 0 || (width && n->width != width))
                continue;
            rmap_put(nb, "%s%s", nb->n ? "." : "", n->name);
            if (n->length > 1)
                rmap_put(nb, "[%llu]", (unsigned long long)idx);
            return n;
        }
        if (n->name) {
            rmap_put(nb, "%s%s", nb->n ? "." : "", n->name);
            if (n->length > 1)
                rmap_put(nb, "[%llu]", (unsigned long long)idx);
        }
        const rnode *r = match(n->kids, rest, width, nb);
        if (r) {
            if (!n->name && n->length > 1)
                rmap_put(nb, "[%llu]", (unsigned long long)idx);
            return r;
        }
        nb->n = keep;
        nb->p[keep] = 0;
    }
    return NULL;
}

/* Zero what a decode reads before it writes: everything but fields[],
 * whose first n_fields entries are filled (the array is ~40 KiB, and
 * clearing it would dominate the cost of a decode). */
static void clear(rmap_decoded *d)
{
    memset(d, 0, offsetof(rmap_decoded, fields));
    d->unknown = 0;
}

bool rmap_decode(const rmap *m, size_t domain, uint64_t off, unsigned width, uint64_t value,
                 rmap_decoded *out)
{
    const rdomain *dm = domain_at(m, domain);
    clear(out);
    if (!dm)
        return false;
    namebuf nb = {out->name, sizeof out->name, 0};
    if (!dm->bare)
        rmap_put(&nb, "%s_", dm->name);
    size_t base = nb.n;
    /* Names join with "." below the domain prefix. */
    namebuf inner = {out->name + base, sizeof out->name - base, 0};
    const rnode *r = match(dm->kids, off, width, &inner);
    if (!r) {
        clear(out);
        return false;
    }
    fill(r, value, out);
    return true;
}

size_t rmap_format(const rmap_decoded *d, char *buf, size_t cap)
{
    namebuf b = {buf, cap, 0};
    if (cap)
        buf[0] = 0;
    rmap_put(&b, "%s = 0x%0*llx", d->name, (int)(d->width / 4), (unsigned long long)d->value);
    if (d->n_fields) {
        rmap_put(&b, " {");
        for (unsigned i = 0; i < d->n_fields; i++)
            rmap_put(&b, " %s=%s", d->fields[i].name, d->fields[i].text);
        if (d->fields_cut)
            rmap_put(&b, " ...");
        if (d->unknown)
            rmap_put(&b, " unknown=0x%llx", (unsigned long long)d->unknown);
        rmap_put(&b, " }");
    } else if (d->text[0] && strncmp(d->text, "0x", 2) != 0) {
        rmap_put(&b, " (%s)", d->text);
    }
    return b.n;
}

/* ---- list ------------------------------------------------------------------------ */

typedef struct lister {
    void (*line)(void *ctx, const char *text);
    void *ctx;
    char text[1024];
} lister;

static const char *type_name(const tinfo *t)
{
    static const char *const names[] = {
        [T_NONE] = "hex", [T_BOOL] = "boolean", [T_UINT] = "uint",     [T_INT] = "int",
        [T_HEX] = "hex",  [T_FIXED] = "fixed",  [T_UFIXED] = "ufixed", [T_FLOAT] = "float"};
    if (t->kind == T_ENUM)
        return t->en->isinline ? "enum (inline)" : t->en->name;
    if (t->kind == T_BITSET)
        return t->bs->name;
    return names[t->kind];
}

static void list_fields(lister *l, const rfield *f, const char *indent)
{
    for (; f; f = f->next) {
        if (!f->src.active)
            continue;
        namebuf b = {l->text, sizeof l->text, 0};
        if (f->low == f->high)
            rmap_put(&b, "%s%u %s %s", indent, f->low, f->name, type_name(&f->type));
        else
            rmap_put(&b, "%s%u:%u %s %s", indent, f->high, f->low, f->name, type_name(&f->type));
        if (f->shr)
            rmap_put(&b, " shr %u", f->shr);
        if (f->type.kind == T_ENUM && f->type.en->isinline) {
            rmap_put(&b, ":");
            for (const rvalue *v = f->type.en->values; v; v = v->next)
                if (v->src.active && v->has_value)
                    rmap_put(&b, " %s=%llu", v->name, (unsigned long long)v->value);
        }
        if (f->brief)
            rmap_put(&b, " - %s", f->brief);
        l->line(l->ctx, l->text);
    }
}

static void list_nodes(lister *l, const rnode *n, uint64_t base, const char *path)
{
    for (; n; n = n->next) {
        if (!n->src.active)
            continue;
        char name[600];
        namebuf nb = {name, sizeof name, 0};
        rmap_put(&nb, "%s", path);
        if (n->name)
            rmap_put(&nb, "%s%s", nb.n && name[nb.n - 1] != '_' ? "." : "", n->name);
        if (n->length > 1)
            rmap_put(&nb, "[0..%llu]", (unsigned long long)(n->length - 1));
        if (n->kind != N_REG) {
            namebuf b = {l->text, sizeof l->text, 0};
            rmap_put(&b, "0x%llx %s %s", (unsigned long long)(base + n->offset),
                     n->kind == N_ARRAY ? "array" : "stripe", name[0] ? name : "-");
            if (n->length > 1)
                rmap_put(&b, " stride 0x%llx", (unsigned long long)n->stride);
            if (n->brief)
                rmap_put(&b, " - %s", n->brief);
            l->line(l->ctx, l->text);
            list_nodes(l, n->kids, base + n->offset, name);
            continue;
        }
        namebuf b = {l->text, sizeof l->text, 0};
        rmap_put(&b, "0x%llx %s reg%u %s", (unsigned long long)(base + n->offset), name, n->width,
                 n->access);
        if (n->length > 1)
            rmap_put(&b, " stride 0x%llx", (unsigned long long)n->stride);
        if (n->type.kind != T_HEX)
            rmap_put(&b, " %s", type_name(&n->type));
        if (n->shr)
            rmap_put(&b, " shr %u", n->shr);
        if (n->brief)
            rmap_put(&b, " - %s", n->brief);
        l->line(l->ctx, l->text);
        list_fields(l, n->fields, "    ");
    }
}

void rmap_list(const rmap *m, size_t domain, void (*line)(void *ctx, const char *text), void *ctx)
{
    lister *l = &(lister){.line = line, .ctx = ctx};
    const rdomain *d = domain_at(m, domain);
    if (!d)
        return;
    namebuf b = {l->text, sizeof l->text, 0};
    rmap_put(&b, "domain %s width %u", d->name, d->width);
    if (d->size)
        rmap_put(&b, " size 0x%llx", (unsigned long long)d->size);
    if (d->bare)
        rmap_put(&b, " bare");
    if (d->src.varset)
        rmap_put(&b, " variants %s", d->src.varset);
    line(ctx, l->text);
    char prefix[RMAP_MAX_NAME + 2] = "";
    if (!d->bare)
        snprintf(prefix, sizeof prefix, "%s_", d->name);
    list_nodes(l, d->kids, 0, prefix);
    for (const renum *e = m->enums; e; e = e->next) {
        if (e->isinline || !e->src.active)
            continue;
        b = (namebuf){l->text, sizeof l->text, 0};
        rmap_put(&b, "enum %s:", e->name);
        for (const rvalue *v = e->values; v; v = v->next) {
            if (!v->src.active)
                continue;
            if (v->has_value)
                rmap_put(&b, " %s=%llu", v->name, (unsigned long long)v->value);
            else
                rmap_put(&b, " %s", v->name);
        }
        line(ctx, l->text);
    }
    for (const rbitset *s = m->bitsets; s; s = s->next) {
        if (s->isinline || !s->src.active)
            continue;
        b = (namebuf){l->text, sizeof l->text, 0};
        rmap_put(&b, "bitset %s:", s->name);
        line(ctx, l->text);
        list_fields(l, s->fields, "    ");
    }
}
