// Row gather, scatter, column sums and row normalization for bocd.Matrix.
//
// numpy does the same work, but every call pays for its generality: fancy
// indexing converts the Python index list to an array and builds an index
// iterator (about 5 us at 100x100, more than the copy itself), and
// reductions over axis 0 dispatch their inner loop once per row. These
// loops read the list directly, copy whole rows and allocate the result
// once, as bocpy's C does. Index lists are validated before any element is
// touched, with the errors Matrix documents. The element-wise kernels are
// in matrix_math.cc; the shared plumbing in matrix_kernels.h.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <iterator>
#include <string>
#include <vector>

#include "matrix_kernels.h"
#include "matrix_rows.h"

namespace py = pybind11;

namespace {

using namespace bocd_matrix;

// A small int's value, read inline (Python 3.12+ keeps ints of one digit
// "compact"); a list of row numbers is mostly that.
#if PY_VERSION_HEX >= 0x030C0000
inline bool is_compact(PyObject* item) {
  return PyUnstable_Long_IsCompact(reinterpret_cast<PyLongObject*>(item));
}
inline Py_ssize_t compact_value(PyObject* item) {
  return PyUnstable_Long_CompactValue(reinterpret_cast<PyLongObject*>(item));
}
#else
inline bool is_compact(PyObject*) { return false; }
inline Py_ssize_t compact_value(PyObject*) { return 0; }
#endif

// The indices as row numbers in [0, n), or the error for the first bad one.
std::vector<Py_ssize_t> row_indices(py::handle seq, Py_ssize_t n) {
  PyObject* fast = PySequence_Fast(seq.ptr(), "Indices must be specified as a list or a tuple of ints");
  if (fast == nullptr) throw py::error_already_set();
  py::object owner = py::reinterpret_steal<py::object>(fast);
  Py_ssize_t count = PySequence_Fast_GET_SIZE(fast);
  PyObject** items = PySequence_Fast_ITEMS(fast);
  std::vector<Py_ssize_t> rows(static_cast<std::size_t>(count));
  for (Py_ssize_t k = 0; k < count; ++k) {
    PyObject* item = items[k];
    Py_ssize_t i;
    if (PyLong_CheckExact(item) && is_compact(item)) {
      i = compact_value(item);
    } else if (PyLong_Check(item)) {
      i = PyLong_AsSsize_t(item);  // OverflowError names the C type
    } else if (PyIndex_Check(item)) {
      i = PyNumber_AsSsize_t(item, PyExc_OverflowError);
    } else {
      throw py::type_error("an integer is required");
    }
    if (i == -1 && PyErr_Occurred()) {
      if (PyErr_ExceptionMatches(PyExc_OverflowError)) {
        PyErr_Clear();
        PyErr_SetString(PyExc_OverflowError, "Python int too large to convert to C ssize_t");
      }
      throw py::error_already_set();
    }
    if (i < -n || i >= n) {
      throw py::index_error("row index " + std::to_string(i) +
                            " out of range for dimension of size " + std::to_string(n));
    }
    rows[static_cast<std::size_t>(k)] = i < 0 ? i + n : i;
  }
  return rows;
}

PyObject* take_rows(PyObject* cls, py::handle src, py::handle indices) {
  Buffer2d s(src.ptr(), false);
  std::vector<Py_ssize_t> rows = row_indices(indices, s.rows());
  if (rows.empty()) throw py::index_error("index sequence must not be empty");
  py::object out = new_array(static_cast<Py_ssize_t>(rows.size()), s.columns());
  double* o = data_of(out);
  const std::size_t width = static_cast<std::size_t>(s.columns());
  for (std::size_t k = 0; k < rows.size(); ++k) {
    std::memcpy(o + k * width, s.data() + static_cast<std::size_t>(rows[k]) * width,
                width * sizeof(double));
  }
  return result(cls, out);
}

// `value` is a float or a 1x1 array (every selected element) or a
// (len(indices), columns) array; the indices are checked first, then the
// shape. Duplicates overwrite in order, or add up when `accumulate`.
void put_rows(py::handle dst, py::handle indices, py::handle value, bool accumulate) {
  Buffer2d d(dst.ptr(), true);
  std::vector<Py_ssize_t> rows = row_indices(indices, d.rows());
  if (rows.empty()) throw py::index_error("index sequence must not be empty");
  const std::size_t width = static_cast<std::size_t>(d.columns());
  if (PyFloat_Check(value.ptr())) {
    double v = PyFloat_AS_DOUBLE(value.ptr());
    for (Py_ssize_t r : rows) {
      double* row = d.data() + static_cast<std::size_t>(r) * width;
      for (std::size_t j = 0; j < width; ++j) row[j] = accumulate ? row[j] + v : v;
    }
    return;
  }
  Buffer2d v(value.ptr(), false);
  if (v.rows() == 1 && v.columns() == 1) {  // a 1x1 matrix is a scalar here
    double x = v.data()[0];
    for (Py_ssize_t r : rows) {
      double* row = d.data() + static_cast<std::size_t>(r) * width;
      for (std::size_t j = 0; j < width; ++j) row[j] = accumulate ? row[j] + x : x;
    }
    return;
  }
  if (v.rows() != static_cast<Py_ssize_t>(rows.size()) || v.columns() != d.columns()) {
    throw py::value_error("cannot assign " + std::to_string(v.rows()) + "x" +
                          std::to_string(v.columns()) + " matrix to a selection of shape " +
                          std::to_string(rows.size()) + "x" + std::to_string(d.columns()));
  }
  // The value may alias the destination (m.put(i, m[...]) copies, but a
  // numpy view could not): stage it when the buffers overlap.
  std::vector<double> staged;
  const double* src = v.data();
  const double* end = d.data() + d.size();
  if (src < end && src + rows.size() * width > d.data()) {
    staged.assign(src, src + rows.size() * width);
    src = staged.data();
  }
  for (std::size_t k = 0; k < rows.size(); ++k) {
    double* row = d.data() + static_cast<std::size_t>(rows[k]) * width;
    const double* from = src + k * width;
    if (accumulate) {
      for (std::size_t j = 0; j < width; ++j) row[j] += from[j];
    } else {
      std::memcpy(row, from, width * sizeof(double));
    }
  }
}


// Columns kept in registers, and rows added per pass over the accumulator:
// each column still receives its rows one at a time, in row order, but the
// accumulator is read and written once per kChunk rows instead of per row.
constexpr std::size_t kBlock = 8;
constexpr Py_ssize_t kChunk = 64;

// acc[j] += src[r][j] for rows [first, last), in row order.
BOCD_VECTOR_CLONES
void add_rows(const double* src, std::size_t width, Py_ssize_t first, Py_ssize_t last,
              double* acc) {
  std::size_t j = 0;
  for (; j + kBlock <= width; j += kBlock) {
    double a[kBlock];
    for (std::size_t k = 0; k < kBlock; ++k) a[k] = acc[j + k];
    for (Py_ssize_t r = first; r < last; ++r) {
      const double* row = src + static_cast<std::size_t>(r) * width + j;
      for (std::size_t k = 0; k < kBlock; ++k) a[k] += row[k];
    }
    for (std::size_t k = 0; k < kBlock; ++k) acc[j + k] = a[k];
  }
  for (; j < width; ++j) {
    double a = acc[j];
    for (Py_ssize_t r = first; r < last; ++r) a += src[static_cast<std::size_t>(r) * width + j];
    acc[j] = a;
  }
}

// A new 1 x columns array: the sum of src's rows, added in row order (the
// order bocpy adds them in, so the results are bit for bit the same).
// numpy's reduce over axis 0 dispatches its inner loop once per row, and
// BLAS's matrix-vector product spends microseconds choosing a kernel.
PyObject* sum_rows(PyObject* cls, py::handle src) {
  Buffer2d s(src.ptr(), false);
  py::object out = new_array(1, s.columns());
  double* acc = data_of(out);
  const std::size_t width = static_cast<std::size_t>(s.columns());
  std::memcpy(acc, s.data(), width * sizeof(double));
  for (Py_ssize_t r = 1; r < s.rows(); r += kChunk) {
    add_rows(s.data(), width, r, std::min(r + kChunk, s.rows()), acc);
  }
  return result(cls, out);
}

// y = x / |x| for one row of `width`; a row of length 0 (or one whose
// squares underflow to 0) is copied unchanged. `y` may be `x`.
BOCD_VECTOR_CLONES
void normalize_row(const double* x, double* y, std::size_t width) {
  // Independent partial sums, so the adds pipeline (and vectorize).
  double part[kBlock] = {};
  std::size_t j = 0;
  for (; j + kBlock <= width; j += kBlock) {
    for (std::size_t k = 0; k < kBlock; ++k) part[k] += x[j + k] * x[j + k];
  }
  for (; j < width; ++j) part[0] += x[j] * x[j];
  double squares = 0.0;
  for (double p : part) squares += p;
  double length = std::sqrt(squares);
  if (length == 0.0) {
    if (y != x) std::memcpy(y, x, width * sizeof(double));
    return;
  }
  // A division, not a multiplication by 1/length: bocpy divides, and the
  // two differ in the last bit.
  for (std::size_t k = 0; k < width; ++k) y[k] = x[k] / length;
}

// Each row divided by its Euclidean length, into a new array, or into
// `src` itself when `in_place` (then `src` is returned).
PyObject* normalize_rows(PyObject* cls, py::handle src, bool in_place) {
  Buffer2d s(src.ptr(), in_place);
  py::object out = in_place ? py::reinterpret_borrow<py::object>(src)
                            : new_array(s.rows(), s.columns());
  double* o = in_place ? s.data() : data_of(out);
  const std::size_t width = static_cast<std::size_t>(s.columns());
  for (Py_ssize_t r = 0; r < s.rows(); ++r) {
    std::size_t at = static_cast<std::size_t>(r) * width;
    normalize_row(s.data() + at, o + at, width);
  }
  return in_place ? out.inc_ref().ptr() : result(cls, out);
}


PyObject* take_rows_fast(PyObject*, PyObject* const* args, Py_ssize_t nargs) {
  if (!arity("take_rows(cls, src, indices)", nargs, 3)) return nullptr;
  return call([&] { return take_rows(args[0], args[1], args[2]); });
}

PyObject* put_rows_fast(PyObject*, PyObject* const* args, Py_ssize_t nargs) {
  if (!arity("put_rows(dst, indices, value, accumulate)", nargs, 4)) return nullptr;
  return call([&]() -> PyObject* {
    put_rows(args[0], args[1], args[2], PyObject_IsTrue(args[3]) == 1);
    Py_RETURN_NONE;
  });
}

PyObject* sum_rows_fast(PyObject*, PyObject* const* args, Py_ssize_t nargs) {
  if (!arity("sum_rows(cls, src)", nargs, 2)) return nullptr;
  return call([&] { return sum_rows(args[0], args[1]); });
}

PyObject* normalize_rows_fast(PyObject*, PyObject* const* args, Py_ssize_t nargs) {
  if (!arity("normalize_rows(cls, src, in_place)", nargs, 3)) return nullptr;
  return call([&] { return normalize_rows(args[0], args[1], PyObject_IsTrue(args[2]) == 1); });
}

PyMethodDef methods[] = {
    {"sum_rows", fastcall<&sum_rows_fast>(), METH_FASTCALL,
     "sum_rows(cls, src): the sum of src's rows (1 x columns), in row order."},
    {"take_rows", fastcall<&take_rows_fast>(), METH_FASTCALL,
     "take_rows(cls, src, indices): a copy of rows `indices` of `src`."},
    {"put_rows", fastcall<&put_rows_fast>(), METH_FASTCALL,
     "put_rows(dst, indices, value, accumulate): writes (or adds) `value` into rows "
     "`indices` of `dst`, after checking every index."},
    {"normalize_rows", fastcall<&normalize_rows_fast>(), METH_FASTCALL,
     "normalize_rows(cls, src, in_place): every row divided by its length."},
};

}  // namespace

void register_matrix_rows(py::module_& m) {
  bocd_matrix::buffer_name = PyUnicode_InternFromString("_d");
  if (bocd_matrix::buffer_name == nullptr) throw py::error_already_set();
  add_methods(m, methods, std::size(methods));
  bocd_matrix::register_matrix_math(m);
}
