// Row gather, scatter, column sums, row normalization and same-shape
// element-wise arithmetic for bocd.Matrix.
//
// numpy does the same work, but every call pays for its generality: fancy
// indexing converts the Python index list to an array and builds an index
// iterator (about 5 us at 100x100, more than the copy itself), a ufunc call
// resolves its loop and allocates through several layers, and reductions
// over axis 0 dispatch their inner loop once per row. These loops read the
// list directly, copy whole rows and allocate the result once, as bocpy's C
// does. Everything else about Matrix stays numpy.
//
// The arrays are C-contiguous float64 2-D numpy arrays (a Matrix's buffer).
// They are read from numpy's object layout through pybind11's numpy proxies
// (no buffer export, which costs more than a 4x4 operation); any other
// object goes through the buffer protocol. Results are new numpy arrays,
// returned wrapped in the Matrix class the caller passes (`cls`), so Python
// pays for one call. Index lists are validated before any element is
// touched, with the errors Matrix documents.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "matrix_rows.h"

namespace py = pybind11;

namespace {

using py::detail::npy_api;

// The interned attribute name of a Matrix's buffer slot.
PyObject* buffer_name = nullptr;

// A 2-D float64 C-contiguous array: numpy's own fields when `obj` is such
// an ndarray, else a buffer export (released on scope exit).
class Buffer2d {
 public:
  Buffer2d(PyObject* obj, bool writable) {
    const npy_api& api = npy_api::get();
    if (api.PyArray_Check_(obj)) {
      auto* a = py::detail::array_proxy(obj);
      auto* d = py::detail::array_descriptor_proxy(a->descr);
      int need = npy_api::NPY_ARRAY_C_CONTIGUOUS_ | npy_api::NPY_ARRAY_ALIGNED_ |
                 (writable ? npy_api::NPY_ARRAY_WRITEABLE_ : 0);
      if (a->nd == 2 && d->type_num == npy_api::NPY_DOUBLE_ && d->byteorder == '=' &&
          (a->flags & need) == need) {
        data_ = reinterpret_cast<double*>(a->data);
        rows_ = a->dimensions[0];
        columns_ = a->dimensions[1];
        return;
      }
    }
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, &view_, flags) != 0) throw py::error_already_set();
    exported_ = true;
    if (view_.ndim != 2 || view_.itemsize != 8 || view_.format == nullptr ||
        std::string(view_.format) != "d") {
      throw py::type_error("expected a 2-D C-contiguous float64 array");
    }
    data_ = static_cast<double*>(view_.buf);
    rows_ = view_.shape[0];
    columns_ = view_.shape[1];
  }
  ~Buffer2d() {
    if (exported_) PyBuffer_Release(&view_);
  }
  Buffer2d(const Buffer2d&) = delete;
  Buffer2d& operator=(const Buffer2d&) = delete;

  double* data() const { return data_; }
  Py_ssize_t rows() const { return rows_; }
  Py_ssize_t columns() const { return columns_; }
  std::size_t size() const { return static_cast<std::size_t>(rows_ * columns_); }

 private:
  Py_buffer view_{};
  bool exported_ = false;
  double* data_ = nullptr;
  Py_ssize_t rows_ = 0;
  Py_ssize_t columns_ = 0;
};

// A new, uninitialized rows x columns float64 C-order numpy array.
py::object new_array(Py_ssize_t rows, Py_ssize_t columns) {
  const npy_api& api = npy_api::get();
  Py_intptr_t dims[2] = {rows, columns};
  PyObject* descr = api.PyArray_DescrFromType_(npy_api::NPY_DOUBLE_);
  if (descr == nullptr) throw py::error_already_set();
  // NewFromDescr steals the descriptor's reference.
  PyObject* arr =
      api.PyArray_NewFromDescr_(api.PyArray_Type_, descr, 2, dims, nullptr, nullptr, 0, nullptr);
  if (arr == nullptr) throw py::error_already_set();
  return py::reinterpret_steal<py::object>(arr);
}

double* data_of(const py::object& arr) {
  return reinterpret_cast<double*>(py::detail::array_proxy(arr.ptr())->data);
}

// An instance of `cls` (the Matrix class) around `arr`, made as
// object.__new__ makes it (the constructor's checks are for user input;
// `arr` is already a Matrix's buffer) and without Python's call overhead.
PyObject* wrap(PyObject* cls, const py::object& arr) {
  if (!PyType_Check(cls)) throw py::type_error("cls must be a type");
  auto* type = reinterpret_cast<PyTypeObject*>(cls);
  PyObject* m = type->tp_alloc(type, 0);
  if (m == nullptr) throw py::error_already_set();
  if (PyObject_SetAttr(m, buffer_name, arr.ptr()) != 0) {
    Py_DECREF(m);
    throw py::error_already_set();
  }
  return m;
}
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

