// Matrix kernels (rows, column sums, normalization, arithmetic) on bocd._core.
#pragma once

#include <pybind11/pybind11.h>

// Adds the Matrix kernels (take_rows, put_rows, sum_rows, normalize_rows,
// binary, binary_into, scaled_add, clip, matmul_small) to the module.
void register_matrix_rows(pybind11::module_& m);
