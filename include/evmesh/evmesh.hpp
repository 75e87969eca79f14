// The one header a host application includes to embed an evmesh node.
#pragma once

#include <evmesh/error.hpp>
#include <evmesh/event.hpp>
#include <evmesh/node.hpp>
#include <evmesh/topic.hpp>
