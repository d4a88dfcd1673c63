/*
 * cli_regmap.h - the register-map options every command that shows
 * registers takes (--regmap FILE.xml [--variant NAME] [--domain NAME]) and
 * the map they select: the file given, else the sample device's map
 * (dmm.xml, found next to the executable: ../share/dmatrace/dmm.xml, which
 * the build tree and an install both hold), else none ("--regmap none", or
 * no dmm.xml found), in which case raw offsets show.
 */
#ifndef DMT_CLI_REGMAP_H
#define DMT_CLI_REGMAP_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>

#include "dmt/record.h"
#include "rmap/regmap.h"

/* getopt_long values of the three options. */
enum { CLI_OPT_REGMAP = 0x1000, CLI_OPT_VARIANT, CLI_OPT_DOMAIN };
#define CLI_REGMAP_OPTIONS                                                                         \
    {"regmap", required_argument, 0, CLI_OPT_REGMAP},                                              \
        {"variant", required_argument, 0, CLI_OPT_VARIANT},                                        \
    {                                                                                              \
        "domain", required_argument, 0, CLI_OPT_DOMAIN                                             \
    }
#define CLI_REGMAP_HELP                                                                            \
    "  --regmap FILE.xml  name registers and fields with this rules-ng-ng map\n"                   \
    "                     (default: the sample device's dmm.xml; 'none': raw offsets)\n"           \
    "  --variant NAME     the map's variant (e.g. a chip revision)\n"                              \
    "  --domain NAME      the map's domain the device's registers are in (default: the first)\n"

typedef struct cli_regmap {
    const char *file, *variant, *domain; /* options (argv strings) */
    rmap *map;                           /* loaded map, or NULL: raw offsets */
    size_t dom;                          /* domain index in map */
    rmap_namer *namer;                   /* decode cache over map/dom, or NULL */
    char path[4160];                     /* the loaded map's file, or "" */
    uint64_t hash;                       /* XXH64 of its bytes (regmap_hash) */
} cli_regmap;

/* What cli_regmap_opt_tail returns when the option was taken. */
enum { CLI_OPT_TAKEN = -1 };
/* The last arms of the option switch of a command that shows registers
 * (its `default:`): 'h' prints help() and returns CLI_OK (the command is
 * done), one of CLI_OPT_* is taken into rm with its argument (returns
 * CLI_OPT_TAKEN: the loop goes on), anything else is a usage error of cmd
 * (returns CLI_BAD). */
int cli_regmap_opt_tail(const char *cmd, cli_regmap *rm, int c, const char *arg,
                        void (*help)(void));
/* Load the selected map.  Returns CLI_OK, or prints "dmatrace CMD: FILE:LINE:
 * why" and returns CLI_BAD (a bad map, an unknown domain or variant) or
 * CLI_FAIL (out of memory).  The default map missing is not an error. */
int cli_regmap_load(const char *cmd, cli_regmap *rm);
/* The header keys regmap_name and regmap_hash (FORMAT.md 1.2) for the map
 * file a capture names, after checking that it loads.  CLI_OK, or as
 * cli_regmap_load after printing why. */
int cli_regmap_stamp(const char *cmd, const char *file, dmt_header *h);
/* When the header h of trace names a register map and rm decodes with a
 * map whose bytes differ, say so in one line on stderr (a warning only). */
void cli_regmap_check(const char *cmd, const cli_regmap *rm, const char *trace,
                      const dmt_header *h);
/* The same for a trace or store not open yet: reads its header (a file
 * that does not open is left to the command to report), and stays quiet
 * when the map it names has hash said (one warning for two traces of the
 * same map: pass what the first call returned).  Returns the hash warned
 * about, else said. */
uint64_t cli_regmap_check_file(const char *cmd, const cli_regmap *rm, const char *path,
                               uint64_t said);
/* Free what load made (rm's strings belong to argv). */
void cli_regmap_free(cli_regmap *rm);
/* Short decode of an access of width bytes ("CH[0].STATUS=0x6 {DONE}"), or
 * NULL without a map or a register there; its length in *len (len may be
 * NULL); owned by rm, valid until its next call. */
const char *cli_regmap_text(cli_regmap *rm, unsigned width_bytes, unsigned long long off,
                            unsigned long long value, size_t *len);

#endif
