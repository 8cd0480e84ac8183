#include "ring_channel.h"

#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

#include "bocd/client/errors.h"
#include "bocd/proto/wake.h"
#include "frame_delivery.h"

namespace bocd::client {

namespace asio = boost::asio;
using stream = asio::local::stream_protocol;

namespace {

proto::Segment map_segment(proto::UniqueFd fd, const std::string& path) {
  try {
    return proto::Segment::map(std::move(fd));
  } catch (const std::exception& e) {
    throw ConnectionError("the bocd daemon at " + path +
                          " handed over a bad ring segment: " + e.what());
  }
}

// An epoll set watching `fd` for input; the IO thread waits on the set,
// not on the fd, so another thread can take the fd out of its sight.
proto::UniqueFd make_watch(int fd) {
  proto::UniqueFd set(::epoll_create1(EPOLL_CLOEXEC));
  if (!set) throw std::system_error(errno, std::generic_category(), "epoll");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = fd;
  if (::epoll_ctl(set.get(), EPOLL_CTL_ADD, fd, &ev) != 0) {
    throw std::system_error(errno, std::generic_category(), "epoll_ctl");
  }
  return set;
}

// How long a caller holding the reader role parks at most before it looks
// at its own state again (a close reaches it sooner: fail() signals).
constexpr std::chrono::milliseconds CALLER_PARK_MAX(200);

}  // namespace

thread_local const RingChannel* RingChannel::reading_ = nullptr;

RingChannel::RingChannel(Handshake h, const ChannelOptions& options)
    : path_(options.path),
      socket_frames_(std::move(h.frames)),
      segment_(map_segment(std::move(h.fds.at(0)), options.path)),
      daemon_wake_(std::move(h.fds.at(1))),
      reader_(segment_.from_daemon(), daemon_wake_.get()),
      frames_(socket_frames_.max_frame_bytes()),
      spin_(h.welcome.spin_us),
      welcome_(std::move(h.welcome)),
      caller_writes_(options.caller_writes),
      writer_(segment_.to_daemon(), daemon_wake_.get()) {
  if (segment_.ring_capacity() != welcome_.ring_bytes) {
    throw ConnectionError("the bocd daemon at " + path_ +
                          " handed over rings of " +
                          std::to_string(segment_.ring_capacity()) +
                          " bytes, not the " +
                          std::to_string(welcome_.ring_bytes) + " it said");
  }
  own_wake_ = std::move(h.fds.at(2));
  try {
    watch_.assign(make_watch(own_wake_.get()).release());
  } catch (const std::exception& e) {
    throw ConnectionError("cannot watch the ring from the bocd daemon at " +
                          path_ + ": " + e.what());
  }
  socket_.assign(stream(), h.socket.release());
}

RingChannel::~RingChannel() { close(); }

void RingChannel::start(OnFrame on_frame, OnClose on_close) {
  on_frame_ = std::move(on_frame);
  on_close_ = std::move(on_close);
  asio::post(io_, [this] {
    // Frames that came on the socket with the Welcome go first.
    std::string why = deliver_frames(socket_frames_, on_frame_, path_);
    if (!why.empty()) return fail(why);
    read_socket();
    pump();
  });
  io_thread_.start();
}

void RingChannel::send(Encode encode) {
  bool io = on_io_thread();
  if (io) hand_over_io_output();
  std::lock_guard<std::mutex> lock(mu_);
  encode(encoder_);
  push_locked(caller_writes_);
}

void RingChannel::send_urgent(Encode encode) { send(encode); }

void RingChannel::flush_urgent() {
  if (on_io_thread()) hand_over_io_output();
  std::lock_guard<std::mutex> lock(mu_);
  push_locked(caller_writes_);
}

std::uint64_t RingChannel::flush_counted() {
  if (on_io_thread()) hand_over_io_output();
  std::lock_guard<std::mutex> lock(mu_);
  push_locked(true);
  // The Hello, then every frame either encoder has sealed.
  return 1 + encoder_.frames() + io_encoder_.frames();
}

void RingChannel::hand_over_io_output() {
  if (io_out_.empty()) return;
  std::lock_guard<std::mutex> lock(mu_);
  pending_.insert(pending_.end(), io_out_.begin(), io_out_.end());
  io_out_.clear();
  push_locked(caller_writes_);
}

void RingChannel::push_locked(bool wait) {
  while (!closed_ && pending_sent_ < pending_.size()) {
    proto::RingResult r = writer_.try_write(
        std::span<const std::uint8_t>(pending_).subspan(pending_sent_));
    if (!r.ok()) {
      closed_ = true;
      asio::post(io_, [this, why = std::string(proto::describe(r.error))] {
        fail("the ring to the bocd daemon at " + path_ + " broke: " + why);
      });
      return;
    }
    pending_sent_ += r.bytes;
    if (r.bytes > 0) writer_.wake_peer_if_parked();
    if (pending_sent_ == pending_.size()) break;
    if (!wait) {
      // The IO thread writes the rest when the daemon makes room (it
      // parks with the writer's flag up: park()).
      if (!nudged_) {
        nudged_ = true;
        asio::post(io_, [this] { pump(); });
      }
      return;
    }
    // A spin long enough to catch the daemon draining a full ring, then a
    // park on this side's eventfd.
    proto::SpinThenPark room(std::chrono::microseconds(50),
                             std::chrono::milliseconds(10));
    room.wait_writable(writer_, own_wake_.get());
    // The IO thread may park on the same eventfd, and the wait above
    // drained it: pass the wake-up on, in case it was the reader's.
    if (!on_io_thread()) proto::signal_eventfd(own_wake_.get());
  }
  if (pending_sent_ == pending_.size()) {
    pending_.clear();
    pending_sent_ = 0;
  }
}

void RingChannel::pump() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    nudged_ = false;
  }
  if (failed_ || !have_role(false)) return;
  auto until = std::chrono::steady_clock::now() + spin_;
  for (;;) {
    if (pump_once()) {
      if (failed_) return;
      until = std::chrono::steady_clock::now() + spin_;
      continue;
    }
    if (spin_.count() == 0 || std::chrono::steady_clock::now() >= until) break;
    // Watching costs no syscall; the clock is read once per 64 looks.
    for (int i = 0; i < 64 && reader_.available_bytes() == 0; ++i) {
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    }
  }
  park();
}

