// bocd._core: the Python binding of client-cpp. It moves bytes and ids
// only; pickling, handles and the bocpy API live in the pure-Python package
// (client-python/bocd), so this file stays a thin, GIL-aware shim.
//
// GIL contract: every call that may block on the daemon (connect, acquire,
// quiesce, serve) releases the GIL; calls that only queue a frame release
// it too, because a worker's body runs on the client's IO thread and takes
// the GIL there. The worker body callback is entered with the GIL held.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>


#include <chrono>
#include <condition_variable>
#include <mutex>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "bocd/client/admin.h"
#include "bocd/client/blob.h"
#include "bocd/client/client.h"
#include "matrix_rows.h"
#include "plain_when.h"

namespace py = pybind11;
using namespace bocd::client;

namespace {

std::vector<CownRef> to_refs(const std::vector<std::uint64_t>& ids) {
  std::vector<CownRef> out;
  out.reserve(ids.size());
  for (std::uint64_t id : ids) out.push_back(CownRef{id});
  return out;
}


// The daemon's status as a dict, read over a short admin session: a
// program's own session cannot see other sessions' figures.
py::dict daemon_status(const std::string& socket, double timeout_s) {
  DaemonStatus s;
  {
    py::gil_scoped_release nogil;
    AdminClient admin(socket);
    s = admin.status(std::chrono::milliseconds(
        static_cast<long long>(timeout_s * 1000)));
  }
  py::list sessions;
  for (const SessionStatus& x : s.sessions) {
    py::dict d;  // every field of the schema's SessionInfo
#define BOCD_SESSION_FIELD(name, type) d[#name] = x.name;
#include "bocd_session_fields.inc"
#undef BOCD_SESSION_FIELD
    sessions.append(d);
  }
  py::dict out;
  out["pid"] = s.pid;
  out["workers"] = s.workers;
  out["cowns"] = s.cowns;
  out["in_flight"] = s.in_flight;
  out["completed"] = s.behaviors_completed;
  out["queued"] = s.queued;
  out["workers_problem"] = s.workers_problem;
  out["sessions"] = sessions;
  return out;
}

using Ids = std::vector<std::uint64_t>;
using Names = std::vector<std::string>;

// A new reference, or the pending Python error thrown.
PyObject* checked(PyObject* o) {
  if (o == nullptr) throw py::error_already_set();
  return o;
}

// A value as Python sees it: (data, exception flag, daemon error code).
py::tuple to_python(const Value& v) {
  auto t = py::reinterpret_steal<py::tuple>(checked(PyTuple_New(3)));
  PyTuple_SET_ITEM(t.ptr(), 0, checked(PyBytes_FromStringAndSize(
                                   v.data.data(),
                                   static_cast<Py_ssize_t>(v.data.size()))));
  PyTuple_SET_ITEM(t.ptr(), 1, PyBool_FromLong(v.exception));
  PyTuple_SET_ITEM(t.ptr(), 2,
                   checked(PyLong_FromLong(static_cast<long>(v.error))));
  return t;
}

// Reads (slot, data, exception, refs, blobs) or (data, exception, refs,
// blobs) parts: the bytes, and the ids and names when there are any.
std::string_view bytes_of(PyObject* o) {
  char* data = nullptr;
  Py_ssize_t n = 0;
  if (PyBytes_AsStringAndSize(o, &data, &n) != 0) {
    throw py::error_already_set();
  }
  return {data, static_cast<std::size_t>(n)};
}

template <class T>
std::vector<T> list_of(PyObject* o) {
  if (PyList_Check(o) && PyList_GET_SIZE(o) == 0) return {};
  return py::reinterpret_borrow<py::object>(o).cast<std::vector<T>>();
}

bool truth(PyObject* o) {
  int t = PyObject_IsTrue(o);
  if (t < 0) throw py::error_already_set();
  return t != 0;
}

PyObject* item(PyObject* tuple, Py_ssize_t i, Py_ssize_t size) {
  if (!PyTuple_Check(tuple) || PyTuple_GET_SIZE(tuple) != size) {
    throw std::runtime_error("bocd worker: malformed body result");
  }
  return PyTuple_GET_ITEM(tuple, i);
}

// A tuple of Python ints or bools made by `make` from each of `n` items.
template <class F>
py::object tuple_of(std::size_t n, F make) {
  auto t = py::reinterpret_steal<py::object>(
      checked(PyTuple_New(static_cast<Py_ssize_t>(n))));
  for (std::size_t i = 0; i < n; ++i) {
    PyTuple_SET_ITEM(t.ptr(), static_cast<Py_ssize_t>(i), checked(make(i)));
  }
  return t;
}

// What a worker that keeps values is told with a dispatch (Access::version,
// held, forget, forget_all, code_held, code_keep, forget_code, inherit):
// (versions, held, forget, forget_all, code_held, code_keep, forget_code,
// inherit), or None for every other dispatch.
py::object kept_of(const Access& a) {
  bool keeps = a.forget_all() || !a.forget().empty() || a.code_held() ||
               a.code_keep() || !a.forget_code().empty();
  for (std::size_t i = 0; i < a.size() && !keeps; ++i) {
    keeps = a.version(i) != 0 || a.inherit(i);
  }
  if (!keeps) return py::none();
  auto versions = tuple_of(a.size(), [&](std::size_t i) {
    return PyLong_FromUnsignedLongLong(a.version(i));
  });
  auto held = tuple_of(a.size(), [&](std::size_t i) {
    return PyBool_FromLong(a.held(i));
  });
  auto forget = tuple_of(a.forget().size(), [&](std::size_t i) {
    return PyLong_FromUnsignedLongLong(a.forget()[i]);
  });
  auto forget_code = tuple_of(a.forget_code().size(), [&](std::size_t i) {
    return PyLong_FromUnsignedLongLong(a.forget_code()[i]);
  });
  auto inherit = tuple_of(a.size(), [&](std::size_t i) {
    return PyBool_FromLong(a.inherit(i));
  });
  return py::make_tuple(versions, held, forget, a.forget_all(),
                        a.code_held(), a.code_keep(), forget_code, inherit);
}

// Calls the Python `body` with the dispatch: (behavior, session, payload,
// ids, values, has_result, kept). Written against the C API, not pybind11's
// casts, as is take_outcome(): they run once per behavior, and their
// conversions were a visible share of a worker's time.
py::object call_python_body(const py::object& body, const Access& a) {
  auto n = static_cast<Py_ssize_t>(a.size());
  auto ids = py::reinterpret_steal<py::object>(checked(PyTuple_New(n)));
  auto values = py::reinterpret_steal<py::object>(checked(PyTuple_New(n)));
  for (Py_ssize_t i = 0; i < n; ++i) {
    auto k = static_cast<std::size_t>(i);
    PyTuple_SET_ITEM(ids.ptr(), i,
                     checked(PyLong_FromUnsignedLongLong(a.cown(k).id)));
    PyTuple_SET_ITEM(values.ptr(), i, to_python(a.get(k)).release().ptr());
  }
  py::object args[] = {
      py::reinterpret_steal<py::object>(
          checked(PyLong_FromUnsignedLongLong(a.behavior()))),
      py::reinterpret_steal<py::object>(
          checked(PyLong_FromUnsignedLongLong(a.session()))),
      py::reinterpret_steal<py::object>(checked(PyBytes_FromStringAndSize(
          a.payload().data(), static_cast<Py_ssize_t>(a.payload().size())))),
      ids,
      values,
      py::reinterpret_borrow<py::object>(a.has_result() ? Py_True : Py_False),
      kept_of(a),
  };
  PyObject* argv[7];
  for (int i = 0; i < 7; ++i) argv[i] = args[i].ptr();
  return py::reinterpret_steal<py::object>(
      checked(PyObject_Vectorcall(body.ptr(), argv, 7, nullptr)));
}

// Whether the dispatch can go to the one-cown runner (bocd._body.run_one):
// one cown, and nothing kept to drop first.
bool runs_as_one(const Access& a) {
  return a.size() == 1 && !a.forget_all() && a.forget().empty() &&
         a.forget_code().empty();
}

// Calls the Python `one` with a one-cown dispatch, flat: (behavior,
// session, payload, id, data, exception, error, has_result, version,
// held, code_held, code_keep, inherit). What call_python_body() passes,
// without the tuples that wrap one value: a worker's commonest dispatch.
py::object call_python_one(const py::object& one, const Access& a) {
  const Value& v = a.get(0);
  auto flag = [](bool b) {
    return py::reinterpret_borrow<py::object>(b ? Py_True : Py_False);
  };
  auto u64 = [](std::uint64_t x) {
    return py::reinterpret_steal<py::object>(
        checked(PyLong_FromUnsignedLongLong(x)));
  };
  auto bytes = [](std::string_view b) {
    return py::reinterpret_steal<py::object>(checked(
        PyBytes_FromStringAndSize(b.data(), static_cast<Py_ssize_t>(b.size()))));
  };
  py::object args[] = {
      u64(a.behavior()),
      u64(a.session()),
      bytes(a.payload()),
      u64(a.cown(0).id),
      bytes(v.data),
      flag(v.exception),
      py::reinterpret_steal<py::object>(
          checked(PyLong_FromLong(static_cast<long>(v.error)))),
      flag(a.has_result()),
      u64(a.version(0)),
      flag(a.held(0)),
      flag(a.code_held()),
      flag(a.code_keep()),
      flag(a.inherit(0)),
  };
  constexpr std::size_t n = std::size(args);
  PyObject* argv[n];
  for (std::size_t i = 0; i < n; ++i) argv[i] = args[i].ptr();
  return py::reinterpret_steal<py::object>(
      checked(PyObject_Vectorcall(one.ptr(), argv, n, nullptr)));
}

// Applies what the body returned, (updates, result, dropped): updates is
// [(slot, data, exception, refs, blobs)], result is (data, exception,
// refs, blobs) or None, dropped the slots whose kept values the worker
// dropped. The empty tuple: it ran nothing (Access::bounce).
void take_outcome(const py::object& out, Access& a) {
  if (PyTuple_Check(out.ptr()) && PyTuple_GET_SIZE(out.ptr()) == 0) {
    return a.bounce();
  }
  PyObject* updates = item(out.ptr(), 0, 3);
  if (!PyList_Check(updates)) {
    throw std::runtime_error("bocd worker: malformed body updates");
  }
  for (Py_ssize_t k = 0; k < PyList_GET_SIZE(updates); ++k) {
    PyObject* u = PyList_GET_ITEM(updates, k);
    std::size_t slot = PyLong_AsSize_t(item(u, 0, 5));
    if (PyErr_Occurred()) throw py::error_already_set();
    if (slot >= a.size()) throw std::runtime_error("bocd worker: bad slot");
    a.mut(slot) = bytes_of(item(u, 1, 5));
    if (truth(item(u, 2, 5))) a.set_exception(slot, true);
    a.set_refs(slot, list_of<std::uint64_t>(item(u, 3, 5)));
    a.set_blobs(slot, list_of<std::string>(item(u, 4, 5)));
  }
  PyObject* dropped = item(out.ptr(), 2, 3);
  if (!PyList_Check(dropped)) {
    throw std::runtime_error("bocd worker: malformed body outcome");
  }
  for (Py_ssize_t k = 0; k < PyList_GET_SIZE(dropped); ++k) {
    std::size_t slot = PyLong_AsSize_t(PyList_GET_ITEM(dropped, k));
    if (PyErr_Occurred()) throw py::error_already_set();
    if (slot >= a.size()) throw std::runtime_error("bocd worker: bad slot");
    a.dropped(slot);
  }
  PyObject* r = item(out.ptr(), 1, 3);
  if (r != Py_None && a.has_result()) {
    a.set_result(std::string(bytes_of(item(r, 0, 4))), truth(item(r, 1, 4)),
                 list_of<std::uint64_t>(item(r, 2, 4)),
                 list_of<std::string>(item(r, 3, 4)));
  }
}

// Runs one worker behavior through the Python `body` (bocd._body.run), or
// through `one` (bocd._body.run_one) when given and the dispatch is one
// it takes (runs_as_one).
void run_python_body(const py::object& body, const py::object* one,
                     Access& a) {
  py::gil_scoped_acquire gil;
  // A worker's bodies run on the client's IO thread, which Python did not
  // create: without this, every behavior would build and tear down a
  // thread state (an mmap'd frame stack, fresh threading.local dicts).
  // Keeping one for the thread's life makes entering Python cheap; the
  // interpreter frees it at finalization. (Pinned bodies run on a Python
  // thread, which has its own already; keeping it changes nothing.)
  static thread_local bool kept = (gil.inc_ref(), true);
  (void)kept;
  try {
    py::object out = one != nullptr && runs_as_one(a)
                         ? call_python_one(*one, a)
                         : call_python_body(body, a);
    // None: the body runs elsewhere (an executor bridge) and is ended
    // later with complete_deferred().
    if (out.is_none()) return a.defer();
    take_outcome(out, a);
  } catch (const std::exception& e) {
    // The Python side catches everything a body raises; reaching here is a
    // defect in the worker itself, reported on the result cown.
    if (a.has_result()) a.set_result(e.what(), true);
  }
}

class Session {
 public:
  Session(std::string socket, std::string program, py::object body,
          int stall_ms, py::object on_unhandled, py::object environment,
          std::uint64_t keep_values, py::object body_one) {
    Options o;
    o.socket = std::move(socket);
    o.program = std::move(program);
    o.stall_after = std::chrono::milliseconds(stall_ms);
    o.keep_values = keep_values;
    if (!environment.is_none()) {
      py::dict e = environment.cast<py::dict>();
      Environment env;
      env.python = e["python"].cast<std::string>();
      env.version = e["version"].cast<std::string>();
      env.code_mark = e["code_mark"].cast<std::string>();  // bytes
      env.sys_path = e["sys_path"].cast<std::vector<std::string>>();
      env.cwd = e["cwd"].cast<std::string>();
      env.bocd_path = e["bocd_path"].cast<std::string>();
      o.environment = std::move(env);
    }
    if (!on_unhandled.is_none()) {
      auto fn = std::make_shared<py::object>(std::move(on_unhandled));
      // On the IO thread: a report must never take the connection down.
      o.on_unhandled = [fn](CownRef cown, const Value& v) {
        py::gil_scoped_acquire gil;
        try {
          (*fn)(cown.id, to_python(v));
        } catch (py::error_already_set& e) {
          e.discard_as_unraisable("bocd: reporting an unhandled exception");
        }
      };
    }
    if (!body.is_none()) {
      body_ = std::make_shared<py::object>(std::move(body));
      auto held = body_;
      if (!body_one.is_none()) {
        body_one_ = std::make_shared<py::object>(std::move(body_one));
      }
      auto one = body_one_;
      auto gate = gate_;
      o.worker = [held, one, gate](Access& a) {
        gate->wait();
        run_python_body(*held, one.get(), a);
      };
    }
    py::gil_scoped_release nogil;
    client_ = std::make_shared<Client>(std::move(o));
  }

