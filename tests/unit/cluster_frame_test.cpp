// Tests of the cluster link protocol's frame codec (cluster/detail/frame.hpp): a
// round trip of every frame kind, every way a header can be refused (with a
// reason that names the problem), the second part (events only, and a valid
// batch), and a seeded fuzz run over random bytes, random headers and mutated
// valid frames that must decode to a frame that survives a re-encode, or be
// refused with a reason — never throw, never crash.
#include "cluster/detail/frame.hpp"

#include "transports/event_codec.hpp"

#include <gtest/gtest.h>
#include <msgpack.hpp>

#include <cstdint>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <random>
#include <string>
#include <tuple>
#include <vector>

namespace {

using namespace evmesh::cluster;
using evmesh::event;

// --- helpers ------------------------------------------------------------

bool same(const hello_frame& a, const hello_frame& b) {
  return std::tie(a.name, a.addr, a.incarnation, a.epoch) ==
         std::tie(b.name, b.addr, b.incarnation, b.epoch);
}
bool same(const ping_frame& a, const ping_frame& b) {
  return std::tie(a.name, a.addr, a.incarnation, a.members) ==
         std::tie(b.name, b.addr, b.incarnation, b.members);
}
bool same(const events_frame& a, const events_frame& b) {
  return std::tie(a.epoch, a.frame_no, a.events) == std::tie(b.epoch, b.frame_no, b.events);
}
bool same(const welcome_frame& a, const welcome_frame& b) {
  return std::tie(a.name, a.addr, a.incarnation, a.cursor, a.interest_version, a.patterns) ==
         std::tie(b.name, b.addr, b.incarnation, b.cursor, b.interest_version, b.patterns);
}
bool same(const ack_frame& a, const ack_frame& b) {
  return std::tie(a.epoch, a.frame_no, a.cursor) == std::tie(b.epoch, b.frame_no, b.cursor);
}
bool same(const nack_frame& a, const nack_frame& b) {
  return std::tie(a.epoch, a.cursor) == std::tie(b.epoch, b.cursor);
}
bool same(const interest_frame& a, const interest_frame& b) {
  return std::tie(a.version, a.patterns) == std::tie(b.version, b.patterns);
}
bool same(const rehello_frame&, const rehello_frame&) { return true; }
bool same(const bye_frame& a, const bye_frame& b) {
  return std::tie(a.addr, a.incarnation) == std::tie(b.addr, b.incarnation);
}

bool same(const frame& a, const frame& b) {
  if (a.index() != b.index())
    return false;
  return std::visit(
    [&](const auto& x) { return same(x, std::get<std::decay_t<decltype(x)>>(b)); }, a);
}

struct result {
  bool ok = false;
  frame value;
  std::string error;
};

result decode_parts(std::string_view header, std::string_view body = {}) {
  result r;
  r.ok = decode(header, body, r.value, r.error);
  return r;
}

result round_trip(const frame& f) {
  auto wire = encode(f);
  return decode_parts(wire.header, wire.body);
}

// A refusal whose reason contains `expected`.
::testing::AssertionResult refused_with(const result& r, const std::string& expected) {
  if (r.ok)
    return ::testing::AssertionFailure() << "decoded, expected a refusal containing \"" << expected
                                         << "\"";
  if (r.error.find(expected) == std::string::npos)
    return ::testing::AssertionFailure() << "refused with \"" << r.error
                                         << "\", expected it to contain \"" << expected << "\"";
  return ::testing::AssertionSuccess();
}

// Hand-built msgpack headers, including ones the encoder never produces.
class builder {
public:
  builder& array(uint32_t n) { return run([&] { pk_.pack_array(n); }); }
  builder& map(uint32_t n) { return run([&] { pk_.pack_map(n); }); }
  builder& u64(uint64_t v) { return run([&] { pk_.pack_uint64(v); }); }
  builder& i64(int64_t v) { return run([&] { pk_.pack_int64(v); }); }
  builder& f64(double v) { return run([&] { pk_.pack_double(v); }); }
  builder& boolean(bool v) { return run([&] { v ? pk_.pack_true() : pk_.pack_false(); }); }
  builder& nil() { return run([&] { pk_.pack_nil(); }); }
  builder& str(std::string_view s) {
    return run([&] {
      pk_.pack_str(static_cast<uint32_t>(s.size()));
      pk_.pack_str_body(s.data(), static_cast<uint32_t>(s.size()));
    });
  }
  builder& bin(std::string_view s) {
    return run([&] {
      pk_.pack_bin(static_cast<uint32_t>(s.size()));
      pk_.pack_bin_body(s.data(), static_cast<uint32_t>(s.size()));
    });
  }
  builder& strs(const std::vector<std::string>& list) {
    array(static_cast<uint32_t>(list.size()));
    for (const auto& s : list)
      str(s);
    return *this;
  }
  builder& raw(std::string_view bytes) { return run([&] { buf_.write(bytes.data(), bytes.size()); }); }
  std::string bytes() const { return {buf_.data(), buf_.size()}; }

private:
  builder& run(const std::function<void()>& f) {
    f();
    return *this;
  }
  msgpack::sbuffer buf_;
  msgpack::packer<msgpack::sbuffer> pk_{buf_};
};

// The kind codes on the wire (frame.cpp).
constexpr uint64_t k_hello = 1, k_ping = 2, k_events = 3, k_welcome = 4, k_ack = 5, k_nack = 6,
                   k_interest = 7, k_rehello = 8;

event sample_event(uint64_t seq) {
  event e;
  e.id = "evt-" + std::to_string(seq);
  e.topic = "orders.created";
  e.time_us = 1'795'431'872'123'456;
  e.seq = seq;
  e.data = R"({"n":1})";
  e.headers = {{"traceparent", "00-abc-def-01"}};
  return e;
}

std::vector<frame> sample_frames() {
  event bin = sample_event(8);
  bin.binary = true;
  bin.data = std::string("\x00\xff\x10", 3);
  bin.headers.clear();
  return {
    hello_frame{"node-a", "10.0.0.1:7100", 17, 3},
    hello_frame{std::string(255, 'n'), "[::1]:65535", UINT64_MAX, UINT64_MAX},
    ping_frame{"node-b", "node-b.example:7100", 5, {"10.0.0.1:7100", "[::1]:1", "h:0"}},
    ping_frame{"b", "b:1", 0, {}},
    events_frame{4, 9, {sample_event(7), bin}},
    events_frame{0, 0, {}},
    welcome_frame{"node-c", "127.0.0.1:7000", 99, 12345, 6, {"orders.*", "audit.>", "a.b.c"}},
    welcome_frame{"c", "c:2", 0, 0, 0, {}},
    ack_frame{1, 2, 3},
    ack_frame{UINT64_MAX, 0, UINT64_MAX},
    nack_frame{7, 70},
    interest_frame{3, {">", "x.*.y"}},
    interest_frame{0, {}},
    rehello_frame{},
    bye_frame{"127.0.0.1:7400", 42},
  };
}

// --- round trips ----------------------------------------------------------

TEST(cluster_frame, every_kind_round_trips) {
  auto frames = sample_frames();
  std::vector<bool> kinds_seen(std::variant_size_v<frame>, false);
  for (std::size_t i = 0; i < frames.size(); ++i) {
    SCOPED_TRACE("frame " + std::to_string(i));
    auto r = round_trip(frames[i]);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_TRUE(same(r.value, frames[i]));
    kinds_seen[frames[i].index()] = true;
  }
  for (std::size_t k = 0; k < kinds_seen.size(); ++k)
    EXPECT_TRUE(kinds_seen[k]) << "no sample of variant index " << k;
}

TEST(cluster_frame, only_events_have_a_second_part) {
  for (const auto& f : sample_frames()) {
    auto wire = encode(f);
    EXPECT_FALSE(wire.header.empty());
    EXPECT_EQ(!wire.body.empty(), std::holds_alternative<events_frame>(f));
  }
}

TEST(cluster_frame, events_body_is_the_codec_batch) {
  events_frame f{2, 5, {sample_event(1), sample_event(2)}};
  auto wire = encode(f);
  EXPECT_EQ(wire.body, evmesh::codec::encode_batch(f.events));
  std::vector<event> events;
  std::string error;
  ASSERT_TRUE(evmesh::codec::decode_batch(wire.body, events, error)) << error;
  EXPECT_EQ(events, f.events);
}

TEST(cluster_frame, hand_built_header_decodes) {
  auto r = decode_parts(builder{}.array(4).u64(k_ack).u64(1).u64(2).u64(3).bytes());
  ASSERT_TRUE(r.ok) << r.error;
  ASSERT_TRUE(std::holds_alternative<ack_frame>(r.value));
  EXPECT_TRUE(same(r.value, frame{ack_frame{1, 2, 3}}));
  // Small numbers in any unsigned width are the same number.
  auto small = decode_parts(builder{}.array(3).u64(k_nack).raw("\x07").raw(std::string_view("\xcd\x01\x00", 3)).bytes());
  ASSERT_TRUE(small.ok) << small.error;
  EXPECT_TRUE(same(small.value, frame{nack_frame{7, 256}}));
}

// --- refusals: the header as a whole -------------------------------------

TEST(cluster_frame, empty_header_is_refused) {
  auto r = decode_parts("");
  EXPECT_FALSE(r.ok);
  EXPECT_FALSE(r.error.empty());
  EXPECT_TRUE(refused_with(r, "0 bytes"));
}

TEST(cluster_frame, garbage_headers_are_refused) {
  // Not an array, an empty array, a kind that is not a number, a negative kind.
  EXPECT_TRUE(refused_with(decode_parts(builder{}.u64(1).bytes()), "must be an array"));
  EXPECT_TRUE(refused_with(decode_parts(builder{}.str("hello").bytes()), "must be an array"));
  EXPECT_TRUE(refused_with(decode_parts(builder{}.map(0).bytes()), "must be an array"));
  EXPECT_TRUE(refused_with(decode_parts(builder{}.array(0).bytes()), "must be an array"));
  EXPECT_TRUE(refused_with(decode_parts(builder{}.array(1).str("ack").bytes()),
                           "starts with the frame kind"));
  EXPECT_TRUE(refused_with(decode_parts(builder{}.array(1).i64(-1).bytes()),
                           "starts with the frame kind"));
  // Reserved bytes and plain text.
  for (std::string bad : {std::string("\xc1"), std::string("GET / HTTP/1.1\r\n")}) {
    auto r = decode_parts(bad);
    EXPECT_FALSE(r.ok) << bad;
    EXPECT_FALSE(r.error.empty()) << bad;
  }
  // Two objects: a valid header followed by more.
  auto two = encode(rehello_frame{}).header + encode(rehello_frame{}).header;
  EXPECT_TRUE(refused_with(decode_parts(two), "trailing bytes"));
}

TEST(cluster_frame, truncated_headers_are_refused_at_every_length) {
  for (const auto& f : sample_frames()) {
    auto wire = encode(f);
    for (std::size_t n = 0; n < wire.header.size(); ++n) {
      auto r = decode_parts(std::string_view(wire.header).substr(0, n), wire.body);
      ASSERT_FALSE(r.ok) << "header of " << wire.header.size() << " bytes cut at " << n;
      ASSERT_FALSE(r.error.empty());
      // Either the parser runs out of bytes, or (cut early) a declared count
      // exceeds the bytes the header has, which the unpack limits refuse.
      if (n > 0 && r.error.find("size overflow") == std::string::npos)
        EXPECT_TRUE(refused_with(r, "truncated header")) << "cut at " << n;
    }
  }
}

TEST(cluster_frame, huge_declared_lengths_are_refused) {
  // Arrays and strings that claim far more than the header holds.
  EXPECT_FALSE(decode_parts(builder{}.raw("\xdd\xff\xff\xff\xff").u64(k_rehello).bytes()).ok);
  EXPECT_FALSE(decode_parts(builder{}.array(3).u64(k_interest).u64(1)
                              .raw("\xdd\x7f\xff\xff\xff").bytes()).ok);
  auto r = decode_parts(builder{}.array(5).u64(k_hello).raw("\xdb\x00\xff\xff\xff").bytes());
  EXPECT_FALSE(r.ok);
  EXPECT_FALSE(r.error.empty());
}

TEST(cluster_frame, deep_nesting_is_refused) {
  // interest: [7, 1, [[["a"]]]] nests deeper than a header ever does.
  auto r = decode_parts(builder{}.array(3).u64(k_interest).u64(1).array(1).array(1).array(1)
                          .str("a").bytes());
  EXPECT_FALSE(r.ok);
  EXPECT_FALSE(r.error.empty());
}

TEST(cluster_frame, unknown_kinds_are_refused) {
  for (uint64_t k : {uint64_t{0}, uint64_t{10}, uint64_t{200}, UINT64_MAX}) {
    auto r = decode_parts(builder{}.array(1).u64(k).bytes());
    EXPECT_TRUE(refused_with(r, "unknown frame kind " + std::to_string(k)));
  }
}

// --- refusals: fields ------------------------------------------------------

// One header per kind, every field valid: the base the tables below change
// one thing of.
struct field_spec {
  std::string name;
  std::function<void(builder&)> valid;
};

struct kind_spec {
  uint64_t code;
  std::vector<field_spec> fields;
};

std::vector<kind_spec> kind_specs() {
  auto num = [](uint64_t v) { return [v](builder& b) { b.u64(v); }; };
  auto text = [](std::string s) { return [s](builder& b) { b.str(s); }; };
  auto list = [](std::vector<std::string> l) { return [l](builder& b) { b.strs(l); }; };
  return {
    {k_hello, {{"name", text("a")}, {"addr", text("a:1")}, {"incarnation", num(1)}, {"epoch", num(2)}}},
    {k_ping, {{"name", text("a")}, {"addr", text("a:1")}, {"incarnation", num(1)},
              {"members", list({"b:2"})}}},
    {k_events, {{"epoch", num(1)}, {"frame_no", num(0)}}},
    {k_welcome, {{"name", text("a")}, {"addr", text("a:1")}, {"incarnation", num(1)},
                 {"cursor", num(4)}, {"interest_version", num(2)}, {"patterns", list({"x.*"})}}},
    {k_ack, {{"epoch", num(1)}, {"frame_no", num(2)}, {"cursor", num(3)}}},
    {k_nack, {{"epoch", num(1)}, {"cursor", num(3)}}},
    {k_interest, {{"version", num(1)}, {"patterns", list({"x.>"})}}},
    {k_rehello, {}},
  };
}

// The header of `spec` with only its first `keep` fields (all: -1), field
// `replace` written by `put`, and `extra` fields appended.
std::string header_of(const kind_spec& spec, int keep = -1, int replace = -1,
                      const std::function<void(builder&)>& put = {}, int extra = 0) {
  const int fields = keep >= 0 ? keep : static_cast<int>(spec.fields.size());
  builder b;
  b.array(static_cast<uint32_t>(fields + 1 + extra)).u64(spec.code);
  for (int i = 0; i < fields; ++i) {
    if (i == replace)
      put(b);
    else
      spec.fields[static_cast<std::size_t>(i)].valid(b);
  }
  for (int i = 0; i < extra; ++i)
    b.u64(0);
  return b.bytes();
}

std::string body_for(uint64_t code) {
  return code == k_events ? evmesh::codec::encode_batch(std::vector<event>{}) : std::string{};
}

TEST(cluster_frame, valid_spec_headers_decode) {
  // The base the field tables below change one thing of.
  for (const auto& spec : kind_specs()) {
    auto r = decode_parts(header_of(spec), body_for(spec.code));
    EXPECT_TRUE(r.ok) << "kind " << spec.code << ": " << r.error;
  }
}

TEST(cluster_frame, each_missing_field_is_named) {
  // Fields are positional: a header that stops early lacks the next one.
  int checked = 0;
  for (const auto& spec : kind_specs())
    for (int keep = 0; keep < static_cast<int>(spec.fields.size()); ++keep) {
      const auto& name = spec.fields[static_cast<std::size_t>(keep)].name;
      SCOPED_TRACE("kind " + std::to_string(spec.code) + " without " + name + " and after");
      EXPECT_TRUE(refused_with(decode_parts(header_of(spec, keep), body_for(spec.code)),
                               "header lacks field \"" + name + "\""));
      ++checked;
    }
  EXPECT_EQ(checked, 4 + 4 + 2 + 6 + 3 + 2 + 2);
}

TEST(cluster_frame, a_field_left_out_in_the_middle_is_refused) {
  // hello without its name: the address is read as the name, the
  // incarnation as the address.
  auto r = decode_parts(builder{}.array(4).u64(k_hello).str("a:1").u64(1).u64(2).bytes());
  EXPECT_TRUE(refused_with(r, "field \"addr\" must be a string"));
  // ack without its epoch: one field short.
  EXPECT_TRUE(refused_with(decode_parts(builder{}.array(3).u64(k_ack).u64(2).u64(3).bytes()),
                           "header lacks field \"cursor\""));
}

TEST(cluster_frame, extra_fields_are_refused) {
  for (const auto& spec : kind_specs()) {
    SCOPED_TRACE("kind " + std::to_string(spec.code));
    EXPECT_TRUE(refused_with(decode_parts(header_of(spec, -1, -1, {}, 1), body_for(spec.code)),
                             "1 fields too many"));
    EXPECT_TRUE(refused_with(decode_parts(header_of(spec, -1, -1, {}, 3), body_for(spec.code)),
                             "3 fields too many"));
  }
}

TEST(cluster_frame, each_wrong_type_is_named) {
  const std::vector<std::pair<std::string, std::function<void(builder&)>>> values{
    {"str", [](builder& b) { b.str("x:1"); }},
    {"bin", [](builder& b) { b.bin("x:1"); }},
    {"negative", [](builder& b) { b.i64(-3); }},
    {"uint", [](builder& b) { b.u64(5); }},
    {"float", [](builder& b) { b.f64(1.5); }},
    {"bool", [](builder& b) { b.boolean(true); }},
    {"nil", [](builder& b) { b.nil(); }},
    {"array", [](builder& b) { b.array(1).str("x:1"); }},
    {"map", [](builder& b) { b.map(0); }},
  };
  int checked = 0;
  for (const auto& spec : kind_specs())
    for (int i = 0; i < static_cast<int>(spec.fields.size()); ++i) {
      const auto& field = spec.fields[static_cast<std::size_t>(i)].name;
      const bool is_number = field != "name" && field != "addr" && field != "members"
                             && field != "patterns";
      const bool is_list = field == "members" || field == "patterns";
      for (const auto& [kind, put] : values) {
        const bool fits = (is_number && kind == "uint") || (!is_number && !is_list && kind == "str")
                          || (is_list && kind == "array");
        if (fits)
          continue;
        SCOPED_TRACE("kind " + std::to_string(spec.code) + " field " + field + " as " + kind);
        const std::string expected = is_number ? "must be an unsigned integer"
                                     : is_list ? "must be an array"
                                               : "must be a string";
        EXPECT_TRUE(refused_with(decode_parts(header_of(spec, -1, i, put), body_for(spec.code)),
                                 "field \"" + field + "\" " + expected));
        ++checked;
      }
    }
  EXPECT_GT(checked, 100);
}

TEST(cluster_frame, maps_with_entries_are_refused_by_the_parser) {
  // No header has a map: the unpack limits allow none (an empty one reaches
  // the field checks, see above).
  auto r = decode_parts(builder{}.array(5).u64(k_hello).map(1).str("k").str("v").str("a:1").u64(1)
                          .u64(1).bytes());
  EXPECT_TRUE(refused_with(r, "header is not valid msgpack"));
  EXPECT_FALSE(decode_parts(builder{}.map(1).u64(1).u64(1).bytes()).ok);
}

TEST(cluster_frame, list_entries_must_be_strings) {
  auto members = decode_parts(builder{}.array(5).u64(k_ping).str("a").str("a:1").u64(1)
                                .array(2).str("b:2").u64(7).bytes());
  EXPECT_TRUE(refused_with(members, "field \"members\" must be a string"));
  auto patterns = decode_parts(builder{}.array(3).u64(k_interest).u64(1).array(1).nil().bytes());
  EXPECT_TRUE(refused_with(patterns, "field \"patterns\" must be a string"));
}

TEST(cluster_frame, bad_names_are_refused) {
  const std::vector<std::string> bad{"", "a b", std::string("a\0b", 3), "tab\there", "new\nline",
                                     "\x7f", "caf\xc3\xa9", std::string(256, 'n')};
  for (const auto& name : bad) {
    SCOPED_TRACE("name of " + std::to_string(name.size()) + " bytes");
    for (auto f : {frame{hello_frame{name, "a:1", 1, 1}}, frame{ping_frame{name, "a:1", 1, {}}},
                   frame{welcome_frame{name, "a:1", 1, 0, 0, {}}}}) {
      EXPECT_TRUE(refused_with(round_trip(f), "field \"name\" must be 1 to 255 printable ASCII"));
    }
  }
  // The edges that are fine.
  for (const auto& name : {std::string("!"), std::string(255, '~'), std::string("node_1.a-b")}) {
    auto r = round_trip(hello_frame{name, "a:1", 1, 1});
    EXPECT_TRUE(r.ok) << r.error;
  }
}

TEST(cluster_frame, bad_addresses_are_refused) {
  const std::vector<std::string> bad{"",          "host",          ":7100",        "host:",
                                     "host:7a00", "host:123456",   "host:65536",   "host:-1",
                                     "host: 80",  "ho st:80",      "host:+80",     "host:0x50",
                                     "h:99999",   std::string(250, 'h') + ":123456",
                                     std::string(252, 'h') + ":7100"};
  for (const auto& addr : bad) {
    SCOPED_TRACE("addr \"" + addr.substr(0, 40) + "\"");
    EXPECT_FALSE(round_trip(hello_frame{"a", addr, 1, 1}).ok);
    auto hello = round_trip(hello_frame{"a", addr, 1, 1});
    EXPECT_TRUE(refused_with(hello, "field \"addr\" must be"));
    EXPECT_TRUE(refused_with(round_trip(welcome_frame{"a", addr, 1, 0, 0, {}}), "field \"addr\""));
    EXPECT_TRUE(refused_with(round_trip(ping_frame{"a", addr, 1, {}}), "field \"addr\""));
    // In the gossip list, one bad entry refuses the frame.
    EXPECT_TRUE(refused_with(round_trip(ping_frame{"a", "a:1", 1, {"b:2", addr}}),
                             "field \"members\""));
  }
  for (const auto& addr : {std::string("h:0"), std::string("h:65535"), std::string("[::1]:80"),
                           std::string("10.1.2.3:00080"), std::string(249, 'h') + ":65535"}) {
    auto r = round_trip(hello_frame{"a", addr, 1, 1});
    EXPECT_TRUE(r.ok) << addr.substr(0, 40) << ": " << r.error;
  }
}

TEST(cluster_frame, invalid_patterns_are_refused) {
  for (const std::string& p : std::vector<std::string>{"", "a..b", "a b", ".a", "a.", "a.>.b", "a*", "a.b>", "caf\xc3\xa9",
                               std::string(256, 'p')}) {
    SCOPED_TRACE("pattern \"" + p.substr(0, 40) + "\"");
    EXPECT_TRUE(refused_with(round_trip(interest_frame{1, {"ok.*", p}}),
                             "field \"patterns\" has an invalid pattern"));
    EXPECT_TRUE(refused_with(round_trip(welcome_frame{"a", "a:1", 1, 0, 1, {p}}),
                             "field \"patterns\" has an invalid pattern"));
  }
}

TEST(cluster_frame, too_many_members_are_refused) {
  std::vector<std::string> members(max_members, "m:1");
  auto at_limit = round_trip(ping_frame{"a", "a:1", 1, members});
  ASSERT_TRUE(at_limit.ok) << at_limit.error;
  EXPECT_EQ(std::get<ping_frame>(at_limit.value).members.size(), max_members);
  members.push_back("m:2");
  EXPECT_TRUE(refused_with(round_trip(ping_frame{"a", "a:1", 1, members}),
                           "field \"members\" has more than " + std::to_string(max_members)));
}

TEST(cluster_frame, too_many_patterns_are_refused) {
  std::vector<std::string> patterns(max_patterns, "p");
  auto at_limit = round_trip(interest_frame{1, patterns});
  ASSERT_TRUE(at_limit.ok) << at_limit.error;
  EXPECT_EQ(std::get<interest_frame>(at_limit.value).patterns.size(), max_patterns);
  patterns.push_back("q");
  EXPECT_TRUE(refused_with(round_trip(interest_frame{1, patterns}),
                           "field \"patterns\" has more than " + std::to_string(max_patterns)));
  EXPECT_TRUE(refused_with(round_trip(welcome_frame{"a", "a:1", 1, 0, 1, patterns}),
                           "field \"patterns\" has more than"));
}

TEST(cluster_frame, body_on_a_non_events_frame_is_refused) {
  for (const auto& f : sample_frames()) {
    if (std::holds_alternative<events_frame>(f))
      continue;
    auto wire = encode(f);
    SCOPED_TRACE("variant " + std::to_string(f.index()));
    EXPECT_TRUE(refused_with(decode_parts(wire.header, "x"), "only an events frame"));
    EXPECT_TRUE(refused_with(decode_parts(wire.header, evmesh::codec::encode_batch(
                                                         std::vector<event>{sample_event(1)})),
                             "only an events frame"));
  }
}

TEST(cluster_frame, bad_events_bodies_are_refused) {
  auto header = encode(events_frame{1, 0, {}}).header;
  // Missing, not msgpack, not an array, an event that is not valid, truncated.
  EXPECT_TRUE(refused_with(decode_parts(header, ""), "events part: "));
  EXPECT_TRUE(refused_with(decode_parts(header, "\xc1"), "events part: "));
  EXPECT_TRUE(refused_with(decode_parts(header, builder{}.map(0).bytes()), "events part: "));
  auto bad_topic = sample_event(1);
  bad_topic.topic = "a..b";
  EXPECT_TRUE(refused_with(
    decode_parts(header, evmesh::codec::encode_batch(std::vector<event>{sample_event(2), bad_topic})),
    "events part: event 2 of the batch"));
  auto good = evmesh::codec::encode_batch(std::vector<event>{sample_event(1), sample_event(2)});
  for (std::size_t n = 0; n < good.size(); ++n) {
    auto r = decode_parts(header, std::string_view(good).substr(0, n));
    ASSERT_TRUE(refused_with(r, "events part: ")) << "body cut at " << n;
  }
  // A bad header is reported before the body is looked at.
  auto r = decode_parts(builder{}.array(3).u64(k_events).u64(1).str("x").bytes(), good);
  EXPECT_TRUE(refused_with(r, "field \"frame_no\""));
}

// --- fuzzing -----------------------------------------------------------------

// The seed: EVMESH_FUZZ_SEED if set, else a fixed one (reproducible runs).
uint32_t fuzz_seed() {
  if (const char* s = std::getenv("EVMESH_FUZZ_SEED"))
    return static_cast<uint32_t>(std::strtoul(s, nullptr, 0));
  return 0xC1A57E5u;
}

class fuzzer {
public:
  explicit fuzzer(uint32_t seed) : rng_(seed) {}

