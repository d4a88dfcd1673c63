/*
 * testkit.h - the test kit (static library dmt_testkit) every test program
 * links: assertion macros that count and report failures, the exit status
 * of a test's main, deterministic randomness, and the helpers the programs
 * that drive the dmatrace binary share (run a command, read a file, capture
 * a session).  Records and traces made by hand: dmt/tktrace.h (library
 * dmt_tktrace, linked by the tests that need it).
 *
 * A failing check prints "FILE:LINE: [CONTEXT] CHECK failed: EXPR[: msg]"
 * on stderr and counts; main returns tk_result(name).  A test program may
 * define TK_CONTEXT (a const char * expression, e.g. the scenario running)
 * before including this header to have it printed with every failure.
 */
#ifndef DMT_TESTKIT_H
#define DMT_TESTKIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#ifndef TK_CONTEXT
#define TK_CONTEXT NULL
#endif

/* Failed checks and checks evaluated so far; atomic, as threads check too. */
extern _Atomic int tk_failures;
extern _Atomic int tk_checks;
/* > 0: print only the first tk_max_reports failures (all are counted). */
extern int tk_max_reports;
/* > 0: exit(1) when the failures exceed tk_max_failures. */
extern int tk_max_failures;

/* Record one failure of EXPR (checked by WHAT, e.g. "CHECK") at FILE:LINE;
 * tk_failf adds a printf-style message. */
void tk_fail(const char *file, int line, const char *ctx, const char *what, const char *expr);
void tk_failf(const char *file, int line, const char *ctx, const char *what, const char *expr,
              const char *fmt, ...) __attribute__((format(printf, 6, 7)));

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        tk_checks++;                                                                               \
        if (!(cond))                                                                               \
            tk_fail(__FILE__, __LINE__, TK_CONTEXT, "CHECK", #cond);                               \
    } while (0)

#define CHECKF(cond, ...)                                                                          \
    do {                                                                                           \
        tk_checks++;                                                                               \
        if (!(cond))                                                                               \
            tk_failf(__FILE__, __LINE__, TK_CONTEXT, "CHECK", #cond, __VA_ARGS__);                 \
    } while (0)

/* Integer equality, both values printed in hex on failure. */
#define CHECK_EQ(a, b)                                                                             \
    do {                                                                                           \
        unsigned long long tk_a_ = (unsigned long long)(a), tk_b_ = (unsigned long long)(b);       \
        tk_checks++;                                                                               \
        if (tk_a_ != tk_b_)                                                                        \
            tk_failf(__FILE__, __LINE__, TK_CONTEXT, "CHECK_EQ", #a " == " #b, "0x%llx != 0x%llx", \
                     tk_a_, tk_b_);                                                                \
    } while (0)

/* A check the rest of the program cannot go on without: exit(1). */
#define REQUIRE(cond)                                                                              \
    do {                                                                                           \
        tk_checks++;                                                                               \
        if (!(cond)) {                                                                             \
            tk_fail(__FILE__, __LINE__, TK_CONTEXT, "REQUIRE", #cond);                             \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

/* The exit status of a test's main: 0 when every check held, else 1; says
 * which on stderr with the counts. */
int tk_result(const char *name);

/* xorshift64*: deterministic test randomness (*s must not be 0). */
unsigned long long tk_rand(unsigned long long *s);

/* Run a shell command built printf-style: its exit status, -1 when it did
 * not exit normally. */
int tk_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A whole file, NUL-terminated (not counted in *len); NULL if unreadable.
 * free() it. */
uint8_t *tk_slurp(const char *path, size_t *len);

/* Make a fresh folder $TMPDIR/NAME-XXXXXX (/tmp without TMPDIR) in dir
 * (cap bytes).  False (and why, on stderr) when that fails. */
bool tk_mkdtemp(char *dir, size_t cap, const char *name);

/* The folder holding the built dmatrace executables. */
const char *tk_bin_dir(void);

/* Does the built dmatrace have the capture command?  When not, says on
 * stderr that NAME skips what needs it. */
bool tk_have_capture(const char *name);

/* `dmatrace capture ARGS -o OUT`, its output in OUT.log; a failure is a
 * failed check.  True when it exited 0. */
bool tk_capture(const char *args, const char *out);

#endif
