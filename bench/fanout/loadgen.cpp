// Load generator for the WebSocket fan-out benchmark (bench/fanout/run.sh).
//
// It forks --procs worker processes that open --clients WebSocket
// connections in all to the server under test and subscribe each to one
// topic, then publishes from its own connection, in two phases:
//   1. throughput: --events events as fast as the server acks them (at most
//      --window unacknowledged); rate = deliveries / (last delivery - first
//      publish);
//   2. latency: --rate events per second for --seconds; publish → receive
//      latency of every delivery (p50, p99), from the monotonic clock the
//      publisher stamps into each event (one machine, so one clock).
// A marker event after each phase tells the workers that phase is over on a
// connection (events arrive in order per connection). With --server-pid it
// also reads the server's RSS before and after the clients subscribed (RSS
// per idle connection) and the CPU time it used in phase 1.
//
// The client side of RFC 6455 is written out here (handshake, masked frames
// out, unmasked frames in, pong for ping) so that one read takes whatever
// the socket has: the generator must cost little next to the server it
// measures, on the same cores. It speaks only what both servers under test
// speak: subscribe, publish, ack, event.
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using clock_type = std::chrono::steady_clock;

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now().time_since_epoch()).count();
}

struct options {
  std::string name = "server";
  uint16_t port = 0;
  std::string path = "/";
  std::string topic = "bench.fanout";
  std::size_t clients = 10000;
  int procs = 4;
  int events = 300;
  int window = 64;
  double rate = 10;
  double seconds = 5;
  std::size_t payload = 100;
  int server_pid = 0;
  int timeout = 180;  // seconds for the whole run
  bool subscribe = true;  // false: connect only, report the server's RSS, stop
};

// Phases, as stamped into each event's data ("p").
constexpr int phase_throughput = 1;
constexpr int phase_latency = 2;
constexpr int marker_offset = 10;  // p = 10 + phase: the phase is over

// ---- statistics ---------------------------------------------------------------

// Latency histogram in microseconds: exact below 64 µs, then 32 buckets per
// power of two (about 3 % wide).
class histogram {
public:
  void add(int64_t ns) {
    auto us = static_cast<uint64_t>(std::max<int64_t>(0, ns / 1000));
    ++counts_[index(us)];
  }
  void merge_line(std::istringstream& in) {
    std::size_t i = 0;
    uint64_t n = 0;
    while (in >> i >> n)
      if (i < counts_.size())
        counts_[i] += n;
  }
  std::string line() const {
    std::string out;
    for (std::size_t i = 0; i < counts_.size(); ++i)
      if (counts_[i])
        out += ' ' + std::to_string(i) + ' ' + std::to_string(counts_[i]);
    return out;
  }
  uint64_t total() const {
    uint64_t n = 0;
    for (auto c : counts_)
      n += c;
    return n;
  }
  // The lower bound of the bucket holding the q-quantile, in µs.
  uint64_t quantile_us(double q) const {
    const uint64_t n = total();
    if (n == 0)
      return 0;
    const auto want = static_cast<uint64_t>(q * static_cast<double>(n - 1)) + 1;
    uint64_t seen = 0;
    for (std::size_t i = 0; i < counts_.size(); ++i) {
      seen += counts_[i];
      if (seen >= want)
        return lower_bound(i);
    }
    return lower_bound(counts_.size() - 1);
  }

private:
  static constexpr int sub_bits = 5;
  static std::size_t index(uint64_t us) {
    if (us < 64)
      return us;
    const int exponent = 63 - __builtin_clzll(us);
    const auto sub = (us >> (exponent - sub_bits)) & ((1u << sub_bits) - 1);
    return 64 + static_cast<std::size_t>(exponent - 6) * (1u << sub_bits) + sub;
  }
  static uint64_t lower_bound(std::size_t i) {
    if (i < 64)
      return i;
    const auto exponent = static_cast<int>((i - 64) >> sub_bits) + 6;
    const auto sub = (i - 64) & ((1u << sub_bits) - 1);
    return (uint64_t{1} << exponent) + (sub << (exponent - sub_bits));
  }
  std::array<uint64_t, 64 + 58 * 32> counts_{};
};

