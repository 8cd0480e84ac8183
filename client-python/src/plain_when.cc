// bocd._core.when_plain: what bocd._when._plain_call does, in C++.
//
// A program schedules every behavior itself, so its share of a tiny
// behavior's cost is this path; in Python it was some thirty bytecode-level
// steps (attribute reads, a struct pack, a pybind11 call converting lists)
// per @when. Here the same checks read the objects through the C API (and
// a function whose parameters after its cowns are scalar defaults, as in
// `def transfer(a, b, amount=amount)`, gets its call record here too). The
// Python side keeps everything else: it fills the cache this reads (so the
// first call of each code object, and every call this declines, goes the
// Python way), and it owns the handle classes this only instantiates.
// submit_behavior is the general path's submit, with the same shortcuts.
#include "plain_when.h"

#include <Python.h>

#include <string>
#include <vector>

namespace py = pybind11;
using bocd::client::CownRef;

namespace {

// What plain_setup() was given, and the names read with it. Never freed:
// the module lives as long as the interpreter, and tearing these down at
// finalization would only race the interpreter's own teardown.
struct State {
  PyObject* plain;        // dict: code -> (prefix, code refs, code len, key)
  PyObject* handle_type;  // bocd._cown._Handle
  PyObject* new_cown;     // Cown.__new__, called with Cown
  PyObject* cown_type;    // bocd.Cown
  PyObject* pinned;       // bocd._cown._pinned: this program's pinned cowns
  PyObject* counts;       // bocd._cown._counts: held handles per cown id
  PyObject* runtime;      // bocd._runtime's module dict
  PyObject* tls;          // bocd._runtime._tls
  PyObject* s_id;
  PyObject* s_hold;
  PyObject* s_held;
  PyObject* s_behavior;
  PyObject* s_dict;
  PyObject* s_up;
  PyObject* s_session;
  PyObject* s_scheduled;
  PyObject* dumps;        // pickle.dumps
  PyObject* protocol;     // 5, as bocd._serial pickles
  Py_ssize_t stream_max;  // bocd._serial.STREAM_MAX: longer goes to blobs
};

State* state = nullptr;

PyObject* checked(PyObject* o) {
  if (o == nullptr) throw py::error_already_set();
  return o;
}

PyObject* interned(const char* s) { return checked(PyUnicode_InternFromString(s)); }

void plain_setup(py::dict plain, py::type handle_type, py::type cown_type,
                 py::dict pinned, py::dict counts, py::module_ runtime) {
  auto* s = new State{};
  s->plain = plain.release().ptr();
  s->handle_type = handle_type.release().ptr();
  s->new_cown = checked(PyObject_GetAttrString(cown_type.ptr(), "__new__"));
  s->cown_type = cown_type.release().ptr();
  s->pinned = pinned.release().ptr();
  s->counts = counts.release().ptr();
  s->tls = checked(PyObject_GetAttrString(runtime.ptr(), "_tls"));
  s->runtime = checked(PyModule_GetDict(runtime.ptr()));
  Py_INCREF(s->runtime);
  s->s_id = interned("_id");
  s->s_hold = interned("_hold");
  s->s_held = interned("_held");
  s->s_behavior = interned("behavior");
  s->s_dict = interned("__dict__");
  s->s_up = interned("_up");
  s->s_session = interned("_session");
  s->s_scheduled = interned("_scheduled");
  auto pickle = py::module_::import("pickle");
  s->dumps = py::object(pickle.attr("dumps")).release().ptr();
  s->protocol = py::int_(5).release().ptr();
  s->stream_max =
      py::module_::import("bocd._serial").attr("STREAM_MAX").cast<Py_ssize_t>();
  state = s;  // the GIL is held: no other thread reads it meanwhile
}

// The body running on this thread (bocd._runtime.current_behavior()), as
// a new reference, or nullptr for none. Read from the thread's own dict of
// the threading.local: getattr of an unset name would format an
// AttributeError's message first, which cost more than the rest of the
// checks together.
PyObject* running(const State& s) {
  auto own = py::reinterpret_steal<py::object>(
      checked(PyObject_GetAttr(s.tls, s.s_dict)));
  if (!PyDict_Check(own.ptr())) return nullptr;
  PyObject* b = PyDict_GetItemWithError(own.ptr(), s.s_behavior);
  if (b == nullptr && PyErr_Occurred()) throw py::error_already_set();
  if (b == nullptr || b == Py_None) return nullptr;
  Py_INCREF(b);
  return b;
}

// The cown id of a handle, or false when `c` is not one.
bool id_of(const State& s, PyObject* c, std::uint64_t& id) {
  if (!PyObject_TypeCheck(c, reinterpret_cast<PyTypeObject*>(s.handle_type))) {
    return false;
  }
  auto ident = py::reinterpret_steal<py::object>(
      checked(PyObject_GetAttr(c, s.s_id)));
  id = PyLong_AsUnsignedLongLong(ident.ptr());
  if (PyErr_Occurred()) throw py::error_already_set();
  return true;
}

// Appends `v` as 8 little-endian bytes (the payload's order, whatever the
// host's).
void put_u64(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}

// Whether every default is a scalar the C pickler writes alone
// (bocd._serial._SCALARS): no cown handles, blobs or classes in them.
bool scalars(PyObject* defaults) {
  for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(defaults); ++i) {
    PyObject* d = PyTuple_GET_ITEM(defaults, i);
    if (!(d == Py_None || PyBool_Check(d) || PyLong_CheckExact(d) ||
          PyFloat_CheckExact(d) || PyUnicode_CheckExact(d) ||
          PyBytes_CheckExact(d) || PyComplex_CheckExact(d))) {
      return false;
    }
  }
  return true;
}