  std::size_t below(std::size_t n) { return std::uniform_int_distribution<std::size_t>{0, n - 1}(rng_); }
  char byte() { return static_cast<char>(below(256)); }

  std::string random_bytes(std::size_t max_len) {
    std::string s(below(max_len + 1), '\0');
    for (auto& c : s)
      c = byte();
    return s;
  }

  // Bit flips, byte insertions, deletions, truncation, overwrites.
  std::string mutate(std::string s) {
    const std::size_t edits = 1 + below(4);
    for (std::size_t i = 0; i < edits; ++i) {
      if (s.empty()) {
        s.push_back(byte());
        continue;
      }
      const std::size_t at = below(s.size());
      switch (below(5)) {
        case 0: s[at] = static_cast<char>(s[at] ^ (1 << below(8))); break;
        case 1: s.insert(at, 1, byte()); break;
        case 2: s.erase(at, 1); break;
        case 3: s.resize(at); break;
        case 4: s[at] = byte(); break;
      }
    }
    return s;
  }

  // A header-shaped array: a kind (mostly valid), then fields that are mostly
  // plausible for some kind, sometimes of another type or a bogus length.
  std::string random_header() {
    builder b;
    const std::size_t n = below(8);
    b.array(static_cast<uint32_t>(n + 1));
    if (below(10) == 0)
      value(b);
    else
      b.u64(below(10));
    for (std::size_t i = 0; i < n; ++i)
      value(b);
    return b.bytes();
  }

