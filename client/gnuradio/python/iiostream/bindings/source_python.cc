/* SPDX-License-Identifier: MIT */
/***********************************************************************************/
/* Written by hand in bindtool's layout; CMake checks the hash below against      */
/* source.h, so the bindings cannot silently fall out of step with the header.    */
/* BINDTOOL_GEN_AUTOMATIC(0)                                                       */
/* BINDTOOL_USE_PYGCCXML(0)                                                        */
/* BINDTOOL_HEADER_FILE(source.h)                                                  */
/* BINDTOOL_HEADER_FILE_HASH(6488d854739e8a12a11e3937ef26c346)                     */
/***********************************************************************************/

#include <pybind11/complex.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

namespace py = pybind11;

#include <gnuradio/iiostream/source.h>
// source_pydoc.h is copied into the build directory from docstrings/
#include <source_pydoc.h>

void bind_source(py::module& m)
{
    using source = gr::iiostream::source;

    py::class_<source, gr::sync_block, gr::block, gr::basic_block, std::shared_ptr<source>>(
        m, "source", D(source))

        .def(py::init(&source::make),
             py::arg("url"),
             py::arg("channels"),
             py::arg("output_type") = "complex",
             py::arg("sample_rate") = 0,
             py::arg("block_size") = 0,
             py::arg("block_count") = 0,
             py::arg("reconnect") = false,
             py::arg("timeout") = 5.0,
             py::arg("ca_file") = "",
             py::arg("cert_file") = "",
             py::arg("key_file") = "",
             py::arg("tls_server_name") = "",
             py::arg("device") = "",
             D(source, make))

        .def("last_error", &source::last_error, D(source, last_error))
        .def("lost_samples", &source::lost_samples, D(source, lost_samples))
        .def("lost_blocks", &source::lost_blocks, D(source, lost_blocks))
        .def("stream_rate", &source::stream_rate, D(source, stream_rate))
        .def("device", &source::device, D(source, device));
}
