/* SPDX-License-Identifier: MIT */
/*
 * Docstrings of the Python bindings of iiostream.sink (gr_modtool's
 * docstrings/<block>_pydoc_template.h; written by hand from sink.h, not
 * extracted by doxygen). Copied to sink_pydoc.h at build time.
 */
#include "pydoc_macros.h"
#define D(...) DOC(gr, iiostream, __VA_ARGS__)

static const char* __doc_gr_iiostream_sink = R"doc(
A GNU Radio stream played by an output device (a DAC) of an iiostreamd
daemon (libiiostream's transmit API).

Connects to the daemon at url (tcp://HOST[:PORT] or tls://HOST[:PORT]),
takes the output device when the flowgraph starts, and plays its inputs,
one per channel or per I/Q pair of channels, in blocks of block_size scans:

- "complex": gr_complex into channels[0], channels[1] (I, Q) from input 0,
  channels[2], channels[3] from input 1, ...; each part scaled as "float".
- "float": one float input per channel, x * 2^(bits-1) for signed channels
  (x * 2^bits unsigned), rounded and saturated: x * 32768 for int16, as
  gr-iio's sinks scale; iiostream.source reads back x.
- "short": one int16 input per channel, the sample itself (scan format
  applied), saturated to the channel's bits.
The device's other channels play 0.

Blocks are sent as credits come: the DAC's clock paces the flowgraph (no
Throttle). Stream tags are not interpreted.

Every new underflow (the device ran dry) is logged as a warning and
published on the message port "underflow" as a dict: count (underflows so
far), samples (scans of silence so far), position (our scan index before
which the last silence played), also while the flowgraph sends nothing.

cyclic: the first block_size scans loop until the flowgraph stops.
When the flowgraph ends or stops: the last partial block is sent, what is
queued plays out and the device stops, and a line says blocks played and
underflows; with keep_playing the device plays on instead (also when the
connection is lost). Errors (a refused device, a lost or stalled daemon)
end the flowgraph with a logged error (last_error()).
)doc";

static const char* __doc_gr_iiostream_sink_make = R"doc(
sink(url, channels, input_type="complex", sample_rate=0, block_size=0,
     cyclic=False, keep_playing=False, timeout=5.0, ca_file="", cert_file="",
     key_file="", tls_server_name="", device="")

url: tcp://HOST[:PORT] (port 30432) or tls://HOST[:PORT] (port 30433).
channels: the device's scan indices, in input order (complex: I, Q pairs).
input_type: "complex", "float" or "short".
sample_rate: written to the device's sampling_frequency at make(); 0
  leaves it.
block_size: scans per block sent; 0: as many as the daemon's blocks hold
  (its --block-size), which is also the most.
cyclic: play the first block_size scans in a loop.
keep_playing: when the flowgraph stops or the connection is lost, the
  device plays on (True) or stops (False).
timeout: seconds without a credit (plus one block's duration) that count
  as a stall.
ca_file, cert_file, key_file, tls_server_name: tls:// only.
device: the output device, by name or id ("": the daemon's first output
  device). An unknown one raises RuntimeError.

Connects at once: a wrong URL, certificate, device or rate raises
RuntimeError; bad parameters raise ValueError.
)doc";

static const char* __doc_gr_iiostream_sink_sink = R"doc()doc";

static const char* __doc_gr_iiostream_sink_last_error =
    R"doc(The error that ended the transmission ("" while there is none).)doc";

static const char* __doc_gr_iiostream_sink_blocks_sent =
    R"doc(Blocks sent so far (since the flowgraph started).)doc";

static const char* __doc_gr_iiostream_sink_blocks_played =
    R"doc(Blocks the device finished playing, as the daemon last said.)doc";

static const char* __doc_gr_iiostream_sink_underflows =
    R"doc(Underflows so far, as the daemon last said.)doc";

static const char* __doc_gr_iiostream_sink_underflow_samples =
    R"doc(Scans of silence the underflows played so far.)doc";

static const char* __doc_gr_iiostream_sink_underflow_position =
    R"doc(Our scan index (from 0 at start) before which the last underflow put silence; 0 if none.)doc";

static const char* __doc_gr_iiostream_sink_device_rate =
    R"doc(Scans per second of the device (0 before the flowgraph started).)doc";

static const char* __doc_gr_iiostream_sink_device =
    R"doc(The device transmitted to, as the daemon names it ("" before the flowgraph started).)doc";