// The call record bocd._when._schedule_general sends for a function whose
// parameters are its cowns and then its defaults: (shape, extras,
// defaults, kwdefaults, closure) pickled, with the cowns' ids as the
// shape and nothing else but the defaults. None when it would be long
// enough to go to blobs (the Python path then takes the call).
py::object call_record(const State& s, const std::vector<CownRef>& set,
                       PyObject* defaults) {
  auto shape = py::reinterpret_steal<py::object>(
      checked(PyList_New(static_cast<Py_ssize_t>(set.size()))));
  for (std::size_t i = 0; i < set.size(); ++i) {
    PyList_SET_ITEM(shape.ptr(), static_cast<Py_ssize_t>(i),
                    checked(PyLong_FromUnsignedLongLong(set[i].id)));
  }
  auto extras = py::reinterpret_steal<py::object>(checked(PyList_New(0)));
  auto record = py::reinterpret_steal<py::object>(checked(PyTuple_Pack(
      5, shape.ptr(), extras.ptr(), defaults, Py_None, Py_None)));
  auto data = py::reinterpret_steal<py::object>(checked(
      PyObject_CallFunctionObjArgs(s.dumps, record.ptr(), s.protocol, nullptr)));
  if (!PyBytes_Check(data.ptr()) || PyBytes_GET_SIZE(data.ptr()) >= s.stream_max) {
    return py::none();
  }
  return data;
}

