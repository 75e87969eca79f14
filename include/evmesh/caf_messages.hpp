// The evmesh types that travel in CAF messages to a host's actors: an
// evmesh::event_ptr is a local shared pointer, never serialized, so CAF is
// told to allow it. Included by evmesh/caf.hpp and by the node's actors.
#pragma once

#include <evmesh/event.hpp>

#include <caf/allowed_unsafe_message_type.hpp>

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(evmesh::event_ptr)
