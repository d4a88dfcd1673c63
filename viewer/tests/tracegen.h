/*
 * tracegen.h - test fixtures for the viewer: a small deterministic DMA
 * session written with the core trace writer (two adapters, known transfer
 * times and SG lists, a truncated transfer, adjacent and overlapping
 * elements, an element above a 32-bit device's limit, a lost range, a
 * marker), imported with dmt_store_import, plus audit findings inserted the
 * way `dmatrace audit` stores them.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#define TG_T0         1000000000LL /* first record */
#define TG_A1_FIRST   1u           /* adapter 1 transfers: 1 .. n */
#define TG_A2_FIRST   100001u      /* adapter 2 transfers: 100001 .. 100000 + n/2 */
#define TG_XFER_ADJ   3u           /* SG list with two adjacent, uncoalesced elements */
#define TG_XFER_OVL   4u           /* SG list with overlapping elements */
#define TG_XFER_TRUNC 2u           /* granted < requested */
#define TG_XFER_BOUNCE                                                                             \
    6u                        /* bounce-buffered (adapter 1's others: checked, not                 \
                                 bounced; adapter 2's: not checked) */
#define TG_XFER_HIGH  100002u /* an element above 4 GiB on the 32-bit adapter */
#define TG_LOST_AFTER 10u     /* the lost range follows adapter 1's transfer 10 */
#define TG_LOST_COUNT 5u

/* The CPUs the session ran on (the trace has CPU records): every ISR on
 * CPU 0; a transfer's StartDma, ExecuteDma and StartDma end on
 * tg_exec_cpu, its DPC, CompleteDma and digest on tg_dpc_cpu. */
#define TG_ISR_CPU 0u
#define TG_CPUS    3u /* CPUs 0 .. 2 appear */
uint32_t tg_exec_cpu(uint32_t xfer);
uint32_t tg_dpc_cpu(uint32_t xfer);

/* StartDma / CompleteDma times of a transfer (either adapter). */
int64_t tg_start_ts(uint32_t xfer);
int64_t tg_complete_ts(uint32_t xfer);
/* Number of SG elements of a transfer. */
unsigned tg_n_sg(uint32_t xfer);

/* Write the trace with n transfers on adapter 1 (>= 12) and n / 2 on
 * adapter 2.  0 or -1 (message on stderr). */
int tg_write_dmat(const char *path, unsigned n);
/* Write, import into db_path and add three findings (sg-overlap on
 * TG_XFER_OVL, addr-beyond-limit on TG_XFER_HIGH, leak-mdl without a
 * transfer at the end).  0 or -1. */
int tg_make_db(const char *dmat_path, const char *db_path, unsigned n);
/* A fresh temporary directory (g_free). */
char *tg_tmpdir(void);
/* The end of a test's fixtures: remove dir and all in it (kept, and said so,
 * when DMTV_TEST_KEEP is set), then g_free dir and the paths db and dmat.
 * 0, or -1 when the removal failed. */
int tg_fixtures_done(char *dir, char *db, char *dmat);
