#include "channel.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "bocd/client/errors.h"
#include "bocd/proto/blob_name.h"
#include "bocd/proto/socket_dir.h"

namespace bocd::client {

namespace asio = boost::asio;
namespace fb = proto::fb;
using stream = asio::local::stream_protocol;

Channel::Channel(std::string path, fb::Role role, const std::string& program,
                 const proto::Encoder::HelloExtras& extras,
                 std::optional<uid_t> daemon_uid)
    : path_(std::move(path)) {
  check_directory(daemon_uid);
  boost::system::error_code ec;
  socket_.connect(stream::endpoint(path_), ec);
  if (ec == boost::asio::error::not_found ||
      ec == boost::system::errc::no_such_file_or_directory ||
      ec == boost::asio::error::connection_refused) {
    throw NoDaemonError("no bocd daemon at " + path_ + ": " + ec.message());
  }
  if (ec) {
    throw ConnectionError("cannot connect to the bocd daemon at " + path_ +
                          ": " + ec.message());
  }
  check_daemon_uid(daemon_uid);
  handshake(role, program, extras);
}

std::optional<uid_t> daemon_uid_from_env() {
  try {
    return proto::trusted_daemon_uid_from_env();
  } catch (const std::invalid_argument& e) {
    throw UntrustedDaemonError(e.what());
  }
}

namespace {

std::vector<uid_t> trusted_uids(std::optional<uid_t> daemon_uid) {
  std::vector<uid_t> uids{::geteuid()};
  if (daemon_uid) uids.push_back(*daemon_uid);
  return uids;
}

}  // namespace

// Whoever owns or may write to the directory could have put any socket
// there: refuse it before connecting, whatever its daemon would say.
void Channel::check_directory(std::optional<uid_t> daemon_uid) {
  std::string problem = proto::socket_dir_problem(
      std::filesystem::path(path_).parent_path().string(),
      trusted_uids(daemon_uid));
  if (!problem.empty()) {
    throw UntrustedDaemonError("refusing the bocd socket " + path_ + ": " +
                               problem);
  }
}

// Values (pickles, for Python) are sent to the daemon's workers and read
// back from them: only a daemon of this user, or one trusted on purpose,
// may see them. Checked before the Hello leaves.
void Channel::check_daemon_uid(std::optional<uid_t> daemon_uid) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(socket_.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred,
                   &len) != 0) {
    throw ConnectionError("cannot read the credentials of the daemon at " +
                          path_ + ": " + std::strerror(errno));
  }
  for (uid_t u : trusted_uids(daemon_uid)) {
    if (cred.uid == u) return;
  }
  throw UntrustedDaemonError(
      "refusing the bocd daemon at " + path_ + ": it runs as " +
      proto::describe_uid(cred.uid) + " (pid " + std::to_string(cred.pid) +
      "), not as this process's " + proto::describe_uid(::geteuid()) +
      (daemon_uid ? " nor the trusted " + proto::describe_uid(*daemon_uid)
                  : std::string()) +
      "; set BOCD_DAEMON_UID to its uid if it is a service you trust");
}

Channel::~Channel() { close(); }