  ~Session() { close(); }

  // Other threads may be inside a call with the GIL released (blocked in
  // acquire or quiesce): each call holds its own reference, so the client
  // is destroyed by whichever lets go last, never under one of them.
  void close() {
    std::shared_ptr<Client> last = std::move(client_);
    if (!last) return;
    py::gil_scoped_release nogil;
    last.reset();
  }

  std::shared_ptr<Client> c() {
    if (!client_) throw ConnectionError("bocd session is closed");
    return client_;
  }

  std::uint64_t behaviors_accepted() { return c()->behaviors_accepted(); }
  std::uint64_t session_id() { return c()->session(); }
  std::string blob_prefix() { return c()->blob_prefix(); }

  std::uint64_t create(const py::bytes& data, const Ids& refs,
                       const Names& blobs) {
    std::string s = data;
    std::shared_ptr<Client> client = c();
    Client& cl = *client;
    py::gil_scoped_release nogil;
    return cl.create(std::move(s), refs, blobs).id;
  }

  void hold(const Ids& ids) {
    std::shared_ptr<Client> client = c();
    Client& cl = *client;
    py::gil_scoped_release nogil;
    cl.hold(ids);
  }

  void output(std::uint64_t session, int stream, const py::bytes& data) {
    std::string_view d = data;
    std::shared_ptr<Client> client = c();
    Client& cl = *client;
    py::gil_scoped_release nogil;
    cl.output(session, stream, d);
  }

