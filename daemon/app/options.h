// The parsed command line of `bocd`: one struct per subcommand.
#pragma once

#include <optional>
#include <string>
#include <variant>

namespace bocd::app {

struct ServeOptions {
  std::string socket;          // empty: default path
  unsigned workers = 0;
  std::string python = "python3";
  unsigned pump_warn_ms = 1000;
  std::string log_level = "info";
  std::string log_file;        // empty: stderr (foreground) or beside socket
  std::string log_format = "text";
  std::size_t log_max_bytes = 16u << 20;  // > 0: rotate the log file here
  std::size_t log_files = 5;      // rotated files kept
  // Members of this group may connect, and so run code as the daemon's
  // user: the socket and its directory are opened to it.
  std::string trust_group;
  bool foreground = false;
  int ready_fd = -1;           // with --foreground: write "ok" here once serving
  double stop_timeout_s = 10.0;
  // A directory the daemon owns (a program's private daemon): on exit it
  // removes its socket and log files there, then the directory if empty.
  std::string owned_dir;
  unsigned max_frame_bytes = 64u << 20;
  unsigned max_cowns_per_behavior = 1024;
  // Behaviors queued on one worker at a time, and the run time under
  // which a busy worker is sent more (see core::Limits). Deep pipelines
  // hide the round trip between short behaviors and let one wake-up feed
  // a worker many; the run-time bound keeps a behavior from waiting
  // behind long ones while another worker idles, so the depth follows
  // the bodies' length up to this cap.
  unsigned worker_pipeline = 32;
  int pipeline_below_us = 200;
  unsigned chain_depth = 8;  // core::Limits::chain_depth
  // A worker reports a body that has run this long as blocking, so what
  // was pipelined behind it goes elsewhere (0: off). Passed to workers.
  unsigned stall_ms = 1;
  // Behaviors one program may have in flight (past it @when waits).
  std::uint64_t max_in_flight = std::uint64_t{1} << 22;
  // Bytes of cown values one program may have stored (0: no cap); the
  // default is set to half the machine's memory by the parser.
  std::uint64_t max_program_bytes = 0;
  // Worker processes kept across programs (0: twice --workers).
  unsigned max_worker_processes = 0;
  // A worker that has run nothing this long is retired.
  double worker_idle_s = 60;
  // Messaging (docs/protocol.md, Messaging): tagged queues per program,
  // messages per queue.
  unsigned max_tags = 16;
  unsigned max_messages = 16384;
  unsigned max_notice_keys = 64;  // noticeboard keys per program
  // Exhaustion (docs/service.md, Limits on connections and memory): connections held (0: sized
  // from the descriptor limit), the handshake deadline (0: none), bytes
  // of large frames being received at once, and the descriptor limit to
  // set (0: as inherited).
  unsigned max_connections = 0;
  unsigned handshake_timeout_ms = 5000;
  std::uint64_t max_receive_bytes = std::uint64_t{256} << 20;
  unsigned nofile = 0;
  // Shared-memory rings (docs/protocol.md, Shared-memory rings): bytes per
  // ring (0: every session stays on its socket), how long an idle ring is
  // watched before the daemon parks on it, and how long each session's IO
  // thread watches its own.
  std::uint64_t ring_bytes = 256 * 1024;
  unsigned spin_us = 200;
  unsigned peer_spin_us = 0;
  // Executor (docs/cluster.md): "local" (workers only) or "ray" (each
  // Python program also gets a bridge to the Ray cluster at ray_address,
  // with executor_slots places; 0: the cluster's CPUs).
  std::string executor = "local";
  std::string ray_address;
  unsigned executor_slots = 0;
};

struct StatusOptions {
  std::string socket;
  bool json = false;
};

struct QuiesceOptions {
  std::string socket;
  double timeout_s = 0;  // 0: no bound
  bool stats = false;
  bool json = false;
};

struct StopOptions {
  std::string socket;
  double timeout_s = 30;
};

using Command =
    std::variant<ServeOptions, StatusOptions, QuiesceOptions, StopOptions>;

// Parses argv. On --help, or a usage error (message already printed),
// returns the exit code to use instead.
std::variant<Command, int> parse_command_line(int argc, char** argv);

}  // namespace bocd::app
