/*
 * cmd_regmap.c - `dmatrace regmap FILE.xml [--variant V] [--domain D]
 * [--width BITS] [OFFSET=VALUE ...]`: list what a rules-ng-ng register map defines, or
 * decode register accesses with it, one register per line.
 * Exit 0: done; 2: bad usage or a bad map (FILE:LINE: why).
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "rmap/regmap.h"

static void help(void)
{
    printf("usage: dmatrace regmap FILE.xml [--variant V] [--domain D] [--width BITS]\n"
           "                       [OFFSET=VALUE ...]\n\n"
           "Load a register map in the rules-ng-ng (rnndb) XML format, with its imports.\n"
           "Without OFFSET=VALUE: list the registers, fields, enums and bitsets it defines\n"
           "(every domain, or the one named).  With them: decode each access, one line\n"
           "each: the register's name with array indexes, the value, and every field as\n"
           "NAME=value (enum values by name, bits no field covers as unknown=).\n"
           "Offsets are in the domain's address units (bytes unless it says otherwise).\n\n"
           "  --variant V   keep only what variant V has (e.g. a chip revision)\n"
           "  --domain D    the domain to list or decode in (default: all / the first)\n"
           "  --width BITS  accesses are BITS wide (8, 16, 32, 64): only registers of that\n"
           "                width match (default: any)\n\n"
           "The device model's own map: device-model/dmm.xml.\n"
           "Exit status: 0 success, 2 bad usage or a bad map.\n");
}

static void print_line(void *ctx, const char *text)
{
    (void)ctx;
    printf("%s\n", text);
}

static int decode_one(const rmap *m, size_t dom, unsigned width, const char *arg)
{
    const char *eq = strchr(arg, '=');
    char off_s[64];
    uint64_t off, val;
    if (!eq || (size_t)(eq - arg) >= sizeof off_s)
        return cli_usage("regmap", "expected OFFSET=VALUE, not '%s'", arg);
    memcpy(off_s, arg, (size_t)(eq - arg));
    off_s[eq - arg] = 0;
    if (!cli_parse_u64(off_s, &off) || !cli_parse_u64(eq + 1, &val))
        return cli_usage("regmap", "expected OFFSET=VALUE (numbers), not '%s'", arg);
    rmap_decoded *d = malloc(sizeof *d);
    if (!d)
        return cli_fail("regmap", CLI_FAIL, "out of memory");
    int rc = CLI_OK;
    if (!rmap_decode(m, dom, off, width, val, d)) {
        printf("0x%llx = 0x%llx (no register)\n", (unsigned long long)off, (unsigned long long)val);
    } else if (d->width < 64 && (val >> d->width) != 0) {
        rc = cli_fail("regmap", CLI_BAD, "%s: value 0x%llx does not fit the %u-bit register",
                      d->name, (unsigned long long)val, d->width);
    } else {
        char line[4096];
        rmap_format(d, line, sizeof line);
        printf("%s\n", line);
    }
    free(d);
    return rc;
}

int cmd_regmap(int argc, char **argv)
{
    static const struct option opts[] = {{"variant", required_argument, 0, 'v'},
                                         {"domain", required_argument, 0, 'd'},
                                         {"width", required_argument, 0, 'w'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *variant = NULL, *domain = NULL;
    unsigned width = 0;
    uint64_t v;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'v':
            variant = optarg;
            break;
        case 'd':
            domain = optarg;
            break;
        case 'w':
            if (!cli_parse_u64(optarg, &v) || (v != 8 && v != 16 && v != 32 && v != 64))
                return cli_usage("regmap", "--width must be 8, 16, 32 or 64, not '%s'", optarg);
            width = (unsigned)v;
            break;
        case 'h':
            help();
            return CLI_OK;
        default:
            return cli_usage("regmap", "bad option");
        }
    }
    if (optind >= argc)
        return cli_usage("regmap", "expected a map FILE.xml");
    const char *file = argv[optind++];
    rmap *m;
    rmap_error err;
    if (rmap_load(file, variant, &m, &err) != 0) {
        if (err.line)
            return cli_fail("regmap", CLI_BAD, "%s:%u: %s", err.file, err.line, err.msg);
        return cli_fail("regmap", CLI_BAD, "%s: %s", err.file, err.msg);
    }
    int dom = 0;
    if (domain && (dom = rmap_find_domain(m, domain)) < 0) {
        rmap_free(m);
        return cli_fail("regmap", CLI_BAD, "%s: no domain %s", file, domain);
    }
    int rc = CLI_OK;
    if (optind == argc) {
        for (size_t i = 0; i < rmap_domain_count(m); i++)
            if (!domain || (int)i == dom)
                rmap_list(m, i, print_line, NULL);
    } else {
        for (; optind < argc && rc == CLI_OK; optind++)
            rc = decode_one(m, (size_t)dom, width, argv[optind]);
    }
    rmap_free(m);
    return rc;
}
