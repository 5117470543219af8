/* SPDX-License-Identifier: MIT */
/*
 * The sim board's loopback, between its two devices: the ADC
 * (source_sim.c, `sim`) and the DAC (source_sim_dac.c, `sim-dac`), which
 * owns the link and the ring of what it played. The daemon joins them with
 * source_sim_connect_loopback() (source.h); what follows is private to
 * those two files (sim__ / sim_dac__), called from the loop thread only.
 *
 * The rule that keeps the ADC from ever reading what the DAC has not played
 * yet: before the ADC writes its scans up to n, it has the DAC play up to
 * the instant of n (sim_dac__loopback_fill()); before the DAC plays on its
 * own clock or changes state, it has the ADC capture what is due first
 * (sim__adc_catch_up()), so the DAC is never more than a tick ahead of the
 * ADC's reading and its bounded ring holds what the ADC still has to read.
 */
#ifndef IIOSTREAMD_SOURCE_SIM_LOOPBACK_H
#define IIOSTREAMD_SOURCE_SIM_LOOPBACK_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "iiostream/scan.h"

struct sim_source; /* the ADC, source_sim.c */
struct sim_dac;    /* the DAC, source_sim_dac.c */

/* ---- the ADC's side, called by the DAC ---------------------------------- */

uv_loop_t *sim__adc_loop(struct sim_source *adc);
/* The DAC looped back into `adc`, or NULL; set by the DAC (NULL: unlink). */
struct sim_dac *sim__adc_linked(struct sim_source *adc);
void sim__adc_link(struct sim_source *adc, struct sim_dac *dac);
/* Capture now what is due (the ADC's tick, early); nothing unless capture
 * is on and paced. */
void sim__adc_catch_up(struct sim_source *adc);
/* The ADC's clock and the next scan it writes; false while capture is off. */
bool sim__adc_clock(struct sim_source *adc, struct iios_scan_clock *clk, uint64_t *next);
/* Whether a DAC at `rate` may loop back into `adc`: the same non-zero rate,
 * and data channels of le:s16/16 (the DAC's samples, copied as they are). */
bool sim__adc_can_loop_back(struct sim_source *adc, uint64_t rate);

/* ---- the DAC's side, called by the ADC ---------------------------------- */

/* The DAC's "loopback" attribute is 1: the ADC's data channels hold what
 * the DAC played. */
bool sim_dac__loopback_on(struct sim_dac *dac);
/* Overwrite the data channels of the ADC's scans first..first+n-1 (layout
 * l, at out) with what the DAC played at their instants, playing the DAC
 * up to there first; 0 where it played nothing (disabled, before the
 * loopback was switched on) or where a scan fell out of its ring (counted:
 * the DAC's "loopback_missed"). Timestamp elements are left as they are. */
void sim_dac__loopback_fill(struct sim_dac *dac, const struct iios_scan_layout *l, uint8_t *out,
			    uint64_t first, uint64_t n);
/* The ADC's clock changed (enable, sampling_frequency). */
void sim_dac__adc_clock_changed(struct sim_dac *dac);
/* May the ADC change its rate to `rate`? -EBUSY while looped back at
 * another one. */
int sim_dac__adc_rate_check(struct sim_dac *dac, uint64_t rate);
/* The ADC is closing: the link goes (the DAC's loopback reads 0 after). */
void sim_dac__adc_closed(struct sim_dac *dac);

#endif /* IIOSTREAMD_SOURCE_SIM_LOOPBACK_H */
