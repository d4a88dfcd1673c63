/*
 * load.c - the rules-ng-ng loader: libxml2 parses each file (no network, no
 * DTD, errors silenced and reported through rmap_error); a walk over the
 * tree copies what the map defines into the map's arena; a second pass
 * resolves type names, evaluates variants and checks fields.
 *
 * Bounds (rmap/regmap.h): file size, number of files, elements kept, name
 * length, nesting depth, array length and register instances.  Imports are
 * identified by their real path: a file already loaded is not loaded again,
 * a file importing one of the files that are importing it is an import
 * cycle and refused.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "internal.h"

/* ---- arena ------------------------------------------------------------- */

struct arena_chunk {
    arena_chunk *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
};

#define ARENA_CHUNK (64u << 10)

static void *arena_alloc(rmap *m, size_t n)
{
    n = (n + 15u) & ~(size_t)15u;
    arena_chunk *c = m->chunks;
    if (!c || c->cap - c->used < n) {
        size_t cap = n > ARENA_CHUNK ? n : ARENA_CHUNK;
        c = malloc(sizeof *c + cap);
        if (!c)
            return NULL;
        c->cap = cap;
        c->used = 0;
        c->next = m->chunks;
        m->chunks = c;
    }
    void *p = c->data + c->used;
    c->used += n;
    memset(p, 0, n);
    return p;
}

void rmap_free(rmap *m)
{
    if (!m)
        return;
    arena_chunk *c = m->chunks;
    while (c) {
        arena_chunk *n = c->next;
        free(c);
        c = n;
    }
    free(m);
}

/* ---- the loader's state -------------------------------------------------- */

typedef struct loader {
    rmap *m;
    rmap_error *err;
    bool failed;
    const char *file; /* the file being walked (arena copy) */
    char *files[RMAP_MAX_FILES];
    size_t n_files;
    size_t stack[RMAP_MAX_FILES]; /* indexes in files of the import chain */
    size_t depth;
    uint64_t instances;
} loader;

/* Record the first error only. */
__attribute__((format(printf, 4, 5))) static void fail(loader *ld, const char *file, unsigned line,
                                                       const char *fmt, ...)
{
    if (ld->failed)
        return;
    ld->failed = true;
    snprintf(ld->err->file, sizeof ld->err->file, "%s", file ? file : "(map)");
    ld->err->line = line;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ld->err->msg, sizeof ld->err->msg, fmt, ap);
    va_end(ap);
}

static unsigned line_of(const xmlNode *n)
{
    long l = xmlGetLineNo(n);
    return l > 0 && l < UINT_MAX ? (unsigned)l : 0;
}

#define FAILN(ld, node, ...) fail((ld), (ld)->file, line_of(node), __VA_ARGS__)

/* Count one kept element against the limit; false (error set) past it. */
static bool count_element(loader *ld, const xmlNode *n)
{
    if (++ld->m->elements > RMAP_MAX_ELEMENTS) {
        FAILN(ld, n, "more than %u elements", RMAP_MAX_ELEMENTS);
        return false;
    }
    return true;
}

static void *alloc_or_fail(loader *ld, const xmlNode *n, size_t size)
{
    void *p = arena_alloc(ld->m, size);
    if (!p)
        FAILN(ld, n, "out of memory");
    return p;
}

static char *dup_str(loader *ld, const xmlNode *n, const char *s, size_t len)
{
    char *p = alloc_or_fail(ld, n, len + 1);
    if (p)
        memcpy(p, s, len);
    return p;
}

static bool is(const xmlNode *n, const char *name)
{
    return n->type == XML_ELEMENT_NODE && !strcmp((const char *)n->name, name);
}

/* The attribute's value copied into the arena, or NULL when absent (or on
 * error: check ld->failed).  max: longest value accepted. */
static const char *attr_max(loader *ld, xmlNode *n, const char *name, size_t max)
{
    xmlAttr *a = xmlHasProp(n, (const xmlChar *)name);
    if (!a)
        return NULL;
    /* A plain value is one text node: read it in place; a value with
     * entity references goes through xmlGetProp. */
    xmlChar *copy = NULL;
    const xmlChar *v;
    if (a->children && a->children->type == XML_TEXT_NODE && !a->children->next)
        v = a->children->content;
    else
        v = copy = xmlGetProp(n, (const xmlChar *)name);
    if (!v)
        v = (const xmlChar *)"";
    size_t len = strlen((const char *)v);
    const char *r = NULL;
    if (len > max)
        FAILN(ld, n, "attribute %s of <%s> longer than %zu characters", name, (const char *)n->name,
              max);
    else
        r = dup_str(ld, n, (const char *)v, len);
    xmlFree(copy);
    return r;
}

static const char *attr(loader *ld, xmlNode *n, const char *name)
{
    return attr_max(ld, n, name, 4096);
}

