// Row gather, scatter and column sums for bocd.Matrix (axis 0).
//
// numpy's fancy indexing does the same work, but it converts the Python
// index list to an array and builds an index iterator on every call: about
// 5 us of fixed cost, which is more than the copy itself for a 100x100
// matrix. These two loops read the list directly and copy whole rows, as
// bocpy's C does. Everything else about Matrix stays numpy.
//
// Both functions take C-contiguous float64 2-D buffers (numpy arrays) and
// a list or tuple of int indices; they validate every index before they
// touch any element, and raise the errors Matrix documents.
#include <pybind11/pybind11.h>

#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

#include "matrix_rows.h"

namespace py = pybind11;

namespace {

// A buffer view released on scope exit.
class Buffer2d {
 public:
  Buffer2d(PyObject* obj, bool writable) {
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, &view_, flags) != 0) throw py::error_already_set();
    if (view_.ndim != 2 || view_.itemsize != 8 || view_.format == nullptr ||
        std::string(view_.format) != "d") {
      PyBuffer_Release(&view_);
      throw py::type_error("expected a 2-D C-contiguous float64 array");
    }
  }
  ~Buffer2d() { PyBuffer_Release(&view_); }
  Buffer2d(const Buffer2d&) = delete;
  Buffer2d& operator=(const Buffer2d&) = delete;

  double* data() const { return static_cast<double*>(view_.buf); }
  Py_ssize_t rows() const { return view_.shape[0]; }
  Py_ssize_t columns() const { return view_.shape[1]; }

 private:
  Py_buffer view_{};
};

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
    if (PyLong_Check(item)) {
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

void take_rows(py::handle src, py::handle indices, py::handle out) {
  Buffer2d s(src.ptr(), false);
  std::vector<Py_ssize_t> rows = row_indices(indices, s.rows());
  Buffer2d o(out.ptr(), true);
  if (o.rows() != static_cast<Py_ssize_t>(rows.size()) || o.columns() != s.columns()) {
    throw py::value_error("take_rows: out has the wrong shape");
  }
  const std::size_t width = static_cast<std::size_t>(s.columns());
  for (std::size_t k = 0; k < rows.size(); ++k) {
    std::memcpy(o.data() + k * width, s.data() + static_cast<std::size_t>(rows[k]) * width,
                width * sizeof(double));
  }
}

// `value` is a float or a 1x1 array (every selected element) or a
// (len(indices), columns) array; the indices are checked first, then the
// shape. Duplicates overwrite in order, or add up when `accumulate`.
void put_rows(py::handle dst, py::handle indices, py::handle value, bool accumulate) {
  Buffer2d d(dst.ptr(), true);
  std::vector<Py_ssize_t> rows = row_indices(indices, d.rows());
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
  const double* end = d.data() + static_cast<std::size_t>(d.rows()) * width;
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

// out (1 x columns) = the sum of src's rows, added in row order. numpy's
// reduce over axis 0 dispatches its inner loop once per row, and BLAS's
// matrix-vector product spends microseconds choosing a kernel; one pass
// that adds each row into the accumulator is faster than both at 100x100
// and as fast at 1000x1000 (it reads the matrix once, in order).
void sum_rows(py::handle src, py::handle out) {
  Buffer2d s(src.ptr(), false);
  Buffer2d o(out.ptr(), true);
  if (o.rows() != 1 || o.columns() != s.columns()) {
    throw py::value_error("sum_rows: out must be 1 x columns");
  }
  const std::size_t width = static_cast<std::size_t>(s.columns());
  double* acc = o.data();
  std::memcpy(acc, s.data(), width * sizeof(double));
  for (Py_ssize_t r = 1; r < s.rows(); ++r) {
    const double* row = s.data() + static_cast<std::size_t>(r) * width;
    for (std::size_t j = 0; j < width; ++j) acc[j] += row[j];
  }
}

// Plain METH_FASTCALL entry points: pybind11's dispatch costs more than
// the copy for a 100x100 matrix. They turn C++ exceptions into Python ones.
template <typename Body>
PyObject* call(Body body) {
  try {
    body();
  } catch (py::error_already_set& e) {
    e.restore();
    return nullptr;
  } catch (py::builtin_exception& e) {
    e.set_error();
    return nullptr;
  }
  Py_RETURN_NONE;
}

PyObject* take_rows_fast(PyObject*, PyObject* const* args, Py_ssize_t nargs) {
  if (nargs != 3) {
    PyErr_SetString(PyExc_TypeError, "take_rows(src, indices, out) takes 3 arguments");
    return nullptr;
  }
  return call([&] { take_rows(args[0], args[1], args[2]); });
}

PyObject* put_rows_fast(PyObject*, PyObject* const* args, Py_ssize_t nargs) {
  if (nargs != 4) {
    PyErr_SetString(PyExc_TypeError,
                    "put_rows(dst, indices, value, accumulate) takes 4 arguments");
    return nullptr;
  }
  return call([&] { put_rows(args[0], args[1], args[2], PyObject_IsTrue(args[3]) == 1); });
}

PyObject* sum_rows_fast(PyObject*, PyObject* const* args, Py_ssize_t nargs) {
  if (nargs != 2) {
    PyErr_SetString(PyExc_TypeError, "sum_rows(src, out) takes 2 arguments");
    return nullptr;
  }
  return call([&] { sum_rows(args[0], args[1]); });
}

PyMethodDef methods[] = {
    {"sum_rows", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(&sum_rows_fast)),
     METH_FASTCALL, "sum_rows(src, out): out (1 x columns) = the sum of src's rows."},
    {"take_rows", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(&take_rows_fast)),
     METH_FASTCALL, "take_rows(src, indices, out): copies rows `indices` of `src` into `out`."},
    {"put_rows", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(&put_rows_fast)),
     METH_FASTCALL,
     "put_rows(dst, indices, value, accumulate): writes (or adds) `value` into rows "
     "`indices` of `dst`, after checking every index."},
};

}  // namespace

void register_matrix_rows(py::module_& m) {
  for (PyMethodDef& def : methods) {
    PyObject* f = PyCFunction_NewEx(&def, nullptr, m.attr("__name__").ptr());
    if (f == nullptr) throw py::error_already_set();
    m.add_object(def.ml_name, py::reinterpret_steal<py::object>(f));
  }
}
