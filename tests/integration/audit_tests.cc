// The audit surface on the real binaries: exports over real sockets checked offline by
// tokenctl verify-export (and failing when tampered with), long-polls, the signed head, and
// tokenctl's offline commands on a data dir the server is running on.
#include <sys/stat.h>

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include "tests/integration/harness.h"

using namespace tokenledger;
using namespace tokenledger::testing;
namespace json = boost::json;

namespace {

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

void WriteFile(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

std::string Joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

// A server with a few tokens in two namespaces, some revoked.
struct Audited : Running {
  std::vector<json::object> tokens;
  Audited() {
    for (int i = 0; i < 6; ++i) tokens.push_back(Create(i % 2 ? "beta" : "acme", "t" + std::to_string(i)));
    BOOST_REQUIRE_EQUAL(Call("DELETE", "/v1/namespaces/acme/tokens/" + S(tokens[0], "id")).status, 200);
    BOOST_REQUIRE_EQUAL(Call("POST", "/v1/namespaces/beta/tokens/revoke",
                             R"({"ids":[")" + S(tokens[1], "id") + R"(",")" + S(tokens[3], "id") + R"("],"reason":"leaked, \"CI\""})")
                            .status,
                        200);
  }
  std::string Tokenctl(const std::string& args) { return kBin + "/tokenctl --data-dir " + data + " " + args; }
  std::string PublicKey() {
    auto [rc, out] = Run(Tokenctl("public-key"));
    BOOST_REQUIRE_EQUAL(rc, 0);
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(audit)

BOOST_AUTO_TEST_CASE(an_http_export_verifies_offline_and_every_tampering_names_the_first_bad_seq) {
  Audited s;
  auto exported = s.Call("GET", "/v1/export?format=jsonl");
  BOOST_REQUIRE_EQUAL(exported.status, 200);
  BOOST_TEST(exported.Header("Content-Type") == "application/x-ndjson");
  auto lines = Lines(exported.body);
  BOOST_REQUIRE_EQUAL(lines.size(), 10u);  // 6 creates, 3 revocations, the signed head
  BOOST_TEST(lines.back().find(R"({"type":"ledger.head")") == 0u);
  std::string key = s.PublicKey();
  BOOST_TEST(json::parse(lines.back()).at("public_key").as_string() == key);

  std::string file = s.dir.Sub("export.jsonl");
  WriteFile(file, exported.body);
  auto [rc, out] = Run(kBin + "/tokenctl verify-export " + file + " --public-key " + key);
  BOOST_TEST(rc == 0, out);
  BOOST_TEST(out.find("verified") != std::string::npos, out);

  auto expect_failure = [&](const std::vector<std::string>& tampered, const std::string& seq, const std::string& what) {
    WriteFile(file, Joined(tampered));
    auto [code, text] = Run(kBin + "/tokenctl verify-export " + file + " --public-key " + key);
    BOOST_TEST(code == 1, what << ": " << text);
    BOOST_TEST(text.find("FAILED: seq " + seq + ":") != std::string::npos, what << ": " << text);
  };
  auto edited = lines;
  edited[4].replace(edited[4].find("\"t4\""), 4, "\"T4\"");
  expect_failure(edited, "5", "edited");
  auto dropped = lines;
  dropped.erase(dropped.begin() + 6);
  expect_failure(dropped, "7", "dropped");
  auto reordered = lines;
  std::swap(reordered[2], reordered[3]);
  expect_failure(reordered, "3", "reordered");
  auto truncated = lines;
  truncated.erase(truncated.end() - 2);  // the last event, keeping the head line
  expect_failure(truncated, "9", "truncated");

  // Another key does not vouch for it.
  auto [other_rc, other_out] = Run(kBin + "/tokenctl verify-export " + s.dir.Sub("export.jsonl") + " --public-key " +
                                   std::string(64, 'a'));
  BOOST_TEST(other_rc == 1, other_out);
}

BOOST_AUTO_TEST_CASE(a_csv_export_verifies_against_a_saved_head_and_quotes_its_fields) {
  Audited s;
  auto csv = s.Call("GET", "/v1/export?format=csv");
  BOOST_REQUIRE_EQUAL(csv.status, 200);
  BOOST_TEST(csv.Header("Content-Type") == "text/csv; charset=utf-8");
  BOOST_TEST(csv.body.find("\"leaked, \"\"CI\"\"\"") != std::string::npos);
  std::string range = csv.Header("X-Ledger-Export-Range");
  std::string last = range.substr(range.find('-') + 1);
  auto head = s.Call("GET", "/v1/ledger/head?seq=" + last);
  BOOST_REQUIRE_EQUAL(head.status, 200);
  WriteFile(s.dir.Sub("export.csv"), csv.body);
  WriteFile(s.dir.Sub("head.json"), head.body);
  auto [rc, out] = Run(kBin + "/tokenctl verify-export " + s.dir.Sub("export.csv") + " --public-key " + s.PublicKey() +
                       " --head " + s.dir.Sub("head.json"));
  BOOST_TEST(rc == 0, out);
  auto [no_head_rc, no_head_out] = Run(kBin + "/tokenctl verify-export " + s.dir.Sub("export.csv") + " --public-key " + s.PublicKey());
  BOOST_TEST(no_head_rc == 1, no_head_out);
}

BOOST_AUTO_TEST_CASE(a_long_export_streams_in_chunks_over_a_real_socket) {
  Running s;
  // Enough events for many 64 KiB pieces.
  for (int i = 0; i < 40; ++i) {
    json::array ids;
    std::string body = R"({"name":")" + std::string(90, 'x') + R"("})";
    for (int j = 0; j < 25; ++j) BOOST_REQUIRE_EQUAL(s.Call("POST", "/v1/namespaces/bulk/tokens", body).status, 201);
  }
  auto events = s.Call("GET", "/v1/events?limit=1000000");
  BOOST_REQUIRE_EQUAL(events.status, 200);
  BOOST_TEST(events.Header("Transfer-Encoding") == "chunked");
  auto lines = Lines(events.body);
  BOOST_REQUIRE_EQUAL(lines.size(), 1000u);
  BOOST_TEST(json::parse(lines.back()).at("seq").as_int64() == 1000);
  // The connection stays usable after a streamed response.
  BOOST_TEST(s.Call("GET", "/healthz", "", false).status == 200);
  // HEAD: the headers of the stream, no body, and the connection stays usable.
  auto [head_rc, head] = Run("curl -s -I -H 'Authorization: Bearer " + s.admin + "' '" + s.url +
                             "/v1/export?format=csv' -w 'END%{size_download}'");
  BOOST_TEST(head_rc == 0);
  BOOST_TEST(head.find("HTTP/1.1 200") == 0u, head);
  BOOST_TEST(head.find("Content-Type: text/csv") != std::string::npos, head);
  BOOST_TEST(head.find("END0") != std::string::npos, head);
  // HTTP/1.0 has no chunked encoding: the body ends with the connection.
  auto [rc, raw] = Run("curl -s --http1.0 -H 'Authorization: Bearer " + s.admin + "' '" + s.url + "/v1/events?limit=5'");
  BOOST_TEST(rc == 0);
  BOOST_TEST(Lines(raw).size() == 5u, raw);
}

BOOST_AUTO_TEST_CASE(a_long_poll_returns_promptly_on_an_event_and_empty_on_timeout) {
  Running s;
  s.Create("acme", "first");
  auto waiting = std::async(std::launch::async, [&] {
    auto client = core::HttpClient::Create(s.url, std::chrono::seconds(20));
    auto start = std::chrono::steady_clock::now();
    auto r = (*client)->Request("GET", "/v1/events?after=1&wait=10", "", s.Auth());
    return std::make_pair(std::move(r), std::chrono::steady_clock::now() - start);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  s.Create("acme", "second");
  BOOST_REQUIRE(waiting.wait_for(std::chrono::seconds(5)) == std::future_status::ready);
  auto [response, took] = waiting.get();
  BOOST_REQUIRE(response.ok());
  BOOST_TEST(response->status == 200);
  auto lines = Lines(response->body);
  BOOST_REQUIRE_EQUAL(lines.size(), 1u);
  BOOST_TEST(json::parse(lines[0]).at("seq").as_int64() == 2);
  BOOST_TEST((took >= std::chrono::milliseconds(250)));
  BOOST_TEST((took < std::chrono::seconds(3)));

  auto start = std::chrono::steady_clock::now();
  auto empty = s.Call("GET", "/v1/events?after=2&wait=1");
  auto waited = std::chrono::steady_clock::now() - start;
  BOOST_TEST(empty.status == 200);
  BOOST_TEST(empty.body.empty());
  BOOST_TEST((waited >= std::chrono::milliseconds(950)));
  BOOST_TEST((waited < std::chrono::seconds(3)));
}

BOOST_AUTO_TEST_CASE(shutdown_does_not_wait_for_a_pending_long_poll) {
  Running s;
  auto waiting = std::async(std::launch::async, [&] {
    auto client = core::HttpClient::Create(s.url, std::chrono::seconds(20));
    return (*client)->Request("GET", "/v1/events?wait=60", "", s.Auth());
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto start = std::chrono::steady_clock::now();
  s.server->Signal(SIGTERM);
  BOOST_TEST(s.server->Wait(std::chrono::seconds(10)) == 0);
  BOOST_TEST((std::chrono::steady_clock::now() - start < std::chrono::seconds(3)));
  BOOST_REQUIRE(waiting.wait_for(std::chrono::seconds(5)) == std::future_status::ready);
  auto r = waiting.get();
  BOOST_TEST((r.ok() && r->status == 200 && r->body.empty()));
}

BOOST_AUTO_TEST_CASE(offline_tokenctl_replays_exports_and_verifies_while_the_server_runs) {
  Audited s;
  // Times have second precision: the revocation below must fall in a later second than "then".
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  auto head = json::parse(s.Call("GET", "/v1/ledger/head").body);
  std::string then = json::value_to<std::string>(head.at("signed_at"));
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  BOOST_REQUIRE_EQUAL(s.Call("DELETE", "/v1/namespaces/acme/tokens/" + S(s.tokens[2], "id")).status, 200);

  // replay --as-of T equals the server's listing as of T, namespace by namespace.
  auto [rc, out] = Run(s.Tokenctl("--json replay --as-of " + then));
  BOOST_REQUIRE_MESSAGE(rc == 0, out);
  auto replayed = Lines(out);
  size_t namespaces = 0;
  for (const auto& line : replayed) {
    if (line.empty() || line[0] != '{') continue;  // the summary goes to stderr, merged by Run
    auto view = json::parse(line).as_object();
    std::string ns = json::value_to<std::string>(view.at("namespace"));
    auto listed = json::parse(s.Call("GET", "/v1/namespaces/" + ns + "/tokens?as_of=" + then).body);
    BOOST_TEST(json::serialize(view.at("tokens")) == json::serialize(listed.at("tokens")), ns);
    ++namespaces;
  }
  BOOST_TEST(namespaces == 2u);
  // As of then, token 2 was still active; now it is revoked.
  BOOST_TEST(out.find(S(s.tokens[2], "id")) != std::string::npos);
  auto acme_then = json::parse(s.Call("GET", "/v1/namespaces/acme/tokens?as_of=" + then).body);
  bool active_then = false;
  for (const auto& t : acme_then.at("tokens").as_array())
    if (S(t, "id") == S(s.tokens[2], "id")) active_then = S(t, "status") == "active";
  BOOST_TEST(active_then);

  // events prints what GET /v1/events serves.
  auto [events_rc, events_out] = Run(s.Tokenctl("events"));
  BOOST_TEST(events_rc == 0);
  BOOST_TEST(events_out == s.Call("GET", "/v1/events").body);

  // An offline export, signed with the data dir's key, verifies.
  std::string file = s.dir.Sub("offline.jsonl");
  auto [export_rc, export_out] = Run(s.Tokenctl("export --format jsonl -o " + file));
  BOOST_TEST(export_rc == 0, export_out);
  auto [verify_rc, verify_out] = Run(kBin + "/tokenctl verify-export " + file + " --public-key " + s.PublicKey());
  BOOST_TEST(verify_rc == 0, verify_out);
  auto [csv_rc, csv_out] = Run(s.Tokenctl("export --format csv --namespace beta"));
  BOOST_TEST(csv_rc == 0);
  BOOST_TEST(Lines(csv_out).size() == 6u, csv_out);  // header, 3 creates, 2 revocations

  // verify checks the signed head against a pinned key, and fails for another one.
  s.server->Signal(SIGTERM);
  BOOST_REQUIRE(s.server->Wait() == 0);
  auto [verify_data_rc, verify_data_out] = Run(s.Tokenctl("verify --public-key " + s.PublicKey()));
  BOOST_TEST(verify_data_rc == 0, verify_data_out);
  BOOST_TEST(verify_data_out.find("signed head: seq 10") != std::string::npos, verify_data_out);
  auto [wrong_rc, wrong_out] = Run(s.Tokenctl("verify --public-key " + std::string(64, 'b')));
  BOOST_TEST(wrong_rc == 1, wrong_out);
}

BOOST_AUTO_TEST_CASE(the_signing_key_is_created_0600_or_taken_from_the_flag) {
  TempDir keys;
  std::string key_file = keys.Sub("ledger.key");
  auto [gen_rc, gen_out] = Run("openssl genpkey -algorithm ed25519 -out " + key_file);
  BOOST_REQUIRE_MESSAGE(gen_rc == 0, gen_out);
  Running s({"--signing-key-file", key_file});
  auto [pub_rc, pub_hex] = Run(kBin + "/tokenctl public-key --signing-key-file " + key_file);
  BOOST_REQUIRE(pub_rc == 0);
  pub_hex.pop_back();
  s.Create("acme", "t");
  auto head = json::parse(s.Call("GET", "/v1/ledger/head").body);
  BOOST_TEST(json::value_to<std::string>(head.at("public_key")) == pub_hex);
  struct stat st {};
  BOOST_TEST(::stat((s.data + "/signing.key").c_str(), &st) != 0);  // not created when given

  Running fresh;
  BOOST_REQUIRE(::stat((fresh.data + "/signing.key").c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 0777) == 0600u);
  BOOST_REQUIRE(::stat(fresh.data.c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 0777) == 0700u);
  // An unreadable key file is a clear start-up error.
  std::string bad = keys.Sub("bad.key");
  WriteFile(bad, "nope");
  TempDir other;
  ServerProcess refused(other.Sub("data"), other.Sub("log"), {"--signing-key-file", bad});
  BOOST_TEST(refused.Wait() == 1);
  BOOST_TEST(ReadFile(other.Sub("log")).find("not a PEM private key") != std::string::npos, ReadFile(other.Sub("log")));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(audit_progress)

BOOST_AUTO_TEST_CASE(long_runs_show_progress_when_asked_and_nothing_in_scripts) {
  TempDir dir;
  std::string data = dir.Sub("data");
  auto [synth_rc, synth_out] = Run(kBin + "/tl_bench synth-ledger --dir " + data + " --count 400000");
  BOOST_REQUIRE_MESSAGE(synth_rc == 0, synth_out);
  std::string replay = " --data-dir " + data + " replay --as-of 400000 --namespace none";
  // --progress always is what a terminal gets by default (auto tests isatty(2)).
  auto [shown_rc, shown] = Run(kBin + "/tokenctl --progress always" + replay);
  BOOST_TEST(shown_rc == 0, shown);
  BOOST_TEST(shown.find("events/s)") != std::string::npos, shown);
  BOOST_TEST(shown.find("replay: 400000 events") != std::string::npos, shown);
  auto [auto_rc, quiet] = Run(kBin + "/tokenctl" + replay);  // stderr is a pipe here
  BOOST_TEST(auto_rc == 0);
  BOOST_TEST(quiet.find("events/s") == std::string::npos, quiet);
  BOOST_TEST(quiet.find("replayed 400000 events") != std::string::npos, quiet);
  auto [export_rc, exported] = Run(kBin + "/tokenctl --progress always --data-dir " + data + " export -o " + dir.Sub("x.jsonl"));
  BOOST_TEST(export_rc == 0, exported);
  BOOST_TEST(exported.find("export: 400000 events") != std::string::npos, exported);
  auto [bad_rc, bad] = Run(kBin + "/tokenctl --progress sometimes" + replay);
  BOOST_TEST(bad_rc == 2, bad);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(overload)

BOOST_AUTO_TEST_CASE(writes_beyond_the_queue_get_503_overloaded_with_retry_after_and_nothing_is_lost) {
  Running s({"--max-write-queue", "1"});
  constexpr int kClients = 24;
  std::vector<std::future<std::vector<core::ClientResponse>>> clients;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(1500);
  for (int c = 0; c < kClients; ++c) {
    clients.push_back(std::async(std::launch::async, [&] {
      std::vector<core::ClientResponse> answers;
      auto client = core::HttpClient::Create(s.url, std::chrono::seconds(10));
      if (!client.ok()) return answers;
      while (std::chrono::steady_clock::now() < deadline) {
        auto r = (*client)->Request("POST", "/v1/namespaces/flood/tokens", R"({"name":"f"})", s.Auth());
        if (r.ok()) answers.push_back(*r);
      }
      return answers;
    }));
  }
  std::vector<std::string> secrets;
  int overloaded = 0, other = 0;
  for (auto& c : clients) {
    for (const auto& r : c.get()) {
      if (r.status == 201) {
        secrets.push_back(S(json::parse(r.body), "token"));
      } else if (r.status == 503 && r.Header("Retry-After") == "1" &&
                 r.body.find("\"overloaded\"") != std::string::npos) {
        ++overloaded;
      } else {
        ++other;
      }
    }
  }
  BOOST_TEST(other == 0);
  BOOST_TEST(overloaded > 0);
  BOOST_REQUIRE(!secrets.empty());
  auto metrics = s.Call("GET", "/metrics", "", false).body;
  BOOST_TEST(metrics.find("tokenledger_writes_overloaded_total " + std::to_string(overloaded) + "\n") != std::string::npos);
  // Every acknowledged create survives a kill -9, and the server still takes writes.
  s.server->Signal(SIGKILL);
  s.server->Wait();
  s.Start();
  size_t valid = 0;
  for (const auto& secret : secrets) valid += s.Valid(secret);
  BOOST_TEST(valid == secrets.size());
  BOOST_TEST(s.Call("POST", "/v1/namespaces/flood/tokens", R"({"name":"after"})").status == 201);
  BOOST_TEST(s.Call("GET", "/readyz", "", false).status == 200);
}

BOOST_AUTO_TEST_SUITE_END()
