// Tests of the msgpack event codec: round trips, every way a field can be
// missing or mistyped, truncation at every byte, size limits, and a fuzz run
// over random and mutated frames that must be refused cleanly or decode to a
// valid event — never throw, never crash (run under ASan/UBSan too).
#include "transports/event_codec.hpp"

#include <evmesh/topic.hpp>

#include <gtest/gtest.h>
#include <msgpack.hpp>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <iostream>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace {

using evmesh::event;
namespace codec = evmesh::codec;

event sample_event() {
  event e;
  e.id = "01JD0Q4X3M8ZQ6W7V5N2K1T9RB";
  e.topic = "orders.created";
  e.time_us = 1'795'431'872'123'456;
  e.seq = 42;
  e.data = R"({"order":42,"note":"héllo 日本 🎉"})";
  e.headers = {{"traceparent", "00-abc-def-01"}, {"x-note", "ünïcødé ✓"}};
  return e;
}

struct decoded {
  bool ok;
  event value;
  std::string error;
};

decoded decode(std::string_view frame) {
  decoded d{};
  d.ok = codec::decode(frame, d.value, d.error);
  return d;
}

// Hand-built msgpack for frames the encoder would never produce.
class frame_builder {
public:
  frame_builder& map(uint32_t size) { return run([&] { pk_.pack_map(size); }); }
  frame_builder& array(uint32_t size) { return run([&] { pk_.pack_array(size); }); }
  frame_builder& str(std::string_view s) {
    return run([&] {
      pk_.pack_str(static_cast<uint32_t>(s.size()));
      pk_.pack_str_body(s.data(), static_cast<uint32_t>(s.size()));
    });
  }
  frame_builder& bin(std::string_view s) {
    return run([&] {
      pk_.pack_bin(static_cast<uint32_t>(s.size()));
      pk_.pack_bin_body(s.data(), static_cast<uint32_t>(s.size()));
    });
  }
  frame_builder& i64(int64_t v) { return run([&] { pk_.pack_int64(v); }); }
  frame_builder& u64(uint64_t v) { return run([&] { pk_.pack_uint64(v); }); }
  frame_builder& f64(double v) { return run([&] { pk_.pack_double(v); }); }
  frame_builder& boolean(bool v) { return run([&] { v ? pk_.pack_true() : pk_.pack_false(); }); }
  frame_builder& nil() { return run([&] { pk_.pack_nil(); }); }
  frame_builder& raw(std::string_view bytes) { return run([&] { buf_.write(bytes.data(), bytes.size()); }); }

  // A value of the kind named (for the wrong-type table).
  frame_builder& value_of(const std::string& kind) {
    if (kind == "str") return str("x");
    if (kind == "bin") return bin("x");
    if (kind == "int") return i64(-5);
    if (kind == "uint") return u64(5);
    if (kind == "float") return f64(1.5);
    if (kind == "bool") return boolean(true);
    if (kind == "nil") return nil();
    if (kind == "array") return array(1).str("x");
    if (kind == "map") return map(1).str("k").str("v");
    ADD_FAILURE() << "unknown kind " << kind;
    return *this;
  }

  std::string bytes() const { return {buf_.data(), buf_.size()}; }

private:
  frame_builder& run(const std::function<void()>& f) {
    f();
    return *this;
  }
  msgpack::sbuffer buf_;
  msgpack::packer<msgpack::sbuffer> pk_{buf_};
};

const std::vector<std::string> required_fields{"id", "topic", "time", "seq", "data"};

