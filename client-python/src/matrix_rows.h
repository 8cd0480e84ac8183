// Matrix kernels (rows, column sums, normalization, arithmetic) on bocd._core.
#pragma once

#include <pybind11/pybind11.h>

// Adds take_rows, put_rows, sum_rows, normalize_rows, binary and
// binary_into to the module (matrix_rows.cc).
void register_matrix_rows(pybind11::module_& m);
