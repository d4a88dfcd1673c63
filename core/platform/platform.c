/*
 * platform.c - the platform layer (dmt/platform.h): the one file that
 * holds the Linux and the Windows implementations of time, stop requests,
 * machine facts, file I/O and memory mappings for the recorder's libraries.
 *
 * Windows notes:
 *  - Descriptors are C runtime ones opened in binary mode (_O_BINARY: the
 *    trace is bytes, never text) and not inherited; pread, resize, sync and
 *    mapping work on the underlying HANDLE (_get_osfhandle).
 *  - rename() refuses to replace a file there, so replacing uses MoveFileEx
 *    with MOVEFILE_REPLACE_EXISTING, and publishing (no replace) MoveFileEx
 *    without it.
 *  - Sleep() has the system timer's granularity (15.6 ms by default), too
 *    coarse for a 200 us poll; the first sleep asks for 1 ms with
 *    timeBeginPeriod.
 */
#include "dmt/platform.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32

#include <windows.h>

#include <fcntl.h>
#include <io.h>
#include <mmsystem.h>
#include <signal.h>
#include <sys/stat.h>

static int werr(DWORD e)
{
    switch (e) {
    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND:
    case ERROR_INVALID_DRIVE:
        return -ENOENT;
    case ERROR_FILE_EXISTS:
    case ERROR_ALREADY_EXISTS:
        return -EEXIST;
    case ERROR_ACCESS_DENIED:
    case ERROR_SHARING_VIOLATION:
    case ERROR_LOCK_VIOLATION:
        return -EACCES;
    case ERROR_DISK_FULL:
    case ERROR_HANDLE_DISK_FULL:
        return -ENOSPC;
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_OUTOFMEMORY:
    case ERROR_COMMITMENT_LIMIT:
        return -ENOMEM;
    case ERROR_INVALID_PARAMETER:
        return -EINVAL;
    case ERROR_FILENAME_EXCED_RANGE:
        return -ENAMETOOLONG;
    default:
        return -EIO;
    }
}

static HANDLE os_handle(int fd)
{
    return (HANDLE)_get_osfhandle(fd);
}

uint64_t dmt_clock_hz(void)
{
    LARGE_INTEGER f;
    return QueryPerformanceFrequency(&f) && f.QuadPart > 0 ? (uint64_t)f.QuadPart : 1;
}

uint64_t dmt_now_ns(void)
{
    static uint64_t hz;
    LARGE_INTEGER c;
    if (!hz)
        hz = dmt_clock_hz();
    QueryPerformanceCounter(&c);
    const uint64_t t = (uint64_t)c.QuadPart;
    return t / hz * 1000000000ull + t % hz * 1000000000ull / hz;
}

void dmt_sleep_us(uint64_t us)
{
    static bool fine;
    if (!fine) {
        timeBeginPeriod(1);
        fine = true;
    }
    Sleep(us >= 1000 ? (DWORD)(us / 1000) : 1);
}

static void (*stop_fn)(int);

static BOOL WINAPI on_console(DWORD ev)
{
    if (!stop_fn)
        return FALSE;
    stop_fn(ev == CTRL_CLOSE_EVENT ? SIGTERM : SIGINT);
    return TRUE;
}

void dmt_on_stop(void (*fn)(int))
{
    stop_fn = fn;
    SetConsoleCtrlHandler(on_console, TRUE);
}