/* A name: required, 1..RMAP_MAX_NAME characters, no spaces. */
static const char *name_attr(loader *ld, xmlNode *n, bool required)
{
    const char *s = attr_max(ld, n, "name", RMAP_MAX_NAME);
    if (!s) {
        if (required && !ld->failed)
            FAILN(ld, n, "<%s> without a name", (const char *)n->name);
        return NULL;
    }
    if (!*s || strpbrk(s, " \t\r\n")) {
        FAILN(ld, n, "bad name '%s'", s);
        return NULL;
    }
    return s;
}

static bool parse_u64(const char *s, uint64_t *out)
{
    int base = 10;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    }
    if (!*s)
        return false;
    uint64_t v = 0;
    for (; *s; s++) {
        unsigned d;
        if (*s >= '0' && *s <= '9')
            d = (unsigned)(*s - '0');
        else if (base == 16 && *s >= 'a' && *s <= 'f')
            d = (unsigned)(*s - 'a' + 10);
        else if (base == 16 && *s >= 'A' && *s <= 'F')
            d = (unsigned)(*s - 'A' + 10);
        else
            return false;
        if (v > (UINT64_MAX - d) / (unsigned)base)
            return false;
        v = v * (unsigned)base + d;
    }
    *out = v;
    return true;
}

/* A numeric attribute: false only on error; *present says whether it was
 * there (else *out = dflt). */
static bool num_attr(loader *ld, xmlNode *n, const char *name, uint64_t dflt, uint64_t *out,
                     bool *present)
{
    const char *s = attr_max(ld, n, name, 64);
    if (ld->failed)
        return false;
    if (present)
        *present = s != NULL;
    if (!s) {
        *out = dflt;
        return true;
    }
    if (!parse_u64(s, out)) {
        FAILN(ld, n, "bad number '%s' for %s", s, name);
        return false;
    }
    return true;
}

static bool bool_attr(loader *ld, xmlNode *n, const char *name, bool *out)
{
    const char *s = attr_max(ld, n, name, 16);
    if (ld->failed)
        return false;
    if (!s)
        return true;
    if (!strcmp(s, "yes") || !strcmp(s, "true") || !strcmp(s, "1"))
        *out = true;
    else if (!strcmp(s, "no") || !strcmp(s, "false") || !strcmp(s, "0"))
        *out = false;
    else {
        FAILN(ld, n, "bad boolean '%s' for %s", s, name);
        return false;
    }
    return true;
}

/* Source position, own variants and effective variant set of an element. */
static bool take_src(loader *ld, xmlNode *n, const char *varset, rsrc *src)
{
    src->file = ld->file;
    src->line = line_of(n);
    src->variants = attr(ld, n, "variants");
    const char *vs = attr_max(ld, n, "varset", RMAP_MAX_NAME);
    src->varset = vs ? vs : varset;
    return !ld->failed;
}

/* The text of <brief>/<doc>, whitespace folded, cut at 512 characters. */
static const char *text_of(loader *ld, xmlNode *n)
{
    xmlChar *t = xmlNodeGetContent(n);
    if (!t)
        return NULL;
    char buf[512];
    size_t k = 0;
    bool space = false;
    for (const xmlChar *p = t; *p && k + 1 < sizeof buf; p++) {
        if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
            space = k > 0;
            continue;
        }
        if (space && k + 2 < sizeof buf)
            buf[k++] = ' ';
        space = false;
        buf[k++] = (char)*p;
    }
    xmlFree(t);
    return dup_str(ld, n, buf, k);
}

/* ---- types ---------------------------------------------------------------- */

static bool take_type(loader *ld, xmlNode *n, tinfo *t)
{
    const char *s = attr_max(ld, n, "type", RMAP_MAX_NAME);
    uint64_t radix;
    if (ld->failed || !num_attr(ld, n, "radix", 0, &radix, NULL))
        return false;
    if (radix > 64) {
        FAILN(ld, n, "radix %llu above 64", (unsigned long long)radix);
        return false;
    }
    t->radix = (unsigned)radix;
    if (!s)
        return true;
    static const struct {
        const char *name;
        int kind;
    } builtin[] = {{"boolean", T_BOOL}, {"uint", T_UINT},   {"int", T_INT},
                   {"hex", T_HEX},      {"fixed", T_FIXED}, {"ufixed", T_UFIXED},
                   {"float", T_FLOAT},  {"address", T_HEX}, {"waddress", T_HEX}};
    for (size_t i = 0; i < sizeof builtin / sizeof builtin[0]; i++)
        if (!strcmp(s, builtin[i].name)) {
            t->kind = builtin[i].kind;
            return true;
        }
    t->tname = s; /* an enum or a bitset, resolved once everything is loaded */
    return true;
}

/* ---- enums and bitsets ------------------------------------------------------ */

static renum *find_enum(const rmap *m, const char *name)
{
    for (renum *e = m->enums; e; e = e->next)
        if (!e->isinline && !strcmp(e->name, name))
            return e;
    return NULL;
}

static rbitset *find_bitset(const rmap *m, const char *name)
{
    for (rbitset *b = m->bitsets; b; b = b->next)
        if (!b->isinline && !strcmp(b->name, name))
            return b;
    return NULL;
}

