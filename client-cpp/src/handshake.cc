#include "handshake.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "bocd/client/errors.h"
#include "bocd/proto/blob_name.h"
#include "bocd/proto/fd_passing.h"
#include "bocd/proto/socket_dir.h"

namespace bocd::client {

namespace asio = boost::asio;
namespace fb = proto::fb;
using stream = asio::local::stream_protocol;

std::optional<uid_t> daemon_uid_from_env() {
  try {
    return proto::trusted_daemon_uid_from_env();
  } catch (const std::invalid_argument& e) {
    throw UntrustedDaemonError(e.what());
  }
}

namespace {

constexpr std::chrono::seconds HANDSHAKE_TIMEOUT{5};

std::vector<uid_t> trusted_uids(std::optional<uid_t> daemon_uid) {
  std::vector<uid_t> uids{::geteuid()};
  if (daemon_uid) uids.push_back(*daemon_uid);
  return uids;
}

// Whoever owns or may write to the directory could have put any socket
// there: refuse it before connecting, whatever its daemon would say.
void check_directory(const std::string& path,
                     std::optional<uid_t> daemon_uid) {
  std::string problem = proto::socket_dir_problem(
      std::filesystem::path(path).parent_path().string(),
      trusted_uids(daemon_uid));
  if (!problem.empty()) {
    throw UntrustedDaemonError("refusing the bocd socket " + path + ": " +
                               problem);
  }
}

// Why a user may not connect: whose the socket is (or its directory, when
// that keeps the user out), and what lets others in. "" when neither can
// be looked at.
std::string socket_owner(const std::string& path) {
  struct stat st {};
  std::string what = "socket";
  if (::stat(path.c_str(), &st) != 0) {
    std::string dir = std::filesystem::path(path).parent_path().string();
    if (::stat(dir.c_str(), &st) != 0) return "";
    what = "directory " + dir;
  }
  return " (the " + what + ": " + proto::describe_owner(st) +
         "; a daemon lets another user in only when served with "
         "--trust-group, and then only that group's members)";
}

void connect(stream::socket& socket, const std::string& path) {
  boost::system::error_code ec;
  socket.connect(stream::endpoint(path), ec);
  if (ec == boost::asio::error::not_found ||
      ec == boost::system::errc::no_such_file_or_directory ||
      ec == boost::asio::error::connection_refused) {
    throw NoDaemonError("no bocd daemon at " + path + ": " + ec.message());
  }
  if (ec == boost::system::errc::permission_denied) {
    throw ConnectionError("cannot connect to the bocd daemon at " + path +
                          ": " + ec.message() + socket_owner(path));
  }
  if (ec) {
    throw ConnectionError("cannot connect to the bocd daemon at " + path +
                          ": " + ec.message());
  }
}

// Values (pickles, for Python) are sent to the daemon's workers and read
// back from them: only a daemon of this user, or one trusted on purpose,
// may see them. Checked before the Hello leaves.
void check_daemon_uid(stream::socket& socket, const std::string& path,
                      std::optional<uid_t> daemon_uid) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(socket.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred,
                   &len) != 0) {
    throw ConnectionError("cannot read the credentials of the daemon at " +
                          path + ": " + std::strerror(errno));
  }
  for (uid_t u : trusted_uids(daemon_uid)) {
    if (cred.uid == u) return;
  }
  throw UntrustedDaemonError(
      "refusing the bocd daemon at " + path + ": it runs as " +
      proto::describe_uid(cred.uid) + " (pid " + std::to_string(cred.pid) +
      "), not as this process's " + proto::describe_uid(::geteuid()) +
      (daemon_uid ? " nor the trusted " + proto::describe_uid(*daemon_uid)
                  : std::string()) +
      "; set BOCD_DAEMON_UID to its uid if it is a service you trust");
}