void Channel::handshake(fb::Role role, const std::string& program,
                        const proto::Encoder::HelloExtras& extras) {
  std::vector<std::uint8_t> hello;
  proto::Encoder enc(hello);
  enc.hello(role, static_cast<std::int32_t>(::getpid()), program, extras);
  boost::system::error_code ec;
  asio::write(socket_, asio::buffer(hello), ec);
  // A daemon answers at once; one that does not (hung, or not a bocd
  // daemon) must not hold the caller for ever.
  auto deadline = std::chrono::steady_clock::now() + HANDSHAKE_TIMEOUT;
  for (;;) {
    std::span<const std::uint8_t> body;
    auto next = frames_.next(body);
    if (next == proto::FrameBuffer::Next::frame) {
      std::string why;
      const fb::Envelope* env = proto::verify_envelope(body, why);
      if (env == nullptr) throw ConnectionError("bad reply from daemon: " + why);
      if (const fb::Error* e = env->message_as_Error()) {
        throw Error(static_cast<Errc>(e->code()),
                    e->message() ? e->message()->str() : "handshake refused");
      }
      const fb::Welcome* w = env->message_as_Welcome();
      if (w == nullptr) throw ConnectionError("daemon did not welcome us");
      welcome_ = Welcome{w->session(), w->id_base(), w->id_count(),
                         w->max_cowns_per_behavior(), w->max_frame_bytes(),
                         w->notice_keys() ? w->notice_keys() : 64u,
                         w->max_in_flight(),
                         w->blob_prefix() ? w->blob_prefix()->str() : ""};
      if (!welcome_.blob_prefix.empty() &&
          !proto::valid_blob_prefix(welcome_.blob_prefix)) {
        throw ConnectionError("daemon at " + path_ +
                              " sent a malformed blob prefix '" +
                              welcome_.blob_prefix + "'");
      }
      // The daemon sends frames as large as it accepts.
      frames_.set_max_frame_bytes(
          std::max(w->max_frame_bytes(), proto::DEFAULT_MAX_FRAME_BYTES));
      frames_.pop();
      return;
    }
    if (next != proto::FrameBuffer::Next::need_more) {
      throw ConnectionError("bad frame from daemon at " + path_);
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{socket_.native_handle(), POLLIN, 0};
    int ready = left.count() > 0
                    ? ::poll(&p, 1, static_cast<int>(left.count()))
                    : 0;
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) {
      throw ConnectionError(
          "the bocd daemon at " + path_ + " did not answer the handshake "
          "within " + std::to_string(HANDSHAKE_TIMEOUT.count()) + " s");
    }
    auto space = frames_.prepare(4096);
    std::size_t n = socket_.read_some(asio::buffer(space.data(), space.size()),
                                      ec);
    if (ec) {
      throw ConnectionError("the bocd daemon at " + path_ +
                            " closed the connection during the handshake: " +
                            ec.message());
    }
    frames_.commit(n);
  }
}

void Channel::start(OnFrame on_frame, OnClose on_close) {
  on_frame_ = std::move(on_frame);
  on_close_ = std::move(on_close);
  // read() first handles any frames that arrived with the Welcome.
  asio::post(io_, [this] { read(); });
  thread_ = std::thread([this] {
    io_thread_.store(std::this_thread::get_id(), std::memory_order_release);
    io_.run();
  });
}

void Channel::read() {
  for (;;) {
    std::span<const std::uint8_t> body;
    auto next = frames_.next(body);
    if (next == proto::FrameBuffer::Next::need_more) break;
    if (next != proto::FrameBuffer::Next::frame) {
      return fail("bad frame from the daemon at " + path_);
    }
    std::string why;
    const fb::Envelope* env = proto::verify_envelope(body, why);
    if (env == nullptr) return fail("bad message from the daemon: " + why);
    on_frame_(*env, body);
    frames_.pop();
  }
  hand_over_io_output();
  auto space = frames_.prepare(64 * 1024);
  socket_.async_read_some(
      asio::buffer(space.data(), space.size()),
      [this](const boost::system::error_code& ec, std::size_t n) {
        if (ec) {
          return fail("connection to the bocd daemon at " + path_ +
                      " lost: " + ec.message());
        }
        frames_.commit(n);
        read();
      });
}

void Channel::hand_over_io_output() {
  if (io_out_.empty()) return;
  std::lock_guard<std::mutex> lock(mu_);
  pending_.insert(pending_.end(), io_out_.begin(), io_out_.end());
  io_out_.clear();
  schedule_flush_locked();
}

void Channel::flush_urgent() {
  std::lock_guard<std::mutex> lock(mu_);
  if (on_io_thread() && !io_out_.empty()) {
    pending_.insert(pending_.end(), io_out_.begin(), io_out_.end());
    io_out_.clear();
  }
  write_direct_locked();
}