static renum *new_enum(loader *ld, xmlNode *n, const char *name, bool isinline, const char *varset)
{
    renum *e = alloc_or_fail(ld, n, sizeof *e);
    if (!e || !take_src(ld, n, varset, &e->src))
        return NULL;
    e->name = name;
    e->isinline = isinline;
    e->tail = &e->values;
    *ld->m->etail = e;
    ld->m->etail = &e->next;
    return e;
}

static void walk_value(loader *ld, xmlNode *n, renum *e, const char *varset)
{
    if (!count_element(ld, n))
        return;
    rvalue *v = alloc_or_fail(ld, n, sizeof *v);
    if (!v || !take_src(ld, n, varset, &v->src))
        return;
    v->name = name_attr(ld, n, true);
    if (!v->name || !num_attr(ld, n, "value", 0, &v->value, &v->has_value))
        return;
    *e->tail = v;
    e->tail = &v->next;
}

/* The name of a top-level enum or bitset (counted, its inline attribute
 * checked), or NULL on error. */
static const char *top_name(loader *ld, xmlNode *n)
{
    bool isinline = false;
    if (!count_element(ld, n))
        return NULL;
    const char *name = name_attr(ld, n, true);
    return name && bool_attr(ld, n, "inline", &isinline) ? name : NULL;
}

static void walk_enum(loader *ld, xmlNode *n, const char *varset)
{
    const char *name = top_name(ld, n);
    if (!name)
        return;
    renum *e = find_enum(ld->m, name); /* a second definition adds values */
    if (!e && !(e = new_enum(ld, n, name, false, varset)))
        return;
    for (xmlNode *c = n->children; c && !ld->failed; c = c->next)
        if (is(c, "value"))
            walk_value(ld, c, e, varset);
}

static void walk_fields_and_values(loader *ld, xmlNode *n, rfield ***ftail, unsigned width,
                                   tinfo *type, const char *owner, const char **brief,
                                   const char *varset);

static void walk_bitset(loader *ld, xmlNode *n, const char *varset)
{
    const char *name = top_name(ld, n);
    if (!name)
        return;
    rbitset *b = find_bitset(ld->m, name);
    if (!b) {
        b = alloc_or_fail(ld, n, sizeof *b);
        if (!b || !take_src(ld, n, varset, &b->src))
            return;
        b->name = name;
        b->tail = &b->fields;
        *ld->m->btail = b;
        ld->m->btail = &b->next;
    }
    walk_fields_and_values(ld, n, &b->tail, 64, NULL, name, NULL, varset);
}

/* ---- bitfields -------------------------------------------------------------- */

static void walk_bitfield(loader *ld, xmlNode *n, rfield ***ftail, unsigned width,
                          const char *varset)
{
    if (!count_element(ld, n))
        return;
    rfield *f = alloc_or_fail(ld, n, sizeof *f);
    if (!f || !take_src(ld, n, varset, &f->src))
        return;
    f->name = name_attr(ld, n, true);
    if (!f->name)
        return;
    uint64_t low, high, pos, shr;
    bool has_low, has_high, has_pos;
    if (!num_attr(ld, n, "low", 0, &low, &has_low) ||
        !num_attr(ld, n, "high", 0, &high, &has_high) ||
        !num_attr(ld, n, "pos", 0, &pos, &has_pos) || !num_attr(ld, n, "shr", 0, &shr, NULL))
        return;
    if (has_pos) {
        low = high = pos;
    } else if (!has_low || !has_high) {
        FAILN(ld, n, "bitfield %s needs pos, or low and high", f->name);
        return;
    }
    if (high < low) {
        FAILN(ld, n, "bitfield %s: high %llu below low %llu", f->name, (unsigned long long)high,
              (unsigned long long)low);
        return;
    }
    if (high >= width) {
        FAILN(ld, n, "bitfield %s (bits %llu:%llu) outside its %u-bit register", f->name,
              (unsigned long long)high, (unsigned long long)low, width);
        return;
    }
    if (shr >= 64) {
        FAILN(ld, n, "bitfield %s: shr %llu above 63", f->name, (unsigned long long)shr);
        return;
    }
    f->low = (unsigned)low;
    f->high = (unsigned)high;
    f->shr = (unsigned)shr;
    f->brief = attr(ld, n, "brief");
    if (!take_type(ld, n, &f->type))
        return;
    rfield *none = NULL, **sub = &none; /* bitfields hold no bitfields */
    walk_fields_and_values(ld, n, &sub, 0, &f->type, f->name, &f->brief, f->src.varset);
    **ftail = f;
    *ftail = &f->next;
}

/* The children of a register, bitfield or bitset: bitfields (when ftail),
 * values (an inline enum of the owner's type, when type), brief/doc and the
 * top-level elements; the rest is skipped. */
static void walk_top(loader *ld, xmlNode *c, const char *varset);

