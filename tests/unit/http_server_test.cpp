// Tests for the HTTP/1.1 server, its problem+json errors and the blocking
// client. Handlers answer from another thread (as the node's actors do), so
// these also prove that responders work asynchronously and from any thread.
#include "transports/http_client.hpp"
#include "transports/http_server.hpp"
#include "transports/problem.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace beast = boost::beast;
namespace beast_http = boost::beast::http;
namespace net = boost::asio;
namespace http = evmesh::http;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;

constexpr auto io_limit = 10s;  // how long any single network step may take here

// Runs tasks in order on its own thread: stands in for the actors that
// answer requests in the real node.
class worker {
public:
  worker() = default;
  ~worker() {
    {
      std::lock_guard lock{mutex_};
      done_ = true;
    }
    wake_.notify_one();
    thread_.join();
  }
  worker(const worker&) = delete;
  worker& operator=(const worker&) = delete;

  void post(std::function<void()> task) {
    {
      std::lock_guard lock{mutex_};
      tasks_.push_back(std::move(task));
    }
    wake_.notify_one();
  }

private:
  void loop() {
    for (;;) {
      std::unique_lock lock{mutex_};
      wake_.wait(lock, [this] { return done_ || !tasks_.empty(); });
      if (tasks_.empty()) return;
      auto task = std::move(tasks_.front());
      tasks_.pop_front();
      lock.unlock();
      task();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> tasks_;
  bool done_ = false;
  std::thread thread_{[this] { loop(); }};
};

http::response text_response(std::string body) {
  http::response res{beast_http::status::ok, 11};
  res.set(beast_http::field::content_type, "text/plain");
  res.body() = std::move(body);
  return res;
}

// "METHOD target body", so every test can see which request was answered.
std::string echo_of(const http::request& req) {
  const auto method = beast_http::to_string(req.method());
  std::string text{method.data(), method.size()};
  text += ' ';
  text.append(req.target().data(), req.target().size());
  if (!req.body().empty()) text += ' ' + req.body();
  return text;
}

// A handler that echoes the request, answering later from the worker thread.
http::handler deferred_echo(worker& answers, std::atomic<int>* calls = nullptr) {
  return [&answers, calls](http::request&& req, http::responder respond) {
    if (calls) ++*calls;
    answers.post([req = std::make_shared<http::request>(std::move(req)), respond] {
      respond(text_response(echo_of(*req)));
    });
  };
}

http::server_options local_options() {
  http::server_options options;
  options.host = "127.0.0.1";
  options.port = 0;
  return options;
}

std::string url_of(const http::server& srv) { return "http://127.0.0.1:" + std::to_string(srv.port()); }

// A raw TCP connection for the cases the client must not be used for
// (pipelining, malformed or partial requests). Every step has a time limit.
class raw_connection {
public:
  explicit raw_connection(uint16_t port) {
    const tcp::endpoint server{net::ip::make_address("127.0.0.1"), port};
    check(run([&](auto done) { stream_.async_connect(server, done); }), "connect");
  }

  void write(const std::string& bytes) {
    check(run([&](auto done) { net::async_write(stream_, net::buffer(bytes), done); }), "write");
  }

  http::response read_response() {
    beast_http::response_parser<beast_http::string_body> parser;
    check(run([&](auto done) { beast_http::async_read(stream_, buffer_, parser, done); }), "read");
    return parser.release();
  }

  // Reads until the server closes the connection; returns how it ended.
  beast::error_code read_until_closed() {
    for (;;) {
      std::size_t received = 0;
      const auto ec = run([&](auto done) {
        stream_.async_read_some(buffer_.prepare(4096), [&received, done](beast::error_code e, std::size_t n) {
          received = n;
          done(e, n);
        });
      });
      buffer_.commit(received);
      if (ec) return ec;
    }
  }

  void close() { stream_.close(); }

private:
  template <class Start> beast::error_code run(Start start) {
    beast::error_code result;
    stream_.expires_after(io_limit);
    start([&result](beast::error_code ec, auto&&...) { result = ec; });
    ioc_.restart();
    ioc_.run();
    return result;
  }
  static void check(const beast::error_code& ec, const char* step) {
    if (ec) throw std::runtime_error(std::string("raw connection ") + step + ": " + ec.message());
  }

  net::io_context ioc_;
  beast::tcp_stream stream_{ioc_};
  beast::flat_buffer buffer_;
};

// Bounded wait for state the server reaches on its own threads.
template <class Predicate> bool eventually(Predicate done) {
  const auto deadline = std::chrono::steady_clock::now() + io_limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

nlohmann::json problem_of(const http::response& res) {
  EXPECT_EQ(res[beast_http::field::content_type], "application/problem+json");
  return nlohmann::json::parse(res.body());
}

TEST(HttpServer, GetRoundTripWithResponseFromAnotherThread) {
  worker answers;
  http::server srv{local_options(), deferred_echo(answers)};
  srv.start();
  ASSERT_NE(srv.port(), 0);

  http::client client{url_of(srv)};
  const auto res = client.send(beast_http::verb::get, "/hello?x=1");
  EXPECT_EQ(res.result(), beast_http::status::ok);
  EXPECT_EQ(res.body(), "GET /hello?x=1");
  EXPECT_EQ(res[beast_http::field::server], "evmesh");
  EXPECT_EQ(res[beast_http::field::content_length], std::to_string(res.body().size()));
  EXPECT_TRUE(res.keep_alive());
}

TEST(HttpServer, PostBodyReachesHandler) {
  worker answers;
  http::server srv{local_options(), deferred_echo(answers)};
  srv.start();
  http::client client{url_of(srv)};
  const auto res = client.send(beast_http::verb::post, "/v1/events", R"({"topic":"a"})");
  EXPECT_EQ(res.body(), R"(POST /v1/events {"topic":"a"})");
}

TEST(HttpServer, KeepAliveReusesOneConnection) {
  worker answers;
  http::server srv{local_options(), deferred_echo(answers)};
  srv.start();
  http::client client{url_of(srv)};
  for (int i = 0; i < 10; ++i) {
    const auto res = client.send(beast_http::verb::get, "/n" + std::to_string(i));
    EXPECT_EQ(res.body(), "GET /n" + std::to_string(i));
  }
  EXPECT_EQ(srv.open_connections(), 1u);
  EXPECT_EQ(srv.requests_total(), 10u);
}

TEST(HttpServer, PipelinedRequestsAreAnsweredInOrder) {
  worker answers;
  http::server srv{local_options(), deferred_echo(answers)};
  srv.start();

  constexpr int count = 50;
  std::string pipeline;
  for (int i = 0; i < count; ++i)
    pipeline += "GET /p" + std::to_string(i) + " HTTP/1.1\r\nHost: test\r\n\r\n";
  raw_connection conn{srv.port()};
  conn.write(pipeline);  // one write: the server finds them all in its buffer
  for (int i = 0; i < count; ++i) {
    const auto res = conn.read_response();
    EXPECT_EQ(res.body(), "GET /p" + std::to_string(i));
  }
  EXPECT_EQ(srv.requests_total(), static_cast<uint64_t>(count));
  EXPECT_EQ(srv.open_connections(), 1u);
}

TEST(HttpServer, ExpectContinueGetsInterimResponse) {
  worker answers;
  http::server srv{local_options(), deferred_echo(answers)};
  srv.start();

  raw_connection conn{srv.port()};
  conn.write("POST /e HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
  EXPECT_EQ(conn.read_response().result(), beast_http::status::continue_);
  conn.write("hello");
  EXPECT_EQ(conn.read_response().body(), "POST /e hello");
}

TEST(HttpServer, HeadAnswerHasLengthButNoBody) {
  worker answers;
  http::server srv{local_options(), deferred_echo(answers)};
  srv.start();

  http::client client{url_of(srv)};
  const auto head = client.send(beast_http::verb::head, "/h");
  EXPECT_EQ(head[beast_http::field::content_length], std::to_string(std::string("HEAD /h").size()));
  EXPECT_TRUE(head.body().empty());
  EXPECT_EQ(client.send(beast_http::verb::get, "/after").body(), "GET /after");
  EXPECT_EQ(srv.open_connections(), 1u);
}

TEST(HttpServer, OversizedBodyGets413Problem) {
  worker answers;
  std::atomic<int> calls{0};
  auto options = local_options();
  options.max_body_bytes = 1024;
  http::server srv{options, deferred_echo(answers, &calls)};
  srv.start();

  http::client client{url_of(srv)};
  const auto res = client.send(beast_http::verb::post, "/", std::string(4096, 'x'));
  EXPECT_EQ(res.result(), beast_http::status::payload_too_large);
  EXPECT_FALSE(res.keep_alive());
  const auto problem = problem_of(res);
  EXPECT_EQ(problem["status"], 413);
  EXPECT_EQ(problem["type"], "about:blank");
  EXPECT_EQ(problem["title"], "Payload Too Large");
  EXPECT_NE(problem["detail"].get<std::string>().find("1024"), std::string::npos);
  EXPECT_EQ(calls, 0);

  // The client reconnects; small bodies still go through.
  EXPECT_EQ(client.send(beast_http::verb::post, "/", "ok").body(), "POST / ok");
}

TEST(HttpServer, OversizedChunkedBodyGets413) {
  worker answers;
  auto options = local_options();
  options.max_body_bytes = 1024;
  http::server srv{options, deferred_echo(answers)};
  srv.start();

  raw_connection conn{srv.port()};
  std::string request = "POST / HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 4; ++i) request += "200\r\n" + std::string(512, 'y') + "\r\n";
  request += "0\r\n\r\n";
  conn.write(request);
  const auto res = conn.read_response();
  EXPECT_EQ(res.result(), beast_http::status::payload_too_large);
  EXPECT_EQ(problem_of(res)["status"], 413);
  EXPECT_EQ(conn.read_until_closed(), net::error::eof);
}

TEST(HttpServer, OversizedContentLengthIsRefusedWithoutReadingTheBody) {
  worker answers;
  std::atomic<int> calls{0};
  auto options = local_options();
  options.max_body_bytes = 1024;
  http::server srv{options, deferred_echo(answers, &calls)};
  srv.start();

  raw_connection conn{srv.port()};
  // Only the header: the answer must come without the body ever being sent.
  conn.write("POST /v1/events HTTP/1.1\r\nHost: test\r\nContent-Length: 10000000\r\n\r\n");
  const auto res = conn.read_response();
  EXPECT_EQ(res.result(), beast_http::status::payload_too_large);
  EXPECT_EQ(problem_of(res)["status"], 413);
  EXPECT_EQ(conn.read_until_closed(), net::error::eof);
  EXPECT_EQ(calls, 0);
}

TEST(HttpServer, MalformedRequestLineGets400) {
  worker answers;
  std::atomic<int> calls{0};
  http::server srv{local_options(), deferred_echo(answers, &calls)};
  srv.start();

  raw_connection conn{srv.port()};
  conn.write("THIS IS NOT HTTP\r\n\r\n");
  const auto res = conn.read_response();
  EXPECT_EQ(res.result(), beast_http::status::bad_request);
  const auto problem = problem_of(res);
  EXPECT_EQ(problem["status"], 400);
  EXPECT_EQ(problem["title"], "Bad Request");
  EXPECT_FALSE(problem["detail"].get<std::string>().empty());
  EXPECT_EQ(conn.read_until_closed(), net::error::eof);
  EXPECT_EQ(calls, 0);
}

TEST(HttpServer, OversizedHeaderGets400) {
  worker answers;
  auto options = local_options();
  options.max_header_bytes = 1024;
  http::server srv{options, deferred_echo(answers)};
  srv.start();

  raw_connection conn{srv.port()};
  conn.write("GET / HTTP/1.1\r\nHost: test\r\nX-Big: " + std::string(4096, 'h') + "\r\n\r\n");
  const auto res = conn.read_response();
  EXPECT_EQ(res.result(), beast_http::status::bad_request);
  EXPECT_NE(problem_of(res)["detail"].get<std::string>().find("header"), std::string::npos);
}

TEST(HttpServer, ClientVanishingMidRequestDoesNotHurt) {
  worker answers;
  std::atomic<int> calls{0};
  http::server srv{local_options(), deferred_echo(answers, &calls)};
  srv.start();
  {
    raw_connection conn{srv.port()};
    conn.write("POST /half HTTP/1.1\r\nHost: test\r\nContent-Length: 100\r\n\r\nabc");
    conn.close();
  }
  {
    raw_connection conn{srv.port()};
    conn.write("GET /half-a-header HTTP/1.1\r\nHo");
    conn.close();
  }
  http::client client{url_of(srv)};
  EXPECT_EQ(client.send(beast_http::verb::get, "/next").body(), "GET /next");
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(eventually([&] { return srv.open_connections() == 1; }));
}

TEST(HttpServer, IdleKeepAliveConnectionIsClosedAfterIdleTimeout) {
  worker answers;
  auto options = local_options();
  options.idle_timeout = 1s;
  http::server srv{options, deferred_echo(answers)};
  srv.start();

  raw_connection conn{srv.port()};
  conn.write("GET /once HTTP/1.1\r\nHost: test\r\n\r\n");
  EXPECT_EQ(conn.read_response().body(), "GET /once");
  EXPECT_EQ(conn.read_until_closed(), net::error::eof);
  EXPECT_TRUE(eventually([&] { return srv.open_connections() == 0; }));
}

TEST(HttpServer, SlowRequestIsDroppedAfterReadTimeout) {
  worker answers;
  std::atomic<int> calls{0};
  auto options = local_options();
  options.read_timeout = 1s;
  http::server srv{options, deferred_echo(answers, &calls)};
  srv.start();

  raw_connection conn{srv.port()};
  conn.write("GET /slow HTTP/1.1\r\n");  // and never the rest
  EXPECT_EQ(conn.read_until_closed(), net::error::eof);
  EXPECT_EQ(calls, 0);
}

TEST(HttpServer, ResponseAskingToCloseClosesTheConnection) {
  worker answers;
  http::server srv{local_options(), [&](http::request&&, http::responder respond) {
                     answers.post([respond] {
                       auto res = text_response("bye");
                       res.set(beast_http::field::connection, "close");
                       respond(std::move(res));
                     });
                   }};
  srv.start();

  raw_connection conn{srv.port()};
  conn.write("GET / HTTP/1.1\r\nHost: test\r\n\r\n");
  const auto res = conn.read_response();
  EXPECT_EQ(res.body(), "bye");
  EXPECT_FALSE(res.keep_alive());
  EXPECT_EQ(conn.read_until_closed(), net::error::eof);
}

TEST(HttpServer, Http10RequestWithoutKeepAliveIsClosed) {
  worker answers;
  http::server srv{local_options(), deferred_echo(answers)};
  srv.start();

  raw_connection conn{srv.port()};
  conn.write("GET /old HTTP/1.0\r\n\r\n");
  const auto res = conn.read_response();
  EXPECT_EQ(res.version(), 10u);
  EXPECT_EQ(res.body(), "GET /old");
  EXPECT_EQ(conn.read_until_closed(), net::error::eof);
}

TEST(HttpServer, ResponderIgnoresSecondCall) {
  http::server srv{local_options(), [](http::request&& req, http::responder respond) {
                     respond(text_response(echo_of(req)));
                     respond(text_response("second"));
                   }};
  srv.start();
  http::client client{url_of(srv)};
  EXPECT_EQ(client.send(beast_http::verb::get, "/a").body(), "GET /a");
  EXPECT_EQ(client.send(beast_http::verb::get, "/b").body(), "GET /b");
}

TEST(HttpServer, DroppedResponderAnswers500) {
  http::server srv{local_options(), [](http::request&&, http::responder) {}};
  srv.start();
  http::client client{url_of(srv)};
  const auto res = client.send(beast_http::verb::get, "/");
  EXPECT_EQ(res.result(), beast_http::status::internal_server_error);
  EXPECT_EQ(problem_of(res)["status"], 500);
}

TEST(HttpServer, ThrowingHandlerAnswers500) {
  http::server srv{local_options(), [](http::request&&, http::responder) {
                     throw std::runtime_error("boom");
                   }};
  srv.start();
  http::client client{url_of(srv)};
  EXPECT_EQ(client.send(beast_http::verb::get, "/").result(), beast_http::status::internal_server_error);
  EXPECT_EQ(srv.requests_total(), 1u);
}

TEST(HttpServer, StopLetsInFlightResponseFinish) {
  std::promise<http::responder> handed_over;
  http::server srv{local_options(),
                   [&](http::request&&, http::responder respond) { handed_over.set_value(respond); }};
  srv.start();
  const auto port = srv.port();

  auto reply = std::async(std::launch::async, [url = url_of(srv)] {
    http::client client{url};
    return client.send(beast_http::verb::get, "/slow");
  });
  auto respond_future = handed_over.get_future();
  ASSERT_EQ(respond_future.wait_for(io_limit), std::future_status::ready);
  const auto respond = respond_future.get();

  auto stopped = std::async(std::launch::async, [&] { srv.stop(10s); });
  // Once new connections are refused, stop() is under way and waiting for us.
  EXPECT_TRUE(eventually([&] {
    try {
      raw_connection probe{port};
      return false;
    } catch (const std::runtime_error&) {
      return true;
    }
  }));
  EXPECT_EQ(stopped.wait_for(0s), std::future_status::timeout);

  respond(text_response("finished"));
  ASSERT_EQ(reply.wait_for(io_limit), std::future_status::ready);
  const auto res = reply.get();
  EXPECT_EQ(res.body(), "finished");
  EXPECT_FALSE(res.keep_alive());  // the server is going away
  ASSERT_EQ(stopped.wait_for(io_limit), std::future_status::ready);
  stopped.get();
  srv.stop();  // idempotent
}

TEST(HttpServer, StopGivesUpAfterGraceAndLateResponderIsHarmless) {
  std::promise<http::responder> handed_over;
  http::server srv{local_options(),
                   [&](http::request&&, http::responder respond) { handed_over.set_value(respond); }};
  srv.start();

  auto reply = std::async(std::launch::async, [url = url_of(srv)] {
    http::client client{url};
    return client.send(beast_http::verb::get, "/never");
  });
  auto respond_future = handed_over.get_future();
  ASSERT_EQ(respond_future.wait_for(io_limit), std::future_status::ready);
  auto respond = respond_future.get();

  srv.stop(100ms);
  ASSERT_EQ(reply.wait_for(io_limit), std::future_status::ready);
  EXPECT_THROW(reply.get(), std::runtime_error);
  respond(text_response("too late"));
  EXPECT_EQ(srv.open_connections(), 0u);
}

TEST(HttpServer, ResponderAfterClientDisconnectIsHarmless) {
  std::promise<http::responder> handed_over;
  std::atomic<bool> first{true};
  http::server srv{local_options(), [&](http::request&& req, http::responder respond) {
                     if (first.exchange(false))
                       handed_over.set_value(respond);
                     else
                       respond(text_response(echo_of(req)));
                   }};
  srv.start();
  {
    raw_connection conn{srv.port()};
    conn.write("GET /abandoned HTTP/1.1\r\nHost: test\r\n\r\n");
    auto respond_future = handed_over.get_future();
    ASSERT_EQ(respond_future.wait_for(io_limit), std::future_status::ready);
    const auto respond = respond_future.get();
    conn.close();
    respond(text_response("nobody listens"));
  }
  http::client client{url_of(srv)};
  EXPECT_EQ(client.send(beast_http::verb::get, "/next").body(), "GET /next");
  EXPECT_TRUE(eventually([&] { return srv.open_connections() == 1; }));
}

TEST(HttpServer, ResponderOutlivingTheServerIsHarmless) {
  std::promise<http::responder> handed_over;
  auto srv = std::make_unique<http::server>(
      local_options(), [&](http::request&&, http::responder respond) { handed_over.set_value(respond); });
  srv->start();

  raw_connection conn{srv->port()};
  conn.write("GET / HTTP/1.1\r\nHost: test\r\n\r\n");
  auto respond_future = handed_over.get_future();
  ASSERT_EQ(respond_future.wait_for(io_limit), std::future_status::ready);
  auto respond = respond_future.get();

  srv->stop(0ms);
  srv.reset();
  respond(text_response("server is gone"));
  respond = nullptr;  // the last reference to the connection goes here
  EXPECT_EQ(conn.read_until_closed(), net::error::eof);
}

TEST(HttpServer, StopReleasesTheHandlerWhileAResponderIsStillHeld) {
  auto captured = std::make_shared<int>(42);  // stands in for actor handles
  const std::weak_ptr<int> watch = captured;
  std::promise<http::responder> handed_over;
  http::server srv{local_options(), [&handed_over, captured](http::request&&, http::responder respond) {
                     handed_over.set_value(respond);
                   }};
  captured.reset();
  srv.start();

  raw_connection conn{srv.port()};
  conn.write("GET / HTTP/1.1\r\nHost: test\r\n\r\n");
  auto respond_future = handed_over.get_future();
  ASSERT_EQ(respond_future.wait_for(io_limit), std::future_status::ready);
  const auto respond = respond_future.get();

  EXPECT_FALSE(watch.expired());
  srv.stop(0ms);
  EXPECT_TRUE(watch.expired());
  respond(text_response("after stop"));
}

TEST(HttpServer, ConcurrentClientsAllGetTheirOwnAnswers) {
  worker answers;
  auto options = local_options();
  options.threads = 4;
  http::server srv{options, deferred_echo(answers)};
  srv.start();

  constexpr int client_count = 32;
  constexpr int requests_each = 200;
  std::atomic<int> wrong{0};
  std::atomic<int> failed{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < client_count; ++c) {
    clients.emplace_back([&, c, url = url_of(srv)] {
      try {
        http::client client{url};
        for (int i = 0; i < requests_each; ++i) {
          const std::string target = "/c" + std::to_string(c) + "/r" + std::to_string(i);
          if (client.send(beast_http::verb::get, target).body() != "GET " + target) ++wrong;
        }
      } catch (const std::exception&) {
        ++failed;
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(wrong, 0);
  EXPECT_EQ(failed, 0);
  EXPECT_EQ(srv.requests_total(), static_cast<uint64_t>(client_count * requests_each));
}

TEST(HttpServer, BindFailureNamesTheAddress) {
  worker answers;
  http::server first{local_options(), deferred_echo(answers)};
  first.start();

  auto options = local_options();
  options.port = first.port();
  http::server second{options, deferred_echo(answers)};
  try {
    second.start();
    FAIL() << "binding a taken port must fail";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("127.0.0.1:" + std::to_string(first.port())), std::string::npos)
        << e.what();
  }
}

TEST(HttpClient, ReconnectsWhenTheServerClosedTheKeptAliveConnection) {
  worker answers;
  auto first = std::make_unique<http::server>(local_options(), deferred_echo(answers));
  first->start();
  const auto port = first->port();
  http::client client{"http://127.0.0.1:" + std::to_string(port)};
  EXPECT_EQ(client.send(beast_http::verb::get, "/one").body(), "GET /one");

  first.reset();  // closes the connection the client keeps
  auto options = local_options();
  options.port = port;
  http::server second{options, deferred_echo(answers)};
  second.start();

  EXPECT_EQ(client.send(beast_http::verb::get, "/two").body(), "GET /two");
  EXPECT_EQ(second.requests_total(), 1u);
}

TEST(HttpClient, TimesOutWhenNoAnswerComes) {
  std::promise<http::responder> handed_over;
  http::server srv{local_options(),
                   [&](http::request&&, http::responder respond) { handed_over.set_value(respond); }};
  srv.start();
  http::client client{url_of(srv), 200ms};
  try {
    client.send(beast_http::verb::get, "/stuck");
    FAIL() << "expected a timeout";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("timed out"), std::string::npos) << e.what();
  }
  auto respond_future = handed_over.get_future();
  ASSERT_EQ(respond_future.wait_for(io_limit), std::future_status::ready);
  respond_future.get()(text_response("late"));
}

TEST(HttpClient, ConnectFailureIsReported) {
  uint16_t unused_port = 0;
  {
    worker answers;
    http::server srv{local_options(), deferred_echo(answers)};
    srv.start();
    unused_port = srv.port();
  }
  http::client client{"http://127.0.0.1:" + std::to_string(unused_port), 2s};
  EXPECT_THROW(client.send(beast_http::verb::get, "/"), std::runtime_error);
}

TEST(HttpClient, ParseUrl) {
  auto parts = http::parse_url("http://127.0.0.1:8080/v1/events?topic=a.*");
  EXPECT_EQ(parts.host, "127.0.0.1");
  EXPECT_EQ(parts.port, "8080");
  EXPECT_EQ(parts.target, "/v1/events?topic=a.*");

  parts = http::parse_url("http://example.com");
  EXPECT_EQ(parts.host, "example.com");
  EXPECT_EQ(parts.port, "80");
  EXPECT_EQ(parts.target, "/");

  parts = http::parse_url("HTTP://[::1]:9000?x=1#frag");
  EXPECT_EQ(parts.host, "::1");
  EXPECT_EQ(parts.port, "9000");
  EXPECT_EQ(parts.target, "/?x=1");

  parts = http::parse_url("http://[::1]/healthz");
  EXPECT_EQ(parts.host, "::1");
  EXPECT_EQ(parts.port, "80");
  EXPECT_EQ(parts.target, "/healthz");
}

TEST(HttpClient, ParseUrlRejectsWhatItCannotUse) {
  try {
    http::parse_url("https://example.com/");
    FAIL() << "https must be refused";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "https is not supported by this client");
  }
  EXPECT_THROW(http::parse_url("ftp://example.com/"), std::invalid_argument);
  EXPECT_THROW(http::parse_url("example.com:80"), std::invalid_argument);
  EXPECT_THROW(http::parse_url("http://:80/"), std::invalid_argument);
  EXPECT_THROW(http::parse_url("http://host:/"), std::invalid_argument);
  EXPECT_THROW(http::parse_url("http://host:70000/"), std::invalid_argument);
  EXPECT_THROW(http::parse_url("http://host:8o/"), std::invalid_argument);
  EXPECT_THROW(http::parse_url("http://::1:80/"), std::invalid_argument);
  EXPECT_THROW(http::parse_url("http://[::1/"), std::invalid_argument);
  EXPECT_THROW(http::parse_url("http://user:pw@host/"), std::invalid_argument);
}

TEST(HttpClient, TalksToAnIpv6Server) {
  worker answers;
  auto options = local_options();
  options.host = "::1";
  http::server srv{options, deferred_echo(answers)};
  try {
    srv.start();
  } catch (const std::runtime_error& e) {
    GTEST_SKIP() << "no IPv6 loopback here: " << e.what();
  }
  http::client client{"http://[::1]:" + std::to_string(srv.port())};
  EXPECT_EQ(client.send(beast_http::verb::get, "/six").body(), "GET /six");
}

TEST(HttpProblem, HasTheRfc9457Shape) {
  const auto res = http::make_problem(beast_http::status::forbidden, "scope does not cover \"orders.*\"", 10, false);
  EXPECT_EQ(res.result(), beast_http::status::forbidden);
  EXPECT_EQ(res.version(), 10u);
  EXPECT_FALSE(res.keep_alive());
  EXPECT_EQ(res[beast_http::field::content_length], std::to_string(res.body().size()));
  const auto problem = problem_of(res);
  EXPECT_EQ(problem, (nlohmann::json{{"type", "about:blank"},
                                     {"title", "Forbidden"},
                                     {"status", 403},
                                     {"detail", "scope does not cover \"orders.*\""}}));
}

TEST(HttpProblem, SurvivesInvalidUtf8InTheDetail) {
  const auto res = http::make_problem(beast_http::status::bad_request, "bad byte \xff here");
  EXPECT_TRUE(res.keep_alive());
  EXPECT_EQ(problem_of(res)["status"], 400);
}

// Request smuggling (RFC 9112 §6.3): a body length that readers could take
// differently is refused with 400 and the connection closes, so nothing after
// it runs as a second request.
TEST(HttpServer, AmbiguousBodyFramingGets400AndClosesBeforeAnythingRuns) {
  const std::vector<std::string> heads{
    "Transfer-Encoding: xchunked\r\n",
    "Transfer-Encoding: gzip, chunked\r\n",
    "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
    "Transfer-Encoding: xchunked\r\nContent-Length: 5\r\n",
    "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
  };
  for (const auto& head : heads) {
    worker answers;
    std::atomic<int> calls{0};
    http::server srv{local_options(), deferred_echo(answers, &calls)};
    srv.start();
    raw_connection conn{srv.port()};
    conn.write("POST /first HTTP/1.1\r\nHost: x\r\n" + head +
               "\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n");
    const auto res = conn.read_response();
    EXPECT_EQ(res.result(), beast_http::status::bad_request) << head;
    EXPECT_FALSE(problem_of(res)["detail"].get<std::string>().empty()) << head;
    EXPECT_EQ(conn.read_until_closed(), net::error::eof) << head;
    EXPECT_EQ(calls, 0) << head;
  }
}

TEST(HttpServer, PlainChunkedBodyStillReachesTheHandler) {
  worker answers;
  http::server srv{local_options(), deferred_echo(answers)};
  srv.start();
  raw_connection conn{srv.port()};
  conn.write("POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked \r\n\r\n3\r\nabc\r\n0\r\n\r\n");
  const auto res = conn.read_response();
  EXPECT_EQ(res.result(), beast_http::status::ok);
  EXPECT_EQ(res.body(), "POST /c abc");
}

} // namespace
