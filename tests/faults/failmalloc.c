/*
 * failmalloc.c - an LD_PRELOAD shim that makes one allocation fail, for
 * the allocation-failure tests of the dmatrace commands (faults_malloc.sh).
 *
 * Environment:
 *   DMT_FAILMALLOC_N=N     fail the Nth allocation call of the process
 *                          (malloc, calloc, realloc, aligned allocations;
 *                          1-based; 0 or unset: never fail, only count)
 *   DMT_FAILMALLOC_ALL=1   fail every allocation from the Nth on
 *   DMT_FAILMALLOC_LOG=F   at exit, append "calls C failed F" to file F
 *                          (the test learns how many allocations a command
 *                          makes, and whether the failure was reached)
 *
 * Forwarding uses glibc's __libc_* entry points, so the shim itself never
 * allocates (dlsym would) and glibc's own internal allocations, which go
 * through the interposed symbols, are counted too.  Threads: the counter
 * is atomic.  Not for sanitizer builds (they replace malloc themselves).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void *__libc_malloc(size_t n);
void *__libc_calloc(size_t k, size_t n);
void *__libc_realloc(void *p, size_t n);
void *__libc_memalign(size_t align, size_t n);

void *malloc(size_t n);
void *calloc(size_t k, size_t n);
void *realloc(void *p, size_t n);
void *memalign(size_t align, size_t n);
void *aligned_alloc(size_t align, size_t n);
int posix_memalign(void **out, size_t align, size_t n);
void *valloc(size_t n);
void *pvalloc(size_t n);

static unsigned long long fail_at;
static int fail_all;
static unsigned long long calls, failed;
static int inited;

static unsigned long long parse_env(const char *name)
{
    const char *s = getenv(name);
    unsigned long long v = 0;
    if (!s)
        return 0;
    for (; *s >= '0' && *s <= '9'; s++)
        v = v * 10 + (unsigned long long)(*s - '0');
    return v;
}

static void put_num(char *buf, size_t *n, unsigned long long v)
{
    char tmp[24];
    size_t k = 0;
    do {
        tmp[k++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (k)
        buf[(*n)++] = tmp[--k];
}

static void report(void)
{
    const char *path = getenv("DMT_FAILMALLOC_LOG");
    if (!path)
        return;
    char line[96];
    size_t n = 0;
    memcpy(line, "calls ", 6);
    n = 6;
    put_num(line, &n, __atomic_load_n(&calls, __ATOMIC_RELAXED));
    memcpy(line + n, " failed ", 8);
    n += 8;
    put_num(line, &n, __atomic_load_n(&failed, __ATOMIC_RELAXED));
    line[n++] = '\n';
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd >= 0) {
        ssize_t w = write(fd, line, n);
        (void)w;
        close(fd);
    }
}

__attribute__((constructor)) static void init(void)
{
    fail_at = parse_env("DMT_FAILMALLOC_N");
    fail_all = parse_env("DMT_FAILMALLOC_ALL") != 0;
    __atomic_store_n(&inited, 1, __ATOMIC_RELEASE);
}

__attribute__((destructor)) static void fini(void)
{
    report();
}

/* true when this allocation call must fail */
static int should_fail(void)
{
    if (!__atomic_load_n(&inited, __ATOMIC_ACQUIRE))
        return 0; /* the dynamic loader, before the constructor */
    unsigned long long k = __atomic_add_fetch(&calls, 1, __ATOMIC_RELAXED);
    if (fail_at && (k == fail_at || (fail_all && k > fail_at))) {
        __atomic_add_fetch(&failed, 1, __ATOMIC_RELAXED);
        return 1;
    }
    return 0;
}

void *malloc(size_t n)
{
    if (should_fail()) {
        errno = ENOMEM;
        return NULL;
    }
    return __libc_malloc(n);
}

void *calloc(size_t k, size_t n)
{
    if (should_fail()) {
        errno = ENOMEM;
        return NULL;
    }
    return __libc_calloc(k, n);
}

void *realloc(void *p, size_t n)
{
    if (should_fail()) {
        errno = ENOMEM;
        return NULL;
    }
    return __libc_realloc(p, n);
}

void *memalign(size_t align, size_t n)
{
    if (should_fail()) {
        errno = ENOMEM;
        return NULL;
    }
    return __libc_memalign(align, n);
}

void *aligned_alloc(size_t align, size_t n)
{
    return memalign(align, n);
}

int posix_memalign(void **out, size_t align, size_t n)
{
    void *p = memalign(align < sizeof(void *) ? sizeof(void *) : align, n);
    if (!p)
        return ENOMEM;
    *out = p;
    return 0;
}

void *valloc(size_t n)
{
    return memalign((size_t)sysconf(_SC_PAGESIZE), n);
}

void *pvalloc(size_t n)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    return memalign(pg, (n + pg - 1) & ~(pg - 1));
}