  void drop_many(const Ids& ids) {
    std::shared_ptr<Client> client = c();
    Client& cl = *client;
    py::gil_scoped_release nogil;
    cl.drop(std::span<const std::uint64_t>(ids));
  }

  std::uint64_t submit(const Ids& cowns, const py::bytes& payload,
                       bool with_result, std::uint64_t parent,
                       const Ids& refs, const Names& blobs,
                       std::uint32_t code_at, std::uint32_t code_len,
                       std::uint64_t code_key) {
    std::string_view p = payload;
    auto set = to_refs(cowns);
    std::shared_ptr<Client> client = c();
    Client& cl = *client;
    if (parent == 0 && cl.needs_room()) make_room(cl);
    py::gil_scoped_release nogil;
    return cl
        .submit_to_workers(set, p, with_result, parent, refs, blobs,
                           CodePart{code_at, code_len, code_key})
        .id;
  }

  // plain_when.cc's submits: submit() without its conversions, with a
  // result cown and the code at offset 20.
  std::uint64_t submit_plain(std::span<const CownRef> cowns,
                             std::string_view payload, std::uint64_t parent,
                             std::span<const std::uint64_t> refs,
                             std::span<const std::string> blobs,
                             std::uint32_t code_len, std::uint64_t code_key) {
    std::shared_ptr<Client> client = c();
    Client& cl = *client;
    if (parent == 0 && cl.needs_room()) make_room(cl);
    py::gil_scoped_release nogil;
    return cl
        .submit_to_workers(cowns, payload, true, parent, refs, blobs,
                           CodePart{20, code_len, code_key})
        .id;
  }

