/* SPDX-License-Identifier: MIT */
/* The iiostream_python module: one bind_<block>() per block (gr_modtool's
 * layout; each in <block>_python.cc). */
#include <pybind11/pybind11.h>

namespace py = pybind11;

void bind_sink(py::module& m);
void bind_source(py::module& m);

PYBIND11_MODULE(iiostream_python, m)
{
    // the base classes (gr.sync_block, ...) the blocks derive from
    py::module::import("gnuradio.gr");

    bind_sink(m);
    bind_source(m);
}
