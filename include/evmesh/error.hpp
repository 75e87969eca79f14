// The error type of the public API: a code a program can branch on and a
// message a person can read. Thrown by the embedding API on bad input.
#pragma once

#include <stdexcept>
#include <string>

namespace evmesh {

enum class errc {
  invalid_topic,    // not dot-separated [A-Za-z0-9_-]+ tokens, or over 255 bytes
  reserved_topic,   // under "evmesh.registry.", which only the nodes publish
  invalid_pattern,  // a subscription pattern that breaks the NATS rules
  invalid_id,       // an event id that is empty, too long or not printable ASCII
  invalid_header,   // an event header whose name or value is not UTF-8
  invalid_data,     // data that is not valid JSON where JSON is required
  too_large,        // over a configured size limit
  malformed,        // a frame or document that cannot be decoded
  unavailable,      // the node is stopping or its store failed
  insecure_config,  // a configuration refused as unsafe (a cluster port off loopback without a key)
};

const char* to_string(errc code);

class error : public std::runtime_error {
public:
  error(errc code, const std::string& message)
    : std::runtime_error(message), code_(code) {}
  errc code() const noexcept { return code_; }

private:
  errc code_;
};

} // namespace evmesh
