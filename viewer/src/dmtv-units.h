/*
 * dmtv-units.h - numbers for humans: durations and time stamps with a unit
 * picked from ns .. s, ruler tick steps (1-2-5 series), byte sizes and
 * addresses.  Pure functions, no GLib; unit-tested by test-units.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* A duration like "12.5 µs", "3 ms", "1.204 s" with at most `digits`
 * significant digits after choosing the largest unit <= |ns|. */
void dmtv_format_duration(char *buf, size_t cap, int64_t ns, int digits);

/* A time relative to the trace origin, for a ruler whose ticks are `step`
 * ns apart and whose largest label is max_abs ns: the unit follows max_abs
 * (every label reads alike) and the decimals are just enough to tell
 * adjacent ticks apart ("1.250 ms", "12 µs", "2.5 s"). */
void dmtv_format_tick(char *buf, size_t cap, int64_t rel_ns, int64_t step, int64_t max_abs);

/* A cursor readout with ns precision grouped in threes: "12.345 678 901 s". */
void dmtv_format_cursor(char *buf, size_t cap, int64_t rel_ns);

/* The smallest 1-2-5 x 10^k step (ns, >= 1) with step >= min_ns. */
int64_t dmtv_tick_step(double min_ns);

/* "4 KiB", "1.5 MiB", "17 B" */
void dmtv_format_bytes(char *buf, size_t cap, uint64_t bytes);

/* "0x1_0000_0000" style hex with '_' every 4 digits when long. */
void dmtv_format_addr(char *buf, size_t cap, uint64_t addr);

/* Parse "1.5ms", "200us", "3s", "1200" (ns), "12.5 µs"; returns 0 or -1. */
int dmtv_parse_time(const char *s, int64_t *ns);

/* Parse "4096", "0x1000", "4k", "4KiB", "2M"; returns 0 or -1. */
int dmtv_parse_size(const char *s, uint64_t *v);
