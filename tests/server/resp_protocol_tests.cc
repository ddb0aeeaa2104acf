// The RESP interpreter without a network: framing at every split point, limits, commands.
#include <boost/test/unit_test.hpp>
#include <future>

#include "server/resp_protocol.h"
#include "server/router.h"
#include "tests/server/server_fixture.h"

using namespace tokenledger;
using namespace tokenledger::server;
using tokenledger::testing::TempDir;

namespace {

struct RespFixture : tokenledger::testing::ServerParts {
  std::string token, token_id;

  explicit RespFixture(std::optional<std::string_view> validator = std::nullopt) : ServerParts("admin", validator) {
    std::promise<core::Result<projections::CreatedToken>> done;
    ledger->Create({"acme/prod", "t", std::nullopt, "tester"}, [&](auto r) { done.set_value(std::move(r)); });
    auto created = done.get_future().get();
    BOOST_REQUIRE(created.ok());
    token = created->secret;
    token_id = created->record.id;
  }

  RespInterpreter Interpreter() { return RespInterpreter(*ledger, *access, *metrics); }

  // Feeds input in one go; returns the output and how much was consumed.
  std::string Run(RespInterpreter& interpreter, std::string_view input, size_t* consumed = nullptr) {
    std::string out;
    size_t used = interpreter.Process(input, out);
    if (consumed) *consumed = used;
    return out;
  }
};

std::string Bulk(std::string_view s) { return "$" + std::to_string(s.size()) + "\r\n" + std::string(s) + "\r\n"; }
std::string Command(std::initializer_list<std::string_view> args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (auto a : args) out += Bulk(a);
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(resp_protocol)

BOOST_AUTO_TEST_CASE(validate_answers_an_array_or_a_null_bulk_string) {
  RespFixture f;
  auto interpreter = f.Interpreter();
  auto expires_at = f.ledger->Get("acme/prod", f.token_id)->expires_at;
  std::string expected = "*3\r\n" + Bulk(f.token_id) + Bulk("acme/prod") + ":" + std::to_string(expires_at) + "\r\n";
  BOOST_TEST(f.Run(interpreter, Command({"VALIDATE", f.token})) == expected);
  BOOST_TEST(f.Run(interpreter, Command({"validate", f.token, "acme/prod"})) == expected);
  BOOST_TEST(f.Run(interpreter, Command({"VALIDATE", f.token, "acme"})) == "$-1\r\n");
  BOOST_TEST(f.Run(interpreter, Command({"VALIDATE", "tlpat_000000000000000000000000000000000J6VVf"})) == "$-1\r\n");
  BOOST_TEST(f.Run(interpreter, Command({"VALIDATE", std::string(4096, 'x')})) == "$-1\r\n");
  BOOST_TEST(f.Run(interpreter, Command({"VALIDATE"})).find("-ERR wrong number of arguments") == 0u);
  BOOST_TEST(f.Run(interpreter, "VALIDATE " + f.token + "\r\n") == expected);  // inline form
  BOOST_TEST(!interpreter.closing());
}

BOOST_AUTO_TEST_CASE(every_split_point_of_a_pipeline_gives_the_same_answers) {
  RespFixture f;
  std::string input = Command({"PING"}) + Command({"VALIDATE", f.token}) + "PING hello\r\n" +
                      Command({"VALIDATE", "nope", "acme"}) + "*0\r\n" + Command({"PING", "x"});
  auto whole_interpreter = f.Interpreter();
  size_t consumed = 0;
  std::string whole = f.Run(whole_interpreter, input, &consumed);
  BOOST_TEST(consumed == input.size());
  BOOST_TEST(whole.find("+PONG\r\n*3\r\n") == 0u);
  for (size_t split = 1; split < input.size(); ++split) {
    auto interpreter = f.Interpreter();
    std::string out;
    size_t used = interpreter.Process(std::string_view(input).substr(0, split), out);
    std::string rest = input.substr(used);
    size_t used2 = interpreter.Process(rest, out);
    BOOST_TEST(used2 == rest.size());
    BOOST_TEST(out == whole, "split at " << split);
  }
}

BOOST_AUTO_TEST_CASE(protocol_errors_answer_once_and_close) {
  RespFixture f;
  for (std::string bad : {std::string("*x\r\n"), std::string("*9\r\n"), std::string("*1\r\n+PING\r\n"),
                          std::string("*1\r\n$-5\r\n"), std::string("*1\r\n$5000\r\n"),
                          std::string("*1\r\n$4\r\nPINGxx"), std::string(5000, 'a'),
                          std::string("*99999999999999999999999\r\n")}) {
    auto interpreter = f.Interpreter();
    std::string out = f.Run(interpreter, bad);
    BOOST_TEST(out.find("-ERR Protocol error: ") == 0u, bad.substr(0, 20));
    BOOST_TEST(out.find("\r\n") == out.size() - 2);  // one line
    BOOST_TEST(interpreter.closing());
  }
  // Incomplete is not an error: nothing consumed, nothing answered, wait for more.
  auto interpreter = f.Interpreter();
  size_t consumed = 99;
  BOOST_TEST(f.Run(interpreter, "*2\r\n$8\r\nVALIDATE\r\n$44\r\ntlpat", &consumed).empty());
  BOOST_TEST(consumed == 0u);
  BOOST_TEST(!interpreter.closing());
}

BOOST_AUTO_TEST_CASE(unknown_commands_and_the_redis_benchmark_probes) {
  RespFixture f;
  auto interpreter = f.Interpreter();
  BOOST_TEST(f.Run(interpreter, Command({"GET", "k"})).find("-ERR unknown command 'GET'") == 0u);
  BOOST_TEST(f.Run(interpreter, Command({"bad\r\nname"})).find("-ERR unknown command 'bad  name'") == 0u);
  BOOST_TEST(f.Run(interpreter, Command({"CONFIG", "GET", "save"})) == "*2\r\n" + Bulk("save") + Bulk(""));
  BOOST_TEST(f.Run(interpreter, Command({"CONFIG", "GET", "appendonly"})) == "*2\r\n" + Bulk("appendonly") + Bulk(""));
  BOOST_TEST(f.Run(interpreter, Command({"COMMAND", "DOCS"})) == "*0\r\n");
  BOOST_TEST(f.Run(interpreter, Command({"QUIT"})) == "+OK\r\n");
  BOOST_TEST(interpreter.closing());
  // Nothing after QUIT is answered.
  BOOST_TEST(f.Run(interpreter, Command({"PING"})).empty());
}

BOOST_AUTO_TEST_CASE(auth_is_required_when_a_validator_token_is_set) {
  RespFixture f("tlval_secret");
  auto interpreter = f.Interpreter();
  BOOST_TEST(f.Run(interpreter, Command({"VALIDATE", f.token})) == "-NOAUTH Authentication required.\r\n");
  BOOST_TEST(f.Run(interpreter, Command({"PING"})) == "-NOAUTH Authentication required.\r\n");
  BOOST_TEST(f.Run(interpreter, Command({"AUTH", "wrong"})).find("-WRONGPASS") == 0u);
  BOOST_TEST(f.Run(interpreter, Command({"AUTH", "default", "tlval_secret"})) == "+OK\r\n");
  BOOST_TEST(f.Run(interpreter, Command({"VALIDATE", f.token})).find("*3\r\n") == 0u);
  RespFixture open;
  auto open_interpreter = open.Interpreter();
  BOOST_TEST(open.Run(open_interpreter, Command({"AUTH", "x"})).find("-ERR AUTH called without") == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
