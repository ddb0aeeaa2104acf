// Black-box tests: the real tokenledgerd on port 0 with a temp data dir, over real sockets.
#define BOOST_TEST_MODULE integration
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <ctime>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "tests/integration/harness.h"

using namespace tokenledger;
using namespace tokenledger::testing;
namespace json = boost::json;


BOOST_AUTO_TEST_SUITE(http_api)

BOOST_AUTO_TEST_CASE(every_endpoint_over_one_keep_alive_connection) {
  Running s;
  auto health = s.Call("GET", "/healthz", "", false);
  BOOST_TEST(health.status == 200);
  BOOST_TEST(s.Call("GET", "/readyz", "", false).status == 200);

  auto created = s.client->Request("POST", "/v1/namespaces/acme%2Fprod/tokens", R"({"name":"deploy"})", s.Auth("alice"));
  BOOST_REQUIRE(created.ok());
  BOOST_TEST(created->status == 201);
  json::object token = json::parse(created->body).as_object();
  BOOST_TEST(S(token, "created_by") == "alice");
  std::string id = S(token, "id"), secret = S(token, "token");
  BOOST_TEST(s.Valid(secret));

  auto listed = s.Call("GET", "/v1/namespaces/acme%2Fprod/tokens?status=active&limit=10");
  BOOST_TEST(listed.status == 200);
  BOOST_TEST(listed.body.find(id) != std::string::npos);
  BOOST_TEST(listed.body.find(secret) == std::string::npos);
  BOOST_TEST(s.Call("GET", "/v1/namespaces/acme%2Fprod/tokens/" + id).status == 200);

  auto second = s.Create("acme%2Fprod", "second");
  auto batch = s.Call("POST", "/v1/namespaces/acme%2Fprod/tokens/revoke", R"({"ids":[")" + S(second, "id") + R"("]})");
  BOOST_TEST(batch.status == 200);
  BOOST_TEST(batch.body.find("\"revoked\"") != std::string::npos);
  auto deleted = s.Call("DELETE", "/v1/namespaces/acme%2Fprod/tokens/" + id);
  BOOST_TEST(deleted.status == 200);
  BOOST_TEST(!s.Valid(secret));
  BOOST_TEST(!s.Valid(S(second, "token")));
  BOOST_TEST(s.Call("DELETE", "/v1/namespaces/acme%2Fprod/tokens/" + id).status == 409);

  // The secret never reaches the server's log.
  BOOST_TEST(ReadFile(s.log).find(secret) == std::string::npos);
  BOOST_TEST(ReadFile(s.log).find(s.admin) == std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_token_expires_at_expires_at_and_the_sweeper_records_it) {
  Running s;
  auto now = std::chrono::system_clock::now();
  std::time_t expiry = std::chrono::system_clock::to_time_t(now) + 2;
  char when[32];
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&expiry));
  auto r = s.Call("POST", "/v1/namespaces/acme/tokens", std::string(R"({"name":"short","expires_at":")") + when + R"("})");
  BOOST_REQUIRE_EQUAL(r.status, 201);
  std::string secret = S(json::parse(r.body), "token"), id = S(json::parse(r.body), "id");
  BOOST_TEST(s.Valid(secret));
  std::this_thread::sleep_until(std::chrono::system_clock::from_time_t(expiry));
  BOOST_TEST(!s.Valid(secret));  // at expires_at, whether or not the event is written yet
  auto deadline = std::chrono::system_clock::from_time_t(expiry) + std::chrono::milliseconds(1500);
  std::int64_t head = 0;
  while (std::chrono::system_clock::now() < deadline && head < 2) {
    head = json::parse(s.Call("GET", "/readyz", "", false).body).at("head_seq").as_int64();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  BOOST_TEST(head == 2);  // token.expired written within about a second
  BOOST_TEST(S(json::parse(s.Call("GET", "/v1/namespaces/acme/tokens/" + id).body), "status") == "expired");
  BOOST_TEST(s.Call("DELETE", "/v1/namespaces/acme/tokens/" + id).status == 409);
}

BOOST_AUTO_TEST_CASE(admin_token_file_is_created_private) {
  Running s;
  struct stat st {};
  BOOST_REQUIRE(::stat((s.data + "/admin.token").c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 0777) == 0600u);
  BOOST_TEST(s.admin.size() > 40u);
  auto r = s.client->Request("GET", "/v1/namespaces/acme/tokens", "", {{"Authorization", "Bearer wrong"}});
  BOOST_TEST(r->status == 401);
  BOOST_TEST(r->Header("WWW-Authenticate") == "Bearer");
}

BOOST_AUTO_TEST_CASE(oversized_and_malformed_requests_get_4xx) {
  Running s;
  std::string big = R"({"name":")" + std::string(70 * 1024, 'a') + R"("})";
  auto r = s.client->Request("POST", "/v1/namespaces/acme/tokens", big, s.Auth());
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->status == 413);
  BOOST_TEST(r->body.find("payload_too_large") != std::string::npos);

  auto bad = s.client->RawExchange("GARBAGE\r\n\r\n");
  BOOST_REQUIRE(bad.ok());
  BOOST_TEST(bad->status == 400);
  auto bad_version = s.client->RawExchange("GET / HTTP/9.9\r\n\r\n");
  BOOST_REQUIRE(bad_version.ok());
  BOOST_TEST(bad_version->status == 400);

  auto huge_header = s.client->RawExchange("GET /healthz HTTP/1.1\r\nX-Big: " + std::string(20000, 'x') + "\r\n\r\n");
  BOOST_REQUIRE(huge_header.ok());
  BOOST_TEST(huge_header->status == 431);

  auto bad_json = s.Call("POST", "/v1/namespaces/acme/tokens", "{\"name\":");
  BOOST_TEST(bad_json.status == 400);
  BOOST_TEST(bad_json.body.find("invalid_json") != std::string::npos);
  BOOST_TEST(s.Call("GET", "/v1/namespaces/acme/tokens?limit=-1").status == 400);
  BOOST_TEST(s.Call("PATCH", "/v1/namespaces/acme/tokens").status == 405);
  BOOST_TEST(s.Call("GET", "/nowhere").status == 404);
  // Still serving after all of that.
  BOOST_TEST(s.Call("GET", "/healthz", "", false).status == 200);
}