static void walk_fields_and_values(loader *ld, xmlNode *n, rfield ***ftail, unsigned width,
                                   tinfo *type, const char *owner, const char **brief,
                                   const char *varset)
{
    renum *inl = NULL;
    for (xmlNode *c = n->children; c && !ld->failed; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (is(c, "bitfield") && width) {
            walk_bitfield(ld, c, ftail, width, varset);
        } else if (is(c, "value") && type) {
            if (!inl) {
                if (!(inl = new_enum(ld, c, owner, true, varset)))
                    return;
                type->kind = T_ENUM;
                type->en = inl;
                type->tname = NULL;
            }
            walk_value(ld, c, inl, varset);
        } else if ((is(c, "brief") || (is(c, "doc"))) && brief) {
            if (!*brief || is(c, "brief"))
                *brief = text_of(ld, c);
        } else {
            walk_top(ld, c, varset);
        }
    }
}

/* ---- registers, arrays, stripes ----------------------------------------------- */

typedef struct scope {
    unsigned unit;  /* the domain's bits per address unit */
    uint64_t mult;  /* instances of the enclosing arrays */
    unsigned depth; /* nested arrays and stripes */
    const char *varset;
} scope;

static void walk_kids(loader *ld, xmlNode *n, rnode ***ktail, scope sc);

static void walk_reg(loader *ld, xmlNode *n, unsigned width, rnode ***ktail, scope sc)
{
    if (!count_element(ld, n))
        return;
    rnode *r = alloc_or_fail(ld, n, sizeof *r);
    if (!r || !take_src(ld, n, sc.varset, &r->src))
        return;
    r->kind = N_REG;
    r->width = width;
    r->name = name_attr(ld, n, true);
    bool has_off;
    uint64_t dstride = width > sc.unit ? width / sc.unit : 1, shr;
    if (!r->name || !num_attr(ld, n, "offset", 0, &r->offset, &has_off) ||
        !num_attr(ld, n, "length", 1, &r->length, NULL) ||
        !num_attr(ld, n, "stride", dstride, &r->stride, NULL) ||
        !num_attr(ld, n, "shr", 0, &shr, NULL))
        return;
    if (!has_off) {
        FAILN(ld, n, "register %s without an offset", r->name);
        return;
    }
    if (shr >= 64) {
        FAILN(ld, n, "register %s: shr %llu above 63", r->name, (unsigned long long)shr);
        return;
    }
    r->shr = (unsigned)shr;
    r->access = attr_max(ld, n, "access", 8);
    if (ld->failed)
        return;
    if (!r->access)
        r->access = "rw";
    if (strcmp(r->access, "r") && strcmp(r->access, "w") && strcmp(r->access, "rw")) {
        FAILN(ld, n, "register %s: access '%s' is not r, w or rw", r->name, r->access);
        return;
    }
    r->brief = attr(ld, n, "brief");
    if (!take_type(ld, n, &r->type))
        return;
    r->ftail = &r->fields;
    r->kids = NULL;
    r->ktail = &r->kids;
    walk_fields_and_values(ld, n, &r->ftail, width, &r->type, r->name, &r->brief, r->src.varset);
    if (ld->failed)
        return;
    if (r->length == 0 || r->length > RMAP_MAX_ARRAY_LENGTH) {
        FAILN(ld, n, "register array %s of %llu elements (1..%u allowed)", r->name,
              (unsigned long long)r->length, RMAP_MAX_ARRAY_LENGTH);
        return;
    }
    if (r->length > 1 &&
        (r->stride == 0 || r->stride > (UINT64_MAX - r->offset) / (r->length - 1))) {
        FAILN(ld, n, "register array %s: stride 0x%llx does not fit", r->name,
              (unsigned long long)r->stride);
        return;
    }
    ld->instances += sc.mult * r->length;
    if (ld->instances > RMAP_MAX_INSTANCES) {
        FAILN(ld, n, "the map describes more than %u register instances", RMAP_MAX_INSTANCES);
        return;
    }
    **ktail = r;
    *ktail = &r->next;
}