bool RingChannel::pump_once() {
  bool got = false;
  std::string why = read_and_deliver(got);
  if (!why.empty()) {
    fail(why);
    return true;
  }
  return got;
}

std::string RingChannel::read_and_deliver(bool& got) {
  proto::RingResult r = reader_.read_into(frames_);
  if (!r.ok()) {
    return "the ring from the bocd daemon at " + path_ + " broke: " +
           proto::describe(r.error);
  }
  if (r.bytes > 0) reader_.wake_peer_if_parked();
  std::string why = deliver_frames(frames_, on_frame_, path_);
  if (!why.empty()) return why;
  bool wrote = false;
  {
    hand_over_io_output();
    std::lock_guard<std::mutex> lock(mu_);
    std::size_t before = pending_sent_ + pending_.size();
    push_locked(false);
    wrote = pending_sent_ + pending_.size() != before;
  }
  got = r.bytes > 0 || wrote;
  return "";
}

bool RingChannel::have_role(bool ask_back) {
  std::lock_guard<std::mutex> lock(role_mu_);
  if (caller_reads_) {
    if (ask_back) {
      io_wants_role_ = true;
      proto::signal_eventfd(own_wake_.get());
    }
    return false;
  }
  io_idle_ = false;
  return true;
}

void RingChannel::park() {
  if (failed_) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Waiting for room too: the daemon signals after it reads.
    if (pending_sent_ < pending_.size() && !writer_.announce_parking()) {
      if (!nudged_) {
        nudged_ = true;
        asio::post(io_, [this] { pump(); });
      }
      return;
    }
  }
  if (!reader_.announce_parking()) {
    asio::post(io_, [this] { pump(); });
    return;
  }
  {
    // From here on a caller may take the role (take_reader()).
    std::lock_guard<std::mutex> lock(role_mu_);
    io_idle_ = true;
  }
  if (!waiting_) watch();  // else a pump() posted while parked: armed
}