struct phase_stats {
  uint64_t delivered = 0;
  int64_t last_ns = 0;
  histogram latency;
};

// ---- RFC 6455, client side ----------------------------------------------------

// A masked text frame with one payload (clients must mask).
std::string client_frame(std::string_view payload, uint8_t opcode = 0x1) {
  std::string out;
  out.push_back(static_cast<char>(0x80 | opcode));
  const auto n = payload.size();
  if (n < 126) {
    out.push_back(static_cast<char>(0x80 | n));
  } else if (n < 65536) {
    out.push_back(static_cast<char>(0x80 | 126));
    out.push_back(static_cast<char>(n >> 8));
    out.push_back(static_cast<char>(n & 0xff));
  } else {
    out.push_back(static_cast<char>(0x80 | 127));
    for (int shift = 56; shift >= 0; shift -= 8)
      out.push_back(static_cast<char>((n >> shift) & 0xff));
  }
  const std::array<uint8_t, 4> mask{0x12, 0x34, 0x56, 0x78};
  out.append(reinterpret_cast<const char*>(mask.data()), 4);
  for (std::size_t i = 0; i < n; ++i)
    out.push_back(static_cast<char>(payload[i] ^ mask[i % 4]));
  return out;
}

std::string upgrade_request(uint16_t port, const std::string& path) {
  return "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
         "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: ZXZtZXNoLWJlbmNoLWtleQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
}

// One client connection: handshake, then frames in; `on_text` gets each text
// message (the server's frames are never fragmented here).
class connection : public std::enable_shared_from_this<connection> {
public:
  using text_fn = std::function<void(std::string_view)>;
  using end_fn = std::function<void()>;

  connection(net::io_context& ioc, text_fn on_text, end_fn on_end)
      : socket_(ioc), on_text_(std::move(on_text)), on_end_(std::move(on_end)) {}

  void start(const tcp::endpoint& server, uint16_t port, const std::string& path,
             std::function<void()> on_open) {
    on_open_ = std::move(on_open);
    socket_.async_connect(server, [self = shared_from_this(), port, path](boost::system::error_code ec) {
      if (ec)
        return self->end();
      self->socket_.set_option(tcp::no_delay(true));
      self->request_ = upgrade_request(port, path);
      net::async_write(self->socket_, net::buffer(self->request_),
                       [self](boost::system::error_code wec, std::size_t) {
                         if (wec)
                           return self->end();
                         self->read_head();
                       });
    });
  }

  // Queues a text message.
  void send(std::string_view text) {
    const bool idle = outbox_.empty() && writing_.empty();
    outbox_ += client_frame(text);
    if (idle)
      write_next();
  }

private:
  void read_head() {
    net::async_read_until(socket_, head_, "\r\n\r\n",
                          [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
                            if (ec)
                              return self->end();
                            std::string head(net::buffers_begin(self->head_.data()),
                                             net::buffers_begin(self->head_.data()) + static_cast<long>(n));
                            self->head_.consume(n);
                            if (head.rfind("HTTP/1.1 101", 0) != 0)
                              return self->end();
                            // Bytes after the head are the first frames.
                            self->pending_.assign(net::buffers_begin(self->head_.data()),
                                                  net::buffers_end(self->head_.data()));
                            self->head_.consume(self->head_.size());
                            self->request_.clear();
                            self->request_.shrink_to_fit();
                            if (self->on_open_)
                              self->on_open_();
                            self->parse();
                            self->read_frames();
                          });
  }

  void read_frames() {
    socket_.async_read_some(net::buffer(buffer_), [self = shared_from_this()](boost::system::error_code ec,
                                                                              std::size_t n) {
      if (ec)
        return self->end();
      self->pending_.append(self->buffer_.data(), n);
      self->parse();
      if (!self->ended_)
        self->read_frames();
    });
  }