static void walk_group(loader *ld, xmlNode *n, int kind, rnode ***ktail, scope sc)
{
    if (!count_element(ld, n))
        return;
    if (sc.depth >= RMAP_MAX_DEPTH) {
        FAILN(ld, n, "arrays and stripes nested deeper than %u", RMAP_MAX_DEPTH);
        return;
    }
    rnode *a = alloc_or_fail(ld, n, sizeof *a);
    if (!a || !take_src(ld, n, sc.varset, &a->src))
        return;
    a->kind = kind;
    a->name = name_attr(ld, n, kind == N_ARRAY);
    bool has_off, has_stride, has_len;
    if (ld->failed || !num_attr(ld, n, "offset", 0, &a->offset, &has_off) ||
        !num_attr(ld, n, "stride", 0, &a->stride, &has_stride) ||
        !num_attr(ld, n, "length", 1, &a->length, &has_len))
        return;
    if (kind == N_ARRAY && (!has_off || !has_stride || !has_len)) {
        FAILN(ld, n, "array %s needs offset, stride and length", a->name);
        return;
    }
    if (a->length == 0 || a->length > RMAP_MAX_ARRAY_LENGTH) {
        FAILN(ld, n, "%s %s of %llu elements (1..%u allowed)", kind == N_ARRAY ? "array" : "stripe",
              a->name ? a->name : "", (unsigned long long)a->length, RMAP_MAX_ARRAY_LENGTH);
        return;
    }
    if (a->length > 1 &&
        (a->stride == 0 || a->stride > (UINT64_MAX - a->offset) / (a->length - 1))) {
        FAILN(ld, n, "%s: stride 0x%llx does not fit", a->name ? a->name : "stripe",
              (unsigned long long)a->stride);
        return;
    }
    a->brief = attr(ld, n, "brief");
    a->ktail = &a->kids;
    scope in = sc;
    in.mult = sc.mult * a->length; /* <= 2^24 * 2^20: no overflow */
    if (in.mult > RMAP_MAX_INSTANCES) {
        FAILN(ld, n, "the map describes more than %u register instances", RMAP_MAX_INSTANCES);
        return;
    }
    in.depth = sc.depth + 1;
    in.varset = a->src.varset;
    walk_kids(ld, n, &a->ktail, in);
    **ktail = a;
    *ktail = &a->next;
}

static void walk_kids(loader *ld, xmlNode *n, rnode ***ktail, scope sc)
{
    for (xmlNode *c = n->children; c && !ld->failed; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (is(c, "reg8"))
            walk_reg(ld, c, 8, ktail, sc);
        else if (is(c, "reg16"))
            walk_reg(ld, c, 16, ktail, sc);
        else if (is(c, "reg32"))
            walk_reg(ld, c, 32, ktail, sc);
        else if (is(c, "reg64"))
            walk_reg(ld, c, 64, ktail, sc);
        else if (is(c, "array"))
            walk_group(ld, c, N_ARRAY, ktail, sc);
        else if (is(c, "stripe"))
            walk_group(ld, c, N_STRIPE, ktail, sc);
        else if (!is(c, "brief") && !is(c, "doc"))
            walk_top(ld, c, sc.varset);
    }
}

/* ---- domains, imports --------------------------------------------------------- */

static void walk_domain(loader *ld, xmlNode *n)
{
    if (!count_element(ld, n))
        return;
    const char *name = name_attr(ld, n, true);
    uint64_t width, size;
    bool bare = false, has_width;
    if (!name || !num_attr(ld, n, "width", 8, &width, &has_width) ||
        !num_attr(ld, n, "size", 0, &size, NULL) || !bool_attr(ld, n, "bare", &bare))
        return;
    if (width != 8 && width != 16 && width != 32 && width != 64) {
        FAILN(ld, n, "domain %s: width %llu is not 8, 16, 32 or 64", name,
              (unsigned long long)width);
        return;
    }
    const char *prefix = attr_max(ld, n, "prefix", RMAP_MAX_NAME);
    if (ld->failed)
        return;
    rdomain *d = NULL;
    for (rdomain *e = ld->m->domains; e; e = e->next)
        if (!strcmp(e->name, name))
            d = e;
    if (d && has_width && d->width != width) {
        FAILN(ld, n, "domain %s: width %llu, first defined with %u", name,
              (unsigned long long)width, d->width);
        return;
    }
    if (!d) {
        d = alloc_or_fail(ld, n, sizeof *d);
        if (!d || !take_src(ld, n, prefix, &d->src))
            return;
        d->name = name;
        d->width = (unsigned)width;
        d->size = size;
        d->bare = bare;
        d->ktail = &d->kids;
        *ld->m->dtail = d;
        ld->m->dtail = &d->next;
    }
    scope sc = {.unit = d->width, .mult = 1, .depth = 0, .varset = prefix ? prefix : d->src.varset};
    walk_kids(ld, n, &d->ktail, sc);
}

static void load_file(loader *ld, const char *path, const char *from, unsigned from_line);

static void walk_import(loader *ld, xmlNode *n)
{
    const char *file = attr(ld, n, "file");
    if (ld->failed)
        return;
    if (!file || !*file) {
        FAILN(ld, n, "<import> without a file");
        return;
    }
    char path[PATH_MAX];
    const char *slash = strrchr(ld->file, '/');
    int k;
    if (file[0] == '/' || !slash)
        k = snprintf(path, sizeof path, "%s", file);
    else
        k = snprintf(path, sizeof path, "%.*s/%s", (int)(slash - ld->file), ld->file, file);
    if (k < 0 || (size_t)k >= sizeof path) {
        FAILN(ld, n, "import path too long");
        return;
    }
    const char *keep = ld->file;
    load_file(ld, path, ld->file, line_of(n));
    ld->file = keep;
}

