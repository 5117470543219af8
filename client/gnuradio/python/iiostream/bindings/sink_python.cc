/* SPDX-License-Identifier: MIT */
/***********************************************************************************/
/* Written by hand in bindtool's layout; CMake checks the hash below against      */
/* sink.h, so the bindings cannot silently fall out of step with the header.      */
/* BINDTOOL_GEN_AUTOMATIC(0)                                                       */
/* BINDTOOL_USE_PYGCCXML(0)                                                        */
/* BINDTOOL_HEADER_FILE(sink.h)                                                    */
/* BINDTOOL_HEADER_FILE_HASH(45ddf735d8ce1a763e2b2bd4735473ce)                     */
/***********************************************************************************/

#include <pybind11/complex.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

namespace py = pybind11;

#include <gnuradio/iiostream/sink.h>
// sink_pydoc.h is copied into the build directory from docstrings/
#include <sink_pydoc.h>

void bind_sink(py::module& m)
{
    using sink = gr::iiostream::sink;

    py::class_<sink, gr::sync_block, gr::block, gr::basic_block, std::shared_ptr<sink>>(
        m, "sink", D(sink))

        .def(py::init(&sink::make),
             py::arg("url"),
             py::arg("channels"),
             py::arg("input_type") = "complex",
             py::arg("sample_rate") = 0,
             py::arg("block_size") = 0,
             py::arg("cyclic") = false,
             py::arg("keep_playing") = false,
             py::arg("timeout") = 5.0,
             py::arg("ca_file") = "",
             py::arg("cert_file") = "",
             py::arg("key_file") = "",
             py::arg("tls_server_name") = "",
             py::arg("device") = "",
             D(sink, make))

        .def("last_error", &sink::last_error, D(sink, last_error))
        .def("blocks_sent", &sink::blocks_sent, D(sink, blocks_sent))
        .def("blocks_played", &sink::blocks_played, D(sink, blocks_played))
        .def("underflows", &sink::underflows, D(sink, underflows))
        .def("underflow_samples", &sink::underflow_samples, D(sink, underflow_samples))
        .def("underflow_position", &sink::underflow_position, D(sink, underflow_position))
        .def("device_rate", &sink::device_rate, D(sink, device_rate))
        .def("device", &sink::device, D(sink, device));
}