  // The program holds its submits near its limit of behaviors in flight:
  // waits for room in slices, so that Ctrl-C raises here.
  static void make_room(Client& cl) {
    for (;;) {
      bool room;
      {
        py::gil_scoped_release nogil;
        room = cl.make_room(std::chrono::milliseconds(100));
      }
      if (room) return;
      if (PyErr_CheckSignals() != 0) throw py::error_already_set();
    }
  }

  // An ordered request for the cown; returns its number for acquire_wait.
  // With `take_spec` (empty, plain_prefix), a value that embeds no cown and
  // whose bytes start with plain_prefix is taken out instead, leaving
  // `empty` (Client Take). The prefix comes from the caller: what marks a
  // plain value is the Python package's encoding (bocd._serial).
  std::uint64_t acquire_begin(
      std::uint64_t id,
      std::optional<std::pair<py::bytes, py::bytes>> take_spec) {
    std::optional<Take> take;
    if (take_spec) {
      take = Take{std::string(take_spec->first),
                  std::string(take_spec->second)};
      // An empty prefix would match every value, blob-backed ones too,
      // which are held and released as an acquire holds them.
      if (take->plain_prefix.empty()) {
        throw py::value_error(
            "acquire_begin: take's plain prefix is empty; it must mark "
            "the values that are their bytes alone");
      }
    }
    std::shared_ptr<Client> client = c();
    Client& cl = *client;
    py::gil_scoped_release nogil;
    return cl.acquire_begin(CownRef{id}, std::move(take));
  }

