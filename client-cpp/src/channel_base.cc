#include "channel_base.h"

namespace bocd::client {

namespace asio = boost::asio;
using stream = asio::local::stream_protocol;

ChannelBase::ChannelBase(Handshake& h, const ChannelOptions& options)
    : path_(options.path),
      caller_writes_(options.caller_writes),
      welcome_(std::move(h.welcome)) {
  socket_.assign(stream(), h.socket.release());
}

void ChannelBase::start(OnFrame on_frame, OnClose on_close) {
  on_frame_ = std::move(on_frame);
  on_close_ = std::move(on_close);
  asio::post(io_, [this] { begin(); });
  io_thread_.start();
}

std::string ChannelBase::lost(const boost::system::error_code& ec) const {
  return "connection to the bocd daemon at " + path_ + " lost: " +
         ec.message();
}

void ChannelBase::mark_closed() {
  std::lock_guard<std::mutex> lock(mu_);
  closed_ = true;
  pending_.clear();
}

void ChannelBase::end(bool shutdown) {
  failed_ = true;
  mark_closed();
  cancel_waits();
  boost::system::error_code ignored;
  if (shutdown) socket_.shutdown(stream::socket::shutdown_both, ignored);
  socket_.close(ignored);
}

void ChannelBase::fail(const std::string& why) {
  if (failed_) return;
  end(false);
  if (on_close_) on_close_(why);
}

void ChannelBase::close() {
  // The thread never started, or has stopped already: nothing runs there.
  if (!io_thread_.stop([this] { end(true); })) end(false);
}

}  // namespace bocd::client
