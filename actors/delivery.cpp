// See delivery.hpp.
#include "actors/delivery.hpp"

#include "actors/delivery_policy.hpp"
#include "base/base64.hpp"
#include "base/webhook_signature.hpp"

#include <deque>
#include <map>
#include <set>
#include <unordered_map>

namespace evmesh {
namespace {

constexpr std::size_t live_buffer_limit = 4096;  // live events held before falling back to scans
constexpr std::size_t scan_page = 256;
constexpr std::size_t max_waiting = 10000;  // events waiting for a retry before new ones wait in the log
constexpr uint32_t breaker_threshold = 5;
constexpr int64_t max_breaker_cooldown_us = int64_t{10} * 60 * 1000000;
constexpr auto actor_timeout = std::chrono::seconds{30};
constexpr int64_t shared_poll_us = 5000000;  // shared store: scan every log at least this often

// One log the queue reads (see delivery.hpp) and where the endpoint is in it.
struct log_follower {
  std::string log;       // "" on SQLite: this node's
  uint64_t read_to = 0;  // every event of the log up to here has been taken (or did not match)
  uint64_t cursor_reported = 0;
  std::multiset<uint64_t> outstanding;  // seqs of untracked events in ready / in flight
  std::set<uint64_t> tracked;           // seqs with an open row (not to be taken from the log again)
};

// One event on its way to the endpoint.
struct item {
  event_ptr e;
  std::size_t log = 0;  // index into the actor's followers
  uint64_t seq = 0;     // in that log
  std::shared_ptr<const std::string> body;  // built on the first attempt, the same bytes on every retry
  uint32_t attempts = 0;
  bool tracked = false;  // has a delivery_states row (retry, replay), so the cursor need not wait for it
  int64_t started_us = 0;
};

// The webhook body: {"id","type","timestamp","data"}.
std::string webhook_body(const event& e) {
  std::string body = "{\"id\":" + nlohmann::json(e.id).dump() + ",\"type\":" + nlohmann::json(e.topic).dump() +
                     ",\"timestamp\":\"" + format_rfc3339(e.time_us) + "\",";
  if (e.binary)
    body += "\"data_base64\":\"" + base64_encode(e.data) + "\"}";
  else
    body += "\"data\":" + e.data + "}";
  return body;
}

struct delivery_actor_state {
  delivery_actor_state() = default;
  delivery_setup setup;
  std::vector<std::string> keys;  // live signing keys, current first
  std::unique_ptr<retry_schedule> schedule;
  std::mt19937_64 random{std::random_device{}()};
  token_bucket bucket;
  std::unique_ptr<circuit_breaker> breaker;
  int64_t paused_until = 0;  // Retry-After

  bool loaded = false;     // the snapshot (cursors, pending rows) arrived
  bool disabling = false;  // asked the controller to disable; no more requests
  std::vector<log_follower> logs;  // SQLite: just this node's
  // SQLite: the live buffer holds every matching event after live_from.
  std::optional<uint64_t> live_from;
  std::deque<event_ptr> live;
  // Shared store: whether a scan may find something (a routed event
  // matched, or the poll interval passed), and when the last one started.
  bool more = true;
  int64_t last_scan_us = 0;
  bool scanning = false;
  std::deque<item> ready;    // read from the log, not attempted yet
  std::deque<item> replays;  // queued by a replay
  std::multimap<int64_t, item> waiting;  // due time → event waiting for a retry
  std::unordered_map<uint64_t, item> in_flight;
  uint64_t next_request = 1;
  uint64_t routed_upto = 0;
  int64_t wake_at = 0;
  int64_t last_success_us = 0;
  int64_t failing_since_us = 0;
  endpoint_progress progress;
  static inline const char* name = "evmesh.delivery";

  const endpoint_config& ep() const { return setup.endpoint; }
  bool live_mode() const { return !setup.shared && live_from && logs[0].read_to >= *live_from; }
  webhook_probe& probe() { return *setup.probe; }
  delivery_clock& clock() { return *setup.clock; }
  int64_t now_us() { return setup.clock->now_us(); }