  // Waits up to `timeout` seconds (negative: no bound): (lease behavior
  // id, value tuple) once granted, the id None when the value was taken
  // (nothing to release); else 0 (timed out) or 2 (with `or_pinned`,
  // pinned work is queued here).
  py::object acquire_wait(std::uint64_t request, double timeout,
                          bool or_pinned) {
    std::shared_ptr<Client> client = c();
    Client& cl = *client;
    Lease lease;
    Client::Acquired got;
    {
      py::gil_scoped_release nogil;
      got = cl.acquire_wait(
          request,
          std::chrono::milliseconds(
              timeout < 0 ? -1 : static_cast<std::int64_t>(timeout * 1000.0)),
          lease, or_pinned);
    }
    switch (got) {
      case Client::Acquired::granted:
        if (lease.taken) {
          return py::make_tuple(py::none(), to_python(lease.value));
        }
        return py::make_tuple(lease.behavior, to_python(lease.value));
      case Client::Acquired::pinned: return py::int_(2);
      case Client::Acquired::timeout: break;
    }
    return py::int_(0);
  }

  void acquire_cancel(std::uint64_t request) {
    std::shared_ptr<Client> client = c();
    Client& cl = *client;
    py::gil_scoped_release nogil;
    cl.acquire_cancel(request);
  }

  void release(std::uint64_t behavior, std::uint64_t id,
               std::optional<py::bytes> data, bool exception, const Ids& refs,
               const Names& blobs) {
    Lease lease{behavior, CownRef{id}, {}};
    std::optional<Value> v;
    if (data) v = Value{std::string(*data), exception, Errc::none, refs, blobs};
    std::shared_ptr<Client> client = c();
    Client& cl = *client;
    py::gil_scoped_release nogil;
    cl.release(lease, v ? &*v : nullptr);
  }

  // Seconds; negative waits without bound. False on timeout.
  bool quiesce(double timeout) {
    std::shared_ptr<Client> client = c();
    Client& cl = *client;
    py::gil_scoped_release nogil;
    if (timeout < 0) {
      cl.wait();
      return true;
    }
    return cl.quiesce(std::chrono::milliseconds(
        static_cast<std::int64_t>(timeout * 1000.0)));
  }

  // ---- pinned work (docs/protocol.md, Pinned cowns) ----
  std::uint64_t create_pinned() {
    std::shared_ptr<Client> client = c();
    Client& cl = *client;
    py::gil_scoped_release nogil;
    return cl.create_pinned().id;
  }

  // Runs the oldest queued pinned behavior here, on the calling (main)
  // thread, with `body` (the worker's run()); false when none is queued.
  bool run_pinned(const py::object& body) {
    std::shared_ptr<Client> client = c();
    return client->run_pinned(
        [&body](Access& a) { run_python_body(body, nullptr, a); });
  }

  std::size_t pinned_depth() { return c()->pinned_depth(); }

  bool pinned_sync_needed() { return c()->pinned_sync_needed(); }

  // Seconds, negative for no bound; False on timeout (call again).
  bool sync_pinned(double timeout) {
    std::shared_ptr<Client> client = c();
    Client& cl = *client;
    py::gil_scoped_release nogil;
    return cl.sync_pinned(std::chrono::milliseconds(
        timeout < 0 ? -1 : static_cast<std::int64_t>(timeout * 1000.0)));
  }

  std::vector<std::uint64_t> take_freed_pinned() {
    return c()->take_freed_pinned();
  }

  // (seconds the pinned queue has been non-empty, episode number).
  std::pair<double, std::uint64_t> pinned_age() {
    std::uint64_t episode = 0;
    auto age = c()->pinned_age(&episode);
    return {std::chrono::duration<double>(age).count(), episode};
  }

  // Seconds, negative for no bound: 1 quiesced, 2 pinned work queued,
  // 0 timed out.
  int wait_or_pinned(double timeout) {
    std::shared_ptr<Client> client = c();
    Client& cl = *client;
    py::gil_scoped_release nogil;
    auto ms = std::chrono::milliseconds(
        timeout < 0 ? -1 : static_cast<std::int64_t>(timeout * 1000.0));
    switch (cl.wait_or_pinned(ms)) {
      case Client::Waited::quiesced: return 1;
      case Client::Waited::pinned: return 2;
      case Client::Waited::timeout: return 0;
    }
    return 0;
  }

