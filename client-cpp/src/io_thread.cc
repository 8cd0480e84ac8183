#include "io_thread.h"

namespace bocd::client {

IoThread::~IoThread() { stop([] {}); }

void IoThread::start() {
  thread_ = std::thread([this] {
    id_.store(std::this_thread::get_id(), std::memory_order_release);
    io_.run();
  });
}

bool IoThread::stop(std::function<void()> last) {
  if (!thread_.joinable()) return false;
  boost::asio::post(io_, [this, last = std::move(last)] {
    last();
    io_.stop();
  });
  thread_.join();
  return true;
}

}  // namespace bocd::client
