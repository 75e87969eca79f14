// Verifies the signature a third party puts on a webhook it sends to evmesh
// (POST /v1/ingest/{source}), in one of the schemes senders use:
//   standard_webhooks  webhook-id, webhook-timestamp, webhook-signature
//                      ("v1,<base64>" entries, space-separated) over
//                      "id.timestamp.body", key = base64 part of "whsec_..."
//   github             X-Hub-Signature-256: sha256=<hex HMAC of the raw body>
//   stripe             Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>...] over
//                      "t.body", key = the secret text as given
//   hmac_sha256        a configured header, hex or base64, optional prefix,
//                      over the raw body, key = the secret text
//   none               accepts everything
// Signatures are compared in constant time; timestamps (standard_webhooks,
// stripe) must be within `timestamp_tolerance_s` of now, both ways. The
// signature is checked before the timestamp, so "stale" is only ever said of
// an authentic (replayed or delayed) request.
#pragma once

#include <boost/beast/http/fields.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace evmesh::inbound {

constexpr int64_t timestamp_tolerance_s = 300;

enum class scheme { none, standard_webhooks, github, stripe, hmac_sha256 };
enum class encoding { hex, base64 };

struct verifier {
  scheme kind = scheme::none;
  std::string key;  // HMAC key bytes
  // github and hmac_sha256: the header with the signature of the body
  std::string header;
  encoding signature_encoding = encoding::hex;
  std::string prefix;  // e.g. "sha256="
};

// A verifier of `kind` under `key`. github's header, encoding and prefix are
// fixed (X-Hub-Signature-256, hex, "sha256="); only hmac_sha256 takes them.
verifier make_verifier(scheme kind, std::string key, std::string header = {},
                       encoding signature_encoding = encoding::hex, std::string prefix = {});

enum class rejection { none, missing_header, malformed_header, bad_signature, stale_timestamp };

struct verdict {
  rejection why = rejection::none;
  std::string detail;  // what is wrong, for the 401's problem detail
  bool accepted() const { return why == rejection::none; }
};

verdict verify(const verifier& v, const boost::beast::http::fields& headers, std::string_view body,
               int64_t now_s);

// "standard_webhooks", ... and back (false when the name is unknown).
const char* scheme_name(scheme s);
bool parse_scheme(std::string_view name, scheme& out);

} // namespace evmesh::inbound
