#include "app.h"

#include <variant>

#include "admin_commands.h"
#include "daemon.h"
#include "options.h"

namespace bocd::app {

int main(int argc, char** argv) {
  auto parsed = parse_command_line(argc, argv);
  if (const int* code = std::get_if<int>(&parsed)) return *code;
  return std::visit(
      [](const auto& options) -> int {
        using T = std::decay_t<decltype(options)>;
        if constexpr (std::is_same_v<T, ServeOptions>) return serve(options);
        if constexpr (std::is_same_v<T, StatusOptions>) {
          return run_status(options);
        }
        if constexpr (std::is_same_v<T, QuiesceOptions>) {
          return run_quiesce(options);
        }
        if constexpr (std::is_same_v<T, StopOptions>) return run_stop(options);
      },
      std::get<Command>(parsed));
}

}  // namespace bocd::app