// `cls` wrapped around `arr`, or `arr` itself when `cls` is None.
PyObject* result(PyObject* cls, const py::object& arr) {
  if (cls == Py_None) return arr.inc_ref().ptr();
  return wrap(cls, arr);
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

// The loops below are compiled for AVX2 as well as for the baseline x86-64
// (SSE2), the version chosen at load time, as numpy dispatches its own:
// AVX2 adds, multiplies and divides four doubles at a time, SSE2 two, and
// division is the cost of a normalization.
#define BOCD_VECTOR_CLONES __attribute__((target_clones("avx2", "default")))

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

// a (op) b, element by element, for two arrays of one shape or an array
// and a float (every element). These are single IEEE operations, so the
// results are numpy's and bocpy's bit for bit; like bocpy, nothing warns.
enum class Op { add, subtract, multiply, divide };

template <Op op>
inline double apply(double a, double b) {
  if constexpr (op == Op::add) return a + b;
  if constexpr (op == Op::subtract) return a - b;
  if constexpr (op == Op::multiply) return a * b;
  return a / b;
}

// An operand: an array, or a number standing for every element.
struct Operand {
  const double* data = nullptr;
  double value = 0.0;
};

// `y` may be either operand's array (an in-place update); the compiler
// checks for overlap at run time before it uses vector loops.
template <Op op>
inline __attribute__((always_inline)) void elementwise(Operand a, Operand b, double* y,
                                                       std::size_t n) {
  if (a.data == nullptr) {
    for (std::size_t i = 0; i < n; ++i) y[i] = apply<op>(a.value, b.data[i]);
  } else if (b.data == nullptr) {
    for (std::size_t i = 0; i < n; ++i) y[i] = apply<op>(a.data[i], b.value);
  } else {
    for (std::size_t i = 0; i < n; ++i) y[i] = apply<op>(a.data[i], b.data[i]);
  }
}

BOCD_VECTOR_CLONES
void compute(long op, Operand a, Operand b, double* y, std::size_t n) {
  switch (op) {
    case 0: elementwise<Op::add>(a, b, y, n); break;
    case 1: elementwise<Op::subtract>(a, b, y, n); break;
    case 2: elementwise<Op::multiply>(a, b, y, n); break;
    default: elementwise<Op::divide>(a, b, y, n); break;
  }
}

// The operands of `binary`/`binary_into`: arrays (held while in use) or
// exact floats; false when the arrays' shapes differ.
class Operands {
 public:
  Operands(py::handle a, py::handle b, bool write_a) {
    if (PyFloat_CheckExact(a.ptr())) {
      left_.value = PyFloat_AS_DOUBLE(a.ptr());
    } else {
      x_.emplace(a.ptr(), write_a);
      left_.data = x_->data();
    }
    if (PyFloat_CheckExact(b.ptr())) {
      right_.value = PyFloat_AS_DOUBLE(b.ptr());
    } else {
      z_.emplace(b.ptr(), false);
      right_.data = z_->data();
    }
    if (!x_ && !z_) throw py::type_error("binary: an operand must be an array");
    const Buffer2d& shape = x_ ? *x_ : *z_;
    rows_ = shape.rows();
    columns_ = shape.columns();
    same_ = !(x_ && z_) || (x_->rows() == z_->rows() && x_->columns() == z_->columns());
  }

  bool same_shape() const { return same_; }
  Py_ssize_t rows() const { return rows_; }
  Py_ssize_t columns() const { return columns_; }
  std::size_t size() const { return static_cast<std::size_t>(rows_ * columns_); }
  Operand left() const { return left_; }
  Operand right() const { return right_; }
  double* left_data() const { return x_ ? x_->data() : nullptr; }

 private:
  std::optional<Buffer2d> x_, z_;
  Operand left_, right_;
  Py_ssize_t rows_ = 0, columns_ = 0;
  bool same_ = false;
};

void check_op(long op) {
  if (op < 0 || op > 3) throw py::value_error("binary: op must be 0 (+), 1 (-), 2 (*) or 3 (/)");
}

// A new array (wrapped in `cls`), or None when the shapes differ (the
// caller's numpy path broadcasts or names the error).
PyObject* binary(PyObject* cls, long op, py::handle a, py::handle b) {
  check_op(op);
  Operands ab(a, b, false);
  if (!ab.same_shape()) Py_RETURN_NONE;
  py::object out = new_array(ab.rows(), ab.columns());
  compute(op, ab.left(), ab.right(), data_of(out), ab.size());
  return result(cls, out);
}

// a (op)= b into the array `a`: True, or None when the shapes differ.
PyObject* binary_into(long op, py::handle a, py::handle b) {
  check_op(op);
  Operands ab(a, b, true);
  if (ab.left_data() == nullptr) throw py::type_error("binary_into: a must be an array");
  if (!ab.same_shape()) Py_RETURN_NONE;
  compute(op, ab.left(), ab.right(), ab.left_data(), ab.size());
  Py_RETURN_TRUE;
}

// y = a + s*x, the product rounded before the sum (bocpy's scaled_add is
// that expression); neither clone enables FMA, so nothing is fused.
BOCD_VECTOR_CLONES
void scaled_add_loop(const double* a, double s, const double* x, double* y, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    double product = s * x[i];
    y[i] = a[i] + product;
  }
}

