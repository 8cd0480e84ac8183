// Element-wise arithmetic, clip, scaled_add and small products for
// bocd.Matrix.
//
// A numpy ufunc call resolves its loop, checks casting and allocates
// through several layers: on a 4x4 matrix that is most of the time, and on
// a 100x100 one still a fifth. These kernels check the shapes, allocate
// the result once and run one loop; anything they do not cover (another
// shape, another operand type) returns None and Python takes numpy's path.
#include <cmath>
#include <cstddef>
#include <iterator>
#include <optional>

#include "matrix_kernels.h"

namespace bocd_matrix {
namespace {

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


bool as_double(PyObject* obj, double& value) {
  value = PyFloat_AsDouble(obj);
  return !(value == -1.0 && PyErr_Occurred());
}

PyObject* binary_fast(PyObject*, PyObject* const* args, Py_ssize_t nargs) {
  if (!arity("binary(cls, op, a, b)", nargs, 4)) return nullptr;
  long op = PyLong_AsLong(args[1]);
  if (op == -1 && PyErr_Occurred()) return nullptr;
  return call([&] { return binary(args[0], op, args[2], args[3]); });
}

PyObject* binary_into_fast(PyObject*, PyObject* const* args, Py_ssize_t nargs) {
  if (!arity("binary_into(op, a, b)", nargs, 3)) return nullptr;
  long op = PyLong_AsLong(args[0]);
  if (op == -1 && PyErr_Occurred()) return nullptr;
  return call([&] { return binary_into(op, args[1], args[2]); });
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

PyMethodDef methods[] = {
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

void register_matrix_math(py::module_& m) { add_methods(m, methods, std::size(methods)); }

}  // namespace bocd_matrix