  // ---- Messaging: the daemon's refusals as the exceptions bocpy raises
  // (KeyError, RuntimeError; see mail() and docs/protocol.md, Messaging).
  // `behavior`: in a worker process, the running behavior it acts for.
  void mail_send(std::uint64_t program, const std::string& tag,
                 const py::bytes& data, const Ids& refs, const Names& blobs,
                 std::pair<std::uint64_t, std::uint64_t> after,
                 std::uint64_t behavior) {
    Value v{std::string(data), false, Errc::none, refs, blobs};
    mail([&](Client& cl) {
      cl.mail_send(program, tag, v, Client::Barrier{after.first, after.second},
                   behavior);
    });
  }

  // Worker role, from a body: (session, frames) for mail_send's `after`.
  std::pair<std::uint64_t, std::uint64_t> mail_barrier() {
    Client::Barrier b{};
    mail([&](Client& cl) { b = cl.mail_barrier(); });
    return {b.session, b.frames};
  }

  // A request number for mail_receive, asking nothing yet: a caller
  // interrupted after mail_receive returned still knows what to end.
  std::uint64_t mail_request() {
    std::shared_ptr<Client> client = c();
    return client->mail_request();
  }

  void mail_receive(std::uint64_t request, std::uint64_t program,
                    const Names& tags, bool wait, std::uint64_t behavior) {
    mail([&](Client& cl) {
      cl.mail_receive(program, tags, wait, behavior, request);
    });
  }

  // The next message lent to this session under `tag` as bytes, or None
  // (then mail_receive): one call, no request to end.
  py::object mail_take_lent(std::uint64_t program, const std::string& tag) {
    std::optional<Value> v;
    mail([&](Client& cl) { v = cl.mail_take_lent(program, tag); });
    if (!v) return py::none();
    return py::bytes(v->data);
  }

  // None while nothing came within `timeout` seconds (negative: no
  // bound); else (got, tag, data, refs). Kept until mail_release or
  // mail_return.
  py::object mail_wait(std::uint64_t request, double timeout) {
    std::optional<Client::Mail> m;
    auto ms = std::chrono::milliseconds(
        timeout < 0 ? -1 : static_cast<std::int64_t>(timeout * 1000.0));
    mail([&](Client& cl) { m = cl.mail_wait(request, ms); });
    if (!m) return py::none();
    return py::make_tuple(m->got, m->tag, py::bytes(m->value.data),
                          m->value.refs);
  }

  void mail_cancel(std::uint64_t request) {
    mail([&](Client& cl) { cl.mail_cancel(request); });
  }

  void mail_release(std::uint64_t request, std::uint64_t behavior) {
    mail([&](Client& cl) { cl.mail_release(request, behavior); });
  }

  void mail_return(std::uint64_t request) {
    mail([&](Client& cl) { cl.mail_return(request); });
  }

  void mail_drain(std::uint64_t program, const Names& tags,
                  std::uint64_t behavior) {
    mail([&](Client& cl) { cl.mail_drain(program, tags, behavior); });
  }

  void mail_set_tags(std::uint64_t program, const Names& tags,
                     std::uint64_t behavior) {
    mail([&](Client& cl) { cl.mail_set_tags(program, tags, behavior); });
  }

  // (board cown id or 0, its committed value's bytes or None, request);
  // with bytes, call mail_release_snapshot(request, ...) once decoded.
  py::tuple mail_board(
      std::uint64_t program, std::uint64_t proposed,
      std::pair<std::uint64_t, std::uint64_t> after, std::uint64_t behavior) {
    Client::Mail m;
    mail([&](Client& cl) {
      m = cl.mail_board(program, proposed,
                        Client::Barrier{after.first, after.second}, behavior);
    });
    py::object data = m.got ? py::object(py::bytes(m.value.data)) : py::none();
    return py::make_tuple(m.cown, data, m.request);
  }

  void mail_release_snapshot(std::uint64_t request, std::uint64_t behavior) {
    mail([&](Client& cl) { cl.mail_release_snapshot(request, behavior); });
  }

  // A worker process's messaging session, when a body ends: what the
  // daemon lent it and it did not receive goes back, and its unanswered
  // sends are queued, before the body's completion can be seen.
  void mail_settle() {
    mail([&](Client& cl) { cl.mail_settle(); });
  }

  // Worker role: the running body of `behavior` is about to wait; the
  // daemon gives what it pipelined behind it to other workers.
  void blocking(std::uint64_t behavior) {
    std::shared_ptr<Client> client = c();
    Client& cl = *client;
    py::gil_scoped_release nogil;
    cl.blocking(behavior);
  }

  // Executor bridge (worker role): see Client::reserve_ids and what
  // follows it in bocd/client/client.h.
  std::uint64_t reserve_ids(std::size_t n) {
    std::shared_ptr<Client> client = c();
    py::gil_scoped_release nogil;
    return client->reserve_ids(n);
  }