  frame random_frame() {
    switch (below(9)) {
      case 0: return hello_frame{name(), addr(), rng_(), rng_()};
      case 1: return ping_frame{name(), addr(), rng_(), addrs()};
      case 2: {
        events_frame f{rng_(), below(100), {}};
        for (std::size_t n = below(3); n > 0; --n) {
          event e = sample_event(rng_());
          e.binary = below(2) == 0;
          if (e.binary)
            e.data = random_bytes(8);
          f.events.push_back(e);
        }
        return f;
      }
      case 3: return welcome_frame{name(), addr(), rng_(), rng_(), rng_(), patterns()};
      case 4: return ack_frame{rng_(), rng_(), rng_()};
      case 5: return nack_frame{rng_(), rng_()};
      case 6: return interest_frame{rng_(), patterns()};
      case 7: return bye_frame{addr(), rng_()};
      default: return rehello_frame{};
    }
  }

private:
  std::string name() {
    static const std::vector<std::string> names{"a", "node-1", "n.example", "x_y", "~!"};
    return names[below(names.size())];
  }
  std::string addr() {
    static const std::vector<std::string> addrs{"a:1", "10.0.0.1:7100", "[::1]:65535", "h:0"};
    return addrs[below(addrs.size())];
  }
  std::vector<std::string> addrs() {
    std::vector<std::string> out;
    for (std::size_t n = below(4); n > 0; --n)
      out.push_back(addr());
    return out;
  }
  std::vector<std::string> patterns() {
    static const std::vector<std::string> ps{"a", "a.*", ">", "orders.>", "x.*.z"};
    std::vector<std::string> out;
    for (std::size_t n = below(4); n > 0; --n)
      out.push_back(ps[below(ps.size())]);
    return out;
  }