// Seeded, bounded sweep: mangled bodies and targets on every route. Each answer must be a 2xx
// or 4xx with the error shape, and the server must stay up and keep its ledger consistent.
BOOST_AUTO_TEST_CASE(random_bad_input_never_gets_a_5xx) {
  Running s;
  auto token = s.Create("acme", "seed");
  std::string id = S(token, "id");
  std::mt19937 rng(20261204);
  auto pick = [&](const std::vector<std::string>& v) { return v[rng() % v.size()]; };
  const std::vector<std::string> fragments = {
      "{", "}", "[", "]", "\"", ":", ",", "null", "true", "1e999999", "-0", "\\u0000", "\\ud800",
      "\xff\xfe", "name", "expires_at", "ids", "reason", "token", "namespace", "tok_", "tlpat_",
      std::string(300, 'a'), "2026-02-30T00:00:00Z", "9999-12-31T23:59:59Z", "\x01", " "};
  const std::vector<std::pair<std::string, std::string>> routes = {
      {"POST", "/v1/namespaces/acme/tokens"},       {"GET", "/v1/namespaces/acme/tokens"},
      {"POST", "/v1/namespaces/acme/tokens/revoke"}, {"GET", "/v1/namespaces/acme/tokens/" + id},
      {"DELETE", "/v1/namespaces/acme/tokens/x"},    {"POST", "/v1/validate"},
      {"GET", "/readyz"},                             {"PUT", "/v1/namespaces/acme/tokens"}};
  const std::vector<std::string> bad_targets = {
      "/v1/namespaces/%zz/tokens", "/v1/namespaces//tokens", "/v1/namespaces/a%2F%2Fb/tokens",
      "/v1/namespaces/acme/tokens?limit=99999999999999999999", "/v1/namespaces/acme/tokens?status=%00",
      "/v1/namespaces/acme/tokens?cursor=-1", "/v1/namespaces/" + std::string(300, 'n') + "/tokens",
      "/v1/namespaces/acme/tokens/" + std::string(200, 'x'), "/%", "/v1/validate?x=%GG"};
  int answered = 0;
  for (int i = 0; i < 600; ++i) {
    auto [method, target] = routes[rng() % routes.size()];
    if (i % 5 == 0) target = pick(bad_targets);
    std::string body;
    for (int n = rng() % 12; n > 0; --n) body += pick(fragments);
    auto r = s.client->Request(method, target, body, s.Auth());
    BOOST_REQUIRE_MESSAGE(r.ok(), "no answer to " << method << " " << target << " " << body);
    BOOST_TEST(r->status < 500, method << " " << target << " body " << body << " -> " << r->status);
    if (r->status >= 400) BOOST_TEST(r->body.find("\"error\"") != std::string::npos, r->body);
    ++answered;
  }
  BOOST_TEST(answered == 600);
  BOOST_TEST(s.Call("GET", "/healthz", "", false).status == 200);
  BOOST_TEST(s.Valid(S(token, "token")));  // no request named its id in a revoke
  auto [rc, out] = Run(kBin + "/tokenctl --data-dir " + s.data + " verify");
  BOOST_TEST(rc == 0, out);
}

