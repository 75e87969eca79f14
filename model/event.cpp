// The event helpers of include/evmesh/event.hpp: RFC 3339 timestamps, the
// clock, ULID event ids and the rules for publisher-supplied ids. Ids are
// ULIDs so they sort by creation time and need no coordination between nodes.
#include <evmesh/event.hpp>

#include <openssl/rand.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <stdexcept>

namespace evmesh {

namespace {

constexpr int64_t us_per_second = 1'000'000;
constexpr int64_t seconds_per_day = 86'400;

// Floor division and the matching non-negative remainder, without overflow
// for any int64_t (times before 1970 round towards the past).
constexpr int64_t floor_div(int64_t value, int64_t divisor, int64_t& remainder) {
  int64_t quotient = value / divisor;
  remainder = value % divisor;
  if (remainder < 0) {
    remainder += divisor;
    --quotient;
  }
  return quotient;
}

struct civil_date {
  int64_t year;
  unsigned month; // 1..12
  unsigned day;   // 1..31
};

// Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's
// civil_from_days), in int64_t so every int64_t microsecond time is covered.
constexpr civil_date civil_from_days(int64_t days) {
  days += 719'468; // shift the epoch to 0000-03-01
  const int64_t era = (days >= 0 ? days : days - 146'096) / 146'097;
  const int64_t day_of_era = days - era * 146'097;
  const int64_t year_of_era =
    (day_of_era - day_of_era / 1460 + day_of_era / 36'524 - day_of_era / 146'096) / 365;
  const int64_t day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const int64_t shifted_month = (5 * day_of_year + 2) / 153; // 0 = March
  const auto day = static_cast<unsigned>(day_of_year - (153 * shifted_month + 2) / 5 + 1);
  const auto month = static_cast<unsigned>(shifted_month < 10 ? shifted_month + 3 : shifted_month - 9);
  return {year_of_era + era * 400 + (month <= 2 ? 1 : 0), month, day};
}

constexpr char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

// Hands out ULIDs: 48 bits of Unix milliseconds, then 80 random bits. Within
// one millisecond (or if the clock steps back) the previous random part is
// incremented instead, so ids from this process strictly increase. The
// random part comes from the OS CSPRNG (OpenSSL's RAND_bytes), so an id
// cannot be guessed from the ids seen before it.
class ulid_generator {
public:
  std::string next() {
    std::lock_guard lock{mutex_};
    const auto now_ms = static_cast<uint64_t>(now_us() / 1000) & time_mask;
    if (now_ms > last_ms_ || !started_) {
      last_ms_ = now_ms;
      randomize();
      started_ = true;
    } else if (!increment()) {
      // 2^80 ids in one millisecond: borrow the next millisecond.
      last_ms_ = (last_ms_ + 1) & time_mask;
      randomize();
    }
    return encode();
  }

private:
  static constexpr uint64_t time_mask = (uint64_t{1} << 48) - 1;

  void randomize() {
    unsigned char bytes[10];
    if (RAND_bytes(bytes, sizeof bytes) != 1)
      throw std::runtime_error("the OS random generator failed");
    random_high_ = static_cast<uint16_t>(bytes[0] << 8 | bytes[1]);
    random_low_ = 0;
    for (int i = 2; i < 10; ++i)
      random_low_ = random_low_ << 8 | bytes[i];
  }

  // Adds one to the 80-bit random part; false when it wrapped around.
  bool increment() {
    if (++random_low_ != 0)
      return true;
    return ++random_high_ != 0;
  }

  // 128 bits (time, random_high, random_low) as 26 base32 digits, most
  // significant first; the first digit carries only the top 3 bits.
  std::string encode() const {
    const uint64_t high = (last_ms_ << 16) | random_high_;
    const uint64_t low = random_low_;
    std::string id(26, '0');
    for (int digit = 0; digit < 26; ++digit) {
      const int shift = (25 - digit) * 5; // bit offset of this digit from the bottom
      uint64_t value = 0;
      if (shift >= 64)
        value = high >> (shift - 64);
      else if (shift + 5 <= 64)
        value = low >> shift;
      else
        value = (low >> shift) | (high << (64 - shift));
      id[static_cast<std::size_t>(digit)] = crockford[value & 31];
    }
    return id;
  }

  std::mutex mutex_;
  bool started_ = false;
  uint64_t last_ms_ = 0;
  uint16_t random_high_ = 0;
  uint64_t random_low_ = 0;
};

} // namespace

std::string format_rfc3339(int64_t time_us) {
  int64_t micros = 0;
  int64_t second_of_day = 0;
  const int64_t seconds = floor_div(time_us, us_per_second, micros);
  const int64_t days = floor_div(seconds, seconds_per_day, second_of_day);
  const civil_date date = civil_from_days(days);
  // Years outside 0000..9999 (beyond RFC 3339) are still printed faithfully.
  std::array<char, 64> buf{};
  std::snprintf(buf.data(), buf.size(), "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%06lldZ",
                static_cast<long long>(date.year), date.month, date.day,
                static_cast<long long>(second_of_day / 3600),
                static_cast<long long>(second_of_day / 60 % 60),
                static_cast<long long>(second_of_day % 60), static_cast<long long>(micros));
  return buf.data();
}

int64_t now_us() {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

std::string make_event_id() {
  static ulid_generator generator;
  return generator.next();
}

std::string check_event_id(const std::string& id) {
  constexpr std::size_t max_id_bytes = 255;
  if (id.empty())
    return "id is empty";
  if (id.size() > max_id_bytes)
    return "id is " + std::to_string(id.size()) + " bytes, the limit is "
           + std::to_string(max_id_bytes);
  for (std::size_t i = 0; i < id.size(); ++i) {
    const auto byte = static_cast<unsigned char>(id[i]);
    if (byte >= 0x21 && byte <= 0x7e)
      continue;
    char reason[128];
    if (byte == ' ')
      std::snprintf(reason, sizeof reason, "id contains a space at position %zu", i + 1);
    else
      std::snprintf(reason, sizeof reason,
                    "id contains byte 0x%02x at position %zu; ids are printable ASCII", byte, i + 1);
    return reason;
  }
  return {};
}

} // namespace evmesh