// (fn, cowns): the result cown of the behavior scheduled, or None when the
// call is not of the fast path's shape or state, for the caller to take
// the Python way. The shape: fn a function with its code in the cache,
// no closure or keyword-only defaults, and as parameters the cowns (a
// tuple of handles) and then only defaults, each a plain scalar. The
// state: no pinned cowns in this program, no body running on this thread
// (a nested @when names its parent), the runtime started.
py::object when_plain(py::handle fn, py::handle cowns) {
  if (state == nullptr) throw std::logic_error("when_plain before plain_setup");
  const State& s = *state;
  PyObject* f = fn.ptr();
  if (!PyFunction_Check(f) || PyFunction_GET_CLOSURE(f) != nullptr ||
      PyFunction_GET_KW_DEFAULTS(f) != nullptr ||
      PyDict_GET_SIZE(s.pinned) != 0 || !PyTuple_Check(cowns.ptr())) {
    return py::none();
  }
  PyObject* code = PyFunction_GET_CODE(f);
  PyObject* entry = PyDict_GetItemWithError(s.plain, code);
  if (entry == nullptr) {
    if (PyErr_Occurred()) throw py::error_already_set();
    return py::none();
  }
  PyObject* defaults = PyFunction_GET_DEFAULTS(f);
  Py_ssize_t n_defaults = defaults != nullptr ? PyTuple_GET_SIZE(defaults) : 0;
  Py_ssize_t n = PyTuple_GET_SIZE(cowns.ptr());
  if (n == 0 ||
      reinterpret_cast<PyCodeObject*>(code)->co_argcount != n + n_defaults ||
      !PyTuple_Check(entry) || PyTuple_GET_SIZE(entry) != 4 ||
      (n_defaults != 0 && !scalars(defaults))) {
    return py::none();
  }
  std::vector<CownRef> set(static_cast<std::size_t>(n));
  for (Py_ssize_t i = 0; i < n; ++i) {
    if (!id_of(s, PyTuple_GET_ITEM(cowns.ptr(), i), set[i].id)) {
      return py::none();
    }
  }
  if (PyObject* b = running(s)) {
    Py_DECREF(b);
    return py::none();
  }
  PyObject* up = PyDict_GetItemWithError(s.runtime, s.s_up);
  PyObject* session = up == Py_True
                          ? PyDict_GetItemWithError(s.runtime, s.s_session)
                          : nullptr;
  if (PyErr_Occurred()) throw py::error_already_set();
  if (session == nullptr || session == Py_None) return py::none();

  PyObject* prefix = PyTuple_GET_ITEM(entry, 0);
  if (!PyBytes_Check(prefix)) return py::none();
  std::string_view payload(PyBytes_AS_STRING(prefix),
                           static_cast<std::size_t>(PyBytes_GET_SIZE(prefix)));
  std::string composed;  // the prefix and what follows it
  if (n_defaults != 0) {  // the defaults travel in a call record
    py::object record = call_record(s, set, defaults);
    if (record.is_none()) return record;
    composed.reserve(payload.size() + PyBytes_GET_SIZE(record.ptr()));
    composed.append(payload);
    composed.append(PyBytes_AS_STRING(record.ptr()),
                    static_cast<std::size_t>(PyBytes_GET_SIZE(record.ptr())));
    payload = composed;
  } else if (n > 1) {  // the ids in parameter order: the daemon sorts its own
    composed.reserve(payload.size() + 1 + 8 * set.size());
    composed.append(payload);
    composed.push_back('P');
    for (CownRef c : set) put_u64(composed, c.id);
    payload = composed;
  }
  std::vector<std::uint64_t> refs;
  PyObject* code_refs = PyTuple_GET_ITEM(entry, 1);
  if (!PyList_Check(code_refs)) return py::none();
  for (Py_ssize_t i = 0; i < PyList_GET_SIZE(code_refs); ++i) {
    refs.push_back(PyLong_AsUnsignedLongLong(PyList_GET_ITEM(code_refs, i)));
  }
  auto code_len = static_cast<std::uint32_t>(
      PyLong_AsUnsignedLong(PyTuple_GET_ITEM(entry, 2)));
  std::uint64_t code_key =
      PyLong_AsUnsignedLongLong(PyTuple_GET_ITEM(entry, 3));
  if (PyErr_Occurred()) throw py::error_already_set();

  // bocd._runtime.count_scheduled(), before the submit as there.
  PyObject* count = PyDict_GetItemWithError(s.runtime, s.s_scheduled);
  if (count == nullptr) {
    if (PyErr_Occurred()) throw py::error_already_set();
    return py::none();
  }
  auto more = py::reinterpret_steal<py::object>(
      checked(PyNumber_Add(count, py::int_(1).ptr())));
  if (PyDict_SetItem(s.runtime, s.s_scheduled, more.ptr()) != 0) {
    throw py::error_already_set();
  }

  std::uint64_t ident =
      submit_plain(session, set, payload, 0, refs, {}, code_len, code_key);

  // The result cown as bocd._when._submit makes it: held by this process,
  // which the daemon already counts (a fresh id: one store).
  auto id = py::reinterpret_steal<py::object>(
      checked(PyLong_FromUnsignedLongLong(ident)));
  auto result = py::reinterpret_steal<py::object>(
      checked(PyObject_CallOneArg(s.new_cown, s.cown_type)));
  if (PyObject_SetAttr(result.ptr(), s.s_id, id.ptr()) != 0 ||
      PyObject_SetAttr(result.ptr(), s.s_hold, Py_None) != 0 ||
      PyObject_SetAttr(result.ptr(), s.s_held, Py_True) != 0 ||
      PyDict_SetItem(s.counts, id.ptr(), py::int_(1).ptr()) != 0) {
    throw py::error_already_set();
  }
  return result;
}