  // Takes every whole frame out of pending_.
  void parse() {
    std::size_t at = 0;
    for (;;) {
      if (pending_.size() - at < 2)
        break;
      const auto b0 = static_cast<uint8_t>(pending_[at]);
      const auto b1 = static_cast<uint8_t>(pending_[at + 1]);
      std::size_t header = 2;
      uint64_t length = b1 & 0x7f;
      if (length == 126) {
        header = 4;
        if (pending_.size() - at < header)
          break;
        length = (uint64_t{static_cast<uint8_t>(pending_[at + 2])} << 8) | static_cast<uint8_t>(pending_[at + 3]);
      } else if (length == 127) {
        header = 10;
        if (pending_.size() - at < header)
          break;
        length = 0;
        for (int i = 0; i < 8; ++i)
          length = (length << 8) | static_cast<uint8_t>(pending_[at + 2 + static_cast<std::size_t>(i)]);
      }
      if (pending_.size() - at < header + length)
        break;
      std::string_view payload(pending_.data() + at + header, length);
      const auto opcode = b0 & 0x0f;
      if (opcode == 0x1)
        on_text_(payload);
      else if (opcode == 0x9)
        send_control(0xA, payload);  // pong
      else if (opcode == 0x8)
        return end();
      at += header + length;
    }
    pending_.erase(0, at);
  }

  void send_control(uint8_t opcode, std::string_view payload) {
    const bool idle = outbox_.empty() && writing_.empty();
    outbox_ += client_frame(payload, opcode);
    if (idle)
      write_next();
  }

  void write_next() {
    if (!writing_.empty() || outbox_.empty() || ended_)
      return;
    writing_.swap(outbox_);
    net::async_write(socket_, net::buffer(writing_), [self = shared_from_this()](boost::system::error_code ec,
                                                                                 std::size_t) {
      self->writing_.clear();
      if (ec)
        return self->end();
      self->write_next();
    });
  }

  void end() {
    if (ended_)
      return;
    ended_ = true;
    boost::system::error_code ignored;
    socket_.close(ignored);
    if (on_end_)
      on_end_();
  }

  tcp::socket socket_;
  text_fn on_text_;
  end_fn on_end_;
  std::function<void()> on_open_;
  std::string request_;
  net::streambuf head_;
  std::array<char, 16384> buffer_{};
  std::string pending_;
  std::string outbox_;
  std::string writing_;
  bool ended_ = false;
};

// A number after `key` in `text`, from `from` on; -1 if absent.
int64_t number_after(std::string_view text, std::string_view key, std::size_t from = 0) {
  auto at = text.find(key, from);
  if (at == std::string_view::npos)
    return -1;
  at += key.size();
  int64_t value = 0;
  bool any = false;
  while (at < text.size() && text[at] >= '0' && text[at] <= '9') {
    value = value * 10 + (text[at++] - '0');
    any = true;
  }
  return any ? value : -1;
}

// ---- worker process -------------------------------------------------------------

