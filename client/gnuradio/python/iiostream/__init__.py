# SPDX-License-Identifier: MIT
"""gr-iiostream: blocks that receive iiostreamd's sample blocks and transmit
to its output devices (libiiostream).

    from gnuradio import iiostream
    src = iiostream.source("tcp://board:30432", [0, 1], "complex", 1e6)
    snk = iiostream.sink("tcp://board:30432", [0, 1], "complex", device="sim-dac")
"""

# the pybind11 bindings of the C++ blocks
from .iiostream_python import *  # noqa: F401,F403
