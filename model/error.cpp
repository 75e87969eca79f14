// Names of the public error codes (include/evmesh/error.hpp), as they appear
// in logs, problem+json bodies and WebSocket error frames.
#include <evmesh/error.hpp>

namespace evmesh {

const char* to_string(errc code) {
  switch (code) {
    case errc::invalid_topic: return "invalid_topic";
    case errc::reserved_topic: return "reserved_topic";
    case errc::invalid_pattern: return "invalid_pattern";
    case errc::invalid_id: return "invalid_id";
    case errc::invalid_header: return "invalid_header";
    case errc::invalid_data: return "invalid_data";
    case errc::too_large: return "too_large";
    case errc::malformed: return "malformed";
    case errc::unavailable: return "unavailable";
    case errc::insecure_config: return "insecure_config";
  }
  return "unknown";
}

} // namespace evmesh
