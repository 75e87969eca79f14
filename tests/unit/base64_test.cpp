// Tests of standard padded base64 (base/base64.hpp): the RFC 4648
// test vectors both ways, binary round trips (zero bytes, every byte value,
// every length mod 3), and refusal of wrong lengths, foreign characters and
// misplaced padding.
#include "base/base64.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using evmesh::base64_decode;
using evmesh::base64_encode;

TEST(base64, rfc4648_test_vectors) {
  struct row {
    const char* plain;
    const char* encoded;
  };
  for (const auto& [plain, encoded] : {row{"", ""}, row{"f", "Zg=="}, row{"fo", "Zm8="},
                                       row{"foo", "Zm9v"}, row{"foob", "Zm9vYg=="},
                                       row{"fooba", "Zm9vYmE="}, row{"foobar", "Zm9vYmFy"}}) {
    EXPECT_EQ(base64_encode(plain), encoded) << plain;
    EXPECT_EQ(base64_decode(encoded), std::string(plain)) << encoded;
  }
}

TEST(base64, binary_bytes_round_trip) {
  std::string every_byte;
  for (int b = 0; b < 256; ++b)
    every_byte += static_cast<char>(b);
  EXPECT_EQ(base64_decode(base64_encode(every_byte)), every_byte);

  const std::string zeros(5, '\0');
  EXPECT_EQ(base64_encode(zeros), "AAAAAAA=");
  EXPECT_EQ(base64_decode("AAAAAAA="), zeros);
  EXPECT_EQ(base64_encode(std::string("\xff\xfe\xfd", 3)), "//79");
  EXPECT_EQ(base64_encode(std::string("\xfb\xef", 2)), "++8=");
  EXPECT_EQ(base64_decode("++8="), std::string("\xfb\xef", 2));

  // Every length mod 3, ending in zero bytes that padding must not eat.
  for (std::size_t n = 0; n <= 12; ++n) {
    std::string bytes(n, '\0');
    for (std::size_t i = 0; i + 1 < n; ++i)
      bytes[i] = static_cast<char>(0x80 + 37 * i);
    auto encoded = base64_encode(bytes);
    EXPECT_EQ(encoded.size(), 4 * ((n + 2) / 3)) << n;
    EXPECT_EQ(base64_decode(encoded), bytes) << n;
  }
}

TEST(base64, invalid_input_is_refused) {
  for (const char* text : {
         "Z", "Zg", "Zg=", "Zm9vY", "Zm9vYg=",          // length not a multiple of 4
         "Zg==Zg==", "Zm8=Zm9v", "=Zm9", "Z===", "====", // '=' not only at the end
         "Zg=a", "Z=g=",                                 // '=' before a data character
         "Zm9v!A==", "Zm 9", "Zm9\n", "Zm-_", "Zm9v\xc3\xa9==", // not in the alphabet
       })
    EXPECT_FALSE(base64_decode(text)) << text;
  EXPECT_FALSE(base64_decode(std::string("Zm\0v", 4)));
}

} // namespace
