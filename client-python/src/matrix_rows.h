// Row gather and scatter for bocd.Matrix, registered on bocd._core.
#pragma once

#include <pybind11/pybind11.h>

// Adds take_rows and put_rows to the module (see matrix_rows.cc).
void register_matrix_rows(pybind11::module_& m);
