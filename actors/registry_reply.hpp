// The controller's answer to a call on a registry record (webhook endpoint,
// inbound source): an HTTP-like status (200, 201, 204, 400, 404, 409, 503),
// the reason when it is not 2xx, and the record as it now is.
#pragma once

#include <string>

namespace evmesh {

template <class Record>
struct registry_reply {
  int status = 200;
  std::string error;
  Record record;
};

} // namespace evmesh
