/* SPDX-License-Identifier: MIT */
/*
 * Docstrings of the Python bindings of iiostream.source (gr_modtool's
 * docstrings/<block>_pydoc_template.h; written by hand from source.h, not
 * extracted by doxygen). Copied to source_pydoc.h at build time.
 */
#include "pydoc_macros.h"
#define D(...) DOC(gr, iiostream, __VA_ARGS__)

static const char* __doc_gr_iiostream_source = R"doc(
Samples of an iiostreamd daemon (libiiostream) as a GNU Radio stream.

Connects to the daemon at url (tcp://HOST[:PORT] or tls://HOST[:PORT]),
subscribes to the channels when the flowgraph starts, and emits their
samples on one output per channel, or per I/Q pair of channels:

- "complex": gr_complex from channels[0], channels[1] (I, Q) on output 0,
  channels[2], channels[3] on output 1, ...; each part scaled as "float".
- "float": one float output per channel, sample / 2^(bits-1) for signed
  channels ([-1, 1)), sample / 2^bits for unsigned ones ([0, 1)).
- "short": one int16 output per channel, the sample as the device means it
  (scan format applied), not rescaled.

Tags, on every output, at the first sample of each block:
  rx_time    (uint64 s, double frac s): the block's timestamp, the daemon
             host's CLOCK_MONOTONIC (not wall-clock time)
  rx_sample  uint64: absolute scan index of that sample
  rx_rate    double: scans per second, at the start and after each loss
  rx_loss    dict (lost_samples, lost_blocks, cause: skipped | overflow |
             reconnect) at the first sample after a loss; also logged.

A lost, stalled (no block for timeout seconds) or departing daemon ends the
flowgraph with a logged error (last_error() returns it), or with
reconnect=True the block connects again with backoff.
)doc";

static const char* __doc_gr_iiostream_source_make = R"doc(
source(url, channels, output_type="complex", sample_rate=0, block_size=0,
       block_count=0, reconnect=False, timeout=5.0, ca_file="", cert_file="",
       key_file="", tls_server_name="", device="")

url: tcp://HOST[:PORT] (port 30432) or tls://HOST[:PORT] (port 30433).
channels: scan indices, in output order (complex: I, Q pairs).
output_type: "complex", "float" or "short".
sample_rate: written to the device's sampling_frequency before streaming
  (scans per second, for every client of the daemon); 0 leaves it.
block_size: bytes per block expected; 0 takes the daemon's (its
  --block-size; a client cannot change it, a different value is an error).
block_count: blocks the daemon may queue for this flowgraph before it skips
  (0: its --client-queue), and blocks buffered in this block (0: 4).
reconnect: connect again after a lost or stalled daemon instead of ending.
timeout: seconds without a block (plus one block's duration) that count as
  a stall.
ca_file, cert_file, key_file, tls_server_name: tls:// only.
device: the streamed device, by name or id ("": the daemon's first); a
  daemon streams several at once, one source block each. sample_rate is
  written to it. An unknown one raises RuntimeError.

Connects at once: a wrong URL, certificate or rate raises RuntimeError
(with reconnect, an unreachable daemon is only logged); bad parameters
raise ValueError.
)doc";

static const char* __doc_gr_iiostream_source_source = R"doc()doc";

static const char* __doc_gr_iiostream_source_last_error =
    R"doc(The error that ended the stream ("" while there is none).)doc";

static const char* __doc_gr_iiostream_source_lost_samples =
    R"doc(Scans lost so far (the sum of the rx_loss tags' lost_samples).)doc";

static const char* __doc_gr_iiostream_source_lost_blocks =
    R"doc(Blocks the daemon skipped for this flowgraph so far.)doc";

static const char* __doc_gr_iiostream_source_stream_rate =
    R"doc(Scans per second of the stream (0 before the first block).)doc";

static const char* __doc_gr_iiostream_source_device =
    R"doc(The device streamed, as the daemon names it ("" before the first subscription).)doc";