  void create_reserved(std::uint64_t id, const py::bytes& data,
                       const Ids& refs, const Names& blobs) {
    std::string_view d = data;
    std::shared_ptr<Client> client = c();
    py::gil_scoped_release nogil;
    client->create_reserved(id, d, refs, blobs);
  }

  void submit_reserved(const Ids& cowns, const py::bytes& payload,
                       std::uint64_t result, std::uint64_t parent,
                       const Ids& refs, const Names& blobs) {
    std::string_view p = payload;
    std::shared_ptr<Client> client = c();
    py::gil_scoped_release nogil;
    client->submit_reserved(cowns, p, result, parent, refs, blobs);
  }

  // updates: [(cown, data, exception, refs, blobs)]; result: (data,
  // exception, refs, blobs).
  void complete_deferred(std::uint64_t behavior, const py::list& updates,
                         const py::tuple& result) {
    std::vector<std::pair<std::uint64_t, Value>> ups;
    for (py::handle u : updates) {
      auto t = u.cast<py::tuple>();
      Value v{t[1].cast<std::string>(), t[2].cast<bool>(), Errc::none,
              t[3].cast<Ids>(), t[4].cast<Names>()};
      ups.emplace_back(t[0].cast<std::uint64_t>(), std::move(v));
    }
    Value r{result[0].cast<std::string>(), result[1].cast<bool>(), Errc::none,
            result[2].cast<Ids>(), result[3].cast<Names>()};
    std::shared_ptr<Client> client = c();
    py::gil_scoped_release nogil;
    client->complete_deferred(behavior, ups, r);
  }

  // Worker role: opens the gate for bodies (the process has bound this
  // session first) and blocks until the daemon closes the session.
  std::string serve() {
    std::shared_ptr<Client> client = c();
    Client& cl = *client;
    py::gil_scoped_release nogil;
    gate_->open();
    return cl.serve_until_closed();
  }

 private:
  // Holds a worker's first bodies until serve(): the process must have
  // bound the session (bocd.worker) before any body may run, or a body's
  // messaging would find no worker session to speak for.
  struct Gate {
    std::mutex mu;
    std::condition_variable cv;
    bool is_open = false;
    void wait() {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [this] { return is_open; });
    }
    void open() {
      std::lock_guard<std::mutex> lock(mu);
      is_open = true;
      cv.notify_all();
    }
  };
  std::shared_ptr<Gate> gate_ = std::make_shared<Gate>();

  template <class F>
  void mail(F call) {
    std::shared_ptr<Client> client = c();
    Client& cl = *client;
    try {
      py::gil_scoped_release nogil;
      call(cl);
    } catch (const Error& e) {
      if (e.code() == make_error_code(Errc::tag_capacity)) {
        throw py::key_error(e.text());
      }
      if (e.code() == make_error_code(Errc::queue_full)) {
        throw std::runtime_error(e.text());
      }
      throw;
    }
  }

  // Held here as well as by the worker callback, so that their last
  // reference goes with the Session, under the GIL, not with the client.
  std::shared_ptr<py::object> body_;
  std::shared_ptr<py::object> body_one_;
  std::shared_ptr<Client> client_;
};

// (address, length) of an object's contiguous buffer.
std::pair<std::uintptr_t, std::size_t> buffer_span(py::handle obj) {
  Py_buffer view;
  if (PyObject_GetBuffer(obj.ptr(), &view, PyBUF_ANY_CONTIGUOUS) != 0) {
    throw py::error_already_set();
  }
  auto out = std::make_pair(reinterpret_cast<std::uintptr_t>(view.buf),
                            static_cast<std::size_t>(view.len));
  PyBuffer_Release(&view);
  return out;
}

}  // namespace

std::uint64_t submit_plain(py::handle session, std::span<const CownRef> cowns,
                           std::string_view payload, std::uint64_t parent,
                           std::span<const std::uint64_t> refs,
                           std::span<const std::string> blobs,
                           std::uint32_t code_len, std::uint64_t code_key) {
  return session.cast<Session&>().submit_plain(cowns, payload, parent, refs,
                                               blobs, code_len, code_key);
}

