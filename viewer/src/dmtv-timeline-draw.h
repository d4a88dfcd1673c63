/*
 * dmtv-timeline-draw.h - the timeline's drawing code: ruler, lane labels,
 * transfer spans, register waveforms, interrupt/DPC marks, markers, lost
 * ranges and findings, from a DmtvFrame into a GtkSnapshot.  Shared by the
 * DmtvTimeline widget and the headless renderer (dmtv-render.c), and the
 * geometry (lane positions, x <-> time) both use for hit-testing.
 *
 * Cost: the number of nodes follows pixels, not events - runs narrower than
 * a pixel (spans) or than DMTV_FOLD_PX (register changes, marks) are folded
 * into one node; labels are drawn only where they fit.
 */
#pragma once

#include <gtk/gtk.h>

#include "dmtv-painter.h"
#include "dmtv-types.h"

#define DMTV_FOLD_PX 3.0

/* Height of a lane of a kind (px). */
double dmtv_lane_height(int kind);
/* Height of a lane with its bitfield sub-lanes (an expanded register). */
double dmtv_lane_full_height(const DmtvLane *l);
/* Total height of all lanes (without the ruler). */
double dmtv_lanes_height(const DmtvTrace *tr);
/* y of the top of lane i, in widget coordinates (ruler and scroll applied). */
double dmtv_lane_y(const DmtvTrace *tr, const DmtvView *v, size_t i);
/* The lane under widget y, or -1. */
gssize dmtv_lane_at(const DmtvTrace *tr, const DmtvView *v, double y);

/* Time at widget x, and x of a time (the plot starts at DMTV_LABEL_W). */
double dmtv_x_of(const DmtvView *v, int64_t t);
int64_t dmtv_t_of(const DmtvView *v, double x);

/* Which span (xfer) of a detail frame is drawn at (x, y); 0 if none. */
uint32_t dmtv_span_at(const DmtvTrace *tr, const DmtvFrame *fr, const DmtvView *v, double x,
                      double y);
/* Which finding is drawn near (x, y) on the findings lane; -1 if none. */
int64_t dmtv_finding_at(const DmtvTrace *tr, const DmtvView *v, double x, double y);

/* Draw everything.  fr may be NULL (no trace yet: an empty ruler). */
void dmtv_timeline_draw(GtkSnapshot *s, DmtvPainter *p, const DmtvTrace *tr, const DmtvFrame *fr,
                        const DmtvView *v);
