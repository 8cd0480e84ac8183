// What a Client keeps so that messages move without a round trip each
// (docs/protocol.md, "Pipelined sends and lent messages"): its credit
// for unanswered sends, per program and tag, and the batches of
// messages the daemon lent it. Plain data, guarded by the Client's mutex;
// the Client sends the frames.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "bocd/client/client.h"

namespace bocd::client {

struct Client::MailAhead {
  // Requests of credited sends: never answered, so never in mail_; an
  // Error naming one is the daemon's late refusal.
  static constexpr std::uint64_t CREDITED = std::uint64_t{1} << 63;

  struct Batch {
    std::uint64_t program = 0;  // as the receive named it (0: own)
    std::string tag;
    std::uint64_t batch = 0;    // the receive that brought it
    std::deque<Value> values;   // not received yet, oldest first
  };

  // Sends the daemon queues unanswered, by (program as named, behavior
  // acting for it, tag): credit granted to one behavior's sends is not
  // spent on another's, which the daemon might refuse.
  std::map<std::tuple<std::uint64_t, std::uint64_t, std::string>,
           std::uint32_t>
      credit;
  std::uint64_t next_credited = CREDITED;
  std::uint64_t unsettled = 0;  // credited sends since the last settle
  std::optional<Error> late;  // a credited send's refusal, raised next
  std::vector<Batch> lent;

  Batch* find(std::uint64_t program, const std::string& tag) {
    for (Batch& b : lent) {
      if (b.program == program && b.tag == tag) return &b;
    }
    return nullptr;
  }
  // Takes out every batch `pick` selects, as the Unlends that give back
  // what is left of each.
  template <class Pick>
  std::vector<MailGiveBack> take_back(Pick pick) {
    std::vector<MailGiveBack> out;
    for (auto it = lent.begin(); it != lent.end();) {
      if (!pick(*it)) {
        ++it;
        continue;
      }
      out.push_back(MailGiveBack{it->program, it->tag, it->batch,
                             static_cast<std::uint32_t>(it->values.size())});
      it = lent.erase(it);
    }
    return out;
  }
};

}  // namespace bocd::client
