/*
 * cli_regmap.c - the --regmap/--variant/--domain options and the default
 * map (see cli_regmap.h).
 */
#include "cli_regmap.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "dmt/source.h"

int cli_regmap_opt_tail(const char *cmd, cli_regmap *rm, int c, const char *arg, void (*help)(void))
{
    switch (c) {
    case 'h':
        help();
        return CLI_OK;
    case CLI_OPT_REGMAP:
        rm->file = arg;
        return CLI_OPT_TAKEN;
    case CLI_OPT_VARIANT:
        rm->variant = arg;
        return CLI_OPT_TAKEN;
    case CLI_OPT_DOMAIN:
        rm->domain = arg;
        return CLI_OPT_TAKEN;
    default:
        return cli_usage(cmd, "bad option");
    }
}

/* rmap_load with the one-line error of cli_regmap_load. */
static int load(const char *cmd, const char *file, const char *variant, rmap **m)
{
    rmap_error err;
    if (rmap_load(file, variant, m, &err) == 0)
        return CLI_OK;
    if (err.line)
        return cli_fail(cmd, CLI_BAD, "%s:%u: %s", err.file, err.line, err.msg);
    return cli_fail(cmd, CLI_BAD, "%s: %s", err.file, err.msg);
}

int cli_regmap_load(const char *cmd, cli_regmap *rm)
{
    char path[sizeof rm->path];
    const char *file = rm->file;
    if (file && !strcmp(file, "none"))
        return CLI_OK;
    if (!file) {
        if (!rmap_find_shared("dmm.xml", path, sizeof path))
            return CLI_OK;
        file = path;
    }
    int st = load(cmd, file, rm->variant, &rm->map);
    if (st != CLI_OK)
        return st;
    int dom = 0;
    if (rm->domain && (dom = rmap_find_domain(rm->map, rm->domain)) < 0) {
        st = cli_fail(cmd, CLI_BAD, "%s: no domain %s", file, rm->domain);
        cli_regmap_free(rm);
        return st;
    }
    rm->dom = (size_t)dom;
    snprintf(rm->path, sizeof rm->path, "%s", file);
    dmt_header id;
    rm->hash = cli_header_regmap(&id, file) ? id.regmap_hash : 0;
    if (!(rm->namer = rmap_namer_new(rm->map, rm->dom))) {
        cli_regmap_free(rm);
        return cli_fail(cmd, CLI_FAIL, "out of memory");
    }
    return CLI_OK;
}

int cli_regmap_stamp(const char *cmd, const char *file, dmt_header *h)
{
    rmap *m;
    int st = load(cmd, file, NULL, &m);
    if (st != CLI_OK)
        return st;
    rmap_free(m);
    if (!cli_header_regmap(h, file))
        return cli_fail(cmd, CLI_FAIL, "%s: %s", file, strerror(errno));
    return CLI_OK;
}

void cli_regmap_check(const char *cmd, const cli_regmap *rm, const char *trace, const dmt_header *h)
{
    if (!h->regmap_name[0] || !rm->map || rm->hash == h->regmap_hash)
        return;
    fprintf(stderr,
            "dmatrace %s: warning: %s was captured with register map %s (xxh64 0x%016llx); "
            "decoding with %s (xxh64 0x%016llx)\n",
            cmd, trace, h->regmap_name, (unsigned long long)h->regmap_hash, rm->path,
            (unsigned long long)rm->hash);
}

uint64_t cli_regmap_check_file(const char *cmd, const cli_regmap *rm, const char *path,
                               uint64_t said)
{
    dmt_source *s;
    dmt_error err;
    if (!rm->map || dmt_source_open(path, 0, &s, &err) != 0)
        return said;
    const dmt_header *h = dmt_source_header(s);
    if (h->regmap_name[0] && h->regmap_hash != said && h->regmap_hash != rm->hash) {
        cli_regmap_check(cmd, rm, path, h);
        said = h->regmap_hash;
    }
    dmt_source_close(s);
    return said;
}

void cli_regmap_free(cli_regmap *rm)
{
    rmap_namer_free(rm->namer);
    rmap_free(rm->map);
    rm->namer = NULL;
    rm->map = NULL;
    rm->path[0] = 0;
}

const char *cli_regmap_text(cli_regmap *rm, unsigned width_bytes, unsigned long long off,
                            unsigned long long value, size_t *len)
{
    if (!rm->namer)
        return NULL;
    return rmap_namer_text(rm->namer, off, width_bytes * 8u, value, len);
}
