/*
 * dmt/platform.h - the operating-system calls the recorder's libraries
 * need, behind one small layer so the same sources build for Linux and for
 * Windows (mingw-w64).  core/platform/platform.c owns both halves; nothing
 * else in core/, recorder/ or cli/ calls POSIX- or Win32-only functions for
 * what is here.
 *
 * Conventions: functions return 0 (or a descriptor / count) on success and
 * a negative errno value on failure (Win32 errors are mapped onto the
 * nearest errno value, so strerror() gives a readable reason on both).
 * Files are C runtime descriptors, always in binary mode on Windows.  The
 * caller owns every descriptor and mapping it gets and releases it with the
 * matching close/unmap call.
 */
#ifndef DMT_PLATFORM_H
#define DMT_PLATFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- time and signals --------------------------------------------------- */

/* A monotonic clock in ns: CLOCK_MONOTONIC on Linux, QueryPerformanceCounter
 * on Windows. */
uint64_t dmt_now_ns(void);
/* Ticks per second of the clock the recorder's timestamps come from
 * (1e9 on Linux, the performance-counter frequency on Windows). */
uint64_t dmt_clock_hz(void);
void dmt_sleep_us(uint64_t us);
/* Call fn(SIGINT-like number) when the user asks the program to stop:
 * SIGINT/SIGTERM on Linux; Ctrl-C, Ctrl-Break and console close on Windows.
 * fn must only set a flag. */
void dmt_on_stop(void (*fn)(int));

/* ---- the machine -------------------------------------------------------- */

typedef struct dmt_machine_info {
    char host[128];        /* machine name, or "unknown" */
    char os[96];           /* "Linux 6.1.0-18-amd64 x86_64", "Windows 6.1 SP1 x64" */
    uint32_t os_build;     /* Windows build number (7601), 0 on Linux */
    uint32_t cpus;         /* processors online */
    uint32_t page_size;    /* bytes */
    uint64_t clock_hz;     /* dmt_clock_hz() */
    uint64_t phys_mem;     /* RAM the OS manages, bytes (0 = unknown) */
    char boot_options[96]; /* Windows: the memory-limit switches in force (MAXMEM=,
                              TRUNCATEMEMORY=, NOLOWMEM, PAE, ...), else "" */
} dmt_machine_info;

/* Fill *mi; never fails (unknown fields stay 0 / ""). */
void dmt_machine_get(dmt_machine_info *mi);

/* ---- files -------------------------------------------------------------- */

enum dmt_open_flags {
    DMT_OPEN_READ = 0,   /* read only */
    DMT_OPEN_RDWR = 1,   /* read and write */
    DMT_OPEN_WRITE = 2,  /* write only */
    DMT_OPEN_CREATE = 4, /* create when missing (mode 0644) */
    DMT_OPEN_EXCL = 8,   /* with CREATE: fail with -EEXIST when it exists */
    DMT_OPEN_TRUNC = 16  /* empty it */
};

/* A descriptor, or -errno. */
int dmt_file_open(const char *path, unsigned flags);
/* tmpl ends in "XXXXXX", replaced in place by a fresh name; the file is
 * created exclusively, read-write, mode 0600.  A descriptor, or -errno. */
int dmt_file_temp(char *tmpl);
int dmt_file_close(int fd);
/* write(): bytes written (may be short), or -errno. */
long dmt_file_write(int fd, const void *buf, size_t len);
/* Read up to len bytes at offset off: bytes read (0 at the end), or -errno. */
long dmt_file_pread(int fd, void *buf, size_t len, uint64_t off);
/* Size of an open file, and whether it is a regular file. */
int dmt_file_size(int fd, uint64_t *size, bool *regular);
/* Set the size and back it with disk blocks where the file system can, so a
 * full disk is an error now rather than a fault in a mapping later. */
int dmt_file_resize(int fd, uint64_t size);
/* Flush to the device (data_only: the data and what is needed to read it). */
int dmt_file_sync(int fd, bool data_only);
/* Rename from -> to, replacing an existing `to` (rename(2); on Windows
 * MoveFileEx with MOVEFILE_REPLACE_EXISTING, which rename() lacks). */
int dmt_file_replace(const char *from, const char *to);
/* Give the file `from` the name `to` only if `to` does not exist (-EEXIST
 * otherwise); `from` is gone afterwards either way it succeeds. */
int dmt_file_publish(const char *from, const char *to);
int dmt_file_remove(const char *path);
bool dmt_file_exists(const char *path);

/* ---- memory mappings ---------------------------------------------------- */

/* Map len bytes of an open read-write file, shared with every other process
 * that maps it.  The descriptor may be closed afterwards. */
int dmt_map_shared(int fd, size_t len, void **map);
void dmt_unmap_shared(void *map, size_t len);
/* Private zeroed memory, backed lazily (untouched pages cost nothing), or
 * NULL. */
void *dmt_map_anon(size_t len);
void dmt_unmap_anon(void *map, size_t len);

#endif