static void walk_top(loader *ld, xmlNode *c, const char *varset)
{
    if (is(c, "domain"))
        walk_domain(ld, c);
    else if (is(c, "enum"))
        walk_enum(ld, c, varset);
    else if (is(c, "bitset"))
        walk_bitset(ld, c, varset);
    else if (is(c, "import"))
        walk_import(ld, c);
    /* anything else (doc, copyright, group, use-group, ...) is skipped */
}

typedef struct first_error {
    bool seen;
    unsigned line;
    char msg[200];
} first_error;

static void keep_first_error(void *data, xmlErrorPtr e)
{
    xmlParserCtxtPtr ctxt = data;
    first_error *fe = ctxt ? ctxt->_private : NULL;
    if (!fe || fe->seen || !e || e->level < XML_ERR_ERROR)
        return;
    fe->seen = true;
    fe->line = e->line > 0 ? (unsigned)e->line : 0;
    snprintf(fe->msg, sizeof fe->msg, "%s", e->message ? e->message : "not XML");
}

static void load_file(loader *ld, const char *path, const char *from, unsigned from_line)
{
    char real[PATH_MAX];
    if (!realpath(path, real)) {
        if (from)
            fail(ld, from, from_line, "cannot import %s: %s", path, strerror(errno));
        else
            fail(ld, path, 0, "%s", strerror(errno));
        return;
    }
    for (size_t i = 0; i < ld->depth; i++) {
        if (!strcmp(ld->files[ld->stack[i]], real)) {
            fail(ld, from, from_line, "import cycle: %s is already being imported", path);
            return;
        }
    }
    for (size_t i = 0; i < ld->n_files; i++)
        if (!strcmp(ld->files[i], real))
            return; /* loaded already (imported twice) */
    if (ld->n_files == RMAP_MAX_FILES) {
        fail(ld, from ? from : path, from_line, "more than %u files", RMAP_MAX_FILES);
        return;
    }
    struct stat st;
    if (stat(real, &st) != 0 || !S_ISREG(st.st_mode)) {
        fail(ld, from ? from : path, from_line, "%s: not a regular file", path);
        return;
    }
    if ((uint64_t)st.st_size > RMAP_MAX_FILE_BYTES) {
        fail(ld, path, 0, "file of %llu bytes exceeds the limit of %u",
             (unsigned long long)st.st_size, RMAP_MAX_FILE_BYTES);
        return;
    }
    /* The name errors carry: the path as given (relative stays relative). */
    const char *name = NULL;
    {
        size_t len = strlen(path);
        char *p = arena_alloc(ld->m, len + 1);
        if (!p) {
            fail(ld, path, 0, "out of memory");
            return;
        }
        memcpy(p, path, len);
        name = p;
    }
    size_t idx = ld->n_files;
    size_t rlen = strlen(real);
    ld->files[idx] = arena_alloc(ld->m, rlen + 1);
    if (!ld->files[idx]) {
        fail(ld, path, 0, "out of memory");
        return;
    }
    memcpy(ld->files[idx], real, rlen);
    ld->n_files++;
    ld->m->counts.files++;

    xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
    if (!ctxt) {
        fail(ld, path, 0, "out of memory");
        return;
    }
    /* The first error is the one worth reporting (libxml2 goes on after a
     * mismatched tag and ends with "premature end of data"). */
    first_error fe = {0};
    ctxt->_private = &fe;
    ctxt->sax->serror = keep_first_error;
    xmlDocPtr doc = xmlCtxtReadFile(ctxt, real, NULL,
                                    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                                        XML_PARSE_NOBLANKS | XML_PARSE_COMPACT);
    if (!doc || !ctxt->wellFormed) {
        if (!fe.seen) {
            xmlErrorPtr e = xmlCtxtGetLastError(ctxt);
            fe.line = e && e->line > 0 ? (unsigned)e->line : 0;
            snprintf(fe.msg, sizeof fe.msg, "%s", e && e->message ? e->message : "not XML");
        }
        size_t l = strlen(fe.msg);
        while (l && (fe.msg[l - 1] == '\n' || fe.msg[l - 1] == ' '))
            fe.msg[--l] = 0;
        fail(ld, name, fe.line, "malformed XML: %s", fe.msg);
        xmlFreeDoc(doc);
        xmlFreeParserCtxt(ctxt);
        return;
    }
    xmlNode *root = xmlDocGetRootElement(doc);
    ld->file = name;
    if (doc->intSubset || doc->extSubset) {
        fail(ld, name, root ? line_of(root) : 0, "document type declarations are not accepted");
    } else if (!root || !is(root, "database")) {
        fail(ld, name, root ? line_of(root) : 0, "the root element is not <database>");
    } else {
        ld->stack[ld->depth++] = idx;
        for (xmlNode *c = root->children; c && !ld->failed; c = c->next)
            if (c->type == XML_ELEMENT_NODE)
                walk_top(ld, c, NULL);
        ld->depth--;
    }
    xmlFreeDoc(doc);
    xmlFreeParserCtxt(ctxt);
}

/* ---- after loading: types, variants, checks, counts ----------------------------- */

