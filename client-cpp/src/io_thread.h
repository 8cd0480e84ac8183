// IoThread: the thread a channel runs its Asio context on, and the test of
// whether a caller is that thread (callers on it must never block on
// what only it can do).
#pragma once

#include <atomic>
#include <functional>
#include <thread>

// Boost 1.74's asio/awaitable.hpp uses std::exchange without <utility>.
#include <utility>

#include <boost/asio.hpp>

namespace bocd::client {

class IoThread {
 public:
  IoThread() = default;
  // Stops the thread if stop() was not called.
  ~IoThread();
  IoThread(const IoThread&) = delete;
  IoThread& operator=(const IoThread&) = delete;

  boost::asio::io_context& context() { return io_; }

  // Runs the context on a new thread until stop(). Once.
  void start();

  // Runs `last` on the thread, then stops the context and joins the
  // thread. Returns false, running nothing, when the thread never started
  // or has already stopped. Not from the thread itself.
  bool stop(std::function<void()> last);

  bool on_this_thread() const {
    return std::this_thread::get_id() == id_.load(std::memory_order_acquire);
  }

 private:
  boost::asio::io_context io_;
  std::thread thread_;
  // Set by the thread itself before it runs anything (thread_ is assigned
  // only after the thread has started). Release pairs with the acquire in
  // on_this_thread().
  std::atomic<std::thread::id> id_{};
};

}  // namespace bocd::client