/* Keep the memory-limit switches of the boot options ("MAXMEM=4096 PAE"). */
static void boot_limits(char *dst, size_t cap)
{
    static const char *const keep[] = {
        "MAXMEM", "TRUNCATEMEMORY", "REMOVEMEMORY", "BURNMEMORY", "NOLOWMEM",
        "PAE",    "NOPAE",          "3GB",          "USERVA"};
    char v[512];
    DWORD type, len = sizeof v - 1;
    HKEY k;
    dst[0] = 0;
    if (RegOpenKeyExA(HKEY_LOCAL_MACHINE, "SYSTEM\\CurrentControlSet\\Control", 0, KEY_QUERY_VALUE,
                      &k) != ERROR_SUCCESS)
        return;
    LONG rc = RegQueryValueExA(k, "SystemStartOptions", NULL, &type, (BYTE *)v, &len);
    RegCloseKey(k);
    if (rc != ERROR_SUCCESS || type != REG_SZ || len >= sizeof v)
        return;
    v[len] = 0;
    size_t n = 0;
    for (char *tok = strtok(v, " /"); tok; tok = strtok(NULL, " /")) {
        for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++) {
            size_t kl = strlen(keep[i]);
            if (strncmp(tok, keep[i], kl) == 0 && (tok[kl] == 0 || tok[kl] == '=')) {
                int w = snprintf(dst + n, cap - n, "%s%s", n ? " " : "", tok);
                if (w < 0 || (size_t)w >= cap - n)
                    return;
                n += (size_t)w;
                break;
            }
        }
    }
}

void dmt_machine_get(dmt_machine_info *mi)
{
    memset(mi, 0, sizeof *mi);
    DWORD hl = sizeof mi->host;
    if (!GetComputerNameA(mi->host, &hl))
        snprintf(mi->host, sizeof mi->host, "unknown");
    SYSTEM_INFO si;
    GetNativeSystemInfo(&si);
    mi->cpus = si.dwNumberOfProcessors;
    mi->page_size = si.dwPageSize;
    OSVERSIONINFOEXA ov;
    memset(&ov, 0, sizeof ov);
    ov.dwOSVersionInfoSize = sizeof ov;
    const char *arch = si.wProcessorArchitecture == PROCESSOR_ARCHITECTURE_AMD64   ? "x64"
                       : si.wProcessorArchitecture == PROCESSOR_ARCHITECTURE_INTEL ? "x86"
                                                                                   : "other";
    if (GetVersionExA((OSVERSIONINFOA *)&ov)) {
        mi->os_build = ov.dwBuildNumber;
        snprintf(mi->os, sizeof mi->os, "Windows %lu.%lu%s%s %s", (unsigned long)ov.dwMajorVersion,
                 (unsigned long)ov.dwMinorVersion, ov.szCSDVersion[0] ? " " : "", ov.szCSDVersion,
                 arch);
    } else {
        snprintf(mi->os, sizeof mi->os, "Windows %s", arch);
    }
    mi->clock_hz = dmt_clock_hz();
    MEMORYSTATUSEX ms;
    ms.dwLength = sizeof ms;
    if (GlobalMemoryStatusEx(&ms))
        mi->phys_mem = ms.ullTotalPhys;
    boot_limits(mi->boot_options, sizeof mi->boot_options);
}

int dmt_file_temp(char *tmpl)
{
    size_t n = strlen(tmpl);
    if (n < 6 || strcmp(tmpl + n - 6, "XXXXXX") != 0)
        return -EINVAL;
    static uint32_t counter;
    LARGE_INTEGER c;
    QueryPerformanceCounter(&c);
    uint64_t x = (uint64_t)c.QuadPart ^ ((uint64_t)GetCurrentProcessId() << 32);
    for (int attempt = 0; attempt < 100; attempt++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull + ++counter;
        for (int i = 0; i < 6; i++)
            tmpl[n - 6 + i] = "abcdefghijklmnopqrstuvwxyz0123456789"[(x >> (8 * i + 16)) % 36];
        int fd = _open(tmpl, _O_RDWR | _O_CREAT | _O_EXCL | _O_BINARY | _O_NOINHERIT,
                       _S_IREAD | _S_IWRITE);
        if (fd >= 0 || errno != EEXIST)
            return fd < 0 ? -errno : fd;
    }
    return -EEXIST;
}

int dmt_file_close(int fd)
{
    return _close(fd) == 0 ? 0 : -errno;
}

long dmt_file_write(int fd, const void *buf, size_t len)
{
    unsigned chunk = len > (1u << 30) ? 1u << 30 : (unsigned)len;
    int n = _write(fd, buf, chunk);
    return n < 0 ? -errno : n;
}