// scaled_add for a float `s` and a same-shape array `x`: a new array in
// `cls`, or into `a` (returned) when `cls` is None; None when the shapes
// differ (the caller names the error).
PyObject* scaled_add(PyObject* cls, py::handle a, double s, py::handle x) {
  bool in_place = cls == Py_None;
  Buffer2d d(a.ptr(), in_place);
  Buffer2d v(x.ptr(), false);
  if (d.rows() != v.rows() || d.columns() != v.columns()) Py_RETURN_NONE;
  if (in_place) {
    scaled_add_loop(d.data(), s, v.data(), d.data(), d.size());
    return py::reinterpret_borrow<py::object>(a).inc_ref().ptr();
  }
  py::object out = new_array(d.rows(), d.columns());
  scaled_add_loop(d.data(), s, v.data(), data_of(out), d.size());
  return result(cls, out);
}

// numpy's clip for float64, element by element: NaN (in x or a bound)
// propagates, and on a tie x is kept (clip(-0.0, 0.0, 1.0) is -0.0).
inline double clip_one(double x, double lo, double hi) {
  double t = std::isnan(x) ? x : (x >= lo ? x : lo);
  return std::isnan(t) ? t : (t <= hi ? t : hi);
}

BOCD_VECTOR_CLONES
void clip_loop(const double* x, double lo, double hi, double* y, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) y[i] = clip_one(x[i], lo, hi);
}

// clip with both bounds given (lo <= hi, checked by the caller): a new
// array in `cls`, or into `a` (returned) when `cls` is None.
PyObject* clip(PyObject* cls, py::handle a, double lo, double hi) {
  bool in_place = cls == Py_None;
  Buffer2d d(a.ptr(), in_place);
  if (in_place) {
    clip_loop(d.data(), lo, hi, d.data(), d.size());
    return py::reinterpret_borrow<py::object>(a).inc_ref().ptr();
  }
  py::object out = new_array(d.rows(), d.columns());
  clip_loop(d.data(), lo, hi, data_of(out), d.size());
  return result(cls, out);
}

// a @ b for small matrices: numpy's matmul spends about a microsecond
// choosing a BLAS kernel, more than 16x16x16 multiply-adds take here. Above
// kSmallProduct (rows * inner * columns) BLAS is faster and numpy keeps it.
constexpr Py_ssize_t kSmallProduct = 16 * 16 * 16;

// y (rows x columns) = a (rows x inner) @ b (inner x columns); each element
// sums its products in k order.
BOCD_VECTOR_CLONES
void matmul_loop(const double* a, const double* b, double* y, std::size_t rows,
                 std::size_t inner, std::size_t columns) {
  for (std::size_t i = 0; i < rows; ++i) {
    double* out = y + i * columns;
    const double* left = a + i * inner;
    for (std::size_t j = 0; j < columns; ++j) out[j] = left[0] * b[j];
    for (std::size_t k = 1; k < inner; ++k) {
      const double s = left[k];
      const double* right = b + k * columns;
      for (std::size_t j = 0; j < columns; ++j) {
        double product = s * right[j];
        out[j] += product;
      }
    }
  }
}

// A new product array in `cls`, or None when the shapes do not chain or
// the product is large (the caller's numpy path names the error or runs
// BLAS).
PyObject* matmul_small(PyObject* cls, py::handle a, py::handle b) {
  Buffer2d x(a.ptr(), false);
  Buffer2d z(b.ptr(), false);
  if (x.columns() != z.rows() || x.rows() * x.columns() * z.columns() > kSmallProduct) {
    Py_RETURN_NONE;
  }
  py::object out = new_array(x.rows(), z.columns());
  matmul_loop(x.data(), z.data(), data_of(out), static_cast<std::size_t>(x.rows()),
              static_cast<std::size_t>(x.columns()), static_cast<std::size_t>(z.columns()));
  return result(cls, out);
}

