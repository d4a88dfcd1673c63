/*
 * main.c - the dmatrace command: dispatch to a subcommand.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct {
    const char *name;
    cli_cmd_fn fn;
    const char *summary;
} commands[] = {
#ifndef DMT_NO_CBOR_READER /* the Windows recorder build has record and carve only */
    {"capture", cmd_capture, "run the instrumented miniport on the host VideoPort and record it"},
#endif
    {"record", cmd_record, "drain a shared-memory ring written by another process"},
    {"carve", cmd_carve, "find rings in memory images and crash dumps and write them as traces"},
#ifndef DMT_NO_CBOR_READER
    {"import", cmd_import, "load a trace into a SQLite database, all or nothing"},
    {"info", cmd_info, "counts per record kind, time span, adapters, lost records"},
    {"dump", cmd_dump, "print records one per line"},
    {"recover", cmd_recover, "make a trace cut by a crash whole again"},
    {"replay", cmd_replay, "replay into the device model (or the driver) and report divergences"},
    {"diff", cmd_diff, "structure-aware comparison of two traces, transfer by transfer"},
    {"check", cmd_check, "run a regression corpus (YAML manifest) and compare with expectations"},
    {"bless", cmd_bless, "rewrite a corpus manifest's expectations to today's results"},
    {"corpus", cmd_corpus, "corpus add MANIFEST TRACE: record a trace's results as expected"},
    {"audit", cmd_audit, "DMA misuse and layout findings (Driver Verifier's checks and more)"},
    {"export", cmd_export, "Perfetto/Chrome Trace Event JSON, or CSV per table"},
    {"regmap", cmd_regmap, "list or decode registers with a rules-ng-ng register map"},
    {"push", cmd_push, "load traces into a PostgreSQL fleet store, exactly once"},
    {"fleet", cmd_fleet, "run a named query over the fleet store"},
    {"pull", cmd_pull, "rebuild a trace of the fleet store as a local store"},
#endif
};

#define NCMD (sizeof commands / sizeof commands[0])

static void usage(FILE *f)
{
    fprintf(f, "usage: dmatrace COMMAND [OPTIONS] ...\n\n"
               "Record, replay and audit the DMA sessions of a Windows video miniport.\n\n"
               "commands:\n");
    for (size_t i = 0; i < NCMD; i++)
        fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n'dmatrace COMMAND --help' describes one command.\n"
               "Exit status: 0 success, 1 found something (divergences, findings, differences),\n"
               "2 bad usage or bad input, 3 I/O or internal failure.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_BAD;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return CLI_OK;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("dmatrace " DMT_VERSION "\n");
        return CLI_OK;
    }
    for (size_t i = 0; i < NCMD; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "dmatrace: unknown command '%s' (commands:", argv[1]);
    for (size_t i = 0; i < NCMD; i++)
        fprintf(stderr, " %s", commands[i].name);
    fprintf(stderr, ")\n");
    return CLI_BAD;
}