// Opens `count` subscribers, says "ready" on `out` once all are subscribed,
// "drained 1" once every connection has seen the end of phase 1, and its
// statistics once every connection has seen the end of phase 2.
int run_worker(const options& opt, std::size_t count, int out) {
  auto say = [out](const std::string& line) {
    std::string text = line + "\n";
    if (::write(out, text.data(), text.size()) < 0)
      std::perror("loadgen worker: write");
  };
  net::io_context ioc{1};
  const tcp::endpoint server{net::ip::make_address("127.0.0.1"), opt.port};
  std::array<phase_stats, 3> stats;
  std::size_t subscribed = 0, failed = 0, drained = 0, finished = 0, closed = 0;
  std::vector<uint8_t> seen_end(count, 0);  // bit 1: phase 1 over, bit 2: phase 2 over
  const std::string subscribe = "{\"op\":\"subscribe\",\"topic\":\"" + opt.topic + "\"}";
  bool reported_ready = false, reported_drained = false;

  auto check = [&] {
    if (!reported_ready && subscribed + failed == count) {
      reported_ready = true;
      say("ready " + std::to_string(subscribed) + " " + std::to_string(failed));
    }
    if (!reported_drained && drained == subscribed && reported_ready) {
      reported_drained = true;
      say("drained 1");
    }
    if (finished == subscribed && reported_drained)
      ioc.stop();
  };
  auto mark = [&](std::size_t i, uint8_t bit) {
    if (seen_end[i] & bit)
      return;
    seen_end[i] |= bit;
    ++(bit == 1 ? drained : finished);
    check();
  };

  std::vector<std::shared_ptr<connection>> conns;
  conns.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    auto opened = std::make_shared<bool>(false);
    auto on_text = [&, i, opened](std::string_view text) {
      const auto received = now_ns();
      if (text.rfind("{\"op\":\"subscribed\"", 0) == 0) {
        *opened = true;
        ++subscribed;
        return check();
      }
      if (text.rfind("{\"op\":\"event\"", 0) != 0)
        return;
      const auto data = text.find("\"data\":");
      const auto phase = number_after(text, "\"p\":", data);
      const auto sent = number_after(text, "\"t\":", data);
      if (phase > marker_offset)
        return mark(i, static_cast<uint8_t>(phase - marker_offset));
      if (phase != phase_throughput && phase != phase_latency)
        return;
      auto& s = stats[static_cast<std::size_t>(phase)];
      ++s.delivered;
      s.last_ns = received;
      if (sent > 0)
        s.latency.add(received - sent);
    };
    auto on_end = [&, i, opened] {
      ++closed;
      if (!*opened) {
        ++failed;
        return check();
      }
      mark(i, 1);
      mark(i, 2);
    };
    conns.push_back(std::make_shared<connection>(ioc, on_text, on_end));
    conns.back()->start(server, opt.port, opt.path, [&, c = conns.back().get(), opened] {
      if (opt.subscribe)
        return c->send(subscribe);
      *opened = true;  // connected is all this run wants
      ++subscribed;
      check();
    });
  }
  net::steady_timer deadline{ioc, std::chrono::seconds{opt.timeout}};
  deadline.async_wait([&](boost::system::error_code ec) {
    if (!ec)
      ioc.stop();
  });
  ioc.run();
  for (int phase : {phase_throughput, phase_latency}) {
    const auto& s = stats[static_cast<std::size_t>(phase)];
    say("phase " + std::to_string(phase) + " " + std::to_string(s.delivered) + " " +
        std::to_string(s.last_ns) + s.latency.line());
  }
  say("closed " + std::to_string(closed) + " unfinished " + std::to_string(subscribed - finished));
  say("end");
  return 0;
}

// ---- the parent: workers, publisher, report ------------------------------------

struct worker {
  int pid = -1;
  int fd = -1;
  std::string buffer;
  bool eof = false;
};

// The next line from any worker that has one, within the deadline.
bool next_line(std::vector<worker>& workers, clock_type::time_point deadline, std::string& line,
               std::size_t& from) {
  for (;;) {
    for (std::size_t i = 0; i < workers.size(); ++i) {
      auto& w = workers[i];
      auto eol = w.buffer.find('\n');
      if (eol != std::string::npos) {
        line = w.buffer.substr(0, eol);
        w.buffer.erase(0, eol + 1);
        from = i;
        return true;
      }
    }
    std::vector<pollfd> fds;
    for (auto& w : workers)
      if (!w.eof)
        fds.push_back({w.fd, POLLIN, 0});
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
    if (fds.empty() || left.count() <= 0 || ::poll(fds.data(), fds.size(), static_cast<int>(left.count())) <= 0)
      return false;
    for (auto& p : fds) {
      if (!(p.revents & (POLLIN | POLLHUP)))
        continue;
      for (auto& w : workers) {
        if (w.fd != p.fd)
          continue;
        char chunk[65536];
        auto n = ::read(w.fd, chunk, sizeof chunk);
        if (n <= 0)
          w.eof = true;
        else
          w.buffer.append(chunk, static_cast<std::size_t>(n));
      }
    }
  }
}

