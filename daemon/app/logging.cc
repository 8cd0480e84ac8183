#include "logging.h"

#include <chrono>
#include <ctime>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "json.h"
#include "log_file_sink.h"
#include "server/log.h"

namespace bocd::app {
namespace {

const char* LOGGERS[] = {"app", "server"};
LogConfig current;

// ISO 8601 in UTC with microseconds and a zone: 2026-12-07T02:10:00.123456Z.
std::string iso_time(spdlog::log_clock::time_point t) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                t.time_since_epoch())
                .count();
  std::time_t secs = static_cast<std::time_t>(us / 1000000);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                     tm.tm_min, tm.tm_sec, us % 1000000);
}

// One JSON object per line: ts, level, logger, message, then the event's
// own fields (server::log_event), each a key of its own. A field named
// like one of the first four is dropped rather than overwrite it.
class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg,
              spdlog::memory_buf_t& dest) override {
    auto level = spdlog::level::to_string_view(msg.level);
    Json line = {
        {"ts", iso_time(msg.time)},
        {"level", std::string_view(level.data(), level.size())},
        {"logger", std::string_view(msg.logger_name.data(),
                                    msg.logger_name.size())},
        {"message", std::string_view(msg.payload.data(), msg.payload.size())},
    };
    for (const server::LogField& f : server::current_log_fields()) {
      if (line.contains(f.name)) continue;
      std::visit([&](const auto& v) { line[std::string(f.name)] = v; },
                 f.value);
    }
    std::string text = dump_json(line);
    text.push_back('\n');
    dest.append(text.data(), text.data() + text.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

// The text format's message (%*): one line whatever the message holds.
// Messages name what peers chose (a program's name, a path); a newline
// there must not start a line that looks like the daemon's own. Control
// characters are shown escaped (\n, \t, \r, \xNN); JSON lines escape
// them already.
class OneLineMessage final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    static constexpr char HEX[] = "0123456789abcdef";
    for (char ch : msg.payload) {
      auto c = static_cast<unsigned char>(ch);
      if (c >= 0x20 && c != 0x7f) {
        dest.push_back(ch);
        continue;
      }
      const char* named = c == '\n' ? "\\n" : c == '\t' ? "\\t"
                          : c == '\r' ? "\\r" : nullptr;
      if (named != nullptr) {
        dest.append(named, named + 2);
      } else {
        const char esc[] = {'\\', 'x', HEX[c >> 4], HEX[c & 15]};
        dest.append(esc, esc + 4);
      }
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<OneLineMessage>();
  }
};

spdlog::sink_ptr make_sink(const LogConfig& config) {
  spdlog::sink_ptr sink;
  if (config.file.empty()) {
    sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  } else {
    sink = std::make_shared<LogFileSink>(config.file, config.max_bytes,
                                         config.max_files);
  }
  if (config.format == "json") {
    sink->set_formatter(std::make_unique<JsonFormatter>());
  } else {
    auto text = std::make_unique<spdlog::pattern_formatter>();
    text->add_flag<OneLineMessage>('*').set_pattern(
        "%Y-%m-%dT%H:%M:%S.%e %^%l%$ [%n] %*");
    sink->set_formatter(std::move(text));
  }
  return sink;
}

void install(const spdlog::sink_ptr& sink) {
  auto level = spdlog::level::from_str(current.level);
  for (const char* name : LOGGERS) {
    auto logger = spdlog::get(name);
    if (!logger) {
      logger = std::make_shared<spdlog::logger>(name, sink);
      spdlog::register_logger(logger);
    } else {
      logger->sinks() = std::vector<spdlog::sink_ptr>{sink};
    }
    logger->set_level(level);
    logger->flush_on(spdlog::level::info);
  }
}

}  // namespace

void setup_logging(const LogConfig& config) {
  current = config;
  install(make_sink(config));
}

void reopen_log_file() {
  if (current.file.empty()) return;
  try {
    install(make_sink(current));
  } catch (const spdlog::spdlog_ex& e) {
    // The daemon keeps serving, logging to the file it had.
    spdlog::get("app")->error("cannot reopen the log: {}", e.what());
    return;
  }
  spdlog::get("app")->info("reopened log file {}", current.file);
}

}  // namespace bocd::app
