/* SPDX-License-Identifier: MIT */
/* Symbol visibility of libgnuradio-iiostream (the gr_modtool convention). */
#ifndef INCLUDED_IIOSTREAM_API_H
#define INCLUDED_IIOSTREAM_API_H

#include <gnuradio/attributes.h>

#ifdef gnuradio_iiostream_EXPORTS
#define IIOSTREAM_API __GR_ATTR_EXPORT
#else
#define IIOSTREAM_API __GR_ATTR_IMPORT
#endif

#endif /* INCLUDED_IIOSTREAM_API_H */
