/*
 * rpl/report.h - text and JSON renderings of a replay's result (the formats
 * `dmatrace replay` prints; the JSON is documented in replayer/README.md and
 * stable).  Everything renders into a growable string the caller owns, so
 * the library itself never prints.
 */
#ifndef RPL_REPORT_H
#define RPL_REPORT_H

#include <stddef.h>

#include "rpl/replay.h"

/* A growable string: the caller owns p (free()). */
typedef struct rpl_str {
    char *p;
    size_t n, cap;
    bool oom; /* an append failed: the text is truncated */
} rpl_str;

void rpl_str_init(rpl_str *s);
void rpl_str_free(rpl_str *s);
void rpl_str_add(rpl_str *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append a JSON string literal (quotes and escapes). */
void rpl_str_json(rpl_str *s, const char *text);

/* The one-line message of a divergence (no index/time):
 * "reg_read dev=0 off=0x104 (CH0.STATUS): trace says 0x2, model returned 0x6
 *  (STATUS: DONE|ERR code 2 ADDR_LIMIT desc 0; trace: DONE)". */
size_t rpl_div_message(char *buf, size_t cap, const rpl_divergence *d);

/* The rr-style block of one divergence:
 *   divergence at record 1234 (seq 1234, t=+1.234567 ms): MESSAGE
 *     before it:
 *       1229  seq 1229      +1.230001 ms  reg_write      dev=0 off=0x108 value=0x...
 *       ... */
void rpl_report_divergence(rpl_str *s, const rpl_divergence *d);

/* The whole text report: every kept divergence, the limits and the final
 * line "N records replayed, D divergences" (+ unverified/lost notes). */
void rpl_report_text(rpl_str *s, const rpl_replay *r, const char *file);

/* The JSON document (one object, newline-terminated). mode: "model" or
 * "driver"; error: the message that stopped the replay early, or NULL. */
void rpl_report_json(rpl_str *s, const rpl_replay *r, const char *file, const char *mode,
                     const char *error);

#endif
