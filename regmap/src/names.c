/*
 * names.c - compact decodes for tools that show every register access
 * (rmap_format_short, rmap_format_delta) and the namer, a cache in front
 * of rmap_decode.
 *
 * The namer keeps two direct-mapped tables: names keyed by (offset, width)
 * and texts keyed by (offset, width, value).  A slot holds its full key, so
 * a collision only costs a fresh decode, never a wrong text.  A register
 * without fields whose type shows hex ("plain": addresses, counters of
 * type hex) never reaches the text table: its text is its name and the
 * value in hex, formatted here - such registers take any value (DMA
 * addresses), which would defeat a cache.  One rmap_decoded (~40 KiB) is
 * allocated with the namer and reused.
 *
 *   text[slot]  {off, width, value, len, used, hit}   24 B, looked up
 *   texts[slot] "CH[1].STATUS=0x2 {DONE}"            192 B, read on a hit
 *
 * Keys and texts are apart so the lookups of the hot keys stay within a
 * small array while the misses (a field such as a descriptor index takes
 * a new value on every transfer) write texts elsewhere.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#define TEXT_SLOTS 4096u /* power of two */
#define NAME_SLOTS 1024u /* power of two */
#define TEXT_MAX   192u

/* Appending to a namebuf without printf (rmap_format_short runs for every
 * register access a tool shows whose text is not cached). */