static bool resolve(loader *ld, const rsrc *src, tinfo *t)
{
    if (!t->tname || t->kind != T_NONE)
        return true;
    if ((t->en = find_enum(ld->m, t->tname)) != NULL)
        t->kind = T_ENUM;
    else if ((t->bs = find_bitset(ld->m, t->tname)) != NULL)
        t->kind = T_BITSET;
    else
        fail(ld, src->file, src->line, "unknown type '%s'", t->tname);
    return !ld->failed;
}

/* Position of name among the values of the variant-set enum, or -1. */
static long variant_index(const renum *vs, const char *name, size_t len)
{
    long i = 0;
    for (const rvalue *v = vs->values; v; v = v->next, i++)
        if (strlen(v->name) == len && !strncmp(v->name, name, len))
            return i;
    return -1;
}

/* Parse an element's variants against its variant set and say whether the
 * selected variant is among them (true when none is selected or the set
 * does not define it).  Errors name the element's line. */
static bool eval_variants(loader *ld, const rsrc *src, bool *keep)
{
    *keep = true;
    if (!src->variants)
        return true;
    if (!src->varset) {
        fail(ld, src->file, src->line, "variants '%s' without a variant set (domain prefix)",
             src->variants);
        return false;
    }
    const renum *vs = find_enum(ld->m, src->varset);
    if (!vs) {
        fail(ld, src->file, src->line, "variant set '%s' is not an enum of the map", src->varset);
        return false;
    }
    long sel = ld->m->variant ? variant_index(vs, ld->m->variant, strlen(ld->m->variant)) : -1;
    bool any = false, items = false;
    const char *p = src->variants;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
            p++;
        if (!*p)
            break;
        const char *end = p;
        while (*end && *end != ' ' && *end != '\t' && *end != '\n' && *end != '\r')
            end++;
        const char *sep = NULL;
        bool twice = false;
        for (const char *q = p; q < end; q++)
            if (*q == '-' || *q == ':') {
                twice = sep != NULL;
                sep = q;
            }
        if (twice || (sep == p && sep + 1 == end)) {
            fail(ld, src->file, src->line, "cannot parse variants '%s'", src->variants);
            return false;
        }
        /* "-W" / ":W": from the first variant of the set */
        size_t alen = (size_t)((sep ? sep : end) - p);
        long a = alen ? variant_index(vs, p, alen) : 0, b;
        if (a < 0) {
            fail(ld, src->file, src->line, "variant '%.*s' is not in variant set %s", (int)alen, p,
                 vs->name);
            return false;
        }
        if (!sep) {
            b = a;
        } else if (sep + 1 == end) {
            b = LONG_MAX;
        } else {
            b = variant_index(vs, sep + 1, (size_t)(end - sep - 1));
            if (b < 0) {
                fail(ld, src->file, src->line, "variant '%.*s' is not in variant set %s",
                     (int)(end - sep - 1), sep + 1, vs->name);
                return false;
            }
            if (*sep == ':')
                b--;
            if (b < a) {
                fail(ld, src->file, src->line, "empty variant range '%.*s'", (int)(end - p), p);
                return false;
            }
        }
        items = true;
        if (sel >= a && sel <= b)
            any = true;
        p = end;
    }
    if (!items) {
        fail(ld, src->file, src->line, "empty variants attribute");
        return false;
    }
    *keep = sel < 0 || any;
    return true;
}

static bool activate(loader *ld, rsrc *src, bool parent)
{
    bool keep;
    if (!eval_variants(ld, src, &keep))
        return false;
    src->active = parent && keep;
    return true;
}

/* Active fields of one register or bitset must not overlap.  Without a
 * selected variant, only fields with the same variants text are compared
 * (variant-specific layouts legitimately reuse bits). */
static void check_overlap(loader *ld, rfield *fields)
{
    struct {
        const char *variants;
        uint64_t mask;
    } groups[16];
    size_t n = 0;
    for (rfield *f = fields; f && !ld->failed; f = f->next) {
        if (!f->src.active)
            continue;
        const char *key = ld->m->variant ? NULL : f->src.variants;
        size_t g = 0;
        while (g < n && !(groups[g].variants == key ||
                          (groups[g].variants && key && !strcmp(groups[g].variants, key))))
            g++;
        if (g == n) {
            if (n == sizeof groups / sizeof groups[0])
                continue;
            groups[n].variants = key;
            groups[n].mask = 0;
            n++;
        }
        uint64_t mk = rmap_mask(f->low, f->high);
        if (groups[g].mask & mk) {
            fail(ld, f->src.file, f->src.line, "bitfield %s (bits %u:%u) overlaps another bitfield",
                 f->name, f->high, f->low);
            return;
        }
        groups[g].mask |= mk;
    }
}

