// OutputLines: a child process's stdout and stderr, read from a pipe line
// by line. Each line is logged with the child's label, and the last few
// are kept: what a child said before it died explains its death.
//
// Thread: the io_context thread only.
#pragma once

#include <memory>
#include <string>
#include <vector>

// Boost 1.74's asio/awaitable.hpp uses std::exchange without <utility>.
#include <utility>

#include <boost/asio.hpp>

namespace bocd::app {

class OutputLines {
 public:
  explicit OutputLines(boost::asio::io_context& io) : io_(io) {}

  // Reads `fd` (which it takes) until its end, each line logged as
  // "label: line"; forgets what an earlier attach() kept.
  void attach(int fd, std::string label);
  // Adds a line as if read (a template relays its workers' lines).
  void add(const std::string& line);
  // "" or "; its output ended with:" and the last lines, one per line.
  std::string tail_text() const;
  void set_label(std::string label) { label_ = std::move(label); }

 private:
  void read();
  void take(std::string_view chunk);

  boost::asio::io_context& io_;
  std::unique_ptr<boost::asio::posix::stream_descriptor> fd_;
  std::string label_;
  std::string partial_;
  std::vector<std::string> tail_;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);  // as in templates
};

}  // namespace bocd::app
