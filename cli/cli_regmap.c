/*
 * cli_regmap.c - the --regmap/--variant/--domain options and the default
 * map (see cli_regmap.h).
 */
#include "cli_regmap.h"

#include <stdio.h>
#include <string.h>

#include "cli.h"

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
    rmap_error err;
    if (rmap_load(file, rm->variant, &rm->map, &err) != 0) {
        if (err.line)
            return cli_fail(cmd, CLI_BAD, "%s:%u: %s", err.file, err.line, err.msg);
        return cli_fail(cmd, CLI_BAD, "%s: %s", err.file, err.msg);
    }
    int dom = 0;
    if (rm->domain && (dom = rmap_find_domain(rm->map, rm->domain)) < 0) {
        int st = cli_fail(cmd, CLI_BAD, "%s: no domain %s", file, rm->domain);
        cli_regmap_free(rm);
        return st;
    }
    rm->dom = (size_t)dom;
    snprintf(rm->path, sizeof rm->path, "%s", file);
    if (!(rm->namer = rmap_namer_new(rm->map, rm->dom))) {
        cli_regmap_free(rm);
        return cli_fail(cmd, CLI_FAIL, "out of memory");
    }
    return CLI_OK;
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