PYBIND11_MODULE(_core, m) {
  m.doc() = "bocd's binding of the C++ client: sessions, cown ids, bytes.";
  // The daemon error code of a value refused by the program's byte cap
  // (it reads as MemoryError).
  m.attr("MEMORY_CAP") = static_cast<int>(Errc::memory_cap);
  // The names of a session's status fields (the schema's SessionInfo).
  std::vector<std::string> session_fields = {
#define BOCD_SESSION_FIELD(name, type) #name,
#include "bocd_session_fields.inc"
#undef BOCD_SESSION_FIELD
  };
  m.attr("SESSION_FIELDS") = py::tuple(py::cast(session_fields));

  auto daemon_error = py::register_exception<Error>(m, "DaemonError",
                                                    PyExc_RuntimeError);
  (void)daemon_error;
  auto connection_error = py::register_exception<ConnectionError>(
      m, "DaemonConnectionError", PyExc_ConnectionError);
  py::register_exception<NoDaemonError>(m, "NoDaemonError",
                                        connection_error.ptr());
  py::register_exception<UntrustedDaemonError>(m, "UntrustedDaemonError",
                                               connection_error.ptr());
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const BlobError& e) {
      PyErr_SetString(PyExc_OSError, e.what());
    } catch (const std::logic_error& e) {
      PyErr_SetString(PyExc_RuntimeError, e.what());
    }
  });

  py::class_<Blob>(m, "Blob", py::buffer_protocol(),
                   "A shared-memory blob, mapped read-write.")
      .def_static("create", &Blob::create, py::arg("prefix"), py::arg("size"),
                  "Creates a new blob of `size` bytes named with `prefix` "
                  "(a session's blob_prefix).")
      .def(py::init<std::string, std::size_t>(), py::arg("name"),
           py::arg("size"), "Maps the existing blob `name`.")
      .def_property_readonly("name", &Blob::name)
      .def_property_readonly("size", &Blob::size)
      .def_property_readonly("address", &Blob::address)
      .def_static("unlink", &Blob::unlink, py::arg("name"))
      .def_buffer([](Blob& b) {
        return py::buffer_info(b.data(), 1,
                               py::format_descriptor<std::uint8_t>::format(),
                               1, {b.size()}, {1}, false);
      });
  register_matrix_rows(m);
  register_plain_when(m);
  m.def("buffer_span", &buffer_span, py::arg("obj"),
        "(address, length) of a contiguous buffer.");

  m.def("daemon_status", &daemon_status, py::arg("socket"),
        py::arg("timeout"),
        "The daemon's status (sessions with their executor figures).");
  m.def("default_socket_path", &default_socket_path,
        "The daemon socket a client uses when none is given.");

  py::class_<Session>(m, "Session")
      .def(py::init<std::string, std::string, py::object, int, py::object,
                    py::object, std::uint64_t, py::object>(),
           py::arg("socket"), py::arg("program"), py::arg("body") = py::none(),
           py::arg("stall_ms") = 1, py::arg("on_unhandled") = py::none(),
           py::arg("environment") = py::none(), py::arg("keep_values") = 0,
           py::arg("body_one") = py::none())
      .def_property_readonly("behaviors_accepted", &Session::behaviors_accepted)
      .def_property_readonly("session_id", &Session::session_id)
      .def_property_readonly("blob_prefix", &Session::blob_prefix)
      .def_property_readonly("notice_keys",
                             [](Session& s) { return s.c()->notice_keys(); })
      .def("close", &Session::close)
      .def("create", &Session::create)
      .def("drop_many", &Session::drop_many)
      .def("hold", &Session::hold)
      .def("output", &Session::output)
      .def("submit", &Session::submit, py::arg("cowns"), py::arg("payload"),
           py::arg("with_result"), py::arg("parent"), py::arg("refs"),
           py::arg("blobs"), py::arg("code_at") = 0, py::arg("code_len") = 0,
           py::arg("code_key") = 0)
      .def("acquire_begin", &Session::acquire_begin, py::arg("id"),
           py::arg("take") = py::none())
      .def("acquire_wait", &Session::acquire_wait)
      .def("acquire_cancel", &Session::acquire_cancel)
      .def("release", &Session::release)
      .def("quiesce", &Session::quiesce)
      .def("serve", &Session::serve)
      .def("reserve_ids", &Session::reserve_ids)
      .def("create_reserved", &Session::create_reserved)
      .def("submit_reserved", &Session::submit_reserved)
      .def("complete_deferred", &Session::complete_deferred)
      .def("blocking", &Session::blocking)
      .def("create_pinned", &Session::create_pinned)
      .def("run_pinned", &Session::run_pinned)
      .def("pinned_depth", &Session::pinned_depth)
      .def("pinned_sync_needed", &Session::pinned_sync_needed)
      .def("sync_pinned", &Session::sync_pinned)
      .def("take_freed_pinned", &Session::take_freed_pinned)
      .def("pinned_age", &Session::pinned_age)
      .def("wait_or_pinned", &Session::wait_or_pinned)
      .def("mail_send", &Session::mail_send)
      .def("mail_barrier", &Session::mail_barrier)
      .def("mail_request", &Session::mail_request)
      .def("mail_receive", &Session::mail_receive)
      .def("mail_wait", &Session::mail_wait)
      .def("mail_cancel", &Session::mail_cancel)
      .def("mail_release", &Session::mail_release)
      .def("mail_return", &Session::mail_return)
      .def("mail_board", &Session::mail_board)
      .def("mail_release_snapshot", &Session::mail_release_snapshot)
      .def("mail_settle", &Session::mail_settle)
      .def("mail_take_lent", &Session::mail_take_lent)
      .def("mail_drain", &Session::mail_drain)
      .def("mail_set_tags", &Session::mail_set_tags);
}
