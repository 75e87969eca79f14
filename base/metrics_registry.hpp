// The node's metrics registry: each subsystem's probe registers its counters,
// gauges and labelled families here, and one renderer writes them all as
// Prometheus text (format 0.0.4) at GET /metrics. Counters and gauges are
// plain relaxed atomics owned by the probes: a hot-path increment costs what
// it did before the registry; the registry only keeps pointers and reads them
// at scrape time. Registration happens while the node starts, before any
// scrape, so rendering takes no lock but the labelled families' own.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace evmesh {

using counter = std::atomic<uint64_t>;
using gauge = std::atomic<int64_t>;

enum class metric_type { counter_type, gauge_type };

using metric_labels = std::vector<std::pair<std::string, std::string>>;

struct metric_sample {
  metric_labels labels;
  int64_t value = 0;
};

// One metric family as a scrape sees it; names carry no prefix (the
// registry adds its own).
struct metric_family {
  std::string name;
  std::string help;
  metric_type type = metric_type::gauge_type;
  std::vector<metric_sample> samples;
};

// Counters keyed by label values, at most `max_series` of them (callers keep
// the label values bounded, e.g. names admins created; past the bound a new
// series is not made and its increments are dropped). Series render in the
// order they were made.
class counter_family {
public:
  counter_family(std::vector<std::string> label_names, std::size_t max_series);

  // The series of `values` (one per label name), made on first use; null
  // when the family is full.
  counter* series(const std::vector<std::string>& values);
  bool has(const std::vector<std::string>& values) const;
  std::vector<metric_sample> samples() const;

private:
  struct entry {
    std::vector<std::string> values;
    counter value{0};
  };
  std::vector<std::string> label_names_;
  std::size_t max_series_;
  mutable std::mutex mutex_;
  std::list<entry> entries_;  // stable addresses: increments hold a pointer
  std::map<std::vector<std::string>, counter*> index_;
};

class metrics_registry {
public:
  explicit metrics_registry(std::string prefix) : prefix_(std::move(prefix)) {}

  void add(std::string name, std::string help, const counter& value);
  void add(std::string name, std::string help, const gauge& value);
  void add(std::string name, std::string help, const counter_family& family);
  // A family whose samples are read by `collect` at scrape time.
  void add(std::string name, std::string help, metric_type type,
           std::function<std::vector<metric_sample>()> collect);

  // Every registered family, then `scraped` (families gathered from actors
  // for this scrape), as Prometheus text.
  std::string render(const std::vector<metric_family>& scraped = {}) const;

private:
  struct entry {
    std::string name;
    std::string help;
    metric_type type;
    std::function<std::vector<metric_sample>()> collect;
  };
  std::string prefix_;
  std::vector<entry> entries_;
};

// Prometheus text for `families`, each name prefixed: the one renderer.
// Label values escape `\`, `"` and newline; HELP text `\` and newline.
void render_prometheus(std::string& out, const std::string& prefix, const metric_family& family);

} // namespace evmesh