static void put_str(namebuf *b, const char *s)
{
    size_t n = strlen(s);
    if (!b->cap || b->n + 1 >= b->cap)
        return;
    if (n > b->cap - 1 - b->n)
        n = b->cap - 1 - b->n;
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

static void put_hex(namebuf *b, uint64_t v)
{
    char t[24];
    rmap_utoa(t, sizeof t, v, true);
    put_str(b, t);
}

size_t rmap_format_short(const rmap_decoded *d, char *buf, size_t cap)
{
    namebuf b = {buf, cap, 0};
    if (cap)
        buf[0] = 0;
    put_str(&b, d->name);
    put_str(&b, "=");
    put_hex(&b, d->value);
    if (!d->n_fields) {
        if (d->text[0] && strncmp(d->text, "0x", 2) != 0) {
            put_str(&b, " (");
            put_str(&b, d->text);
            put_str(&b, ")");
        }
        return b.n;
    }
    unsigned shown = 0;
    put_str(&b, " {");
    for (unsigned i = 0; i < d->n_fields; i++) {
        const rmap_field_value *f = &d->fields[i];
        if (f->raw == 0)
            continue;
        put_str(&b, shown++ ? ", " : "");
        put_str(&b, f->name);
        if (f->low != f->high || f->enum_name) {
            put_str(&b, "=");
            put_str(&b, f->text);
        }
    }
    if (d->fields_cut)
        put_str(&b, shown++ ? ", ..." : "...");
    if (d->unknown) {
        put_str(&b, shown++ ? ", ?=" : "?=");
        put_hex(&b, d->unknown);
    }
    put_str(&b, "}");
    return b.n;
}

size_t rmap_format_delta(const rmap_decoded *a, const rmap_decoded *b, char *buf, size_t cap)
{
    namebuf s = {buf, cap, 0};
    if (cap)
        buf[0] = 0;
    unsigned n = a->n_fields < b->n_fields ? a->n_fields : b->n_fields;
    for (unsigned i = 0; i < n; i++) {
        const rmap_field_value *x = &a->fields[i], *y = &b->fields[i];
        if (x->raw != y->raw)
            rmap_put(&s, "%s%s %s->%s", s.n ? ", " : "", x->name, x->text, y->text);
    }
    if (a->unknown != b->unknown)
        rmap_put(&s, "%s? 0x%llx->0x%llx", s.n ? ", " : "", (unsigned long long)a->unknown,
                 (unsigned long long)b->unknown);
    if (!a->n_fields && a->value != b->value && !s.n)
        rmap_put(&s, "%s 0x%llx->0x%llx", a->name, (unsigned long long)a->value,
                 (unsigned long long)b->value);
    return s.n;
}

/* The slots' keys sit apart from their texts, in small arrays, so that a
 * lookup touches one compact line and a miss does not evict hot keys. */
typedef struct text_slot {
    uint64_t off, value;
    uint32_t width;
    uint16_t len;   /* of the text */
    bool used, hit; /* hit: a register is there (else the text is empty) */
} text_slot;

typedef struct name_slot {
    uint64_t off;
    uint32_t width;
    uint16_t len; /* of the name */
    bool used, hit;
    bool plain; /* no fields, shown in hex: text is NAME=0xVALUE */
} name_slot;

struct rmap_namer {
    const rmap *m;
    size_t domain;
    rmap_decoded d;
    text_slot text[TEXT_SLOTS];
    name_slot names[NAME_SLOTS];
    char texts[TEXT_SLOTS][TEXT_MAX];
    char name_text[NAME_SLOTS][sizeof(((rmap_decoded *)0)->name)];
    char plain[sizeof(((rmap_decoded *)0)->name) + 24]; /* the last plain text */
};

rmap_namer *rmap_namer_new(const rmap *m, size_t domain)
{
    rmap_namer *n = calloc(1, sizeof *n);
    if (n) {
        n->m = m;
        n->domain = domain;
    }
    return n;
}

void rmap_namer_free(rmap_namer *n)
{
    free(n);
}

static uint64_t mix(uint64_t off, unsigned width, uint64_t value)
{
    uint64_t h = (off * 0x9E3779B97F4A7C15u) ^ (value * 0xC2B2AE3D27D4EB4Fu) ^ width;
    return h ^ (h >> 29);
}

const rmap_decoded *rmap_namer_decode(rmap_namer *n, uint64_t off, unsigned width, uint64_t value)
{
    return rmap_decode(n->m, n->domain, off, width, value, &n->d) ? &n->d : NULL;
}

static name_slot *name_slot_of(rmap_namer *n, uint64_t off, unsigned width)
{
    name_slot *s = &n->names[mix(off, width, 0) & (NAME_SLOTS - 1)];
    if (!s->used || s->off != off || s->width != width) {
        s->used = true;
        s->off = off;
        s->width = width;
        s->hit = rmap_namer_decode(n, off, width, 0) != NULL;
        char *name = n->name_text[s - n->names];
        memcpy(name, n->d.name, sizeof n->d.name);
        s->len = (uint16_t)strlen(name);
        s->plain = s->hit && !n->d.n_fields && !strncmp(n->d.text, "0x", 2);
    }
    return s;
}

const char *rmap_namer_text(rmap_namer *n, uint64_t off, unsigned width, uint64_t value,
                            size_t *len)
{
    name_slot *ns = name_slot_of(n, off, width);
    if (!ns->hit)
        return NULL;
    if (ns->plain) {
        char *p = n->plain;
        memcpy(p, n->name_text[ns - n->names], ns->len);
        p[ns->len] = '=';
        size_t k = ns->len + 1;
        k += rmap_utoa(p + k, sizeof n->plain - k, value, true);
        if (len)
            *len = k;
        return n->plain;
    }
    text_slot *s = &n->text[mix(off, width, value) & (TEXT_SLOTS - 1)];
    if (!s->used || s->off != off || s->width != width || s->value != value) {
        s->used = true;
        s->off = off;
        s->width = width;
        s->value = value;
        s->hit = rmap_namer_decode(n, off, width, value) != NULL;
        char *text = n->texts[s - n->text];
        text[0] = 0;
        s->len = s->hit ? (uint16_t)rmap_format_short(&n->d, text, TEXT_MAX) : 0;
    }
    if (len)
        *len = s->len;
    return s->hit ? n->texts[s - n->text] : NULL;
}

const char *rmap_namer_name(rmap_namer *n, uint64_t off, unsigned width)
{
    name_slot *s = name_slot_of(n, off, width);
    return s->hit ? n->name_text[s - n->names] : NULL;
}

bool rmap_find_shared(const char *name, char *buf, size_t cap)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return false;
    exe[n] = 0;
    char *slash = strrchr(exe, '/');
    if (!slash)
        return false;
    *slash = 0;
    char *up = strrchr(exe, '/'); /* the executable's parent: <prefix>/bin -> <prefix> */
    if (up)
        *up = 0;
    int k = snprintf(buf, cap, "%s/share/dmatrace/%s", up ? exe : ".", name);
    return k > 0 && (size_t)k < cap && access(buf, R_OK) == 0;
}
