// See subscriber.hpp.
#include "actors/subscriber.hpp"

#include "base/log_line.hpp"

namespace evmesh {
namespace {

void report_callback_error(routing_probe& probe, subscriber_id id, const event& e, const char* what) {
  probe.subscriber_errors.fetch_add(1, std::memory_order_relaxed);
  log_line() << "evmesh: subscriber " << id << " callback threw on event " << e.id << ": " << what;
}

caf::behavior subscriber(caf::event_based_actor* self, subscriber_id id,
                         subscriber_target target, router_actor router, routing_probe* probe) {
  return {
    [=](deliver_atom, const std::vector<event_ptr>& events) {
      for (const auto& e : events) {
        if (target.host_actor) {
          self->send(target.host_actor, e);
          continue;
        }
        // A throwing callback must not kill the actor (and with it the
        // subscription): count it, say so, go on with the next event.
        try {
          target.on_event(*e);
        } catch (const std::exception& ex) {
          report_callback_error(*probe, id, *e, ex.what());
        } catch (...) {
          report_callback_error(*probe, id, *e, "a non-standard exception");
        }
      }
      self->send(router, consumed_atom::value, id, static_cast<uint64_t>(events.size()));
    },
    [=](overflow_atom, const std::string& reason) {
      try {
        if (target.on_close)
          target.on_close(reason);
      } catch (...) {
        probe->subscriber_errors.fetch_add(1, std::memory_order_relaxed);
      }
      self->quit();
    },
  };
}

} // namespace

caf::actor spawn_subscriber(caf::actor_system& sys, subscriber_id id, subscriber_target target,
                            router_actor router, routing_probe& probe) {
  return sys.spawn(subscriber, id, std::move(target), std::move(router), &probe);
}

} // namespace evmesh