// Waits until every worker has said a line starting with `word`.
bool wait_all(std::vector<worker>& workers, const std::string& word, clock_type::time_point deadline,
              const std::function<void(const std::string&)>& on_line = {}) {
  std::size_t said = 0;
  std::string line;
  std::size_t from = 0;
  while (said < workers.size() && next_line(workers, deadline, line, from)) {
    if (line.rfind(word, 0) == 0)
      ++said;
    if (on_line)
      on_line(line);
  }
  return said == workers.size();
}

long rss_kib(int pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string key;
  while (status >> key) {
    if (key == "VmRSS:") {
      long kib = 0;
      status >> kib;
      return kib;
    }
    status.ignore(4096, '\n');
  }
  return -1;
}

double cpu_seconds(int pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  auto close = text.rfind(')');
  if (close == std::string::npos)
    return -1;
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  unsigned long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14)
      utime = std::stoul(field);
    if (i == 15)
      stime = std::stoul(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// The publisher: one connection; publish() sends, and acks are counted.
class publisher {
public:
  explicit publisher(const options& opt)
      : opt_(opt), pad_(opt.payload > 40 ? opt.payload - 40 : 1, 'x') {
    conn_ = std::make_shared<connection>(
      ioc_, [this](std::string_view text) {
        if (text.rfind("{\"op\":\"ack\"", 0) == 0)
          ++acked_;
        else if (text.rfind("{\"op\":\"error\"", 0) == 0)
          std::cerr << "loadgen: publish error: " << text << '\n';
      },
      [this] { ended_ = true; });
    bool open = false;
    conn_->start({net::ip::make_address("127.0.0.1"), opt.port}, opt.port, opt.path, [&] { open = true; });
    run_until([&] { return open || ended_; });
    if (!open)
      throw std::runtime_error("the publisher could not connect");
  }

  void publish(int phase) {
    conn_->send("{\"op\":\"publish\",\"topic\":\"" + opt_.topic + "\",\"data\":{\"t\":" +
                std::to_string(now_ns()) + ",\"p\":" + std::to_string(phase) + ",\"pad\":\"" + pad_ + "\"}}");
    ++sent_;
  }
  // Runs the io loop until at most `outstanding` publishes are unacked.
  void wait_acks(int outstanding) {
    run_until([&] { return sent_ - acked_ <= outstanding || ended_; });
  }
  void run_for(std::chrono::nanoseconds d) { ioc_.run_for(d); }
  bool ended() const { return ended_; }
  int acked() const { return acked_; }

private:
  template <class Done> void run_until(Done done) {
    auto deadline = clock_type::now() + std::chrono::seconds{opt_.timeout};
    while (!done() && clock_type::now() < deadline) {
      ioc_.restart();
      ioc_.run_one_for(std::chrono::milliseconds{100});
    }
  }

  const options& opt_;
  const std::string pad_;
  net::io_context ioc_{1};
  std::shared_ptr<connection> conn_;
  int sent_ = 0;
  int acked_ = 0;
  bool ended_ = false;
};

int run(const options& opt) {
  const long rss_before = opt.server_pid ? rss_kib(opt.server_pid) : -1;
  std::vector<worker> workers(static_cast<std::size_t>(opt.procs));
  for (int i = 0; i < opt.procs; ++i) {
    const std::size_t share = opt.clients / static_cast<std::size_t>(opt.procs) +
                              (static_cast<std::size_t>(i) < opt.clients % static_cast<std::size_t>(opt.procs) ? 1 : 0);
    int pipe_fds[2];
    if (::pipe(pipe_fds) != 0)
      throw std::runtime_error("pipe failed");
    const int pid = ::fork();
    if (pid == 0) {
      ::close(pipe_fds[0]);
      ::_exit(run_worker(opt, share, pipe_fds[1]));
    }
    ::close(pipe_fds[1]);
    workers[static_cast<std::size_t>(i)].pid = pid;
    workers[static_cast<std::size_t>(i)].fd = pipe_fds[0];
  }
  const auto deadline = clock_type::now() + std::chrono::seconds{opt.timeout};
  std::size_t subscribed = 0, refused = 0;
  const auto connect_start = clock_type::now();
  if (!wait_all(workers, "ready", deadline, [&](const std::string& line) {
        std::istringstream in(line.substr(6));
        std::size_t ok = 0, bad = 0;
        in >> ok >> bad;
        subscribed += ok;
        refused += bad;
      }))
    throw std::runtime_error("the workers did not get ready in time");
  const double connect_seconds = std::chrono::duration<double>(clock_type::now() - connect_start).count();
  const long rss_after = opt.server_pid ? rss_kib(opt.server_pid) : -1;
  std::cerr << opt.name << ": " << subscribed << (opt.subscribe ? " subscribed (" : " connected (") << refused
            << " failed) in " << connect_seconds << " s\n";
  if (!opt.subscribe) {
    std::printf("RESULT name=%s clients=%zu subscribed=0 rss_before_kib=%ld rss_after_kib=%ld "
                "rss_per_conn_bytes=%.0f\n",
                opt.name.c_str(), subscribed, rss_before, rss_after,
                subscribed ? static_cast<double>(rss_after - rss_before) * 1024.0 / static_cast<double>(subscribed) : -1.0);
    for (auto& w : workers) {
      ::kill(w.pid, SIGTERM);
      ::close(w.fd);
      ::waitpid(w.pid, nullptr, 0);
    }
    return 0;
  }

  publisher pub(opt);
  // Phase 1: as fast as acks allow.
  const double cpu_before = opt.server_pid ? cpu_seconds(opt.server_pid) : -1;
  const auto first_publish = now_ns();
  for (int i = 0; i < opt.events; ++i) {
    pub.wait_acks(opt.window - 1);
    pub.publish(phase_throughput);
  }
  pub.wait_acks(0);
  pub.publish(marker_offset + phase_throughput);
  pub.wait_acks(0);
  if (!wait_all(workers, "drained", deadline))
    std::cerr << opt.name << ": not every connection saw the end of phase 1 in time\n";
  const double cpu_used = opt.server_pid ? cpu_seconds(opt.server_pid) - cpu_before : -1;

  // Phase 2: a fixed rate.
  const auto interval = std::chrono::nanoseconds{static_cast<int64_t>(1e9 / opt.rate)};
  const int count = static_cast<int>(opt.rate * opt.seconds);
  auto next = clock_type::now();
  for (int i = 0; i < count && !pub.ended(); ++i) {
    while (clock_type::now() < next)
      pub.run_for(next - clock_type::now());
    pub.publish(phase_latency);
    next += interval;
  }
  pub.wait_acks(0);
  pub.publish(marker_offset + phase_latency);
  pub.wait_acks(0);

  std::array<phase_stats, 3> stats;
  std::size_t closed = 0, unfinished = 0;
  wait_all(workers, "end", deadline, [&](const std::string& line) {
    std::istringstream in(line);
    std::string word;
    in >> word;
    if (word == "phase") {
      int phase = 0;
      uint64_t delivered = 0;
      int64_t last = 0;
      in >> phase >> delivered >> last;
      auto& s = stats[static_cast<std::size_t>(phase)];
      s.delivered += delivered;
      s.last_ns = std::max(s.last_ns, last);
      s.latency.merge_line(in);
    } else if (word == "closed") {
      std::size_t c = 0, u = 0;
      std::string unfinished_word;
      in >> c >> unfinished_word >> u;
      closed += c;
      unfinished += u;
    }
  });
  for (auto& w : workers) {
    ::close(w.fd);
    ::waitpid(w.pid, nullptr, 0);
  }

  const auto& t = stats[phase_throughput];
  const auto& l = stats[phase_latency];
  const double seconds = static_cast<double>(t.last_ns - first_publish) / 1e9;
  const double rate = seconds > 0 ? static_cast<double>(t.delivered) / seconds : 0;
  const uint64_t expected = static_cast<uint64_t>(opt.events) * subscribed;
  const double rss_per_conn =
    rss_before > 0 && rss_after > 0 && subscribed > 0
      ? static_cast<double>(rss_after - rss_before) * 1024.0 / static_cast<double>(subscribed)
      : -1;
  std::printf("RESULT name=%s clients=%zu events=%d delivered=%llu expected=%llu seconds=%.3f "
              "rate=%.0f p50_us=%llu p99_us=%llu latency_samples=%llu rss_before_kib=%ld "
              "rss_after_kib=%ld rss_per_conn_bytes=%.0f server_cpu_s=%.2f closed=%zu unfinished=%zu\n",
              opt.name.c_str(), subscribed, opt.events, static_cast<unsigned long long>(t.delivered),
              static_cast<unsigned long long>(expected), seconds, rate,
              static_cast<unsigned long long>(l.latency.quantile_us(0.50)),
              static_cast<unsigned long long>(l.latency.quantile_us(0.99)),
              static_cast<unsigned long long>(l.latency.total()), rss_before, rss_after, rss_per_conn,
              cpu_used, closed, unfinished);
  return t.delivered == expected ? 0 : 1;
}

const char* usage =
  "usage: fanout_loadgen --port PORT [--path /v1/ws?token=T] [--name NAME] [--clients N] [--procs K]\n"
  "                      [--events M] [--window W] [--rate R] [--seconds S] [--payload BYTES]\n"
  "                      [--server-pid PID] [--timeout SECONDS] [--topic TOPIC] [--subscribe 0]\n"
  "  --subscribe 0: only connect, print the server's RSS per connection, stop.\n";

} // namespace

