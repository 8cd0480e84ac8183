#include "output_lines.h"

#include <array>

#include <spdlog/spdlog.h>

namespace bocd::app {

namespace {

constexpr std::size_t TAIL = 12;       // lines kept
constexpr std::size_t LONGEST = 2000;  // bytes kept of one line

}  // namespace

void OutputLines::attach(int fd, std::string label) {
  fd_ = std::make_unique<boost::asio::posix::stream_descriptor>(io_, fd);
  label_ = std::move(label);
  partial_.clear();
  tail_.clear();
  read();
}

void OutputLines::read() {
  auto buffer = std::make_shared<std::array<char, 4096>>();
  auto* fd = fd_.get();
  std::weak_ptr<int> alive = alive_;
  fd->async_read_some(
      boost::asio::buffer(*buffer),
      [this, buffer, fd, alive](const boost::system::error_code& ec,
                                std::size_t n) {
        // Gone, or attached elsewhere since.
        if (alive.expired() || fd_.get() != fd) return;
        if (ec) {  // its end: a last line without its newline counts too
          if (!partial_.empty()) take("\n");
          return;
        }
        take(std::string_view(buffer->data(), n));
        read();
      });
}

void OutputLines::take(std::string_view chunk) {
  partial_.append(chunk);
  std::size_t start = 0, end;
  while ((end = partial_.find('\n', start)) != std::string::npos) {
    add(partial_.substr(start, std::min(end - start, LONGEST)));
    start = end + 1;
  }
  partial_.erase(0, start);
  if (partial_.size() > LONGEST) partial_.clear();  // no newline at all
}

void OutputLines::add(const std::string& line) {
  spdlog::get("app")->info("{}: {}", label_, line);
  tail_.push_back(line);
  if (tail_.size() > TAIL) tail_.erase(tail_.begin());
}

std::string OutputLines::tail_text() const {
  if (tail_.empty()) return "";
  std::string text = "; its output ended with:";
  for (const std::string& line : tail_) text += "\n  " + line;
  return text;
}

}  // namespace bocd::app
