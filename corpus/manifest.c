/*
 * manifest.c - load a corpus manifest (cor/corpus.h) with libyaml's event
 * parser into a small node tree that keeps every node's byte range and line,
 * then interpret it.  The byte ranges are what `bless` and `corpus add`
 * splice new text into, so comments, order and formatting elsewhere in the
 * file survive an edit (libyaml's emitter would drop every comment).
 *
 * Node ranges:
 *   scalar           [start, end) of its text (quotes included)
 *   flow {..} / [..] [start, end) including the brackets
 *   block collection [start, content end): its last child's end, so a
 *                    replacement never eats the newline and indentation of
 *                    what follows
 *
 * Hostile input: the file is read up to COR_MAX_MANIFEST bytes; nesting is
 * capped, aliases and anchors are refused (no expansion bombs), every count
 * is bounded by the COR_MAX_* limits; errors name the manifest and line.
 */
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "cor/corpus.h"
#include "corpus_internal.h"
#include "dmt/audit.h"
#include "rpl/replay.h"

#define MAX_DEPTH 16
#define MAX_NODES (1u << 20)

enum { N_SCALAR, N_SEQ, N_MAP };

typedef struct node node;
struct node {
    int type;
    bool flow;
    char *value; /* scalars */
    node **kids; /* seq: items; map: key, value, key, value ... */
    size_t n, cap;
    size_t start, end;
    uint64_t line;   /* 1-based */
    unsigned column; /* 0-based column of the start */
};

typedef struct parse {
    yaml_parser_t p;
    const char *path;
    dmt_error *err;
    size_t nodes;
} parse;

static void node_free(node *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->n; i++)
        node_free(n->kids[i]);
    free(n->kids);
    free(n->value);
    free(n);
}

