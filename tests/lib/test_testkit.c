/*
 * test_testkit.c - the test kit checks itself: a failed CHECK, CHECKF,
 * CHECK_EQ or REQUIRE is counted (or exits), tk_result turns the count
 * into the exit status, and the helpers do what dmt/testkit.h says.  It
 * cannot use CHECK to judge CHECK, so it counts its own verdicts.
 */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dmt/testkit.h"

static int bad;

static void expect(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "test_testkit: %s\n", what);
        bad++;
    }
}

/* The exit status of FN run in a child. */
static int in_child(void (*fn)(void))
{
    fflush(NULL);
    pid_t p = fork();
    if (p == 0) {
        fn();
        _exit(0);
    }
    int st;
    if (p < 0 || waitpid(p, &st, 0) != p || !WIFEXITED(st))
        return -1;
    return WEXITSTATUS(st);
}

static void failing_require(void)
{
    REQUIRE(1 + 1 == 3);
}

static void too_many_failures(void)
{
    tk_failures = 0;
    tk_max_failures = 2;
    for (int i = 0; i < 3; i++)
        CHECK(i < 0);
}

int main(void)
{
    fprintf(stderr, "(the failures printed below are intended)\n");
    CHECK(1 + 1 == 2);
    expect(tk_checks == 1 && tk_failures == 0, "a passing CHECK counts a check, no failure");
    CHECK(1 + 1 == 3);
    expect(tk_checks == 2 && tk_failures == 1, "a failing CHECK is counted");
    CHECKF(0, "with a message %d", 7);
    expect(tk_failures == 2, "a failing CHECKF is counted");
    CHECK_EQ(3, 4);
    CHECK_EQ(5, 5);
    expect(tk_failures == 3 && tk_checks == 5, "CHECK_EQ compares");
    expect(tk_result("test_testkit (intended failures)") == 1, "tk_result fails after failures");
    expect(in_child(failing_require) == 1, "a failing REQUIRE exits 1");
    expect(in_child(too_many_failures) == 1, "tk_max_failures stops the program");
    tk_max_reports = 1;
    CHECK(0);
    expect(tk_failures == 4, "failures past tk_max_reports are still counted");

    unsigned long long s1 = 42, s2 = 42;
    unsigned long long a = tk_rand(&s1);
    expect(a == tk_rand(&s2) && a != tk_rand(&s1), "tk_rand is deterministic and moves on");

    expect(tk_sh("exit %d", 3) == 3, "tk_sh returns the exit status");
    expect(tk_sh("kill -9 $$") == -1, "tk_sh returns -1 for a signal");

    char path[] = "/tmp/dmt-testkit-XXXXXX";
    int fd = mkstemp(path);
    expect(fd >= 0 && write(fd, "abc", 3) == 3, "temporary file");
    if (fd >= 0)
        close(fd);
    size_t len = 0;
    uint8_t *p = tk_slurp(path, &len);
    expect(p && len == 3 && memcmp(p, "abc", 4) == 0, "tk_slurp reads the file, NUL-terminated");
    free(p);
    unlink(path);
    expect(tk_slurp(path, &len) == NULL, "tk_slurp of a missing file is NULL");
    expect(strlen(tk_bin_dir()) > 0, "tk_bin_dir");

    tk_failures = 0;
    expect(tk_result("test_testkit (reset)") == 0, "tk_result passes without failures");
    fprintf(stderr, "test_testkit: %s\n", bad ? "FAILED" : "the kit works");
    return bad ? 1 : 0;
}
