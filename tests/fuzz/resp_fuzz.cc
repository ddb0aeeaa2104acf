// Fuzzes the Redis-protocol port's parser and interpreter as the front end drives it: input
// arrives in pieces of any size, what is not consumed waits for more (within the connection's
// fixed buffer), and the interpreter must consume only what it was given and stop at a close.
// The first byte chooses the piece size; with_validator_token alternates to reach AUTH.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "server/resp_protocol.h"
#include "tests/fuzz/fuzz_server.h"

using namespace tokenledger;

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  fuzzing::FuzzServer& server = fuzzing::PickServer(data[0]);
  size_t piece = 1 + (data[0] >> 1);  // 1..128 bytes per read
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  server::RespInterpreter interpreter(*server.ledger, *server.access, *server.metrics);
  std::string pending, out;
  for (size_t at = 0; at < input.size() && !interpreter.closing(); at += piece) {
    pending.append(input.substr(at, piece));
    size_t used = interpreter.Process(pending, out);
    Check(used <= pending.size());
    pending.erase(0, used);
    // The front end closes a connection whose unfinished request outgrows its buffer.
    if (pending.size() > server::kRespMaxRequestBytes) break;
    out.clear();
  }
  return 0;
}