long dmt_file_pread(int fd, void *buf, size_t len, uint64_t off)
{
    OVERLAPPED ov;
    DWORD got = 0;
    memset(&ov, 0, sizeof ov);
    ov.Offset = (DWORD)off;
    ov.OffsetHigh = (DWORD)(off >> 32);
    if (len > (1u << 30))
        len = 1u << 30;
    if (!ReadFile(os_handle(fd), buf, (DWORD)len, &got, &ov)) {
        DWORD e = GetLastError();
        return e == ERROR_HANDLE_EOF ? 0 : werr(e);
    }
    return (long)got;
}

int dmt_file_size(int fd, uint64_t *size, bool *regular)
{
    LARGE_INTEGER s;
    HANDLE h = os_handle(fd);
    if (!GetFileSizeEx(h, &s))
        return werr(GetLastError());
    *size = (uint64_t)s.QuadPart;
    if (regular)
        *regular = GetFileType(h) == FILE_TYPE_DISK;
    return 0;
}

int dmt_file_resize(int fd, uint64_t size)
{
    HANDLE h = os_handle(fd);
    LARGE_INTEGER at;
    at.QuadPart = (LONGLONG)size;
    if (!SetFilePointerEx(h, at, NULL, FILE_BEGIN) || !SetEndOfFile(h))
        return werr(GetLastError());
    return 0;
}

int dmt_file_sync(int fd, bool data_only)
{
    (void)data_only;
    return FlushFileBuffers(os_handle(fd)) ? 0 : werr(GetLastError());
}

int dmt_file_replace(const char *from, const char *to)
{
    return MoveFileExA(from, to, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH)
               ? 0
               : werr(GetLastError());
}

int dmt_file_publish(const char *from, const char *to)
{
    return MoveFileExA(from, to, MOVEFILE_WRITE_THROUGH) ? 0 : werr(GetLastError());
}

int dmt_file_remove(const char *path)
{
    return DeleteFileA(path) ? 0 : werr(GetLastError());
}

bool dmt_file_exists(const char *path)
{
    return GetFileAttributesA(path) != INVALID_FILE_ATTRIBUTES;
}

int dmt_map_shared(int fd, size_t len, void **map)
{
    const uint64_t l = len;
    HANDLE sec =
        CreateFileMappingA(os_handle(fd), NULL, PAGE_READWRITE, (DWORD)(l >> 32), (DWORD)l, NULL);
    if (!sec)
        return werr(GetLastError());
    void *v = MapViewOfFile(sec, FILE_MAP_ALL_ACCESS, 0, 0, len);
    DWORD e = GetLastError();
    CloseHandle(sec); /* the view keeps the section */
    if (!v)
        return werr(e);
    *map = v;
    return 0;
}

void dmt_unmap_shared(void *map, size_t len)
{
    (void)len;
    if (map)
        UnmapViewOfFile(map);
}

