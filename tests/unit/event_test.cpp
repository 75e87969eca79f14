// Tests of the event helpers: RFC 3339 formatting of known instants, ULID
// ids (shape, order, uniqueness across threads) and the publisher id rules.
#include <evmesh/event.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace {

using evmesh::check_event_id;
using evmesh::format_rfc3339;
using evmesh::make_event_id;

TEST(event, rfc3339_known_instants) {
  EXPECT_EQ(format_rfc3339(0), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(format_rfc3339(1), "1970-01-01T00:00:00.000001Z");
  EXPECT_EQ(format_rfc3339(951'782'400'000'000), "2000-02-29T00:00:00.000000Z");
  EXPECT_EQ(format_rfc3339(1'709'210'096'789'012), "2024-02-29T12:34:56.789012Z");
  EXPECT_EQ(format_rfc3339(1'795'431'872'123'456), "2026-11-23T11:04:32.123456Z");
  EXPECT_EQ(format_rfc3339(4'107'542'400'000'000), "2100-03-01T00:00:00.000000Z"); // 2100 not leap
  EXPECT_EQ(format_rfc3339(253'402'300'799'999'999), "9999-12-31T23:59:59.999999Z");
}

TEST(event, rfc3339_before_the_epoch_rounds_to_the_past) {
  EXPECT_EQ(format_rfc3339(-1), "1969-12-31T23:59:59.999999Z");
  EXPECT_EQ(format_rfc3339(-1'000'000), "1969-12-31T23:59:59.000000Z");
  EXPECT_EQ(format_rfc3339(-2'203'891'200'000'000), "1900-03-01T00:00:00.000000Z");
  EXPECT_EQ(format_rfc3339(-2'203'891'200'000'001), "1900-02-28T23:59:59.999999Z"); // 1900 not leap
}

TEST(event, rfc3339_extremes_do_not_overflow) {
  EXPECT_EQ(format_rfc3339(std::numeric_limits<int64_t>::max()), "294247-01-10T04:00:54.775807Z");
  EXPECT_EQ(format_rfc3339(std::numeric_limits<int64_t>::min()), "-290308-12-21T19:59:05.224192Z");
}

TEST(event, now_us_is_current) {
  const int64_t year_2024 = 1'704'067'200'000'000;
  const int64_t a = evmesh::now_us();
  const int64_t b = evmesh::now_us();
  EXPECT_GT(a, year_2024);
  EXPECT_GE(b, a);
}

bool is_crockford(char c) {
  return std::string_view{"0123456789ABCDEFGHJKMNPQRSTVWXYZ"}.find(c) != std::string_view::npos;
}

TEST(event, ids_are_ulids_carrying_the_time) {
  const int64_t before_ms = evmesh::now_us() / 1000;
  const auto id = make_event_id();
  const int64_t after_ms = evmesh::now_us() / 1000;
  ASSERT_EQ(id.size(), 26u);
  EXPECT_TRUE(std::all_of(id.begin(), id.end(), is_crockford)) << id;
  EXPECT_LE(id[0], '7') << id; // 128 bits in 130: the first digit holds 3 bits
  EXPECT_EQ(check_event_id(id), "");
  // The first 10 digits are the millisecond timestamp.
  int64_t ms = 0;
  for (int i = 0; i < 10; ++i)
    ms = ms * 32 + static_cast<int64_t>(
                     std::string_view{"0123456789ABCDEFGHJKMNPQRSTVWXYZ"}.find(id[static_cast<std::size_t>(i)]));
  EXPECT_GE(ms, before_ms);
  EXPECT_LE(ms, after_ms);
}

TEST(event, ids_strictly_increase) {
  std::string previous = make_event_id();
  for (int i = 0; i < 100'000; ++i) {
    auto id = make_event_id();
    ASSERT_EQ(id.size(), 26u);
    ASSERT_LT(previous, id) << "call " << i;
    previous = std::move(id);
  }
}

TEST(event, ids_are_unique_across_threads) {
  constexpr int threads = 4;
  constexpr int per_thread = 20'000;
  std::vector<std::vector<std::string>> made(threads);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t)
    workers.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i)
        made[static_cast<std::size_t>(t)].push_back(make_event_id());
    });
  for (auto& w : workers)
    w.join();
  std::set<std::string> all;
  for (const auto& ids : made) {
    EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end())); // each thread sees them increase
    all.insert(ids.begin(), ids.end());
  }
  EXPECT_EQ(all.size(), std::size_t{threads} * per_thread);
}

TEST(event, publisher_id_rules) {
  EXPECT_EQ(check_event_id("a"), "");
  EXPECT_EQ(check_event_id("msg_2f9a-11:ee/x~!"), "");
  EXPECT_EQ(check_event_id(std::string(255, 'x')), "");
  EXPECT_EQ(check_event_id(""), "id is empty");
  EXPECT_EQ(check_event_id(std::string(256, 'x')), "id is 256 bytes, the limit is 255");
  EXPECT_EQ(check_event_id("order 42"), "id contains a space at position 6");
  EXPECT_EQ(check_event_id("tab\there"), "id contains byte 0x09 at position 4; ids are printable ASCII");
  EXPECT_EQ(check_event_id("caf\xc3\xa9"), "id contains byte 0xc3 at position 4; ids are printable ASCII");
  EXPECT_EQ(check_event_id(std::string{"a\0b", 3}), "id contains byte 0x00 at position 2; ids are printable ASCII");
  EXPECT_EQ(check_event_id("del\x7f"), "id contains byte 0x7f at position 4; ids are printable ASCII");
}

} // namespace