  void value(builder& b) {
    static const std::vector<std::string> strings{
      "a", "a:1", "10.0.0.1:7100", "", "a b", "host", "h:99999", "orders.*", "a..b", ">"};
    static const std::vector<std::string> huge{
      {"\xdd\xff\xff\xff\xff", 5}, {"\xdb\x00\xff\xff\xff", 5}, {"\xdc\xff\xff", 3},
      {"\xde\xff\xff", 3},         {"\xc5\xff\xff", 3},         {"\xd9\xff", 2},
      {"\xc7\x05\x01", 3}};
    switch (below(12)) {
      case 0: case 1: case 2: b.u64(below(2) ? below(1000) : rng_()); break;
      case 3: case 4: b.str(strings[below(strings.size())]); break;
      case 5: case 6: {
        const std::size_t n = below(4);
        b.array(static_cast<uint32_t>(n));
        for (std::size_t i = 0; i < n; ++i)
          b.str(strings[below(strings.size())]);
        break;
      }
      case 7: b.i64(-static_cast<int64_t>(below(1000)) - 1); break;
      case 8: b.nil(); break;
      case 9: b.map(1).str("k").u64(1); break;
      case 10: b.raw(huge[below(huge.size())]); break;
      default: b.bin("x"); break;
    }
  }

