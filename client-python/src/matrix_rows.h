// Row gather, scatter and column sums for bocd.Matrix, on bocd._core.
#pragma once

#include <pybind11/pybind11.h>

// Adds take_rows, put_rows and sum_rows to the module (matrix_rows.cc).
void register_matrix_rows(pybind11::module_& m);
