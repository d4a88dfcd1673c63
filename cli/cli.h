/*
 * cli.h - what every dmatrace subcommand shares: the command table entry,
 * error printing in the one-line "FILE: byte N, record M: message" form,
 * exit statuses, time formatting and terminal progress (the contract:
 * docs/cli.md).
 */
#ifndef DMT_CLI_H
#define DMT_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "dmt/error.h"
#include "dmt/record.h"

/* Exit statuses of every command (docs/cli.md section 4). */
enum {
    CLI_OK = 0,    /* success */
    CLI_FOUND = 1, /* worked and found something: divergence, findings, differences */
    CLI_BAD = 2,   /* bad usage or bad input */
    CLI_FAIL = 3   /* I/O or internal failure */
};

typedef int (*cli_cmd_fn)(int argc, char **argv);

/* "dmatrace CMD: FILE: byte N, record M: message" on stderr; returns the
 * exit status for err->code. */
int cli_report(const char *cmd, const char *file, const dmt_error *err);
/* "dmatrace CMD: message" on stderr and return status. */
int cli_fail(const char *cmd, int status, const char *fmt, ...)
    __attribute__((format(DMT_PRINTF, 3, 4)));
/* Usage error: message plus "try 'dmatrace CMD --help'", returns CLI_BAD. */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(DMT_PRINTF, 2, 3)));

/* Format a duration / time in ns with a sensible unit: "1.234 ms". */
const char *cli_ns(char *buf, size_t cap, int64_t ns);
/* Parse an unsigned integer option (decimal or 0x hex) strictly. */
bool cli_parse_u64(const char *s, uint64_t *out);
/* True when progress may be drawn on stderr. */
bool cli_progress_enabled(void);
/* Does path end with suffix? */
bool cli_has_suffix(const char *path, const char *suffix);
/* Fill the machine keys of a trace header (host, os, os_build, cpus,
 * page_size, clock_hz, phys_mem, boot_options) from the platform layer. */
void cli_header_machine(dmt_header *h);
/* Fill the header keys regmap_name (file's name without its folder) and
 * regmap_hash (XXH64 of its bytes) for a register-map file; false, with
 * errno, when it cannot be read. */
bool cli_header_regmap(dmt_header *h, const char *file);

/* Every subcommand. */
int cmd_info(int argc, char **argv);
int cmd_dump(int argc, char **argv);
int cmd_recover(int argc, char **argv);
int cmd_record(int argc, char **argv);
int cmd_carve(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_bless(int argc, char **argv);
int cmd_corpus(int argc, char **argv);
int cmd_capture(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_regmap(int argc, char **argv);
int cmd_push(int argc, char **argv);
int cmd_fleet(int argc, char **argv);
int cmd_pull(int argc, char **argv);

#endif
