// See inbound_verifier.hpp.
#include "base/inbound_verifier.hpp"

#include "base/base64.hpp"
#include "base/hex.hpp"
#include "base/hmac.hpp"

#include <charconv>
#include <vector>

namespace evmesh::inbound {
namespace {

constexpr std::size_t sha256_bytes = 32;

verdict reject(rejection why, std::string detail) { return {why, std::move(detail)}; }

std::string_view header_value(const boost::beast::http::fields& headers, std::string_view name) {
  auto it = headers.find(boost::beast::string_view(name.data(), name.size()));
  if (it == headers.end())
    return {};
  return {it->value().data(), it->value().size()};
}

// A Unix time in seconds written as decimal digits (nothing else).
bool parse_unix_seconds(std::string_view text, int64_t& out) {
  if (text.empty() || text.size() > 15)
    return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && end == text.data() + text.size() && out >= 0;
}

verdict check_timestamp(int64_t timestamp, int64_t now_s, std::string_view header) {
  if (timestamp < now_s - timestamp_tolerance_s)
    return reject(rejection::stale_timestamp, std::string(header) + " is " + std::to_string(now_s - timestamp) +
                                                " s old (tolerance " + std::to_string(timestamp_tolerance_s) + " s)");
  if (timestamp > now_s + timestamp_tolerance_s)
    return reject(rejection::stale_timestamp, std::string(header) + " is " + std::to_string(timestamp - now_s) +
                                                " s in the future (tolerance " +
                                                std::to_string(timestamp_tolerance_s) + " s)");
  return {};
}

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  for (std::size_t start = 0; start <= text.size();) {
    auto end = text.find(separator, start);
    if (end == std::string_view::npos)
      end = text.size();
    parts.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

// Whether any of the candidate MACs equals `expected`; every candidate is
// compared, in constant time each.
bool any_matches(const std::vector<std::string>& candidates, const std::string& expected) {
  bool matched = false;
  for (const auto& c : candidates)
    matched = equal_in_constant_time(c, expected) || matched;
  return matched;
}

verdict standard_webhooks(const verifier& v, const boost::beast::http::fields& headers, std::string_view body,
                          int64_t now_s) {
  auto id = header_value(headers, "webhook-id");
  auto time_text = header_value(headers, "webhook-timestamp");
  auto signatures = header_value(headers, "webhook-signature");
  const std::pair<const char*, std::string_view> required[] = {
    {"webhook-id", id}, {"webhook-timestamp", time_text}, {"webhook-signature", signatures}};
  for (auto [name, value] : required)
    if (value.empty())
      return reject(rejection::missing_header, std::string("missing the ") + name + " header");
  int64_t timestamp = 0;
  if (!parse_unix_seconds(time_text, timestamp))
    return reject(rejection::malformed_header, "webhook-timestamp must be a Unix time in seconds");
  // Compared as base64 text, as the reference libraries do: only the
  // canonical encoding of the MAC matches.
  std::vector<std::string> candidates;
  for (auto entry : split(signatures, ' ')) {
    if (entry.substr(0, 3) != "v1,")
      continue;  // other versions and empty entries (double spaces) are skipped, as the spec says
    if (auto mac = base64_decode(entry.substr(3)); mac && mac->size() == sha256_bytes)
      candidates.emplace_back(entry.substr(3));
  }
  if (candidates.empty())
    return reject(rejection::malformed_header,
                  "webhook-signature has no \"v1,<base64 HMAC-SHA256>\" entry");
  if (!any_matches(candidates, base64_encode(hmac_sha256(v.key, {id, ".", time_text, ".", body}))))
    return reject(rejection::bad_signature, "no signature in webhook-signature matches");
  return check_timestamp(timestamp, now_s, "webhook-timestamp");
}

verdict stripe(const verifier& v, const boost::beast::http::fields& headers, std::string_view body, int64_t now_s) {
  auto value = header_value(headers, "Stripe-Signature");
  if (value.empty())
    return reject(rejection::missing_header, "missing the Stripe-Signature header");
  std::string_view time_text;
  std::vector<std::string> candidates;
  for (auto item : split(value, ',')) {
    auto eq = item.find('=');
    if (eq == std::string_view::npos)
      continue;
    auto key = item.substr(0, eq);
    auto text = item.substr(eq + 1);
    std::string mac;
    if (key == "t")
      time_text = text;
    else if (key == "v1" && hex_decode(text, mac) && mac.size() == sha256_bytes)
      candidates.push_back(std::move(mac));
  }
  int64_t timestamp = 0;
  if (!parse_unix_seconds(time_text, timestamp))
    return reject(rejection::malformed_header, "Stripe-Signature has no \"t=<Unix seconds>\"");
  if (candidates.empty())
    return reject(rejection::malformed_header, "Stripe-Signature has no \"v1=<64 hex digits>\"");
  if (!any_matches(candidates, hmac_sha256(v.key, {time_text, ".", body})))
    return reject(rejection::bad_signature, "no v1 signature in Stripe-Signature matches");
  return check_timestamp(timestamp, now_s, "the Stripe-Signature timestamp");
}

// github and hmac_sha256: one signature header over the raw body.
verdict body_signature(const verifier& v, const boost::beast::http::fields& headers, std::string_view body) {
  auto value = header_value(headers, v.header);
  if (value.empty())
    return reject(rejection::missing_header, "missing the " + v.header + " header");
  std::string mac;
  bool decoded = false;
  if (value.substr(0, v.prefix.size()) == v.prefix) {
    auto text = value.substr(v.prefix.size());
    if (v.signature_encoding == encoding::hex) {
      decoded = hex_decode(text, mac);
    } else if (auto bytes = base64_decode(text); bytes && bytes->size() == sha256_bytes) {
      mac = base64_encode(*bytes) == text ? std::move(*bytes) : std::string{};  // canonical encoding only
      decoded = true;
    }
  }
  if (!decoded || mac.size() != sha256_bytes)
    return reject(rejection::malformed_header,
                  v.header + " must be \"" + v.prefix + "<" +
                    (v.signature_encoding == encoding::hex ? "64 hex digits" : "base64 of 32 bytes") + ">\"");
  if (!equal_in_constant_time(mac, hmac_sha256(v.key, {body})))
    return reject(rejection::bad_signature, v.header + " does not match the body");
  return {};
}

} // namespace

verifier make_verifier(scheme kind, std::string key, std::string header, encoding signature_encoding,
                       std::string prefix) {
  if (kind == scheme::github)
    return {kind, std::move(key), "X-Hub-Signature-256", encoding::hex, "sha256="};
  if (kind != scheme::hmac_sha256)
    return {kind, std::move(key), {}, encoding::hex, {}};
  return {kind, std::move(key), std::move(header), signature_encoding, std::move(prefix)};
}

verdict verify(const verifier& v, const boost::beast::http::fields& headers, std::string_view body, int64_t now_s) {
  switch (v.kind) {
    case scheme::none: return {};
    case scheme::standard_webhooks: return standard_webhooks(v, headers, body, now_s);
    case scheme::stripe: return stripe(v, headers, body, now_s);
    case scheme::github:
    case scheme::hmac_sha256: return body_signature(v, headers, body);
  }
  return reject(rejection::bad_signature, "unknown verifier");
}

const char* scheme_name(scheme s) {
  switch (s) {
    case scheme::none: return "none";
    case scheme::standard_webhooks: return "standard_webhooks";
    case scheme::github: return "github";
    case scheme::stripe: return "stripe";
    case scheme::hmac_sha256: return "hmac_sha256";
  }
  return "none";
}

bool parse_scheme(std::string_view name, scheme& out) {
  for (auto s : {scheme::none, scheme::standard_webhooks, scheme::github, scheme::stripe, scheme::hmac_sha256})
    if (name == scheme_name(s)) {
      out = s;
      return true;
    }
  return false;
}

} // namespace evmesh::inbound