// A list of ints as ids (cowns or refs), without pybind11's casters.
template <class T>
std::vector<T> ids_of(py::handle list, const char* what) {
  if (!PyList_Check(list.ptr())) {
    throw py::type_error(std::string(what) + " must be a list of ints");
  }
  std::vector<T> out(static_cast<std::size_t>(PyList_GET_SIZE(list.ptr())));
  for (std::size_t i = 0; i < out.size(); ++i) {
    std::uint64_t id = PyLong_AsUnsignedLongLong(
        PyList_GET_ITEM(list.ptr(), static_cast<Py_ssize_t>(i)));
    if (PyErr_Occurred()) throw py::error_already_set();
    out[i] = T{id};
  }
  return out;
}

// Session.submit(cowns, payload, True, parent, refs, blobs, 20, code_len,
// code_key) for bocd._when._submit, with its lists read through the C API:
// pybind11's list casters were most of that call's cost.
std::uint64_t submit_behavior(py::handle session, py::handle cowns,
                              py::bytes payload, std::uint64_t parent,
                              py::handle refs, py::handle blobs,
                              std::uint32_t code_len, std::uint64_t code_key) {
  std::vector<CownRef> set = ids_of<CownRef>(cowns, "cowns");
  std::vector<std::uint64_t> more = ids_of<std::uint64_t>(refs, "refs");
  std::vector<std::string> names;
  if (!PyList_Check(blobs.ptr()) || PyList_GET_SIZE(blobs.ptr()) != 0) {
    names = py::cast<std::vector<std::string>>(blobs);  // rare: big values
  }
  return submit_plain(session, set, std::string_view(payload), parent, more,
                      names, code_len, code_key);
}

}  // namespace

void register_plain_when(py::module_& m) {
  m.def("plain_setup", &plain_setup, py::arg("plain"), py::arg("handle_type"),
        py::arg("cown_type"), py::arg("pinned"), py::arg("counts"),
        py::arg("runtime"),
        "Gives when_plain the objects of bocd's Python side it reads.");
  m.def("when_plain", &when_plain, py::arg("fn"), py::arg("cowns"),
        "Schedules a plain behavior over single cowns; None when the call "
        "is not of that shape (the Python path then takes it).");
  m.def("submit_behavior", &submit_behavior, py::arg("session"),
        py::arg("cowns"), py::arg("payload"), py::arg("parent"),
        py::arg("refs"), py::arg("blobs"), py::arg("code_len"),
        py::arg("code_key"),
        "Session.submit with a result cown and the code at offset 20.");
}
