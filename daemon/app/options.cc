#include "options.h"

#include <CLI/CLI.hpp>

#include <cstdlib>

#include "machine.h"
#include "exit_codes.h"

namespace bocd::app {
namespace {

void add_serve_options(CLI::App& app, ServeOptions& o) {
  app.add_option("--socket", o.socket, "UNIX socket path (default: "
                 "$BOCD_SOCKET, $XDG_RUNTIME_DIR/bocd/bocd.sock or "
                 "/tmp/bocd-$UID/bocd.sock)");
  app.add_option("--workers", o.workers,
                 "behaviors that run at once on the workers the daemon "
                 "starts, across programs; 0: it starts none (default: "
                 "physical cores)")
      ->check(CLI::Range(0u, 4096u))
      ->capture_default_str();
  app.add_option("--python", o.python,
                 "interpreter of the workers of programs that do not say "
                 "theirs (a Python program runs its own) (default: "
                 "$BOCD_PYTHON, which the bocd command sets to its own, else "
                 "python3)")
      ->capture_default_str();
  app.add_option("--pump-warn-ms", o.pump_warn_ms,
                 "warn when a program leaves pinned work waiting this long "
                 "(0 disables)");
  app.add_option("--log-level", o.log_level, "trace|debug|info|warn|error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  app.add_option("--log-file", o.log_file, "log to this file (SIGHUP reopens)");
  app.add_option("--log-max-bytes", o.log_max_bytes,
                 "rotate the log file at this size (0: never; use SIGHUP "
                 "with logrotate instead)")->capture_default_str();
  app.add_option("--log-files", o.log_files, "rotated log files to keep")
      ->check(CLI::Range(1, 1000));
  app.add_option("--log-format", o.log_format, "text|json")
      ->check(CLI::IsMember({"text", "json"}));
  app.add_option("--trust-group", o.trust_group,
                 "let members of this group connect: they run code as the "
                 "daemon's user (socket 0660, directory 0750, this group)");
  app.add_option_function<std::string>("--allow-group", [](const std::string&) {
    throw CLI::ValidationError("--allow-group", "renamed --trust-group GROUP "
                               "(members of GROUP run code as the daemon's "
                               "user)");
  })->group("");  // hidden: kept only to name its replacement
  app.add_flag("--foreground", o.foreground,
               "stay attached to the terminal instead of detaching");
  app.add_option("--ready-fd", o.ready_fd,
                 "with --foreground: write \"ok\" to this file descriptor "
                 "once serving, or \"failed:<why>\" (for supervisors)");
  app.add_option("--owned-dir", o.owned_dir,
                 "on exit, remove the socket and log files in this directory, "
                 "then the directory if empty (a program's private daemon)");
  app.add_option("--stop-timeout", o.stop_timeout_s,
                 "seconds to let in-flight behaviors finish on stop")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--max-frame", o.max_frame_bytes, "largest frame in bytes")
      ->check(CLI::Range(1024u, 1u << 30));
  app.add_option("--max-cowns", o.max_cowns_per_behavior,
                 "largest request set of one behavior")
      ->check(CLI::Range(1u, 1u << 20));
  app.add_option("--worker-pipeline", o.worker_pipeline,
                 "behaviors sent to one worker ahead of its completions")
      ->check(CLI::Range(1u, 64u));
  app.add_option("--pipeline-below-us", o.pipeline_below_us,
                 "send a busy worker more only while its recent behaviors "
                 "ran shorter than this (microseconds; -1: always)")
      ->check(CLI::Range(-1, 60'000'000));
  app.add_option("--chain-depth", o.chain_depth,
                 "behaviors sent to a worker ahead of the behaviors they "
                 "wait for there (pipelined dispatch; 0: none)")
      ->check(CLI::Range(0u, 64u));
  app.add_option("--max-worker-processes", o.max_worker_processes,
                 "worker processes kept across programs, busy or idle (0: "
                 "twice --workers)")
      ->check(CLI::Range(0u, 65536u));
  app.add_option("--worker-idle-s", o.worker_idle_s,
                 "retire a worker that has run nothing for this long")
      ->check(CLI::PositiveNumber);
  app.add_option("--max-in-flight", o.max_in_flight,
                 "behaviors one program may have in flight; a program near "
                 "it waits to submit more")
      ->check(CLI::Range(std::uint64_t{16}, std::uint64_t{1} << 40));
  app.add_option("--max-program-bytes", o.max_program_bytes,
                 "bytes of cown values (and their shared-memory blobs) one "
                 "program may have stored; past it the cown holds a "
                 "MemoryError (0: no cap; default: half of memory)")
      ->check(CLI::Range(std::uint64_t{0}, std::uint64_t{1} << 50));
  app.add_option("--stall-ms", o.stall_ms,
                 "a worker gives back what was pipelined behind a body that "
                 "has run this long (milliseconds; 0: only when it waits)")
      ->check(CLI::Range(0u, 60'000u));
  app.add_option("--max-tags", o.max_tags,
                 "message queues (tags) per program")
      ->check(CLI::Range(1u, 4096u));
  app.add_option("--max-notice-keys", o.max_notice_keys,
                 "noticeboard keys per program")
      ->check(CLI::Range(1u, 1u << 16));
  app.add_option("--max-messages", o.max_messages,
                 "messages one tag's queue holds")
      ->check(CLI::Range(1u, 1u << 24));
  app.add_option("--max-connections", o.max_connections,
                 "connections held at once; one more is refused with an "
                 "error (0: the descriptor limit less room for workers)");
  app.add_option("--handshake-timeout-ms", o.handshake_timeout_ms,
                 "close a connection that has not completed its handshake "
                 "this long after connecting (0: never)");
  app.add_option("--max-receive-bytes", o.max_receive_bytes,
                 "bytes of large frames being received at once, across "
                 "connections; a reader past it waits")
      ->check(CLI::Range(std::uint64_t{1} << 20, std::uint64_t{1} << 40));
  app.add_option("--ring-bytes", o.ring_bytes,
                 "bytes in each of a session's two shared-memory rings, a "
                 "power of two (0: frames travel on the socket)")
      ->check([](const std::string& v) -> std::string {
        std::uint64_t n = 0;
        try {
          n = std::stoull(v);
        } catch (const std::exception&) {
          return "must be a number of bytes";
        }
        bool pow2 = n != 0 && (n & (n - 1)) == 0;
        if (n == 0 || (pow2 && n >= 4096 && n <= (std::uint64_t{1} << 30))) {
          return "";
        }
        return "must be 0 or a power of two from 4096 to 1073741824";
      });
  app.add_option("--spin-us", o.spin_us,
                 "longest the daemon watches its idle rings before it "
                 "parks, in microseconds (0: park at once); it spins less, "
                 "or not at all, while work comes back later than that")
      ->check(CLI::Range(0u, 100'000u));
  app.add_option("--peer-spin-us", o.peer_spin_us,
                 "longest each program's and worker's IO thread watches "
                 "its idle ring before it parks, in microseconds (0: park "
                 "at once)")
      ->check(CLI::Range(0u, 100'000u));
  app.add_option("--executor", o.executor, "where behaviors run: local "
                 "(workers) or ray (also a Ray cluster, docs/cluster.md)")
      ->check(CLI::IsMember({"local", "ray"}));
  app.add_option("--ray-address", o.ray_address, "the cluster --executor ray "
                 "uses, as ray.init(address=...) takes it (empty: a local Ray)");
  app.add_option("--executor-slots", o.executor_slots, "behaviors one "
                 "program runs at once on the cluster (0: its CPUs)")
      ->check(CLI::Range(0u, 1u << 20));
  app.add_option("--nofile", o.nofile,
                 "set the daemon's file descriptor limit (RLIMIT_NOFILE) "
                 "(0: as inherited)");
}

}  // namespace

std::variant<Command, int> parse_command_line(int argc, char** argv) {
  CLI::App app{"bocd: Behavior-Oriented Concurrency as a service", "bocd"};
  app.set_version_flag("--version", "bocd " BOCD_VERSION);
  app.option_defaults()->always_capture_default();
  // A misspelt key in --config must not be dropped in silence.
  app.allow_config_extras(CLI::config_extras_mode::error);
  app.require_subcommand(0, 1);
  // `bocd --workers N` alone means `bocd serve --workers N`: both sets of
  // options write the same struct. The config file is read by the top
  // level (CLI11 reads it there only): its plain keys and its [serve]
  // section both land in `serve`.
  ServeOptions serve;
  serve.workers = physical_cores();
  serve.max_program_bytes = physical_memory() / 2;
  if (const char* python = std::getenv("BOCD_PYTHON"); python && *python) {
    serve.python = python;
  }
  add_serve_options(app, serve);
  app.set_config("--config", "", "read serve options from a TOML/INI file");
  auto* serve_cmd = app.add_subcommand("serve", "run the daemon");
  add_serve_options(*serve_cmd, serve);
  serve_cmd->fallthrough();  // `bocd serve --config F`

  StatusOptions status;
  auto* status_cmd = app.add_subcommand("status", "show the daemon's state");
  status_cmd->add_option("--socket", status.socket, "daemon socket");
  status_cmd->add_flag("--json", status.json, "print JSON");

  QuiesceOptions quiesce;
  auto* quiesce_cmd = app.add_subcommand(
      "quiesce", "wait until no behavior is in flight (a checkpoint)");
  quiesce_cmd->add_option("--socket", quiesce.socket, "daemon socket");
  quiesce_cmd->add_option("--timeout", quiesce.timeout_s,
                          "give up after this many seconds (exit 4)")
      ->check(CLI::NonNegativeNumber);
  quiesce_cmd->add_flag("--stats", quiesce.stats, "print daemon stats after");
  quiesce_cmd->add_flag("--json", quiesce.json, "print JSON");

  StopOptions stop;
  auto* stop_cmd = app.add_subcommand("stop", "stop the daemon gracefully");
  stop_cmd->add_option("--socket", stop.socket, "daemon socket");
  stop_cmd->add_option("--timeout", stop.timeout_s,
                       "give up after this many seconds (exit 4)")
      ->check(CLI::NonNegativeNumber);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return EXIT_USAGE;
  }
  if (*serve_cmd) return Command{serve};
  if (*status_cmd) return Command{status};
  if (*quiesce_cmd) return Command{quiesce};
  if (*stop_cmd) return Command{stop};
  if (argc > 1) return Command{serve};
  std::fputs(app.help().c_str(), stderr);
  return EXIT_USAGE;
}

}  // namespace bocd::app