BOOST_AUTO_TEST_CASE(pipelined_requests_are_answered_in_order) {
  Running s;
  std::string two = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n"
                    "POST /v1/validate HTTP/1.1\r\nHost: x\r\nContent-Length: 13\r\n\r\n{\"token\":\"x\"}";
  auto first = s.client->RawExchange(two);
  BOOST_REQUIRE(first.ok());
  BOOST_TEST(first->status == 200);
  auto second = s.client->ReadNext();
  BOOST_REQUIRE(second.ok());
  BOOST_TEST(second->status == 404);
  auto third = s.client->ReadNext();
  BOOST_REQUIRE(third.ok());
  BOOST_TEST(third->body == R"({"active":false})");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(durability_and_process)

BOOST_AUTO_TEST_CASE(acknowledged_writes_survive_kill_9) {
  Running s;
  constexpr int kThreads = 8, kPerThread = 10;
  std::vector<std::vector<std::pair<std::string, std::string>>> made(kThreads);  // id, secret
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto client = core::HttpClient::Create(s.url);
      for (int i = 0; i < kPerThread; ++i) {
        auto r = (*client)->Request("POST", "/v1/namespaces/team" + std::to_string(t % 2) + "/tokens", R"({"name":"k"})", s.Auth());
        if (r.ok() && r->status == 201) {
          json::value v = json::parse(r->body);
          made[t].emplace_back(S(v, "id"), S(v, "token"));
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  std::vector<std::pair<std::string, std::string>> all;
  for (auto& m : made) all.insert(all.end(), m.begin(), m.end());
  BOOST_REQUIRE(all.size() == static_cast<size_t>(kThreads * kPerThread));
  // Revoke a few, acknowledged, then kill without any chance to flush.
  std::string ids;
  for (int t = 0; t < 2; ++t) ids += std::string(t ? "," : "") + "\"" + made[t * 2][0].first + "\"";
  BOOST_REQUIRE(s.Call("POST", "/v1/namespaces/team0/tokens/revoke", "{\"ids\":[" + ids + "]}").status == 200);
  s.server->Signal(SIGKILL);
  BOOST_TEST(s.server->Wait() == 128 + SIGKILL);

  s.Start();
  int valid = 0;
  for (auto& [id, secret] : all) valid += s.Valid(secret);
  BOOST_TEST(valid == kThreads * kPerThread - 2);
  BOOST_TEST(!s.Valid(made[0][0].second));
  BOOST_TEST(!s.Valid(made[2][0].second));
  auto ready = s.Call("GET", "/readyz", "", false);
  BOOST_TEST(json::parse(ready.body).at("head_seq").as_int64() == kThreads * kPerThread + 2);

  // tokenctl verify works on the data dir of the running server.
  auto [rc, out] = Run(kBin + "/tokenctl --data-dir " + s.data + " verify");
  BOOST_TEST(rc == 0, out);
  BOOST_TEST(out.find("verified") != std::string::npos, out);
}

// Creates tokens with long names until a write is refused (or max tries): the secrets
// acknowledged, then the refusal's status (0: none) and body.
struct CreatedUntilRefused {
  std::vector<std::string> acknowledged;
  int failed_status = 0;
  std::string failure;
};
CreatedUntilRefused CreateUntilRefused(Running& s, int max) {
  CreatedUntilRefused out;
  for (int i = 0; i < max && out.failed_status == 0; ++i) {
    auto r = s.Call("POST", "/v1/namespaces/acme/tokens", R"({"name":")" + std::string(90, 'n') + R"("})");
    if (r.status == 201) out.acknowledged.push_back(S(json::parse(r.body), "token"));
    else { out.failed_status = r.status; out.failure = r.body; }
  }
  return out;
}

BOOST_AUTO_TEST_CASE(a_failed_disk_write_refuses_all_later_writes_and_loses_nothing) {
  Running s;
  s.server->Signal(SIGTERM);
  BOOST_REQUIRE(s.server->Wait() == 0);
  s.Start(256 * 1024);  // the WAL may grow to 256 KiB, then writes fail for real
  auto [acknowledged, failed_status, failure] = CreateUntilRefused(s, 5000);
  BOOST_REQUIRE_MESSAGE(failed_status != 0, "the file size limit never made a write fail");
  BOOST_TEST(failed_status == 503, failure);
  BOOST_TEST(failure.find("000") == std::string::npos, failure);  // no file names to clients
  // From now on every write is refused, even small ones, and readiness says so.
  BOOST_TEST(s.Call("POST", "/v1/namespaces/acme/tokens", R"({"name":"x"})").status == 503);
  BOOST_TEST(s.Call("DELETE", "/v1/namespaces/acme/tokens/tok_AAAAAAAAAAAAAAAAAAAA").status == 503);
  auto ready = s.Call("GET", "/readyz", "", false);
  BOOST_TEST(ready.status == 503);
  BOOST_TEST(ready.body.find("writes_refused") != std::string::npos);
  // Validation keeps working from memory.
  BOOST_TEST(s.Valid(acknowledged.front()));
  BOOST_TEST(ReadFile(s.log).find("refuses writes") != std::string::npos, ReadFile(s.log));

  s.server->Signal(SIGKILL);
  s.server->Wait();
  s.Start();
  for (const auto& secret : acknowledged) BOOST_TEST(s.Valid(secret));
  auto [rc, out] = Run(kBin + "/tokenctl --data-dir " + s.data + " verify");
  BOOST_TEST(rc == 0, out);
  BOOST_TEST(s.Call("POST", "/v1/namespaces/acme/tokens", R"({"name":"after"})").status == 201);
}

// A real full disk (ENOSPC), where the machine lets the test mount a small tmpfs (root with
// CAP_SYS_ADMIN, as CI runs): writes fail and answer 503 while validation answers from memory;
// once space returns (the tmpfs grows), a restart has everything acknowledged. Where mounting
// is not allowed, the file-size-limit test above covers the same path with EFBIG.
BOOST_AUTO_TEST_CASE(a_full_disk_refuses_writes_and_a_restart_after_space_returns_loses_nothing) {
  TempDir mount_point;
  if (Run("mount -t tmpfs -o size=8m tokenledger-test " + mount_point.path()).first != 0) {
    BOOST_TEST_MESSAGE("mounting a tmpfs is not permitted here; the disk-full case is covered by EFBIG only");
    return;
  }
  struct Unmount {
    std::string path;
    ~Unmount() { Run("umount -l " + path); }
  } unmount{mount_point.path()};
  Running s(mount_point.Sub("data"), {});
  auto [acknowledged, failed_status, failure] = CreateUntilRefused(s, 200000);
  BOOST_REQUIRE_MESSAGE(failed_status != 0, "the 8 MiB tmpfs never filled up");
  BOOST_TEST(failed_status == 503, failure);
  BOOST_TEST(s.Call("POST", "/v1/namespaces/acme/tokens", R"({"name":"x"})").status == 503);
  BOOST_TEST(s.Call("GET", "/readyz", "", false).status == 503);
  for (size_t i = 0; i < acknowledged.size(); i += 97) BOOST_TEST(s.Valid(acknowledged[i]));
  BOOST_TEST(s.Valid(acknowledged.back()));
  BOOST_TEST(ReadFile(s.log).find("No space left on device") != std::string::npos);

  s.server->Signal(SIGKILL);
  s.server->Wait();
  BOOST_REQUIRE(Run("mount -o remount,size=64m " + mount_point.path()).first == 0);
  s.Start();
  for (const auto& secret : acknowledged) BOOST_TEST(s.Valid(secret));
  BOOST_TEST(s.Call("POST", "/v1/namespaces/acme/tokens", R"({"name":"after"})").status == 201);
  auto [rc, out] = Run(kBin + "/tokenctl --data-dir " + s.data + " verify");
  BOOST_TEST(rc == 0, out);
  BOOST_TEST_MESSAGE("disk full after " << acknowledged.size() << " acknowledged creates; all valid after the restart");
}

// A data file damaged at rest (one flipped byte in the middle of an SST) stops the start with a
// clear error and exit 1, and tokenctl verify reports it, rather than being served until a query
// reads the bad block.
BOOST_AUTO_TEST_CASE(a_corrupted_data_file_is_detected_at_start) {
  Running s;
  for (int i = 0; i < 3000; ++i) s.Create("acme", "t" + std::to_string(i));
  s.server->Signal(SIGTERM);  // a clean stop flushes everything into SST files
  BOOST_REQUIRE(s.server->Wait() == 0);
  std::string largest;
  std::uintmax_t largest_size = 0;
  for (const auto& entry : std::filesystem::directory_iterator(s.data))
    if (entry.path().extension() == ".sst" && entry.file_size() > largest_size) {
      largest = entry.path().string();
      largest_size = entry.file_size();
    }
  BOOST_REQUIRE(largest_size > 4096);
  {
    std::fstream f(largest, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(largest_size / 2));
    char byte = 0;
    f.get(byte);
    f.seekp(static_cast<std::streamoff>(largest_size / 2));
    f.put(static_cast<char>(byte ^ 0x5a));
  }
  ServerProcess damaged(s.data, s.dir.Sub("damaged.log"));
  BOOST_TEST(damaged.WaitListening(std::chrono::seconds(20)).empty());
  BOOST_TEST(damaged.Wait(std::chrono::seconds(20)) == 1);
  std::string log = ReadFile(s.dir.Sub("damaged.log"));
  BOOST_TEST(log.find("corrupted data file") != std::string::npos, log);
  BOOST_TEST(log.find(std::filesystem::path(largest).filename().string()) != std::string::npos, log);
  auto [rc, out] = Run(kBin + "/tokenctl --data-dir " + s.data + " verify");
  BOOST_TEST(rc != 0, out);
  BOOST_TEST(out.find("checksum mismatch") != std::string::npos, out);
  // The check is what catches it: without it the server starts on the damaged file.
  ServerProcess unchecked(s.data, s.dir.Sub("unchecked.log"), {"--skip-data-file-check"});
  BOOST_TEST(!unchecked.WaitListening(std::chrono::seconds(20)).empty(), ReadFile(s.dir.Sub("unchecked.log")));
}

BOOST_AUTO_TEST_CASE(a_second_process_on_the_same_data_dir_fails_fast) {
  Running s;
  ServerProcess second(s.data, s.dir.Sub("second.log"));
  BOOST_TEST(second.WaitListening(std::chrono::seconds(20)).empty());
  int rc = second.Wait(std::chrono::seconds(20));
  BOOST_TEST(rc != 0);
  BOOST_TEST(rc != -1);
  BOOST_TEST(ReadFile(s.dir.Sub("second.log")).find("in use by another tokenledgerd") != std::string::npos);
  BOOST_TEST(s.Call("GET", "/healthz", "", false).status == 200);  // the first is unharmed
}

BOOST_AUTO_TEST_CASE(sigterm_drains_and_exits_zero) {
  Running s;
  auto token = s.Create("acme", "t");
  // An idle keep-alive connection must not hold up the shutdown.
  auto idle = core::HttpClient::Create(s.url);
  BOOST_REQUIRE((*idle)->Request("GET", "/healthz").ok());
  // A write in flight while the signal arrives is answered or refused, never lost silently.
  std::thread writer([&] {
    auto client = core::HttpClient::Create(s.url);
    for (int i = 0; i < 50; ++i) {
      auto r = (*client)->Request("POST", "/v1/namespaces/acme/tokens", R"({"name":"x"})", s.Auth());
      if (!r.ok()) break;
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  s.server->Signal(SIGTERM);
  writer.join();
  BOOST_TEST(s.server->Wait(std::chrono::seconds(20)) == 0);
  BOOST_TEST(ReadFile(s.log).find("stopped cleanly") != std::string::npos);
  auto [rc, out] = Run(kBin + "/tokenctl --data-dir " + s.data + " verify");
  BOOST_TEST(rc == 0, out);
  s.Start();
  BOOST_TEST(s.Valid(S(token, "token")));
}

BOOST_AUTO_TEST_CASE(verify_detects_a_flipped_byte_on_disk) {
  Running s;
  for (int i = 0; i < 3; ++i) s.Create("acme", "t");
  // kill -9 leaves the events in the WAL uncompressed (a clean stop flushes them to SSTs).
  s.server->Signal(SIGKILL);
  BOOST_REQUIRE(s.server->Wait() == 128 + SIGKILL);
  // Flip one byte inside an event's value in the RocksDB files: find "acme" bytes in the WAL
  // and change the token name that follows ("t" -> "u").
  bool flipped = false;
  for (const auto& entry : std::filesystem::directory_iterator(s.data)) {
    std::string name = entry.path().filename().string();
    if (name.size() < 4 || (name.substr(name.size() - 4) != ".log" && name.substr(name.size() - 4) != ".sst")) continue;
    std::string bytes = ReadFile(entry.path().string());
    size_t at = bytes.find(std::string("acme\x01\x00\x00\x00\x00\x00\x00\x00t", 13));
    if (at == std::string::npos) continue;
    std::fstream f(entry.path(), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(at + 12));
    f.put('u');
    flipped = true;
    break;
  }
  BOOST_REQUIRE_MESSAGE(flipped, "no event bytes found to corrupt");
  auto [rc, out] = Run(kBin + "/tokenctl --data-dir " + s.data + " verify");
  // Either RocksDB's own checksum or our hash chain catches it; both must fail verify.
  BOOST_TEST((rc == 1 || rc == 2), out);
  BOOST_TEST_MESSAGE("verify after corruption: " << out);
  BOOST_TEST(out.find("verified:") == std::string::npos, out);
  // Nor does the server start on it: the damaged record is not the WAL's torn tail.
  ServerProcess damaged(s.data, s.dir.Sub("damaged.log"));
  BOOST_TEST(damaged.WaitListening(std::chrono::seconds(20)).empty());
  BOOST_TEST(damaged.Wait(std::chrono::seconds(20)) == 1);
  BOOST_TEST_MESSAGE("start after corruption: " << ReadFile(s.dir.Sub("damaged.log")));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(command_line)

BOOST_AUTO_TEST_CASE(tokenctl_online_commands_and_exit_codes) {
  Running s;
  std::string base = kBin + "/tokenctl --server " + s.url + " --admin-token-file " + s.data + "/admin.token ";
  auto [rc, out] = Run(base + "--actor carol create acme/prod deploy");
  BOOST_TEST(rc == 0, out);
  std::string secret = out.substr(out.find("tlpat_"), 44);
  std::string id = out.substr(out.find("tok_"), 24);
  std::tie(rc, out) = Run(base + "validate " + secret + " --namespace acme/prod");
  BOOST_TEST(rc == 0, out);
  std::tie(rc, out) = Run(base + "validate " + secret + " --namespace other");
  BOOST_TEST(rc == 1, out);
  std::tie(rc, out) = Run(base + "list acme/prod");
  BOOST_TEST(rc == 0, out);
  BOOST_TEST(out.find(id) != std::string::npos, out);
  std::tie(rc, out) = Run(base + "revoke acme/prod " + id + " --reason test");
  BOOST_TEST(rc == 0, out);
  std::tie(rc, out) = Run(base + "revoke acme/prod " + id);
  BOOST_TEST(rc == 1, out);
  BOOST_TEST(out.find("already_revoked") != std::string::npos, out);
  std::tie(rc, out) = Run(base + "validate " + secret);
  BOOST_TEST(rc == 1, out);
  std::tie(rc, out) = Run(base + "create '/bad' x");
  BOOST_TEST(rc == 2, out);
  std::tie(rc, out) = Run(kBin + "/tokenctl --server http://127.0.0.1:1 validate " + secret);
  BOOST_TEST(rc == 2, out);
  std::tie(rc, out) = Run(kBin + "/tokenctl frobnicate");
  BOOST_TEST(rc == 2, out);
  for (const char* cmd : {"", "create ", "list ", "revoke ", "validate ", "verify "}) {
    std::tie(rc, out) = Run(kBin + "/tokenctl " + cmd + "--help");
    BOOST_TEST(rc == 0, cmd);
    BOOST_TEST(out.find("Usage") != std::string::npos, cmd);
  }
  auto history = s.Call("GET", "/v1/namespaces/acme%2Fprod/tokens/" + id);
  BOOST_TEST(S(json::parse(history.body), "created_by") == "carol");
}

BOOST_AUTO_TEST_CASE(tokenledgerd_flags) {
  auto [rc, out] = Run(kBin + "/tokenledgerd --help");
  BOOST_TEST(rc == 0);
  BOOST_TEST(out.find("--data-dir") != std::string::npos);
  std::tie(rc, out) = Run(kBin + "/tokenledgerd --bogus");
  BOOST_TEST(rc == 2, out);
  std::tie(rc, out) = Run(kBin + "/tokenledgerd --listen nonsense");
  BOOST_TEST(rc == 2, out);
  std::tie(rc, out) = Run(kBin + "/tokenledgerd --max-write-queue 0");
  BOOST_TEST(rc == 2, out);
  BOOST_TEST(out.find("--max-write-queue") != std::string::npos, out);
  TempDir dir;
  std::tie(rc, out) = Run(kBin + "/tokenledgerd --data-dir " + dir.path() + " --max-lifetime-days 400 --listen 127.0.0.1:0");
  BOOST_TEST(rc != 0, out);
  BOOST_TEST(out.find("1-366") != std::string::npos, out);
}

BOOST_AUTO_TEST_SUITE_END()