// A valid event map with `skip` left out and `replace` given by `put`.
std::string event_frame(const std::string& skip, const std::string& replace = "",
                        const std::function<void(frame_builder&)>& put = {}) {
  frame_builder b;
  b.map(static_cast<uint32_t>(skip.empty() ? 5 : 4));
  auto field = [&](const std::string& name, const std::function<void()>& normal) {
    if (name == skip)
      return;
    b.str(name);
    if (name == replace)
      put(b);
    else
      normal();
  };
  field("id", [&] { b.str("evt-1"); });
  field("topic", [&] { b.str("orders.created"); });
  field("time", [&] { b.i64(1'700'000'000'000'000); });
  field("seq", [&] { b.u64(7); });
  field("data", [&] { b.str("{}"); });
  return b.bytes();
}

TEST(event_codec, round_trip_json_data_with_headers) {
  const auto e = sample_event();
  const auto frame = codec::encode(e);
  const auto d = decode(frame);
  ASSERT_TRUE(d.ok) << d.error;
  EXPECT_EQ(d.value, e);
  EXPECT_FALSE(d.value.binary);
}

TEST(event_codec, round_trip_binary_data_and_empty_headers) {
  auto e = sample_event();
  e.binary = true;
  e.data.clear();
  for (int i = 0; i < 256; ++i)
    e.data += static_cast<char>(i);
  e.data += std::string(70'000, '\0'); // needs bin32
  e.headers.clear();
  const auto d = decode(codec::encode(e));
  ASSERT_TRUE(d.ok) << d.error;
  EXPECT_EQ(d.value, e);
  EXPECT_TRUE(d.value.binary);
  EXPECT_TRUE(d.value.headers.empty());
}

TEST(event_codec, round_trip_extreme_numbers_and_empty_data) {
  for (int64_t time : {std::numeric_limits<int64_t>::min(), int64_t{-1}, int64_t{0},
                       std::numeric_limits<int64_t>::max()}) {
    for (uint64_t seq : {uint64_t{0}, uint64_t{1} << 32, std::numeric_limits<uint64_t>::max()}) {
      auto e = sample_event();
      e.time_us = time;
      e.seq = seq;
      e.data.clear();
      const auto d = decode(codec::encode(e));
      ASSERT_TRUE(d.ok) << d.error;
      EXPECT_EQ(d.value, e);
    }
  }
}

TEST(event_codec, encode_appends) {
  std::string out = "prefix";
  codec::encode(sample_event(), out);
  EXPECT_EQ(out, "prefix" + codec::encode(sample_event()));
}

TEST(event_codec, hand_built_frame_decodes) {
  const auto d = decode(event_frame(""));
  ASSERT_TRUE(d.ok) << d.error;
  EXPECT_EQ(d.value.id, "evt-1");
  EXPECT_EQ(d.value.topic, "orders.created");
  EXPECT_EQ(d.value.time_us, 1'700'000'000'000'000);
  EXPECT_EQ(d.value.seq, 7u);
  EXPECT_EQ(d.value.data, "{}");
  EXPECT_TRUE(d.value.headers.empty());
}

TEST(event_codec, unknown_keys_are_ignored) {
  frame_builder b;
  b.map(8)
    .str("source").str("evmesh://node-a")
    .str("id").str("evt-1")
    .str("topic").str("a.b")
    .str("future").array(3).u64(1).nil().map(1).str("k").array(0)
    .str("time").i64(5)
    .str("seq").u64(6)
    .str("data").bin("\x01\x02")
    .str("specversion").f64(1.0);
  const auto d = decode(b.bytes());
  ASSERT_TRUE(d.ok) << d.error;
  EXPECT_EQ(d.value.topic, "a.b");
  EXPECT_TRUE(d.value.binary);
  EXPECT_EQ(d.value.data, "\x01\x02");
}

TEST(event_codec, each_missing_field_is_named) {
  for (const auto& field : required_fields) {
    const auto d = decode(event_frame(field));
    EXPECT_FALSE(d.ok) << field;
    EXPECT_EQ(d.error, "missing field \"" + field + "\"");
  }
}

TEST(event_codec, each_wrong_type_is_named) {
  const std::vector<std::pair<std::string, std::string>> expected_errors{
    {"id", "field \"id\" must be a string"},
    {"topic", "field \"topic\" must be a string"},
    {"time", "field \"time\" must be a signed 64-bit integer (microseconds since the epoch)"},
    {"seq", "field \"seq\" must be an unsigned integer"},
    {"data", "field \"data\" must be a string (JSON text) or binary"},
  };
  const std::vector<std::pair<std::string, std::vector<std::string>>> accepted{
    {"id", {"str"}}, {"topic", {"str"}}, {"time", {"int", "uint"}}, {"seq", {"uint"}}, {"data", {"str", "bin"}}};
  for (const auto& [field, message] : expected_errors) {
    for (const std::string kind : {"str", "bin", "int", "uint", "float", "bool", "nil", "array", "map"}) {
      const auto& ok_kinds = std::find_if(accepted.begin(), accepted.end(),
                                          [&](const auto& a) { return a.first == field; })->second;
      if (std::find(ok_kinds.begin(), ok_kinds.end(), kind) != ok_kinds.end())
        continue;
      const auto d = decode(event_frame("", field, [&](frame_builder& b) { b.value_of(kind); }));
      EXPECT_FALSE(d.ok) << field << " as " << kind;
      EXPECT_EQ(d.error, message) << field << " as " << kind;
    }
  }
}

TEST(event_codec, out_of_range_numbers) {
  auto d = decode(event_frame("", "time", [](frame_builder& b) {
    b.u64(uint64_t{std::numeric_limits<int64_t>::max()} + 1);
  }));
  EXPECT_FALSE(d.ok);
  EXPECT_EQ(d.error, "field \"time\" must be a signed 64-bit integer (microseconds since the epoch)");
  d = decode(event_frame("", "seq", [](frame_builder& b) { b.i64(-1); }));
  EXPECT_FALSE(d.ok);
  EXPECT_EQ(d.error, "field \"seq\" must be an unsigned integer");
}

TEST(event_codec, invalid_topic_and_id_are_refused) {
  auto d = decode(event_frame("", "topic", [](frame_builder& b) { b.str("orders..x"); }));
  EXPECT_FALSE(d.ok);
  EXPECT_EQ(d.error, R"(field "topic" is invalid: token 2 of "orders..x" is empty)");
  d = decode(event_frame("", "topic", [](frame_builder& b) { b.str("orders.*"); }));
  EXPECT_FALSE(d.ok);
  EXPECT_NE(d.error.find("field \"topic\" is invalid: wildcard"), std::string::npos) << d.error;
  d = decode(event_frame("", "id", [](frame_builder& b) { b.str(""); }));
  EXPECT_FALSE(d.ok);
  EXPECT_EQ(d.error, "field \"id\" is invalid: id is empty");
  d = decode(event_frame("", "id", [](frame_builder& b) { b.str("a b"); }));
  EXPECT_FALSE(d.ok);
  EXPECT_EQ(d.error, "field \"id\" is invalid: id contains a space at position 2");
}

TEST(event_codec, bad_headers_are_refused) {
  auto with_headers = [](const std::function<void(frame_builder&)>& put) {
    frame_builder b;
    b.map(6).str("id").str("e").str("topic").str("t").str("time").i64(1).str("seq").u64(1)
      .str("data").str("1").str("headers");
    put(b);
    return decode(b.bytes());
  };
  auto d = with_headers([](frame_builder& b) { b.array(0); });
  EXPECT_FALSE(d.ok);
  EXPECT_EQ(d.error, "field \"headers\" must be a map of strings to strings");
  d = with_headers([](frame_builder& b) { b.map(2).str("a").str("1").str("b").u64(2); });
  EXPECT_FALSE(d.ok);
  EXPECT_EQ(d.error, "field \"headers\" must be a map of strings to strings (entry 2 is not)");
  d = with_headers([](frame_builder& b) { b.map(1).u64(1).str("x"); });
  EXPECT_FALSE(d.ok);
  EXPECT_EQ(d.error, "field \"headers\" must be a map of strings to strings (entry 1 is not)");
  d = with_headers([](frame_builder& b) { b.map(2).str("a").str("1").str("a").str("2"); });
  EXPECT_FALSE(d.ok);
  EXPECT_EQ(d.error, "field \"headers\" names \"a\" twice");
  d = with_headers([](frame_builder& b) { b.map(0); });
  EXPECT_TRUE(d.ok) << d.error;
  EXPECT_TRUE(d.value.headers.empty());
}

TEST(event_codec, structural_problems) {
  EXPECT_EQ(decode("").error, "empty frame");
  EXPECT_EQ(decode(frame_builder{}.array(0).bytes()).error, "an event must be a msgpack map");
  EXPECT_EQ(decode(frame_builder{}.str("hello").bytes()).error, "an event must be a msgpack map");
  EXPECT_EQ(decode("\xc1").error, "frame is not valid msgpack"); // 0xc1 is never used
  EXPECT_EQ(decode(frame_builder{}.map(1).u64(1).str("x").bytes()).error,
            "key 1 of the event map is not a string");
  EXPECT_EQ(decode(event_frame("") + "\x90").error, "1 trailing bytes after the msgpack value");

  // A field given twice is ambiguous, so refused.
  frame_builder twice;
  twice.map(6).str("id").str("e").str("topic").str("t").str("time").i64(1).str("seq").u64(1)
    .str("data").str("1").str("seq").u64(2);
  EXPECT_EQ(decode(twice.bytes()).error, "field \"seq\" appears twice");

  std::string deep;
  for (int i = 0; i < 100; ++i)
    deep += '\x91'; // fixarray of one element, nested 100 times
  deep += '\xc0';
  EXPECT_EQ(decode(deep).error, "frame nests deeper than 4 levels");
}

TEST(event_codec, huge_declared_lengths_are_refused_without_allocating) {
  // Each declares far more than the frame holds; msgpack would otherwise
  // reserve memory for it before noticing the frame is short.
  for (const auto& frame : {std::string{"\xdd\xff\xff\xff\xff", 5},  // array32
                                  std::string{"\xdf\xff\xff\xff\xff", 5},  // map32
                                  std::string{"\xdb\xff\xff\xff\xff", 5},  // str32
                                  std::string{"\xc6\xff\xff\xff\xff", 5},  // bin32
                                  std::string{"\xc9\xff\xff\xff\xff\x01", 6},  // ext32
                                  std::string{"\x81\xa4" "data" "\xdd\x00\x10\x00\x00", 11}}) {
    const auto d = decode(frame);
    EXPECT_FALSE(d.ok);
    EXPECT_EQ(d.error.rfind("truncated frame", 0), 0u) << d.error;
  }
}

TEST(event_codec, truncated_at_every_offset_is_refused) {
  const auto frame = codec::encode(sample_event());
  ASSERT_GT(frame.size(), 100u);
  for (std::size_t length = 0; length < frame.size(); ++length) {
    const auto d = decode(std::string_view{frame}.substr(0, length));
    ASSERT_FALSE(d.ok) << "length " << length;
    if (length == 0)
      EXPECT_EQ(d.error, "empty frame");
    else // msgpack notices either a short string or a count the frame cannot hold
      EXPECT_EQ(d.error.rfind("truncated frame", 0), 0u) << "length " << length << ": " << d.error;
  }
}

TEST(event_codec, size_limit) {
  // Exactly at the limit decodes; one byte more is refused before parsing.
  auto e = sample_event();
  e.binary = true;
  const auto overhead = codec::encode(e).size() - e.data.size();
  e.data.assign(codec::max_frame_bytes - overhead - 3, 'x'); // bin8 → bin32 adds 3 header bytes
  auto frame = codec::encode(e);
  ASSERT_EQ(frame.size(), codec::max_frame_bytes);
  auto d = decode(frame);
  ASSERT_TRUE(d.ok) << d.error;
  EXPECT_EQ(d.value.data.size(), e.data.size());

  frame.push_back('\0');
  d = decode(frame);
  EXPECT_FALSE(d.ok);
  EXPECT_EQ(d.error, "frame is 16777217 bytes, the limit is 16777216");
  std::vector<event> batch;
  std::string error;
  EXPECT_FALSE(codec::decode_batch(frame, batch, error));
  EXPECT_EQ(error, "frame is 16777217 bytes, the limit is 16777216");
}

TEST(event_codec, batch_round_trip) {
  std::vector<event> events;
  for (int i = 0; i < 3; ++i) {
    auto e = sample_event();
    e.seq = static_cast<uint64_t>(i);
    e.binary = i == 1;
    if (i == 2)
      e.headers.clear();
    events.push_back(e);
  }
  std::vector<event> out{sample_event()};
  std::string error;
  ASSERT_TRUE(codec::decode_batch(codec::encode_batch(events), out, error)) << error;
  EXPECT_EQ(out, events);

  ASSERT_TRUE(codec::decode_batch(codec::encode_batch(std::vector<event>{}), out, error)) << error;
  EXPECT_TRUE(out.empty());
}

TEST(event_codec, batch_errors_name_the_event) {
  std::string error;
  std::vector<event> out;
  const auto single = codec::encode(sample_event());
  EXPECT_FALSE(codec::decode_batch(single, out, error));
  EXPECT_EQ(error, "a batch must be a msgpack array of events");

  const auto batch = frame_builder{}.array(2).raw(single).raw(event_frame("seq")).bytes();
  EXPECT_FALSE(codec::decode_batch(batch, out, error));
  EXPECT_EQ(error, "event 2 of the batch: missing field \"seq\"");

  event e;
  EXPECT_FALSE(codec::decode(codec::encode_batch({sample_event()}), e, error));
  EXPECT_EQ(error, "an event must be a msgpack map");
}

// --- fuzzing --------------------------------------------------------------

class frame_fuzzer {
public:
  explicit frame_fuzzer(uint32_t seed) : rng_(seed) {}

  std::size_t below(std::size_t n) { return std::uniform_int_distribution<std::size_t>{0, n - 1}(rng_); }
  char random_byte() { return static_cast<char>(below(256)); }

  std::string random_bytes() {
    std::string s(below(80), '\0');
    for (auto& c : s)
      c = random_byte();
    return s;
  }

  std::string mutate(std::string frame) {
    const std::size_t edits = 1 + below(4);
    for (std::size_t i = 0; i < edits && !frame.empty(); ++i) {
      const std::size_t at = below(frame.size());
      switch (below(5)) {
        case 0: frame[at] = static_cast<char>(frame[at] ^ (1 << below(8))); break;
        case 1: frame.insert(at, 1, random_byte()); break;
        case 2: frame.erase(at, 1); break;
        case 3: frame.resize(at); break;
        case 4: frame[at] = random_byte(); break;
      }
    }
    return frame;
  }

  // An event-ish map: either random keys (duplicates, gaps) or all fields in
  // a shuffled order; values are mostly sensible, sometimes of a random type,
  // sometimes a header that declares a length far beyond the frame.
  std::string random_msgpack() {
    static const std::vector<std::string> keys{"id", "topic", "time", "seq", "data", "headers", "x"};
    static const std::vector<std::string> kinds{"str", "bin", "int", "uint", "float", "bool", "nil", "array", "map"};
    std::vector<std::string> chosen;
    if (below(2) == 0) {
      for (std::size_t n = below(8); n > 0; --n)
        chosen.push_back(keys[below(keys.size())]);
    } else {
      chosen = keys;
      std::shuffle(chosen.begin(), chosen.end(), rng_);
      chosen.resize(keys.size() - below(2));
    }
    frame_builder b;
    b.map(static_cast<uint32_t>(chosen.size()));
    for (const auto& key : chosen) {
      b.str(key);
      switch (below(32)) {
        case 0: b.value_of(kinds[below(kinds.size())]); break;
        case 1: b.raw(huge_header()); break;
        case 2: b.str(random_name()); break;
        default: sensible_value(b, key); break;
      }
    }
    return b.bytes();
  }

private:
  std::string random_name() {
    static const std::vector<std::string> names{"a", "b.c", "orders.created", "ok-1", "evt_1",
                                                "orders.*", "", "x..y", "a b"};
    return names[below(names.size())];
  }

  std::string huge_header() {
    static const std::vector<std::string> headers{
      {"\xdd\xff\xff\xff\xff", 5}, {"\xdf\x7f\xff\xff\xff", 5}, {"\xdb\x00\xff\xff\xff", 5},
      {"\xc6\xff\xff\xff\x00", 5}, {"\xdc\xff\xff", 3},         {"\xde\xff\xff", 3},
      {"\xda\xff\xff", 3},         {"\xc5\xff\xff", 3},         {"\xd9\xff", 2}};
    return headers[below(headers.size())];
  }

  void sensible_value(frame_builder& b, const std::string& key) {
    if (key == "time")
      b.i64(static_cast<int64_t>(rng_()) - (1LL << 31));
    else if (key == "seq")
      b.u64(rng_());
    else if (key == "headers")
      b.map(1).str("k").str(random_name());
    else if (key == "data" && below(2) == 0)
      b.bin(random_bytes());
    else
      b.str(random_name());
  }

  std::mt19937 rng_;
};

TEST(event_codec, fuzz_never_throws_and_never_accepts_invalid_events) {
  frame_fuzzer fuzz{0xE5E5E5u};
  std::vector<std::string> seeds{codec::encode(sample_event()), event_frame("")};
  {
    auto e = sample_event();
    e.binary = true;
    e.data = std::string("\x00\xff\x10", 3);
    seeds.push_back(codec::encode(e));
    seeds.push_back(codec::encode_batch({e, sample_event()}));
  }

  constexpr int frames = 30'000;
  int decoded = 0;
  int refused = 0;
  int batches_decoded = 0;
  for (int i = 0; i < frames; ++i) {
    std::string frame;
    switch (i % 4) {
      case 0: frame = fuzz.random_bytes(); break;
      case 1: frame = fuzz.mutate(seeds[fuzz.below(seeds.size())]); break;
      case 2: frame = fuzz.random_msgpack(); break;
      case 3: frame = fuzz.mutate(fuzz.random_msgpack()); break;
    }
    event e;
    std::string error;
    bool ok = false;
    ASSERT_NO_THROW(ok = codec::decode(frame, e, error)) << "frame " << i;
    if (ok) {
      ++decoded;
      ASSERT_EQ(evmesh::check_topic(e.topic), "") << "frame " << i;
      ASSERT_EQ(evmesh::check_event_id(e.id), "") << "frame " << i;
      // What was accepted re-encodes to something that decodes the same.
      event again;
      ASSERT_TRUE(codec::decode(codec::encode(e), again, error)) << error;
      ASSERT_EQ(again, e);
    } else {
      ++refused;
      ASSERT_FALSE(error.empty()) << "frame " << i;
    }

    std::vector<event> batch;
    std::string batch_error;
    bool batch_ok = false;
    ASSERT_NO_THROW(batch_ok = codec::decode_batch(frame, batch, batch_error)) << "frame " << i;
    if (batch_ok) {
      ++batches_decoded;
      for (const auto& b : batch)
        ASSERT_TRUE(evmesh::is_valid_topic(b.topic) && evmesh::check_event_id(b.id).empty());
    } else {
      ASSERT_FALSE(batch_error.empty()) << "frame " << i;
    }
  }
  std::cout << "[ fuzz     ] " << frames << " frames: " << decoded << " decoded, " << refused
            << " refused; " << batches_decoded << " decoded as batches\n";
  EXPECT_EQ(decoded + refused, frames);
  // The generators must reach both outcomes, or the run proves little.
  EXPECT_GT(decoded, 100);
  EXPECT_GT(refused, frames / 2);
}

} // namespace
