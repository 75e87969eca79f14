// What the actor unit tests (tests/unit/*_actor_test.cpp) share: a CAF
// system configured as the node configures it, a temp dir with a real SQLite
// store behind a real store writer and reader, bounded waits on scoped
// actors, a hand-moved clock for the delivery actor, and an in-process HTTP
// receiver on 127.0.0.1 that answers from a script and records every request.
// Nothing here sleeps to synchronise: every wait is on a reply, a mailbox or
// a condition variable, with a deadline.
#pragma once

#include "actors/delivery.hpp"
#include "actors/messages.hpp"
#include "actors/store_reader.hpp"
#include "actors/store_writer.hpp"
#include "actors/probes.hpp"
#include "store/delivery_store.hpp"
#include "store/store.hpp"
#include "transports/http_server.hpp"

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace evmesh::test {

// How long any single wait in these tests may take before it counts as a
// failure (generous: the machine is shared; a passing run takes far less).
constexpr auto reply_timeout = std::chrono::seconds{10};

// A fresh directory under the system temp dir, removed with everything in it.
class actor_test_dir {
public:
  actor_test_dir() {
    static std::atomic<int> counter{0};
    std::random_device random;
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = std::filesystem::temp_directory_path() /
            ("evmesh-actors-" + std::string(info ? info->name() : "x") + "-" + std::to_string(::getpid()) +
             "-" + std::to_string(counter++) + "-" + std::to_string(random()));
    std::filesystem::create_directories(path_);
  }
  ~actor_test_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  actor_test_dir(const actor_test_dir&) = delete;
  actor_test_dir& operator=(const actor_test_dir&) = delete;
  const std::filesystem::path& path() const { return path_; }

private:
  std::filesystem::path path_;
};

// The scheduler settings node.cpp uses (2 workers, no spin-sleeping).
inline caf::actor_system_config& node_like(caf::actor_system_config& cfg) {
  cfg.set("scheduler.max-threads", 2);
  cfg.set("work-stealing.moderate-poll-attempts", 0);
  return cfg;
}

// The real store writer and reader on a SQLite file in a temp dir.
struct sqlite_actors {
  // The event store first: it creates the tables the delivery store uses.
  sqlite_actors(caf::actor_system& sys, const std::filesystem::path& dir, store_probe& probe) {
    auto events = open_sqlite_store(dir, store_access::read_write);
    auto deliveries = open_sqlite_delivery_store(dir);
    writer = spawn_store_writer(sys, std::move(events), std::move(deliveries), retention_policy{},
                                std::chrono::milliseconds{0}, probe);
    reader = spawn_store_reader(sys, open_sqlite_store(dir, store_access::read_only));
  }

  // Ends both and drops the handles (the system waits for them).
  void stop() {
    if (writer)
      caf::anon_send_exit(writer, caf::exit_reason::user_shutdown);
    if (reader)
      caf::anon_send_exit(reader, caf::exit_reason::user_shutdown);
    writer = nullptr;
    reader = nullptr;
  }

  store_writer_actor writer;
  store_reader_actor reader;
};

// Appends `events` through the writer and returns what it stored (seqs set).
inline stored_batch append_through(caf::scoped_actor& self, const store_writer_actor& writer,
                                   std::vector<event> events) {
  stored_batch out;
  out.error = "no reply from the store writer";
  self->request(writer, reply_timeout, append_atom::value, std::move(events))
    .receive([&](stored_batch& stored) { out = std::move(stored); },
             [&](caf::error& err) { out.error = caf::to_string(err); });
  return out;
}

inline event draft(std::string topic, std::string data = "{}") {
  event e;
  e.topic = std::move(topic);
  e.data = std::move(data);
  return e;
}

// A clock for the delivery actor that moves only when the test says:
// wake_at() records a timer, advance_to() fires the timers that became due.
class manual_clock final : public delivery_clock {
public:
  explicit manual_clock(int64_t start_us) : now_(start_us) {}

  int64_t now_us() override {
    std::lock_guard lock{mutex_};
    return now_;
  }

  void wake_at(const delivery_actor& target, int64_t at_us) override {
    {
      std::lock_guard lock{mutex_};
      if (at_us > now_) {
        timers_.push_back({at_us, caf::actor_cast<caf::weak_actor_ptr>(target)});
        changed_.notify_all();
        return;
      }
    }
    caf::anon_send(target, wake_atom::value);
  }

  // Moves the clock to `t` (never back) and wakes every actor whose timer is due.
  void advance_to(int64_t t) {
    std::vector<caf::weak_actor_ptr> due;
    {
      std::lock_guard lock{mutex_};
      now_ = std::max(now_, t);
      auto split = std::stable_partition(timers_.begin(), timers_.end(),
                                         [&](const timer& x) { return x.at_us > now_; });
      for (auto it = split; it != timers_.end(); ++it)
        due.push_back(std::move(it->target));
      timers_.erase(split, timers_.end());
    }
    for (auto& weak : due)
      if (auto strong = weak.lock())
        caf::anon_send(caf::actor_cast<delivery_actor>(strong), wake_atom::value);
  }

  // The earliest pending timer, once there is one; nullopt if none came
  // within the timeout.
  std::optional<int64_t> wait_for_timer(std::chrono::milliseconds timeout = reply_timeout) {
    std::unique_lock lock{mutex_};
    if (!changed_.wait_for(lock, timeout, [&] { return !timers_.empty(); }))
      return std::nullopt;
    return earliest();
  }

  // The earliest pending timer now (nullopt: none).
  std::optional<int64_t> pending_timer() {
    std::lock_guard lock{mutex_};
    if (timers_.empty())
      return std::nullopt;
    return earliest();
  }

  // Forgets the actors it would wake (before the actor system goes).
  void clear() {
    std::lock_guard lock{mutex_};
    timers_.clear();
  }

private:
  struct timer {
    int64_t at_us;
    caf::weak_actor_ptr target;
  };
  int64_t earliest() const {
    return std::min_element(timers_.begin(), timers_.end(),
                            [](const timer& a, const timer& b) { return a.at_us < b.at_us; })
      ->at_us;
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  int64_t now_;
  std::vector<timer> timers_;
};

// An HTTP receiver on 127.0.0.1 inside the test process: answers each
// request with the next scripted answer (200 once the script is used up) and
// keeps every request it got.
class local_receiver {
public:
  struct answer {
    int status = 200;
    std::string retry_after;  // sent as Retry-After when set
  };
  struct request_seen {
    std::string target;
    std::map<std::string, std::string> headers;  // names in lower case
    std::string body;
  };

  explicit local_receiver(std::vector<answer> script = {}) : script_(script.begin(), script.end()) {
    http::server_options options;
    options.host = "127.0.0.1";
    options.port = 0;
    options.threads = 1;
    server_ = std::make_unique<http::server>(options, [this](http::request&& req, http::responder respond) {
      request_seen seen;
      seen.target = std::string(req.target());
      for (const auto& field : req) {
        std::string name(field.name_string());
        std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
        seen.headers[name] = std::string(field.value());
      }
      seen.body = req.body();
      answer reply;
      {
        std::lock_guard lock{mutex_};
        if (!script_.empty()) {
          reply = script_.front();
          script_.pop_front();
        }
        seen_.push_back(std::move(seen));
        changed_.notify_all();
      }
      http::response res{static_cast<boost::beast::http::status>(reply.status), req.version()};
      res.keep_alive(req.keep_alive());
      if (!reply.retry_after.empty())
        res.set(boost::beast::http::field::retry_after, reply.retry_after);
      res.prepare_payload();
      respond(std::move(res));
    });
    server_->start();
  }

  std::string url(const std::string& path = "/hook") const {
    return "http://127.0.0.1:" + std::to_string(server_->port()) + path;
  }

  // Waits until at least `n` requests arrived; false on timeout.
  bool wait_for(std::size_t n, std::chrono::milliseconds timeout = reply_timeout) {
    std::unique_lock lock{mutex_};
    return changed_.wait_for(lock, timeout, [&] { return seen_.size() >= n; });
  }

  std::vector<request_seen> received() {
    std::lock_guard lock{mutex_};
    return seen_;
  }

  void stop() { server_->stop(std::chrono::milliseconds{500}); }

private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<answer> script_;
  std::vector<request_seen> seen_;
  std::unique_ptr<http::server> server_;
};

} // namespace evmesh::test
