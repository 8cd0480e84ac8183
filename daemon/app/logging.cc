#include "logging.h"

#include <memory>
#include <vector>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "json.h"
#include "log_file_sink.h"

namespace bocd::app {
namespace {

const char* LOGGERS[] = {"app", "server"};
LogConfig current;

// One JSON object per line. spdlog's pattern flags cannot escape the
// message, so this small formatter does.
class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg,
              spdlog::memory_buf_t& dest) override {
    auto t = std::chrono::duration_cast<std::chrono::milliseconds>(
        msg.time.time_since_epoch());
    std::string line = "{\"ts_ms\":" + std::to_string(t.count()) +
                       ",\"level\":";
    auto level = spdlog::level::to_string_view(msg.level);
    append_json_string(line, {level.data(), level.size()});
    line += ",\"logger\":";
    append_json_string(line, {msg.logger_name.data(), msg.logger_name.size()});
    line += ",\"msg\":";
    append_json_string(line, {msg.payload.data(), msg.payload.size()});
    line += "}\n";
    dest.append(line.data(), line.data() + line.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
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
    sink->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ [%n] %v");
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