static void finish_fields(loader *ld, rfield *fields, bool parent)
{
    for (rfield *f = fields; f && !ld->failed; f = f->next) {
        if (!activate(ld, &f->src, parent) || !resolve(ld, &f->src, &f->type))
            return;
        if (f->type.kind == T_NONE)
            f->type.kind = f->low == f->high ? T_BOOL : T_HEX;
        if ((f->type.kind == T_FIXED || f->type.kind == T_UFIXED) &&
            f->type.radix > f->high - f->low + 1) {
            fail(ld, f->src.file, f->src.line, "bitfield %s: radix %u wider than the field",
                 f->name, f->type.radix);
            return;
        }
        if (f->type.kind == T_BITSET) {
            for (rfield *s = f->type.bs->fields; s; s = s->next)
                if (s->high > f->high - f->low) {
                    fail(ld, f->src.file, f->src.line,
                         "bitfield %s: bitset %s has bits past the field's %u bits", f->name,
                         f->type.bs->name, f->high - f->low + 1);
                    return;
                }
        }
        if (f->src.active)
            ld->m->counts.fields++;
    }
    check_overlap(ld, fields);
}

static void finish_nodes(loader *ld, rnode *n, bool parent, uint64_t mult)
{
    for (; n && !ld->failed; n = n->next) {
        if (!activate(ld, &n->src, parent))
            return;
        if (n->kind != N_REG) {
            finish_nodes(ld, n->kids, n->src.active, mult * n->length);
            continue;
        }
        if (!resolve(ld, &n->src, &n->type))
            return;
        if (n->type.kind == T_NONE)
            n->type.kind = T_HEX;
        if ((n->type.kind == T_FIXED || n->type.kind == T_UFIXED) && n->type.radix > n->width) {
            fail(ld, n->src.file, n->src.line, "register %s: radix %u wider than the register",
                 n->name, n->type.radix);
            return;
        }
        if (n->type.kind == T_BITSET) {
            for (rfield *s = n->type.bs->fields; s; s = s->next)
                if (s->high >= n->width) {
                    fail(ld, n->src.file, n->src.line,
                         "register %s: bitset %s has bits past its %u bits", n->name,
                         n->type.bs->name, n->width);
                    return;
                }
        }
        finish_fields(ld, n->fields, n->src.active);
        if (n->src.active) {
            ld->m->counts.registers++;
            ld->m->counts.instances += mult * n->length;
        }
    }
}

static bool is_varset(const rmap *m, const char *name)
{
    for (const rdomain *d = m->domains; d; d = d->next)
        if (d->src.varset && !strcmp(d->src.varset, name))
            return true;
    return false;
}

static void finish(loader *ld)
{
    rmap *m = ld->m;
    if (m->variant) {
        /* The variant must be a value of some variant set. */
        bool found = false;
        for (const renum *e = m->enums; e && !found; e = e->next)
            if (!e->isinline && is_varset(m, e->name) &&
                variant_index(e, m->variant, strlen(m->variant)) >= 0)
                found = true;
        if (!found) {
            fail(ld, ld->files[0], 0, "variant '%s' is not defined by the map", m->variant);
            return;
        }
    }
    for (renum *e = m->enums; e && !ld->failed; e = e->next) {
        if (!activate(ld, &e->src, true))
            return;
        for (rvalue *v = e->values; v; v = v->next) {
            if (!activate(ld, &v->src, e->src.active))
                return;
            if (v->src.active)
                m->counts.values++;
        }
        if (!e->isinline && e->src.active)
            m->counts.enums++;
    }
    for (rbitset *b = m->bitsets; b && !ld->failed; b = b->next) {
        if (!activate(ld, &b->src, true))
            return;
        finish_fields(ld, b->fields, b->src.active);
        if (b->src.active)
            m->counts.bitsets++;
    }
    for (rdomain *d = m->domains; d && !ld->failed; d = d->next) {
        d->src.active = true;
        m->counts.domains++;
        finish_nodes(ld, d->kids, true, 1);
    }
}

int rmap_load(const char *path, const char *variant, rmap **out, rmap_error *err)
{
    *out = NULL;
    memset(err, 0, sizeof *err);
    loader *ld = calloc(1, sizeof *ld);
    rmap *m = calloc(1, sizeof *m);
    if (!ld || !m) {
        free(ld);
        free(m);
        snprintf(err->file, sizeof err->file, "%s", path);
        snprintf(err->msg, sizeof err->msg, "out of memory");
        return -1;
    }
    m->dtail = &m->domains;
    m->etail = &m->enums;
    m->btail = &m->bitsets;
    ld->m = m;
    ld->err = err;
    if (variant) {
        size_t len = strlen(variant);
        char *v = arena_alloc(m, len + 1);
        if (v)
            memcpy(v, variant, len);
        m->variant = v;
        if (!v)
            fail(ld, path, 0, "out of memory");
    }
    xmlInitParser();
    if (!ld->failed)
        load_file(ld, path, NULL, 0);
    if (!ld->failed)
        finish(ld);
    if (!ld->failed && !m->domains)
        fail(ld, path, 0, "the map defines no domain");
    bool failed = ld->failed;
    free(ld);
    if (failed) {
        rmap_free(m);
        return -1;
    }
    *out = m;
    return 0;
}
