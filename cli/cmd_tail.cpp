// `evmesh tail PATTERN`: prints a node's events as they happen, one JSON
// object per line (the event as GET /v1/events renders it), for debugging
// and for piping into jq. It reads the node's SSE stream; --since SEQ first
// prints the retained events after SEQ. It ends when the node closes the
// stream (exit 1, with the reason) or on Ctrl-C.
#include "cli/commands.hpp"
#include "cli/client_options.hpp"
#include "transports/http_client.hpp"
#include "base/query_string.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <iostream>
#include <limits>

namespace evmesh {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = boost::asio::ip::tcp;

std::string url_encode(const std::string& text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

// Splits the SSE body into messages and prints each event's data line.
class sse_printer {
public:
  void feed(std::string_view bytes) {
    pending_.append(bytes);
    for (auto end = pending_.find("\n\n"); end != std::string::npos; end = pending_.find("\n\n")) {
      print(std::string_view(pending_).substr(0, end));
      pending_.erase(0, end + 2);
    }
  }

private:
  static void print(std::string_view message) {
    while (!message.empty()) {
      auto newline = message.find('\n');
      auto line = message.substr(0, newline);
      if (line.rfind("data: ", 0) == 0)
        std::cout << line.substr(6) << std::endl;  // flushed: tail is read live
      if (newline == std::string_view::npos)
        break;
      message.remove_prefix(newline + 1);
    }
  }

  std::string pending_;
};

} // namespace

int run_tail_command(const std::vector<std::string>& args) {
  node_client_options node;
  std::string since;
  option_parser parser("evmesh tail PATTERN [options]",
                       "Prints events matching PATTERN as they are published, one JSON object per\n"
                       "line. With --since SEQ it first prints the retained events after SEQ.");
  node.add_to(parser, "a token with subscribe scope for PATTERN");
  parser.add({"since", "SEQ", "first print the retained events after SEQ (0: all)",
              [&](const std::string& v) { since = v; }});
  std::vector<std::string> rest;
  try {
    rest = parser.parse(args);
    if (!rest.empty() && rest.front() == "--help") {
      std::cout << parser.help();
      return 0;
    }
    if (rest.size() != 1)
      throw usage_error(rest.empty() ? "PATTERN is required" : "too many arguments");
  } catch (const usage_error& e) {
    std::cerr << "evmesh tail: " << e.what() << "\n\n" << parser.help();
    return 2;
  }
  const auto token = node.resolved_token();

  try {
    auto parts = http::parse_url(node.url);
    auto target = (parts.target == "/" ? std::string{} : parts.target) + "/v1/sse?topic=" +
                  url_encode(rest[0]) + (since.empty() ? "" : "&since=" + url_encode(since));
    boost::asio::io_context ioc;
    beast::tcp_stream stream{ioc};
    stream.expires_after(std::chrono::seconds{10});
    stream.connect(tcp::resolver{ioc}.resolve(parts.host, parts.port));
    bhttp::request<bhttp::empty_body> req{bhttp::verb::get, target, 11};
    req.set(bhttp::field::host, parts.host);
    req.set(bhttp::field::accept, "text/event-stream");
    if (!token.empty())
      req.set(bhttp::field::authorization, "Bearer " + token);
    bhttp::write(stream, req);

    beast::flat_buffer buffer;
    bhttp::response_parser<bhttp::string_body> response;
    response.body_limit(std::numeric_limits<std::uint64_t>::max());  // a stream has no end
    bhttp::read_header(stream, buffer, response);
    if (response.get().result() != bhttp::status::ok) {
      bhttp::read(stream, buffer, response);
      std::cerr << "evmesh tail: " << response.get().result_int() << " "
                << response.get().reason() << ": " << problem_detail(response.get().body())
                << std::endl;
      return 1;
    }
    stream.expires_never();
    sse_printer printer;
    auto on_chunk = [&](std::uint64_t, beast::string_view body, beast::error_code&) {
      printer.feed(std::string_view(body.data(), body.size()));
      return body.size();
    };
    response.on_chunk_body(on_chunk);  // Beast keeps a reference: on_chunk outlives the read
    beast::error_code ec;
    bhttp::read(stream, buffer, response, ec);
    bool closed = !ec || ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message;
    std::cerr << "evmesh tail: the node ended the stream" << (closed ? "" : " (" + ec.message() + ")")
              << std::endl;
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "evmesh tail: " << e.what() << std::endl;
    return 1;
  }
}

} // namespace evmesh