static int perr(parse *ps, uint64_t line, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int perr(parse *ps, uint64_t line, size_t off, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return dmt_error_set(ps->err, DMT_E_FORMAT, off, line, "%s", msg);
}

static int add_kid(parse *ps, node *parent, node *kid)
{
    if (parent->n == parent->cap) {
        size_t cap = parent->cap ? parent->cap * 2 : 8;
        node **k = realloc(parent->kids, cap * sizeof *k);
        if (!k)
            return dmt_error_set(ps->err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX, "out of memory");
        parent->kids = k;
        parent->cap = cap;
    }
    parent->kids[parent->n++] = kid;
    return 0;
}

static int next_event(parse *ps, yaml_event_t *ev)
{
    if (!yaml_parser_parse(&ps->p, ev))
        return dmt_error_set(ps->err, DMT_E_FORMAT, ps->p.problem_mark.index,
                             (uint64_t)ps->p.problem_mark.line + 1, "not YAML: %s%s%s",
                             ps->p.problem ? ps->p.problem : "syntax error",
                             ps->p.context ? " " : "", ps->p.context ? ps->p.context : "");
    return 0;
}

/* Build the node the event starts (consumed by the caller after). */
static int build(parse *ps, yaml_event_t *ev, int depth, node **out)
{
    *out = NULL;
    if (depth > MAX_DEPTH)
        return perr(ps, ev->start_mark.line + 1, ev->start_mark.index,
                    "nesting deeper than %d levels", MAX_DEPTH);
    if (++ps->nodes > MAX_NODES)
        return perr(ps, ev->start_mark.line + 1, ev->start_mark.index, "too many nodes");
    const char *anchor =
        ev->type == YAML_SCALAR_EVENT           ? (const char *)ev->data.scalar.anchor
        : ev->type == YAML_SEQUENCE_START_EVENT ? (const char *)ev->data.sequence_start.anchor
        : ev->type == YAML_MAPPING_START_EVENT  ? (const char *)ev->data.mapping_start.anchor
                                                : NULL;
    if (ev->type == YAML_ALIAS_EVENT || anchor)
        return perr(ps, ev->start_mark.line + 1, ev->start_mark.index,
                    "anchors and aliases are not supported");
    node *n = calloc(1, sizeof *n);
    if (!n)
        return dmt_error_set(ps->err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX, "out of memory");
    n->start = ev->start_mark.index;
    n->line = (uint64_t)ev->start_mark.line + 1;
    n->column = (unsigned)ev->start_mark.column;
    int rc = 0;
    if (ev->type == YAML_SCALAR_EVENT) {
        n->type = N_SCALAR;
        n->end = ev->end_mark.index;
        n->value = strndup((const char *)ev->data.scalar.value, ev->data.scalar.length);
        if (!n->value)
            rc = dmt_error_set(ps->err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX, "out of memory");
    } else if (ev->type == YAML_SEQUENCE_START_EVENT || ev->type == YAML_MAPPING_START_EVENT) {
        const bool seq = ev->type == YAML_SEQUENCE_START_EVENT;
        n->type = seq ? N_SEQ : N_MAP;
        n->flow = seq ? ev->data.sequence_start.style == YAML_FLOW_SEQUENCE_STYLE
                      : ev->data.mapping_start.style == YAML_FLOW_MAPPING_STYLE;
        n->end = n->start;
        for (;;) {
            yaml_event_t e;
            if ((rc = next_event(ps, &e)))
                break;
            if (e.type == (seq ? YAML_SEQUENCE_END_EVENT : YAML_MAPPING_END_EVENT)) {
                if (n->flow)
                    n->end = e.end_mark.index;
                yaml_event_delete(&e);
                break;
            }
            node *kid;
            rc = build(ps, &e, depth + 1, &kid);
            yaml_event_delete(&e);
            if (rc == 0)
                rc = add_kid(ps, n, kid);
            if (rc) {
                node_free(kid);
                break;
            }
            if (!n->flow && kid->end > n->end)
                n->end = kid->end;
        }
    } else {
        rc = perr(ps, ev->start_mark.line + 1, ev->start_mark.index, "unexpected YAML event");
    }
    if (rc) {
        node_free(n);
        return rc;
    }
    *out = n;
    return 0;
}

/* ---- interpretation ----------------------------------------------------------- */

typedef struct interp {
    cor_manifest *m;
    dmt_error *err;
} interp;

static int ierr(interp *in, const node *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int ierr(interp *in, const node *n, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return dmt_error_set(in->err, DMT_E_FORMAT, n->start, n->line, "%s", msg);
}

static const node *map_get(const node *map, const char *key)
{
    for (size_t i = 0; i + 1 < map->n; i += 2)
        if (map->kids[i]->type == N_SCALAR && !strcmp(map->kids[i]->value, key))
            return map->kids[i + 1];
    return NULL;
}

/* Every key of map must be one of allowed (NULL-terminated) and unique. */
static int check_keys(interp *in, const node *map, const char *what, const char *const *allowed)
{
    for (size_t i = 0; i + 1 < map->n; i += 2) {
        const node *k = map->kids[i];
        if (k->type != N_SCALAR)
            return ierr(in, k, "%s: keys must be plain names", what);
        bool ok = false;
        for (const char *const *a = allowed; *a; a++)
            ok |= !strcmp(*a, k->value);
        if (!ok)
            return ierr(in, k, "unknown key '%s' in %s", k->value, what);
        for (size_t j = 0; j < i; j += 2)
            if (!strcmp(map->kids[j]->value, k->value))
                return ierr(in, k, "key '%s' given twice in %s", k->value, what);
    }
    return 0;
}

static int scalar_u64(interp *in, const node *n, const char *what, uint64_t max, uint64_t *v)
{
    char *end;
    if (n->type != N_SCALAR || !n->value[0] || n->value[0] == '-')
        return ierr(in, n, "%s must be a number", what);
    errno = 0;
    unsigned long long x = strtoull(n->value, &end, 0);
    if (*end || errno || x > max)
        return ierr(in, n, "%s: '%s' is not a number in range", what, n->value);
    *v = x;
    return 0;
}

static int dup_str(interp *in, const node *n, const char *what, char **out)
{
    if (n->type != N_SCALAR)
        return ierr(in, n, "%s must be a string", what);
    if (!(*out = strdup(n->value)))
        return dmt_error_set(in->err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX, "out of memory");
    return 0;
}

static int div_kind_by_name(const char *name)
{
    for (int k = 1; k < RPL_DIV_KIND_MAX_; k++)
        if (!strcmp(rpl_div_kind_name(k), name))
            return k;
    return -1;
}

static int parse_set(interp *in, const node *n, cor_set *s)
{
    static const char *const keys[] = {"key", "model-revision", "replay", "driver", "audit", NULL};
    if (n->type != N_MAP)
        return ierr(in, n, "an expectation set must be a mapping");
    int rc = check_keys(in, n, "an expectation set", keys);
    if (rc)
        return rc;
    s->line = n->line;
    s->start = n->start;
    s->end = n->end;
    const node *v;
    if ((v = map_get(n, "key")) && (rc = dup_str(in, v, "key", &s->key)))
        return rc;
    if (!s->key && !(s->key = strdup("default")))
        return DMT_E_NOMEM;
    uint64_t rev = 0;
    if ((v = map_get(n, "model-revision")) && (rc = scalar_u64(in, v, "model-revision", 255, &rev)))
        return rc;
    s->revision = (uint32_t)rev;
    s->replay = COR_CLEAN;
    if ((v = map_get(n, "replay"))) {
        if (v->type == N_SCALAR && !strcmp(v->value, "clean"))
            s->replay = COR_CLEAN;
        else if (v->type == N_MAP) {
            static const char *const dk[] = {"record", "kind", NULL};
            const node *r = map_get(v, "record"), *k = map_get(v, "kind");
            if ((rc = check_keys(in, v, "replay", dk)))
                return rc;
            if (!r || !k)
                return ierr(in, v, "replay: a known divergence needs record and kind");
            if ((rc = scalar_u64(in, r, "replay record", UINT64_MAX - 1, &s->div_record)))
                return rc;
            if (k->type != N_SCALAR || (s->div_kind = div_kind_by_name(k->value)) < 0)
                return ierr(in, k, "replay: unknown divergence kind '%s'",
                            k->type == N_SCALAR ? k->value : "?");
            s->replay = COR_DIVERGES;
        } else
            return ierr(in, v, "replay is 'clean' or {record: N, kind: NAME}");
    }
    s->driver = COR_CLEAN;
    if ((v = map_get(n, "driver"))) {
        if (v->type != N_SCALAR)
            return ierr(in, v, "driver is clean, diverges or skip");
        if (!strcmp(v->value, "clean"))
            s->driver = COR_CLEAN;
        else if (!strcmp(v->value, "diverges"))
            s->driver = COR_DIVERGES;
        else if (!strcmp(v->value, "skip"))
            s->driver = COR_SKIP;
        else
            return ierr(in, v, "driver is clean, diverges or skip, not '%s'", v->value);
    }
    if ((v = map_get(n, "audit"))) {
        if (v->type == N_SCALAR && !strcmp(v->value, "none"))
            s->n_rules = 0;
        else if (v->type == N_MAP) {
            if (v->n / 2 > COR_MAX_RULES)
                return ierr(in, v, "audit: too many rules");
            for (size_t i = 0; i + 1 < v->n; i += 2) {
                const node *k = v->kids[i];
                int rule = k->type == N_SCALAR ? dmt_audit_rule_by_id(k->value) : -1;
                if (rule < 0)
                    return ierr(in, k, "audit: unknown rule '%s' (dmatrace audit --list-rules)",
                                k->type == N_SCALAR ? k->value : "?");
                for (size_t j = 0; j < s->n_rules; j++)
                    if (s->rules[j].rule == rule)
                        return ierr(in, k, "audit: rule '%s' given twice", k->value);
                s->rules[s->n_rules].rule = rule;
                if ((rc = scalar_u64(in, v->kids[i + 1], "audit count", UINT32_MAX,
                                     &s->rules[s->n_rules].count)))
                    return rc;
                s->n_rules++;
            }
        } else
            return ierr(in, v, "audit is 'none' or {RULE: COUNT, ...}");
    }
    return 0;
}

static int parse_trace(interp *in, const node *n, cor_trace *t)
{
    static const char *const keys[] = {"path", "hash", "labels", "notes", "regmap", "expect", NULL};
    if (n->type != N_MAP)
        return ierr(in, n, "a trace entry must be a mapping");
    int rc = check_keys(in, n, "a trace entry", keys);
    if (rc)
        return rc;
    t->line = n->line;
    t->end = n->end;
    t->indent = n->column;
    const node *v = map_get(n, "path");
    if (!v)
        return ierr(in, n, "a trace entry needs a path");
    if ((rc = dup_str(in, v, "path", &t->path)))
        return rc;
    if (t->path[0] == '/')
        t->resolved = strdup(t->path);
    else if (asprintf(&t->resolved, "%s/%s", in->m->dir, t->path) < 0)
        t->resolved = NULL;
    if (!t->resolved)
        return DMT_E_NOMEM;
    /* "a/./b" and "./b" name what "a/b" and "b" name: one spelling, so a
     * trace listed twice is caught whichever way it is written. */
    for (char *d; (d = strstr(t->resolved, "/./"));)
        memmove(d, d + 2, strlen(d + 2) + 1);
    if ((v = map_get(n, "hash"))) {
        if ((rc = dup_str(in, v, "hash", &t->hash)))
            return rc;
        if (strncmp(t->hash, "xxh64:", 6) != 0 || strlen(t->hash) != 22)
            return ierr(in, v, "hash is xxh64:<16 hex digits>, not '%s'", t->hash);
    }
    if ((v = map_get(n, "notes")) && (rc = dup_str(in, v, "notes", &t->notes)))
        return rc;
    if ((v = map_get(n, "regmap")) && (rc = dup_str(in, v, "regmap", &t->regmap)))
        return rc;
    if (t->regmap &&
        (t->regmap[0] == '/' ? !(t->regmap_resolved = strdup(t->regmap))
                             : asprintf(&t->regmap_resolved, "%s/%s", in->m->dir, t->regmap) < 0))
        return DMT_E_NOMEM;
    if ((v = map_get(n, "labels"))) {
        if (v->type == N_SCALAR) {
            if ((rc = dup_str(in, v, "labels", &t->labels[0])))
                return rc;
            t->n_labels = 1;
        } else if (v->type == N_SEQ) {
            if (v->n > COR_MAX_LABELS)
                return ierr(in, v, "more than 16 labels");
            for (size_t i = 0; i < v->n; i++)
                if ((rc = dup_str(in, v->kids[i], "a label", &t->labels[t->n_labels++])))
                    return rc;
        } else
            return ierr(in, v, "labels is a list of names");
    }
    if ((v = map_get(n, "expect"))) {
        if (v->type != N_SEQ)
            return ierr(in, v, "expect is a list of expectation sets");
        if (v->n > COR_MAX_SETS)
            return ierr(in, v, "more than 16 expectation sets");
        t->has_expect = true;
        t->expect_flow = v->flow;
        t->expect_end = v->end;
        t->expect_indent = v->n ? v->kids[0]->column : t->indent + 2;
        for (size_t i = 0; i < v->n; i++) {
            /* counted first: the set's strings belong to t even if it fails */
            if ((rc = parse_set(in, v->kids[i], &t->sets[t->n_sets++])))
                return rc;
            for (size_t j = 0; j + 1 < t->n_sets; j++)
                if (!strcmp(t->sets[j].key, t->sets[t->n_sets - 1].key))
                    return ierr(in, v->kids[i], "two expectation sets for key '%s'",
                                t->sets[j].key);
        }
    }
    return 0;
}

static int interpret(interp *in, const node *root)
{
    static const char *const keys[] = {"version", "traces", NULL};
    if (!root || root->type != N_MAP)
        return dmt_error_set(in->err, DMT_E_FORMAT, 0, root ? root->line : 1,
                             "the manifest must be a mapping with a 'traces' list");
    int rc = check_keys(in, root, "the manifest", keys);
    if (rc)
        return rc;
    const node *v = map_get(root, "version");
    uint64_t ver = 1;
    if (v && (rc = scalar_u64(in, v, "version", 1000, &ver)))
        return rc;
    if (ver != 1)
        return ierr(in, v, "manifest version %s: this dmatrace reads version 1", v->value);
    const node *tr = map_get(root, "traces");
    if (tr && tr->type == N_SCALAR &&
        (!tr->value[0] || !strcmp(tr->value, "~") || !strcmp(tr->value, "null"))) {
        /* "traces:" with nothing yet: an empty list `corpus add` appends to */
        in->m->traces = calloc(1, sizeof *in->m->traces);
        in->m->traces_last = root->kids[root->n - 1] == tr;
        return in->m->traces ? 0 : DMT_E_NOMEM;
    }
    if (!tr || tr->type != N_SEQ)
        return dmt_error_set(in->err, DMT_E_FORMAT, 0, tr ? tr->line : root->line,
                             "the manifest needs a 'traces' list");
    if (tr->n > COR_MAX_TRACES)
        return ierr(in, tr, "more than 100000 traces");
    in->m->traces = calloc(tr->n ? tr->n : 1, sizeof *in->m->traces);
    if (!in->m->traces)
        return DMT_E_NOMEM;
    in->m->traces_last = !tr->flow && root->kids[root->n - 1] == tr;
    for (size_t i = 0; i < tr->n; i++) {
        cor_trace *t = &in->m->traces[in->m->n];
        in->m->n++;
        if ((rc = parse_trace(in, tr->kids[i], t)))
            return rc;
        for (size_t j = 0; j + 1 < in->m->n; j++)
            if (!strcmp(in->m->traces[j].resolved, t->resolved))
                return ierr(in, tr->kids[i], "'%s' is listed twice (first at line %" PRIu64 ")",
                            t->path, in->m->traces[j].line);
    }
    return 0;
}

int cor_manifest_load(const char *path, cor_manifest **out, dmt_error *err)
{
    *out = NULL;
    cor_manifest *m = calloc(1, sizeof *m);
    if (!m)
        return dmt_error_set(err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX, "out of memory");
    int rc = cor_read_file(path, COR_MAX_MANIFEST, &m->text, &m->len, err);
    m->path = strdup(path);
    const char *slash = strrchr(path, '/');
    m->dir = slash ? strndup(path, (size_t)(slash - path ? slash - path : 1)) : strdup(".");
    if (rc == 0 && (!m->path || !m->dir))
        rc = dmt_error_set(err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX, "out of memory");
    node *root = NULL;
    if (rc == 0) {
        parse ps = {.path = path, .err = err};
        yaml_parser_initialize(&ps.p);
        yaml_parser_set_input_string(&ps.p, (const unsigned char *)m->text, m->len);
        yaml_event_t ev;
        /* STREAM_START, DOCUMENT_START, the root node, DOCUMENT_END ... */
        for (;;) {
            if ((rc = next_event(&ps, &ev)))
                break;
            yaml_event_type_t type = ev.type;
            if (type == YAML_SEQUENCE_START_EVENT || type == YAML_MAPPING_START_EVENT ||
                type == YAML_SCALAR_EVENT || type == YAML_ALIAS_EVENT) {
                if (root)
                    rc = dmt_error_set(err, DMT_E_FORMAT, ev.start_mark.index,
                                       (uint64_t)ev.start_mark.line + 1,
                                       "one YAML document per manifest");
                else
                    rc = build(&ps, &ev, 0, &root);
            }
            yaml_event_delete(&ev);
            if (rc || type == YAML_STREAM_END_EVENT)
                break;
        }
        yaml_parser_delete(&ps.p);
    }
    if (rc == 0) {
        interp in = {m, err};
        rc = interpret(&in, root);
    }
    node_free(root);
    if (rc) {
        cor_manifest_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

void cor_manifest_free(cor_manifest *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n; i++) {
        cor_trace *t = &m->traces[i];
        free(t->path);
        free(t->resolved);
        free(t->hash);
        free(t->notes);
        free(t->regmap);
        free(t->regmap_resolved);
        for (size_t j = 0; j < t->n_labels; j++)
            free(t->labels[j]);
        for (size_t j = 0; j < t->n_sets; j++)
            free(t->sets[j].key);
    }
    free(m->traces);
    free(m->text);
    free(m->path);
    free(m->dir);
    free(m);
}

const cor_set *cor_trace_set(const cor_trace *t, const char *key)
{
    const cor_set *def = NULL;
    for (size_t i = 0; i < t->n_sets; i++) {
        if (key && !strcmp(t->sets[i].key, key))
            return &t->sets[i];
        if (!strcmp(t->sets[i].key, "default"))
            def = &t->sets[i];
    }
    return def;
}
