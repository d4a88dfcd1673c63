/*
 * dmtv-types.h - the plain data the viewer's model hands to its drawing
 * code: the static facts of a trace (DmtvTrace: lanes, lost ranges,
 * findings, adapters), one window's worth of events or summary buckets
 * (DmtvFrame) and the view parameters (DmtvView).  No GObject here: the
 * drawing functions take these structs so the widgets and the headless
 * renderer share one code path.
 *
 * Ownership: a DmtvTrace and each DmtvFrame are owned by the DmtvModel that
 * built them; drawing code only reads them.  Times are absolute ns (the
 * trace clock); addresses and register values are the unsigned trace bits.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Lane kinds are the store's: DMT_LANE_* (enum dmt_store_lane_kind). */
#include "dmt/store_query.h"

/* One bitfield of an expanded register lane (dmtv_model_expand_register):
 * bits low..high of the register's value, drawn as its own waveform below
 * the register's (one bit: a digital line; more: a bus with enum names). */
#define DMTV_MAX_FIELD_LANES 16
typedef struct {
    char name[40];
    uint8_t low, high;
} DmtvFieldLane;

typedef struct {
    int64_t id;                /* lanes.lane */
    int kind;                  /* enum dmt_store_lane_kind (DMT_LANE_*) */
    int64_t dev, adapter, off; /* -1 when not applicable */
    char name[64];             /* lanes.name ("dev0 0x108") */
    char label[64];            /* what the viewer shows ("CH0_DESC_LO", "adapter 1") */
    char sub[48];              /* second line ("dev0 +0x108", "SG 64-bit") or "" */
    uint8_t n_fields;          /* register lanes: bitfield sub-lanes shown (0: collapsed) */
    DmtvFieldLane fields[DMTV_MAX_FIELD_LANES];
} DmtvLane;

typedef struct {
    int64_t t0, t1; /* shaded range: time of the record before .. the LOST record */
    uint64_t first_seq, count;
    uint32_t reason;
} DmtvLost;

typedef enum { DMTV_SEV_INFO = 0, DMTV_SEV_WARNING = 1, DMTV_SEV_ERROR = 2 } DmtvSeverity;

typedef struct {
    int64_t id;
    int64_t ts;
    uint64_t seq;
    uint32_t xfer;   /* 0: none */
    int64_t adapter; /* -1: none */
    int severity;    /* DmtvSeverity */
    bool uncertain;
    char rule[40];
    char *message; /* owned by the trace */
} DmtvFinding;

typedef struct {
    uint32_t adapter;
    int64_t dev;
    bool scatter_gather, dma32, dma64;
    uint64_t max_length, map_registers, addr_limit;
} DmtvAdapter;

/* The static part, loaded once when a store is opened. */
typedef struct {
    int64_t t_first, t_last; /* first and last record time */
    uint64_t records;
    DmtvLane *lanes;
    size_t n_lanes;
    DmtvLost *lost;
    size_t n_lost;
    DmtvFinding *findings; /* sorted by ts */
    size_t n_findings;
    DmtvAdapter *adapters;
    size_t n_adapters;
    char title[256]; /* file name */
    bool cut;        /* no END record: cut by a crash, or still being written */
    uint32_t n_cpus; /* highest CPU of a record + 1 (meta cpu_max); 0: no record names one */
} DmtvTrace;

/* ---- one window of data ---------------------------------------------------- */

/* A summary bucket (zoomed out). */
typedef struct {
    int64_t b0, b1;          /* bucket bounds [b0, b1) */
    int64_t t_first, t_last; /* first / last event time inside (transfers: span end) */
    uint64_t count, bytes;
    uint64_t vmin, vmax, vlast; /* valid when has_v */
    bool has_v;
    bool has_vlast; /* vlast not NULL in the store */
} DmtvBin;

enum {
    DMTV_OUT_COMPLETED = 0,
    DMTV_OUT_NOT_COMPLETED = 1,
    DMTV_OUT_FAILED = 2,
    DMTV_OUT_TWICE = 3
};

/* The CPU of a span's ExecuteDma or of a mark (ISR, DPC): the store's
 * CPU, DMTV_CPU_NONE when the trace does not say (CPUs above it read as
 * DMTV_CPU_NONE - 1; the colours repeat long before). */