  // The follower of `log`, added (read from its start) when new.
  std::size_t follower(const std::string& log) {
    for (std::size_t i = 0; i < logs.size(); ++i)
      if (logs[i].log == log)
        return i;
    logs.emplace_back().log = log;
    return logs.size() - 1;
  }

  // Takes an event read from a log into `ready`, unless it was taken before.
  void take(std::size_t log, event_ptr e) {
    auto& f = logs[log];
    auto seq = e->seq;
    if (seq <= f.read_to)
      return;
    f.read_to = seq;
    if (f.tracked.count(seq))
      return;
    f.outstanding.insert(seq);
    ready.push_back(item{std::move(e), log, seq, nullptr, 0, false, 0});
  }
};

using delivery_pointer = delivery_actor::stateful_pointer<delivery_actor_state>;

void pump(delivery_pointer self);

void schedule_wake(delivery_pointer self, int64_t at_us) {
  auto& st = self->state;
  if (st.wake_at != 0 && st.wake_at <= at_us)
    return;
  st.wake_at = at_us;
  st.clock().wake_at(delivery_actor{self}, at_us);
}

void scan_failed(delivery_pointer self) {
  self->state.scanning = false;
  self->state.more = true;
  schedule_wake(self, self->state.now_us() + 1000000);
}

// SQLite: the next page of this node's log.
void scan_own_log(delivery_pointer self) {
  self->request(self->state.setup.reader, actor_timeout, dl_scan_atom::value,
                log_scan{self->state.ep().topics, self->state.logs[0].read_to, scan_page})
    .then(
      [self](log_page& page) {
        auto& st = self->state;
        if (!page.error.empty())
          return scan_failed(self);
        st.scanning = false;
        for (auto& e : page.events)
          st.take(0, std::make_shared<const event>(std::move(e)));
        st.logs[0].read_to = std::max(st.logs[0].read_to, page.scanned_to);
        if (page.at_end && !st.live_from)
          st.live_from = page.scanned_to;
        pump(self);
      },
      [self](caf::error&) { scan_failed(self); });
}

// Shared store: the next page of every log, merged in time order (each
// log's own order kept).
void scan_every_log(delivery_pointer self) {
  auto& state = self->state;
  shared_log_scan q{state.ep().topics, {}, scan_page};
  for (const auto& f : state.logs)
    q.after[f.log] = f.read_to;
  state.more = false;  // a routed event arriving from now on sets it again
  state.last_scan_us = state.now_us();
  self->request(state.setup.reader, actor_timeout, dl_scan_atom::value, std::move(q))
    .then(
      [self](shared_log_pages& pages) {
        auto& st = self->state;
        if (!pages.error.empty())
          return scan_failed(self);
        st.scanning = false;
        struct head {
          std::size_t log;
          std::vector<event>* events;
          std::size_t next = 0;
        };
        std::vector<head> heads;
        for (auto& [log, page] : pages.logs) {
          heads.push_back({st.follower(log), &page.events});
          if (!page.events.empty())
            st.more = true;  // a page with events may have more behind it
        }
        for (;;) {
          head* first = nullptr;
          for (auto& h : heads)
            if (h.next < h.events->size() &&
                (!first || (*h.events)[h.next].time_us < (*first->events)[first->next].time_us))
              first = &h;
          if (!first)
            break;
          st.take(first->log, std::make_shared<const event>(std::move((*first->events)[first->next++])));
        }
        auto in_order = heads.begin();  // heads follow pages.logs
        for (const auto& [log, page] : pages.logs) {
          auto& f = st.logs[(in_order++)->log];
          f.read_to = std::max(f.read_to, page.scanned_to);
        }
        pump(self);
      },
      [self](caf::error&) { scan_failed(self); });
}

void start_scan(delivery_pointer self) {
  self->state.scanning = true;
  if (self->state.setup.shared)
    scan_every_log(self);
  else
    scan_own_log(self);
}

// Makes sure `ready` has something if the logs have something: from the
// live buffer in live mode, else by scanning (asynchronously).
void fill_ready(delivery_pointer self) {
  auto& st = self->state;
  if (!st.ready.empty())
    return;
  if (st.live_mode()) {
    while (!st.live.empty() && st.ready.size() < scan_page) {
      st.take(0, std::move(st.live.front()));
      st.live.pop_front();
    }
    return;
  }
  if (!st.scanning && (!st.setup.shared || st.more))
    start_scan(self);
}

void send(delivery_pointer self, item it) {
  auto& st = self->state;
  if (!it.body)
    it.body = std::make_shared<const std::string>(webhook_body(*it.e));
  auto now = st.now_us();
  auto timestamp = now / 1000000;
  ++it.attempts;
  it.started_us = now;
  webhook::post_request req;
  req.url = st.ep().url;
  req.body = it.body;
  req.timeout = st.setup.request_timeout;
  req.headers = {{"webhook-id", it.e->id},
                 {"webhook-timestamp", std::to_string(timestamp)},
                 {"webhook-signature", webhook_signature_header(st.keys, it.e->id, timestamp, *it.body)},
                 {"content-type", "application/json"},
                 {"user-agent", std::string("evmesh/") + EVMESH_VERSION}};
  for (const auto& [name, value] : st.ep().headers)
    req.headers.emplace_back(name, value);
  auto number = st.next_request++;
  st.in_flight.emplace(number, std::move(it));
  st.probe().attempts.fetch_add(1, std::memory_order_relaxed);
  caf::weak_actor_ptr weak = self->ctrl();
  st.setup.client->post(std::move(req), [weak, number](webhook::post_result result) {
    if (auto strong = weak.lock())
      caf::anon_send(caf::actor_cast<delivery_actor>(strong), posted_atom::value, number, std::move(result));
  });
}

void pump(delivery_pointer self) {
  auto& st = self->state;
  if (!st.loaded || st.disabling || st.ep().disabled)
    return;
  auto now = st.now_us();
  while (st.in_flight.size() < st.ep().max_in_flight) {
    if (now < st.paused_until)
      return schedule_wake(self, st.paused_until);
    enum { none, retry, replay, fresh } source = none;
    bool fifo = st.ep().max_in_flight == 1;
    if (!st.waiting.empty() && st.waiting.begin()->first <= now)
      source = retry;
    else if (fifo && !st.waiting.empty())
      return schedule_wake(self, st.waiting.begin()->first);  // the head of the line waits
    else if (!st.replays.empty())
      source = replay;
    else if (st.waiting.size() < max_waiting) {
      fill_ready(self);
      if (!st.ready.empty())
        source = fresh;
    }
    if (source == none) {
      if (!st.waiting.empty())
        schedule_wake(self, st.waiting.begin()->first);
      return;
    }
    if (!st.breaker->allow(now))
      return schedule_wake(self, st.breaker->reopens_at_us());
    if (auto wait = st.bucket.take(now); wait > 0)
      return schedule_wake(self, now + wait);
    item it;
    if (source == retry) {
      it = std::move(st.waiting.begin()->second);
      st.waiting.erase(st.waiting.begin());
    } else if (source == replay) {
      it = std::move(st.replays.front());
      st.replays.pop_front();
    } else {
      it = std::move(st.ready.front());
      st.ready.pop_front();
    }
    send(self, std::move(it));
  }
}

void put_row(delivery_actor_state& st, const item& it, const char* state, int64_t next_us, int status,
             const std::string& error, int64_t now) {
  st.progress.rows.push_back(
    {st.ep().id, st.logs[it.log].log, it.seq, it.e->id, state, it.attempts, next_us, status, error, now});
}

void request_disable(delivery_pointer self, const std::string& reason) {
  auto& st = self->state;
  if (st.disabling)
    return;
  st.disabling = true;
  self->send(st.setup.manager, ep_disable_atom::value, st.ep().id, reason);
}

void on_posted(delivery_pointer self, uint64_t number, webhook::post_result& r) {
  auto& st = self->state;
  auto found = st.in_flight.find(number);
  if (found == st.in_flight.end())
    return;
  auto it = std::move(found->second);
  st.in_flight.erase(found);
  auto now = st.now_us();
  auto& f = st.logs[it.log];
  st.progress.attempts.push_back({st.ep().id, it.e->id, f.log, it.seq, it.attempts, it.started_us, r.status,
                                  r.duration.count(), r.error, r.body});
  bool ok = r.status >= 200 && r.status < 300;
  if (ok) {
    st.probe().delivered.fetch_add(1, std::memory_order_relaxed);
    st.breaker->on_success();
    st.last_success_us = now;
    st.failing_since_us = 0;
    st.progress.last_success_us = now;
    if (it.tracked) {
      put_row(st, it, delivery_state::delivered, 0, r.status, {}, now);
      f.tracked.erase(it.seq);
    } else {
      f.outstanding.erase(f.outstanding.find(it.seq));
    }
    return pump(self);
  }
  st.probe().failed_attempts.fetch_add(1, std::memory_order_relaxed);
  if (r.status == 410)
    request_disable(self, "the endpoint answered 410 Gone");
  st.breaker->on_failure(now);
  if (st.failing_since_us == 0) {
    st.failing_since_us = now;
    st.progress.failing_since_us = now;
  } else if (now - st.failing_since_us >= st.setup.disable_after_us) {
    request_disable(self, "no successful delivery for " +
                            std::to_string(st.setup.disable_after_us / 1000000) + " s");
  }
  // The next attempt waits for the schedule, or for Retry-After on 429/503
  // (clamped to the schedule's longest delay); none left: failed.
  auto delay = st.schedule->delay_before(it.attempts + 1, st.random);
  if (delay && (r.status == 429 || r.status == 503) && !r.retry_after.empty()) {
    if (auto after = parse_retry_after(r.retry_after, now)) {
      delay = std::min(*after, st.schedule->max_delay_us());
      st.paused_until = std::max(st.paused_until, now + *delay);
    }
  }
  auto error = r.error.empty() ? "HTTP " + std::to_string(r.status) : r.error;
  if (!it.tracked) {
    f.outstanding.erase(f.outstanding.find(it.seq));
    f.tracked.insert(it.seq);
    it.tracked = true;
  }
  if (delay) {
    put_row(st, it, delivery_state::retrying, now + *delay, r.status, error, now);
    st.waiting.emplace(now + *delay, std::move(it));
  } else {
    st.probe().failed_events.fetch_add(1, std::memory_order_relaxed);
    put_row(st, it, delivery_state::failed, 0, r.status, error, now);
    f.tracked.erase(it.seq);
  }
  pump(self);
}

// Every matching event of the log at or below this seq is finished or has
// a row.
uint64_t cursor_candidate(delivery_actor_state& st, log_follower& f) {
  uint64_t c = f.read_to;
  if (st.live_mode()) {
    while (!st.live.empty() && st.live.front()->seq <= f.read_to)
      st.live.pop_front();
    c = st.live.empty() ? std::max(f.read_to, st.routed_upto) : st.live.front()->seq - 1;
  }
  if (!f.outstanding.empty())
    c = std::min(c, *f.outstanding.begin() - 1);
  return c;
}

// What became durable-worthy since the last report (possibly nothing).
endpoint_progress report(delivery_actor_state& st) {
  endpoint_progress out;
  out.endpoint_id = st.ep().id;
  if (!st.loaded)
    return out;
  for (auto& f : st.logs) {
    auto c = cursor_candidate(st, f);
    if (c > f.cursor_reported) {
      st.progress.cursors[f.log] = c;
      f.cursor_reported = c;
    }
  }
  std::swap(out, st.progress);
  return out;
}

// An event with a delivery_states row (waiting for a retry, or replayed).
item tracked_item(delivery_actor_state& st, pending_delivery& p) {
  auto log = st.follower(p.row.log);
  st.logs[log].tracked.insert(p.row.seq);
  return item{std::make_shared<const event>(std::move(p.e)), log, p.row.seq, nullptr, p.row.attempts, true, 0};
}

void configure(delivery_actor_state& st, endpoint_config ep) {
  st.setup.endpoint = std::move(ep);
  st.keys = live_secret_keys(st.ep(), st.now_us());
  st.bucket.set_rate(st.ep().rate_limit);
}

delivery_actor::behavior_type delivery(delivery_pointer self, delivery_setup setup) {
  auto& init = self->state;
  init.setup = std::move(setup);
  if (!init.setup.shared)
    init.follower("");
  configure(init, init.setup.endpoint);
  init.progress.endpoint_id = init.ep().id;
  init.schedule = std::make_unique<retry_schedule>(init.setup.retry_schedule);
  // The breaker cools down for the schedule's first retry delay at first,
  // doubling up to the schedule's longest (at most 10 min).
  auto first_retry = init.schedule->delay_before(2, init.random).value_or(1000000);
  init.breaker = std::make_unique<circuit_breaker>(
    breaker_threshold, std::max<int64_t>(first_retry, 10000),
    std::min(max_breaker_cooldown_us, std::max<int64_t>(init.schedule->max_delay_us(), 10000)));
  self->request(init.setup.writer, actor_timeout, dl_open_atom::value, init.ep().id)
    .then(
      [self](delivery_snapshot& snap) {
        auto& st = self->state;
        if (!snap.error.empty()) {
          self->quit(caf::make_error(caf::sec::runtime_error, "delivery state: " + snap.error));
          return;
        }
        for (const auto& c : snap.cursors) {
          auto& f = st.logs[st.follower(c.log)];
          f.read_to = f.cursor_reported = c.cursor;
          st.last_success_us = std::max(st.last_success_us, c.last_success_us);
          st.failing_since_us = std::max(st.failing_since_us, c.failing_since_us);
        }
        for (auto& p : snap.pending) {
          auto it = tracked_item(st, p);
          if (p.row.state == delivery_state::queued)
            st.replays.push_back(std::move(it));
          else
            st.waiting.emplace(p.row.next_attempt_us, std::move(it));
        }
        st.loaded = true;
        pump(self);
      },
      [self](caf::error& err) { self->quit(err); });
  return {
    [self](deliver_atom, const std::vector<event_ptr>& events, uint64_t routed_upto) {
      auto& st = self->state;
      if (st.setup.shared) {  // something new in some log: the next scan finds it
        st.more = true;
        return pump(self);
      }
      st.routed_upto = std::max(st.routed_upto, routed_upto);
      for (const auto& e : events) {
        if (!st.live_from)
          st.live_from = e->seq - 1;  // every later matching event comes this way too
        st.live.push_back(e);
      }
      if (st.live.size() > live_buffer_limit) {
        st.live_from = st.live.back()->seq;  // from here on only the log has them
        st.live.clear();
      }
      pump(self);
    },
    [self](tick_atom, uint64_t routed_upto) -> endpoint_progress {
      auto& st = self->state;
      st.routed_upto = std::max(st.routed_upto, routed_upto);
      auto now = st.now_us();
      if (st.keys.size() != live_secret_keys(st.ep(), now).size())
        st.keys = live_secret_keys(st.ep(), now);  // a rotated secret expired
      if (st.setup.shared && now - st.last_scan_us >= shared_poll_us) {
        st.more = true;
        pump(self);
      }
      return report(st);
    },
    [self](ep_update_atom, endpoint_config& ep) {
      configure(self->state, std::move(ep));
      pump(self);
    },
    [self](replay_atom, std::vector<pending_delivery>& rows) {
      auto& st = self->state;
      for (auto& p : rows)
        st.replays.push_back(tracked_item(st, p));
      pump(self);
    },
    [self](resync_atom) {
      self->state.live.clear();
      self->state.live_from.reset();
    },
    [self](wake_atom) {
      self->state.wake_at = 0;
      pump(self);
    },
    [self](posted_atom, uint64_t number, webhook::post_result& result) { on_posted(self, number, result); },
  };
}

// See system_delivery_clock().
class system_clock final : public delivery_clock {
public:
  int64_t now_us() override { return evmesh::now_us(); }
  void wake_at(const delivery_actor& target, int64_t at_us) override {
    auto delay = std::max<int64_t>(0, at_us - evmesh::now_us());
    caf::delayed_anon_send(target, std::chrono::microseconds{delay}, wake_atom::value);
  }
};

} // namespace

std::shared_ptr<delivery_clock> system_delivery_clock() {
  static const auto clock = std::make_shared<system_clock>();
  return clock;
}

delivery_actor spawn_delivery(caf::actor_system& sys, delivery_setup setup) {
  return sys.spawn(delivery, std::move(setup));
}

} // namespace evmesh