  std::mt19937 rng_;
};

TEST(cluster_frame, fuzz_never_throws_and_decoded_frames_survive_a_re_encode) {
  const uint32_t seed = fuzz_seed();
  SCOPED_TRACE("seed " + std::to_string(seed) + " (rerun with EVMESH_FUZZ_SEED=" +
               std::to_string(seed) + ")");
  fuzzer fuzz{seed};

  std::vector<wire_frame> valid;
  for (const auto& f : sample_frames())
    valid.push_back(encode(f));

  constexpr int inputs = 30'000;
  int decoded = 0;
  int refused = 0;
  std::vector<int> decoded_kinds(std::variant_size_v<frame>, 0);
  for (int i = 0; i < inputs; ++i) {
    std::string header;
    std::string body;
    switch (i % 6) {
      case 0:  // random bytes
        header = fuzz.random_bytes(64);
        if (fuzz.below(4) == 0)
          body = fuzz.random_bytes(32);
        break;
      case 1: {  // a mutated header of a valid frame, its own body
        const auto& w = valid[fuzz.below(valid.size())];
        header = fuzz.mutate(w.header);
        body = w.body;
        break;
      }
      case 2: {  // a valid header, a mutated body
        const auto& w = valid[fuzz.below(valid.size())];
        header = w.header;
        body = fuzz.mutate(w.body);
        break;
      }
      case 3: {  // a random valid frame, mutated somewhere
        auto w = encode(fuzz.random_frame());
        header = fuzz.below(3) ? fuzz.mutate(w.header) : w.header;
        body = fuzz.below(3) ? w.body : fuzz.mutate(w.body);
        break;
      }
      case 4:  // a header-shaped array of random fields
        header = fuzz.random_header();
        if (fuzz.below(2) == 0)
          body = valid[4].body;
        break;
      default:  // the same, mutated
        header = fuzz.mutate(fuzz.random_header());
        break;
    }

    frame f;
    std::string error;
    bool ok = false;
    ASSERT_NO_THROW(ok = decode(header, body, f, error)) << "input " << i;
    if (!ok) {
      ++refused;
      ASSERT_FALSE(error.empty()) << "input " << i << " refused without a reason";
      continue;
    }
    ++decoded;
    ++decoded_kinds[f.index()];
    // Only an events frame decodes with a second part.
    ASSERT_TRUE(body.empty() || std::holds_alternative<events_frame>(f)) << "input " << i;
    wire_frame again;
    ASSERT_NO_THROW(again = encode(f)) << "input " << i;
    frame g;
    std::string error2;
    ASSERT_TRUE(decode(again.header, again.body, g, error2)) << "input " << i << ": " << error2;
    ASSERT_TRUE(same(f, g)) << "input " << i << " changed in a re-encode";
  }
  std::cout << "[ fuzz     ] seed " << seed << ": " << inputs << " inputs, " << decoded
            << " decoded, " << refused << " refused\n";
  EXPECT_EQ(decoded + refused, inputs);
  // The generators must reach both outcomes and every kind, or the run proves little.
  EXPECT_GT(decoded, 1000);
  EXPECT_GT(refused, inputs / 3);
  for (std::size_t k = 0; k < decoded_kinds.size(); ++k)
    EXPECT_GT(decoded_kinds[k], 0) << "no input decoded to variant index " << k;
}

} // namespace