int main(int argc, char** argv) {
  options opt;
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    for (std::size_t i = 0; i < args.size(); ++i) {
      const auto& a = args[i];
      if (i + 1 >= args.size())
        throw std::invalid_argument("missing value after " + a);
      const auto& v = args[++i];
      if (a == "--port") opt.port = static_cast<uint16_t>(std::stoi(v));
      else if (a == "--path") opt.path = v;
      else if (a == "--name") opt.name = v;
      else if (a == "--topic") opt.topic = v;
      else if (a == "--clients") opt.clients = std::stoul(v);
      else if (a == "--procs") opt.procs = std::stoi(v);
      else if (a == "--events") opt.events = std::stoi(v);
      else if (a == "--window") opt.window = std::stoi(v);
      else if (a == "--rate") opt.rate = std::stod(v);
      else if (a == "--seconds") opt.seconds = std::stod(v);
      else if (a == "--payload") opt.payload = std::stoul(v);
      else if (a == "--server-pid") opt.server_pid = std::stoi(v);
      else if (a == "--timeout") opt.timeout = std::stoi(v);
      else if (a == "--subscribe") opt.subscribe = v != "0";
      else throw std::invalid_argument("unknown option " + a);
    }
    if (opt.port == 0 || opt.procs < 1 || opt.clients < 1 || opt.events < 1 || opt.window < 1 || opt.rate <= 0)
      throw std::invalid_argument("bad or missing options");
  } catch (const std::exception& e) {
    std::cerr << "fanout_loadgen: " << e.what() << "\n" << usage;
    return 2;
  }
  try {
    return run(opt);
  } catch (const std::exception& e) {
    std::cerr << "fanout_loadgen: " << e.what() << '\n';
    return 1;
  }
}
