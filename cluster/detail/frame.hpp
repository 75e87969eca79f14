// The cluster link protocol's frames. Every ZeroMQ message between nodes is
// one header part (a msgpack array: kind, then the kind's fields) and, for
// `events` only, a second part: a batch in the event codec's format. Peers
// are other machines: decode() trusts nothing and refuses with a reason.
//
//   A's link (DEALER)  →  B's listener (ROUTER)     B's listener → A's link
//   hello    name, addr, incarnation, epoch          welcome  name, addr, incarnation,
//   ping     name, addr, incarnation, [member addr]           cursor, interest version, [pattern]
//   events   epoch, frame_no  + batch part           ack      epoch, frame_no, cursor
//   bye      addr, incarnation (leaving: SIGTERM)
//                                                    nack     epoch, cursor
//                                                    interest version, [pattern]
//                                                    rehello  (I do not know you: say hello)
// `cursor` is the highest origin seq of the link's sender that the receiver
// has stored durably; the sender resends from there after a rewind.
#pragma once

#include <evmesh/event.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace evmesh::cluster {

struct hello_frame {
  std::string name;
  std::string addr;  // where the sender's listener is reachable, HOST:PORT
  uint64_t incarnation = 0;
  uint64_t epoch = 0;  // the epoch of the events that follow
};

struct ping_frame {
  std::string name;
  std::string addr;
  uint64_t incarnation = 0;
  std::vector<std::string> members;  // addresses the sender knows (gossip)
};

struct events_frame {
  uint64_t epoch = 0;
  uint64_t frame_no = 0;  // 0, 1, 2, ... within an epoch
  std::vector<event> events;
};

struct welcome_frame {
  std::string name;
  std::string addr;
  uint64_t incarnation = 0;
  uint64_t cursor = 0;
  uint64_t interest_version = 0;
  std::vector<std::string> patterns;
};

struct ack_frame {
  uint64_t epoch = 0;
  uint64_t frame_no = 0;
  uint64_t cursor = 0;
};

struct nack_frame {
  uint64_t epoch = 0;
  uint64_t cursor = 0;
};

struct interest_frame {
  uint64_t version = 0;
  std::vector<std::string> patterns;
};

struct rehello_frame {};

struct bye_frame {
  std::string addr;
  uint64_t incarnation = 0;
};

using frame = std::variant<hello_frame, ping_frame, events_frame, welcome_frame, ack_frame,
                           nack_frame, interest_frame, rehello_frame, bye_frame>;

// The wire form of a frame: one or two message parts.
struct wire_frame {
  std::string header;
  std::string body;  // empty unless the frame is `events`
};

wire_frame encode(const frame& f);

// The events part is passed separately so the header can be read without
// it. true and `out` set, or false and `error` says what is wrong.
bool decode(std::string_view header, std::string_view body, frame& out, std::string& error);

// Limits a frame's lists are held to.
constexpr std::size_t max_members = 4096;
constexpr std::size_t max_patterns = 100000;

} // namespace evmesh::cluster