void Channel::write_direct_locked() {
  if (closed_) {  // frames sent after the close go nowhere
    pending_.clear();
    return;
  }
  // One writer at a time: the async chain owns the socket while in flight
  // (never with sync_writes_, where every writer finishes its write).
  if (async_in_flight_ || pending_.empty()) return;
  std::size_t done = 0;
  int fd = socket_.native_handle();
  while (done < pending_.size()) {
    ssize_t n = ::send(fd, pending_.data() + done, pending_.size() - done,
                       MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) {
      done += static_cast<std::size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) &&
               sync_writes_) {
      pollfd p{fd, POLLOUT, 0};
      ::poll(&p, 1, -1);  // the daemon reads whenever it can
    } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
               errno != ENOMEM && errno != ENOBUFS) {
      pending_.clear();  // the connection is gone; the read side reports it
      return;
    } else {
      break;  // full or short of memory: the async write retries
    }
  }
  pending_.erase(pending_.begin(),
                 pending_.begin() + static_cast<std::ptrdiff_t>(done));
  // A flush posted earlier finds nothing left and stands down; else it
  // writes the rest when the socket has room.
  if (!pending_.empty()) schedule_flush_locked();
}

std::uint64_t Channel::flush_counted() {
  std::lock_guard<std::mutex> lock(mu_);
  if (on_io_thread() && !io_out_.empty()) {
    pending_.insert(pending_.end(), io_out_.begin(), io_out_.end());
    io_out_.clear();
  }
  write_direct_locked();
  // The Hello, then every frame either encoder has sealed.
  return 1 + encoder_.frames() + io_encoder_.frames();
}

void Channel::linger() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) {
      lingering_ = false;
      return;
    }
    if (!pending_.empty()) {
      idle_lingers_ = 0;
      schedule_flush_locked();  // runs next on this thread: no wake-up
    } else if (++idle_lingers_ >= IDLE_LINGERS) {
      idle_lingers_ = 0;
      lingering_ = false;  // the next send wakes this thread again
      return;
    }
  }
  linger_timer_.expires_after(LINGER);
  linger_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) {
      std::lock_guard<std::mutex> lock(mu_);
      lingering_ = false;
      return;
    }
    linger();
  });
}

void Channel::schedule_flush_locked() {
  if (flush_scheduled_) return;
  flush_scheduled_ = true;
  asio::post(io_, [this] { flush(); });
}

void Channel::flush() {
  if (sync_writes_) {
    std::lock_guard<std::mutex> lock(mu_);
    flush_scheduled_ = false;
    if (failed_) {
      pending_.clear();
      return;
    }
    write_direct_locked();
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (pending_.empty() || failed_) {
      pending_.clear();
      flush_scheduled_ = false;
      async_in_flight_ = false;
      return;
    }
    writing_.swap(pending_);
    pending_.clear();
    async_in_flight_ = true;
  }
  asio::async_write(socket_, asio::buffer(writing_),
                    [this](const boost::system::error_code& ec, std::size_t) {
                      writing_.clear();
                      if (ec) {
                        std::lock_guard<std::mutex> lock(mu_);
                        flush_scheduled_ = false;
                        async_in_flight_ = false;
                        // Reported once by the read side's failure.
                        return;
                      }
                      flush();
                    });
}

void Channel::mark_closed() {
  // Callers write the socket directly under mu_ (write_direct_locked):
  // once this is set none will, so the descriptor can be closed (and its
  // number reused) without a write landing elsewhere.
  std::lock_guard<std::mutex> lock(mu_);
  closed_ = true;
  pending_.clear();
}

void Channel::fail(const std::string& why) {
  if (failed_) return;
  failed_ = true;
  mark_closed();
  boost::system::error_code ignored;
  socket_.close(ignored);
  if (on_close_) on_close_(why);
}

void Channel::close() {
  if (thread_.joinable()) {
    asio::post(io_, [this] {
      failed_ = true;
      mark_closed();
      boost::system::error_code ignored;
      socket_.shutdown(stream::socket::shutdown_both, ignored);
      socket_.close(ignored);
      io_.stop();
    });
    thread_.join();
  } else {
    mark_closed();
    boost::system::error_code ignored;
    socket_.close(ignored);
  }
}

}  // namespace bocd::client