// The Welcome, checked, or throws what the daemon said instead.
Welcome read_welcome(std::span<const std::uint8_t> body,
                     const std::string& path) {
  std::string why;
  const fb::Envelope* env = proto::verify_envelope(body, why);
  if (env == nullptr) throw ConnectionError("bad reply from daemon: " + why);
  if (const fb::Error* e = env->message_as_Error()) {
    throw Error(static_cast<Errc>(e->code()),
                e->message() ? e->message()->str() : "handshake refused");
  }
  const fb::Welcome* w = env->message_as_Welcome();
  if (w == nullptr) throw ConnectionError("daemon did not welcome us");
  Welcome welcome{w->session(), w->id_base(), w->id_count(),
                  w->max_cowns_per_behavior(), w->max_frame_bytes(),
                  w->notice_keys() ? w->notice_keys() : 64u,
                  w->max_in_flight(),
                  w->blob_prefix() ? w->blob_prefix()->str() : "",
                  w->ring_bytes(), w->spin_us()};
  if (!welcome.blob_prefix.empty() &&
      !proto::valid_blob_prefix(welcome.blob_prefix)) {
    throw ConnectionError("daemon at " + path +
                          " sent a malformed blob prefix '" +
                          welcome.blob_prefix + "'");
  }
  return welcome;
}

// Reads more of the handshake into `frames`, waiting until `deadline`.
// With `fds`, the read also takes the descriptors a Welcome may carry
// (up to three, on its first byte).
void read_some(stream::socket& socket, proto::FrameBuffer& frames,
               const std::string& path,
               std::chrono::steady_clock::time_point deadline,
               std::vector<proto::UniqueFd>* fds) {
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{socket.native_handle(), POLLIN, 0};
    int ready = left.count() > 0
                    ? ::poll(&p, 1, static_cast<int>(left.count()))
                    : 0;
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) {
      throw ConnectionError(
          "the bocd daemon at " + path + " did not answer the handshake "
          "within " + std::to_string(HANDSHAKE_TIMEOUT.count()) + " s");
    }
    break;
  }
  boost::system::error_code ec;
  auto space = frames.prepare(4096);
  if (fds != nullptr && fds->empty()) {
    proto::ReceivedFds got;
    try {
      got = proto::receive_with_fds(socket.native_handle(), space, 3, true);
    } catch (const std::exception& e) {
      throw ConnectionError("the bocd daemon at " + path +
                            " sent a bad handshake: " + e.what());
    }
    if (got.bytes == 0) {
      throw ConnectionError("the bocd daemon at " + path +
                            " closed the connection during the handshake");
    }
    *fds = std::move(got.fds);
    frames.commit(got.bytes);
    return;
  }
  std::size_t n =
      socket.read_some(asio::buffer(space.data(), space.size()), ec);
  if (ec) {
    throw ConnectionError("the bocd daemon at " + path +
                          " closed the connection during the handshake: " +
                          ec.message());
  }
  frames.commit(n);
}

}  // namespace

Handshake connect_and_handshake(asio::io_context& io,
                                const ChannelOptions& options) {
  const std::string& path = options.path;
  check_directory(path, options.daemon_uid);
  Handshake h{stream::socket(io), Welcome{}, proto::FrameBuffer()};
  connect(h.socket, path);
  check_daemon_uid(h.socket, path, options.daemon_uid);
  std::vector<std::uint8_t> hello;
  proto::Encoder enc(hello);
  enc.hello(options.role, static_cast<std::int32_t>(::getpid()),
            options.program, options.extras);
  boost::system::error_code ec;
  asio::write(h.socket, asio::buffer(hello), ec);
  // A daemon answers at once; one that does not (hung, or not a bocd
  // daemon) must not hold the caller for ever.
  auto deadline = std::chrono::steady_clock::now() + HANDSHAKE_TIMEOUT;
  for (;;) {
    std::span<const std::uint8_t> body;
    auto next = h.frames.next(body);
    if (next == proto::FrameBuffer::Next::frame) {
      h.welcome = read_welcome(body, path);
      if (h.welcome.ring_bytes > 0 && h.fds.size() != 3) {
        throw ConnectionError("the bocd daemon at " + path +
                              " offered shared-memory rings without their "
                              "descriptors");
      }
      if (h.welcome.ring_bytes == 0) h.fds.clear();
      // The daemon sends frames as large as it accepts.
      h.frames.set_max_frame_bytes(
          std::max(h.welcome.max_frame, proto::DEFAULT_MAX_FRAME_BYTES));
      h.frames.pop();
      return h;
    }
    if (next != proto::FrameBuffer::Next::need_more) {
      throw ConnectionError("bad frame from daemon at " + path);
    }
    read_some(h.socket, h.frames, path, deadline,
              options.extras.ring ? &h.fds : nullptr);
  }
}

}  // namespace bocd::client