// Plain METH_FASTCALL entry points: pybind11's dispatch costs more than
// the work for a 100x100 matrix. They turn C++ exceptions into Python ones.
template <typename Body>
PyObject* call(Body body) {
  try {
    return body();
  } catch (py::error_already_set& e) {
    e.restore();
  } catch (py::builtin_exception& e) {
    e.set_error();
  }
  return nullptr;
}

bool arity(const char* usage, Py_ssize_t nargs, Py_ssize_t expected) {
  if (nargs == expected) return true;
  PyErr_Format(PyExc_TypeError, "%s takes %zd arguments", usage, expected);
  return false;
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

PyObject* binary_into_fast(PyObject*, PyObject* const* args, Py_ssize_t nargs) {
  if (!arity("binary_into(op, a, b)", nargs, 3)) return nullptr;
  long op = PyLong_AsLong(args[0]);
  if (op == -1 && PyErr_Occurred()) return nullptr;
  return call([&] { return binary_into(op, args[1], args[2]); });
}

bool as_double(PyObject* obj, double& value) {
  value = PyFloat_AsDouble(obj);
  return !(value == -1.0 && PyErr_Occurred());
}

PyObject* scaled_add_fast(PyObject*, PyObject* const* args, Py_ssize_t nargs) {
  if (!arity("scaled_add(cls, a, s, x)", nargs, 4)) return nullptr;
  double s;
  if (!as_double(args[2], s)) return nullptr;
  return call([&] { return scaled_add(args[0], args[1], s, args[3]); });
}

PyObject* clip_fast(PyObject*, PyObject* const* args, Py_ssize_t nargs) {
  if (!arity("clip(cls, a, lo, hi)", nargs, 4)) return nullptr;
  double lo, hi;
  if (!as_double(args[2], lo) || !as_double(args[3], hi)) return nullptr;
  return call([&] { return clip(args[0], args[1], lo, hi); });
}

PyObject* matmul_small_fast(PyObject*, PyObject* const* args, Py_ssize_t nargs) {
  if (!arity("matmul_small(cls, a, b)", nargs, 3)) return nullptr;
  return call([&] { return matmul_small(args[0], args[1], args[2]); });
}

PyObject* binary_fast(PyObject*, PyObject* const* args, Py_ssize_t nargs) {
  if (!arity("binary(cls, op, a, b)", nargs, 4)) return nullptr;
  long op = PyLong_AsLong(args[1]);
  if (op == -1 && PyErr_Occurred()) return nullptr;
  return call([&] { return binary(args[0], op, args[2], args[3]); });
}

template <auto F>
PyCFunction fastcall() {
  return reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(F));
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
    {"binary", fastcall<&binary_fast>(), METH_FASTCALL,
     "binary(cls, op, a, b): a + b, a - b, a * b or a / b (op 0-3) for same-shape "
     "arrays (either may be a float); None when the shapes differ."},
    {"binary_into", fastcall<&binary_into_fast>(), METH_FASTCALL,
     "binary_into(op, a, b): a += b, -=, *= or /= (op 0-3) for a same-shape array or a "
     "float b; True, or None when the shapes differ."},
    {"scaled_add", fastcall<&scaled_add_fast>(), METH_FASTCALL,
     "scaled_add(cls, a, s, x): a + s*x for a float s and a same-shape x; into a when cls "
     "is None; None when the shapes differ."},
    {"clip", fastcall<&clip_fast>(), METH_FASTCALL,
     "clip(cls, a, lo, hi): every element of a clipped to [lo, hi], numpy's way; into a "
     "when cls is None."},
    {"matmul_small", fastcall<&matmul_small_fast>(), METH_FASTCALL,
     "matmul_small(cls, a, b): a @ b when the product is small (at most 16*16*16 "
     "multiply-adds); None when it is larger or the shapes do not chain."},
};

}  // namespace

void register_matrix_rows(py::module_& m) {
  buffer_name = PyUnicode_InternFromString("_d");
  if (buffer_name == nullptr) throw py::error_already_set();
  for (PyMethodDef& def : methods) {
    PyObject* f = PyCFunction_NewEx(&def, nullptr, m.attr("__name__").ptr());
    if (f == nullptr) throw py::error_already_set();
    m.add_object(def.ml_name, py::reinterpret_steal<py::object>(f));
  }
}
