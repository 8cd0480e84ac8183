// Matrix kernels (rows, column sums, normalization, arithmetic) on bocd._core.
#pragma once

#include <pybind11/pybind11.h>

// Adds the Matrix kernels to the module: take_rows, put_rows, sum_rows and
// normalize_rows (matrix_rows.cc); binary, binary_into, scaled_add, clip
// and matmul_small (matrix_math.cc).
void register_matrix_rows(pybind11::module_& m);