void RingChannel::watch() {
  waiting_ = true;
  watch_.async_wait(asio::posix::stream_descriptor::wait_read,
                    [this](const boost::system::error_code& ec) {
                      waiting_ = false;
                      if (ec || failed_) return;
                      if (!have_role(false)) {
                        // The signal came just before a caller took the
                        // role, which now reads what it announced. Stay
                        // idle: own_wake_ is out of the set until the
                        // role comes back, so this wait sleeps till then.
                        return watch();
                      }
                      proto::drain_wake_fd(own_wake_.get());
                      pump();
                    });
}

bool RingChannel::take_reader() {
  if (on_io_thread()) return false;
  std::lock_guard<std::mutex> lock(role_mu_);
  if (caller_reads_ || !io_idle_ || io_wants_role_ || ended_) return false;
  // The IO thread sleeps on watch_: with own_wake_ out of it, the daemon's
  // next signal wakes this thread alone.
  if (::epoll_ctl(watch_.native_handle(), EPOLL_CTL_DEL, own_wake_.get(),
                  nullptr) != 0) {
    return false;
  }
  caller_reads_ = true;
  // A body this thread delivers for another client may wait on this one.
  outer_reading_ = reading_;
  reading_ = this;
  return true;
}

bool RingChannel::read_as_reader(std::chrono::steady_clock::time_point until) {
  for (bool parked = false;;) {
    {
      std::lock_guard<std::mutex> lock(role_mu_);
      if (io_wants_role_ || ended_) return false;
    }
    bool got = false;
    std::string why = read_and_deliver(got);
    if (!why.empty()) {
      // Only the IO thread reports a close; it runs this before it
      // resumes (posted first).
      asio::post(io_, [this, why] { fail(why); });
      return false;
    }
    if (got || parked || std::chrono::steady_clock::now() >= until) {
      return true;
    }
    park_caller(until);
    parked = true;
  }
}

void RingChannel::park_caller(std::chrono::steady_clock::time_point until) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Frames that wait for room: the daemon signals after it reads.
    if (pending_sent_ < pending_.size() && !writer_.announce_parking()) {
      return;  // room now: the next read_and_deliver() writes
    }
  }
  if (!reader_.announce_parking()) return;
  auto left = std::chrono::ceil<std::chrono::milliseconds>(
      until - std::chrono::steady_clock::now());
  left = std::clamp(left, std::chrono::milliseconds(0), CALLER_PARK_MAX);
  pollfd p{own_wake_.get(), POLLIN, 0};
  // EINTR or a timeout: the caller looks at its state again either way.
  // Drained only once woken (a syscall fewer per wait); a stale count
  // only makes the next poll return at once, to a read that finds nothing.
  if (::poll(&p, 1, static_cast<int>(left.count())) > 0) {
    proto::drain_wake_fd(own_wake_.get());
  }
}

