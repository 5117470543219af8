/* SPDX-License-Identifier: MIT */
/*
 * The body of POST /api/v1/attributes (attr_write.h), parsed by a pure
 * function: no I/O, no allocation, bounded by `len`, fuzzed
 * (tests/fuzz/fuzz_attr_body.c).
 *
 * The body is one JSON object (RFC 8259) of these keys, nothing else:
 *   "device"     string, required: the device's id, name or label
 *   "channel"    string: a channel's id ("voltage0"); absent or "": the
 *                device's own attribute
 *   "output"     boolean: the channel is an output channel (default false)
 *   "buffer"     boolean: a buffer attribute (default false)
 *   "attribute"  string, required: the attribute's name
 *   "value"      string, required: what to write
 * e.g. {"device":"sim","attribute":"sampling_frequency","value":"2000000"}.
 *
 * Refused (-EINVAL, a one-line reason in `why` naming what was wrong):
 * anything but one object with whitespace around it, a key not listed or
 * given twice, a value of the wrong type, a required key missing, an empty
 * device or attribute, a string that is not well-formed UTF-8, holds a
 * raw control character (JSON's rule) or an escaped NUL (\u0000), a lone
 * surrogate escape, or is longer than its field below (bytes, after
 * unescaping); a key, device, channel or attribute with an escaped control
 * character (names go into log lines; a value may hold "\n").
 */
#ifndef IIOSTREAMD_ATTR_BODY_H
#define IIOSTREAMD_ATTR_BODY_H

#include <stdbool.h>
#include <stddef.h>

#define ATTR_BODY_NAME_MAX 256   /* device, channel, attribute: bytes with the NUL */
#define ATTR_BODY_VALUE_MAX 4096 /* value: bytes with the NUL (a sysfs page) */
#define ATTR_BODY_MAX 16384      /* a longer body is refused before it is read */

/* What a request asks to write; every string NUL-terminated. */
struct attr_body {
	char device[ATTR_BODY_NAME_MAX];
	char channel[ATTR_BODY_NAME_MAX]; /* "": a device attribute */
	char attribute[ATTR_BODY_NAME_MAX];
	char value[ATTR_BODY_VALUE_MAX];
	bool output;                      /* an output channel's attribute */
	bool buffer;                      /* a buffer attribute */
};

/* Parse body[0..len) into *out (zeroed first). 0, or -EINVAL with the
 * reason in why[whylen] (printable ASCII, no newline). */
int attr_body_parse(const unsigned char *body, size_t len, struct attr_body *out, char *why,
		    size_t whylen);

#endif /* IIOSTREAMD_ATTR_BODY_H */
