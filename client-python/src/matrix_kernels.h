// The shared part of the Matrix kernels (matrix_rows.cc, matrix_math.cc):
// reading a Matrix's buffer, allocating and wrapping results, and the plain
// METH_FASTCALL plumbing. Internal to bocd._core.
//
// The arrays are C-contiguous float64 2-D numpy arrays (a Matrix's buffer).
// They are read from numpy's object layout through pybind11's numpy proxies
// (no buffer export, which costs more than a 4x4 operation); any other
// object goes through the buffer protocol. Results are new numpy arrays,
// returned wrapped in the Matrix class the caller passes (`cls`), so Python
// pays for one call.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstddef>
#include <string>

namespace bocd_matrix {

namespace py = pybind11;
using py::detail::npy_api;

// The interned attribute name of a Matrix's buffer slot (set when the
// module registers the kernels).
inline PyObject* buffer_name = nullptr;

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
inline py::object new_array(Py_ssize_t rows, Py_ssize_t columns) {
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

inline double* data_of(const py::object& arr) {
  return reinterpret_cast<double*>(py::detail::array_proxy(arr.ptr())->data);
}

// An instance of `cls` (the Matrix class) around `arr`, made as
// object.__new__ makes it (the constructor's checks are for user input;
// `arr` is already a Matrix's buffer) and without Python's call overhead.
inline PyObject* wrap(PyObject* cls, const py::object& arr) {
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

// `cls` wrapped around `arr`, or `arr` itself when `cls` is None.
inline PyObject* result(PyObject* cls, const py::object& arr) {
  if (cls == Py_None) return arr.inc_ref().ptr();
  return wrap(cls, arr);
}

// A loop marked with this is compiled for AVX2 as well as for the baseline
// x86-64 (SSE2), the version chosen at load time, as numpy dispatches its own:
// AVX2 adds, multiplies and divides four doubles at a time, SSE2 two, and
// division is the cost of a normalization.
// Elsewhere the baseline build is all there is.
#if defined(__x86_64__)
#define BOCD_VECTOR_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define BOCD_VECTOR_CLONES
#endif

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

inline bool arity(const char* usage, Py_ssize_t nargs, Py_ssize_t expected) {
  if (nargs == expected) return true;
  PyErr_Format(PyExc_TypeError, "%s takes %zd arguments", usage, expected);
  return false;
}

template <auto F>
PyCFunction fastcall() {
  return reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(F));
}

// Adds the entries of `methods` (a static table) to the module.
inline void add_methods(py::module_& m, PyMethodDef* methods, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) {
    PyObject* f = PyCFunction_NewEx(&methods[i], nullptr, m.attr("__name__").ptr());
    if (f == nullptr) throw py::error_already_set();
    m.add_object(methods[i].ml_name, py::reinterpret_steal<py::object>(f));
  }
}

// matrix_math.cc's kernels: binary, binary_into, scaled_add, clip,
// matmul_small.
void register_matrix_math(py::module_& m);

}  // namespace bocd_matrix