void *dmt_map_anon(size_t len)
{
    return VirtualAlloc(NULL, len, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
}

void dmt_unmap_anon(void *map, size_t len)
{
    (void)len;
    if (map)
        VirtualFree(map, 0, MEM_RELEASE);
}

#define DMT_O_PLATFORM (O_BINARY | O_NOINHERIT) /* bytes, not text; not inherited */

#else /* POSIX (Linux) */

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

uint64_t dmt_clock_hz(void)
{
    return 1000000000ull;
}

uint64_t dmt_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void dmt_sleep_us(uint64_t us)
{
    struct timespec ts = {(time_t)(us / 1000000), (long)(us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

void dmt_on_stop(void (*fn)(int))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fn;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

void dmt_machine_get(dmt_machine_info *mi)
{
    memset(mi, 0, sizeof *mi);
    if (gethostname(mi->host, sizeof mi->host - 1) != 0)
        snprintf(mi->host, sizeof mi->host, "unknown");
    struct utsname u;
    if (uname(&u) == 0)
        snprintf(mi->os, sizeof mi->os, "%.20s %.48s %.20s", u.sysname, u.release, u.machine);
    long v = sysconf(_SC_NPROCESSORS_ONLN);
    mi->cpus = v > 0 ? (uint32_t)v : 0;
    v = sysconf(_SC_PAGESIZE);
    mi->page_size = v > 0 ? (uint32_t)v : 0;
    long pages = sysconf(_SC_PHYS_PAGES);
    if (pages > 0 && v > 0)
        mi->phys_mem = (uint64_t)pages * (uint64_t)v;
    mi->clock_hz = dmt_clock_hz();
}

int dmt_file_temp(char *tmpl)
{
    int fd = mkostemp(tmpl, O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (fchmod(fd, 0600) != 0) {
        int e = errno;
        close(fd);
        unlink(tmpl);
        return -e;
    }
    return fd;
}

int dmt_file_close(int fd)
{
    return close(fd) == 0 ? 0 : -errno;
}

long dmt_file_write(int fd, const void *buf, size_t len)
{
    for (;;) {
        ssize_t n = write(fd, buf, len);
        if (n >= 0)
            return (long)n;
        if (errno != EINTR)
            return -errno;
    }
}

long dmt_file_pread(int fd, void *buf, size_t len, uint64_t off)
{
    for (;;) {
        ssize_t n = pread(fd, buf, len, (off_t)off);
        if (n >= 0)
            return (long)n;
        if (errno != EINTR)
            return -errno;
    }
}

int dmt_file_size(int fd, uint64_t *size, bool *regular)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return -errno;
    *size = (uint64_t)st.st_size;
    if (regular)
        *regular = S_ISREG(st.st_mode);
    return 0;
}

int dmt_file_resize(int fd, uint64_t size)
{
    if (ftruncate(fd, (off_t)size) != 0)
        return -errno;
    int e = posix_fallocate(fd, 0, (off_t)size);
    return e && e != EOPNOTSUPP && e != EINVAL ? -e : 0;
}

int dmt_file_sync(int fd, bool data_only)
{
    return (data_only ? fdatasync(fd) : fsync(fd)) == 0 ? 0 : -errno;
}

int dmt_file_replace(const char *from, const char *to)
{
    return rename(from, to) == 0 ? 0 : -errno;
}

int dmt_file_publish(const char *from, const char *to)
{
    /* link() fails with EEXIST like O_EXCL would. */
    if (link(from, to) != 0)
        return -errno;
    unlink(from);
    return 0;
}

int dmt_file_remove(const char *path)
{
    return unlink(path) == 0 ? 0 : -errno;
}

bool dmt_file_exists(const char *path)
{
    return access(path, F_OK) == 0;
}

int dmt_map_shared(int fd, size_t len, void **map)
{
    void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
    if (m == MAP_FAILED)
        return -errno;
    *map = m;
    return 0;
}

void dmt_unmap_shared(void *map, size_t len)
{
    if (map && len)
        munmap(map, len);
}

void *dmt_map_anon(size_t len)
{
    void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return m == MAP_FAILED ? NULL : m;
}

void dmt_unmap_anon(void *map, size_t len)
{
    if (map && len)
        munmap(map, len);
}

#define DMT_O_PLATFORM O_CLOEXEC

#endif

/* ---- both ---------------------------------------------------------------- */

int dmt_file_open(const char *path, unsigned flags)
{
    int of = DMT_O_PLATFORM;
    of |= (flags & 3) == DMT_OPEN_RDWR    ? O_RDWR
          : (flags & 3) == DMT_OPEN_WRITE ? O_WRONLY
                                          : O_RDONLY;
    if (flags & DMT_OPEN_CREATE)
        of |= O_CREAT;
    if (flags & DMT_OPEN_EXCL)
        of |= O_EXCL;
    if (flags & DMT_OPEN_TRUNC)
        of |= O_TRUNC;
    /* Windows' open() is the C runtime's _open: of the mode it only keeps
     * "writable". */
    int fd = open(path, of, 0644);
    return fd < 0 ? -errno : fd;
}