void RingChannel::give_reader_back() {
  hand_over_io_output();
  reading_ = outer_reading_;
  bool writes_wait;
  {
    std::lock_guard<std::mutex> lock(mu_);
    writes_wait = pending_sent_ < pending_.size();
  }
  std::lock_guard<std::mutex> lock(role_mu_);
  caller_reads_ = false;
  // io_wants_role_ stays up until resume() runs: no caller takes the role
  // in between.
  bool post = !io_idle_ || io_wants_role_ || writes_wait;
  // A signal this thread never parked for (the reply came before it
  // parked) must not wake the IO thread once own_wake_ is back in its
  // set: drained, then parking is announced again, which sees any bytes
  // that came after the last read.
  proto::drain_wake_fd(own_wake_.get());
  if (io_idle_ && !post && !reader_.announce_parking()) {
    // Bytes came after the last read: the IO thread must look.
    proto::signal_eventfd(own_wake_.get());
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = own_wake_.get();
  // If own_wake_ is signalled already, the set is ready at once and the
  // parked IO thread wakes.
  if (::epoll_ctl(watch_.native_handle(), EPOLL_CTL_ADD, own_wake_.get(),
                  &ev) != 0) {
    std::string why = std::system_category().message(errno);
    asio::post(io_, [this, why] {
      fail("cannot watch the ring from the bocd daemon at " + path_ + ": " +
           why);
    });
    return;
  }
  if (post) asio::post(io_, [this] { resume(); });
}

void RingChannel::resume() {
  if (failed_) return;
  {
    std::lock_guard<std::mutex> lock(role_mu_);
    if (caller_reads_) return;  // taken again: its give-back posts again
    io_wants_role_ = false;
    io_idle_ = false;
  }
  if (!socket_end_.empty()) {
    // The daemon wrote the ring before it closed the socket: what it said
    // last (an Error, say) is there.
    pump_once();
    return fail(socket_end_);
  }
  if (socket_held_) {
    socket_held_ = false;
    std::string why = deliver_frames(socket_frames_, on_frame_, path_);
    if (!why.empty()) return fail(why);
    read_socket();
  }
  pump();
}

void RingChannel::read_socket() {
  auto space = socket_frames_.prepare(4096);
  socket_.async_read_some(
      asio::buffer(space.data(), space.size()),
      [this](const boost::system::error_code& ec, std::size_t n) {
        if (ec) {
          if (failed_) return;
          socket_end_ = "connection to the bocd daemon at " + path_ +
                        " lost: " + ec.message();
          if (!have_role(true)) return;  // resume() ends it
          // The daemon wrote the ring before it closed the socket: what
          // it said last (an Error, say) is there.
          pump_once();
          return fail(socket_end_);
        }
        socket_frames_.commit(n);
        // Frames are delivered by the reader role's holder only.
        if (!have_role(true)) {
          socket_held_ = true;  // resume() delivers them
          return;
        }
        std::string why = deliver_frames(socket_frames_, on_frame_, path_);
        if (!why.empty()) return fail(why);
        read_socket();
        pump();  // parks again, letting callers take the role
      });
}

void RingChannel::mark_closed() {
  std::lock_guard<std::mutex> lock(mu_);
  closed_ = true;
  pending_.clear();
  pending_sent_ = 0;
}

void RingChannel::end_for_callers() {
  std::lock_guard<std::mutex> lock(role_mu_);
  ended_ = true;
  // A caller parked with the role wakes, gives it back, and waits as
  // before: the close callback reaches it.
  if (caller_reads_) proto::signal_eventfd(own_wake_.get());
}

void RingChannel::fail(const std::string& why) {
  if (failed_) return;
  failed_ = true;
  mark_closed();
  end_for_callers();
  boost::system::error_code ignored;
  watch_.cancel(ignored);
  socket_.close(ignored);
  if (on_close_) on_close_(why);
}

void RingChannel::close() {
  bool stopped = io_thread_.stop([this] {
    failed_ = true;
    mark_closed();
    end_for_callers();
    boost::system::error_code ignored;
    watch_.cancel(ignored);
    socket_.shutdown(stream::socket::shutdown_both, ignored);
    socket_.close(ignored);
  });
  if (!stopped) {
    mark_closed();
    boost::system::error_code ignored;
    socket_.close(ignored);
  }
}

}  // namespace bocd::client
