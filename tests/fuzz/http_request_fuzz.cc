// Fuzzes HTTP request handling as the front end does it: bytes -> the front end's RequestParser
// (its header and body limits) -> the router (routing, headers, query strings, JSON bodies, the
// management, audit and gateway routes behind the admin and validator credentials, which the
// seed corpus and dictionary carry). Several requests may follow one another in one input, as
// on a kept-alive connection. Writes complete on the ledger's writer; the target waits for
// them. Streamed bodies are pulled a few pieces.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <future>
#include <string>
#include <string_view>

#include "server/request_parser.h"
#include "tests/fuzz/fuzz_server.h"

using namespace tokenledger;

namespace {

constexpr size_t kBodyLimit = 64 * 1024;
constexpr size_t kHeaderLimit = 16 * 1024;

void Check(bool ok) {
  if (!ok) std::abort();
}

void Answer(fuzzing::FuzzServer& server, const server::HttpRequest& request) {
  server::HttpResponse response;
  std::promise<server::HttpResponse> later;
  bool now = server.router->Handle(request, response, [&] {
    return server::Responder([&](server::HttpResponse r) { later.set_value(std::move(r)); });
  });
  if (!now) response = later.get_future().get();
  Check(response.status >= 200 && response.status <= 599);
  if (response.stream) {
    std::string piece;
    for (int i = 0; i < 4; ++i) {
      piece.clear();
      auto more = response.stream->Next(piece);
      if (!more.ok() || !*more) break;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  fuzzing::FuzzServer& server = fuzzing::PickServer(data[0]);
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  server::HttpRequest request;
  for (int requests = 0; requests < 8 && !input.empty(); ++requests) {
    request.Clear();
    server::RequestParser parser(request, kBodyLimit, kHeaderLimit);
    parser.eager(true);
    boost::beast::error_code ec;
    for (;;) {
      size_t used = parser.put(boost::asio::buffer(input.data(), input.size()), ec);
      Check(used <= input.size());
      input.remove_prefix(used);
      if (ec == boost::beast::http::error::need_more) {
        parser.put_eof(ec);  // nothing more will come: as a client closing its half
        break;
      }
      if (ec || parser.is_done() || used == 0) break;
    }
    if (ec || !parser.is_done()) return 0;
    Answer(server, request);
  }
  return 0;
}