#define DMTV_CPU_NONE 0xffffu

/* A transfer span (zoomed in): StartDma .. CompleteDma. */
typedef struct {
    uint32_t xfer;
    int64_t t_begin, t_end; /* first / last record of the transfer */
    int64_t start_ts, exec_ts, complete_ts, irq_ts, dpc_ts; /* INT64_MIN: none */
    uint64_t requested, granted;
    uint32_t n_sg;
    uint8_t to_device, truncated, bounced, outcome; /* outcome: DMTV_OUT_* */
    uint8_t row;                                    /* sub-row inside the lane (concurrency) */
    uint8_t match;                                  /* 1: matches the active filter */
    uint16_t exec_cpu;                              /* CPU of the ExecuteDma (DMTV_CPU_NONE) */
} DmtvSpan;

/* A register access (zoomed in). */
typedef struct {
    int64_t ts;
    uint64_t value;
    uint8_t is_write;
} DmtvEdge;

enum { DMTV_MARK_IRQ = 1, DMTV_MARK_IRQ_UNCLAIMED = 2, DMTV_MARK_DPC = 3, DMTV_MARK_TEXT = 4 };

typedef struct {
    int64_t ts;
    uint32_t text; /* DMTV_MARK_TEXT: offset into DmtvFrame.text */
    uint16_t cpu;  /* IRQ, DPC: the CPU it ran on (DMTV_CPU_NONE) */
    uint8_t kind;  /* DMTV_MARK_* */
} DmtvMark;

/* A store CPU (DMT_CPU_NONE: unknown) as the frame keeps it. */
static inline uint16_t dmtv_cpu_of(uint32_t cpu)
{
    return cpu >= DMTV_CPU_NONE ? (cpu == 0xffffffffu ? DMTV_CPU_NONE : DMTV_CPU_NONE - 1)
                                : (uint16_t)cpu;
}

typedef struct {
    bool summary; /* bins valid (else spans/edges/marks) */
    DmtvBin *bins;
    size_t n_bins;
    DmtvSpan *spans; /* sorted by t_begin */
    size_t n_spans;
    uint8_t rows;    /* sub-rows used by spans (1..DMTV_MAX_ROWS) */
    DmtvEdge *edges; /* sorted by ts */
    size_t n_edges;
    bool has_before; /* value of the register before the window */
    uint64_t before;
    DmtvMark *marks; /* sorted by ts */
    size_t n_marks;
} DmtvLaneData;

#define DMTV_MAX_ROWS 3

/* What the model loaded for a window: covers [t0, t1] (wider than the visible
 * window so small pans need no query).  An `approx` frame is a stand-in the
 * model built from a coarser summary level it keeps in memory while the
 * precise frame (level `want_level`) is being fetched in the background. */
typedef struct {
    int64_t t0, t1;
    int level;      /* summary level 0..7, or -1 for exact events */
    int want_level; /* the level the window asks for (== level unless approx) */
    bool approx;    /* a coarser preview: the precise frame is on its way */
    size_t n_lanes; /* == trace n_lanes */
    DmtvLaneData *lanes;
    char *text; /* marker texts, NUL-separated */
    size_t text_len;
    uint64_t rows_read; /* store rows this frame cost */
} DmtvFrame;

/* ---- what to draw ------------------------------------------------------------ */

typedef struct {
    int64_t t0, t1; /* visible window */
    int width, height;
    double scroll_y; /* vertical offset of the lanes (px) */
    bool has_cursor;
    int64_t cursor_ts;
    double cursor_y; /* widget y of the pointer (register values on hover) */
    bool has_range;  /* a drag-selected time range */
    int64_t range_t0, range_t1;
    uint32_t sel_xfer;   /* 0: none */
    int64_t sel_finding; /* -1: none */
    bool filter_active;
    bool dark;
} DmtvView;

/* Geometry shared by the widgets, the renderer and hit-testing. */
#define DMTV_LABEL_W        168
#define DMTV_RULER_H        34
#define DMTV_TRANSFER_ROW_H 15
#define DMTV_REG_LANE_H     24
#define DMTV_FIELD_LANE_H   18 /* one bitfield sub-lane of an expanded register */
#define DMTV_IRQ_LANE_H     22
#define DMTV_SMALL_LANE_H   18
#define DMTV_LANE_GAP       2
