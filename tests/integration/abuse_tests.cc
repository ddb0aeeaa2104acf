// Abuse at the front door, on the real tokenledgerd: slow senders, a crowd of idle connections,
// the connection limit, huge headers, a 1 MB body and endless pipelining. Each test checks that
// the bad connections are closed by the configured timeout or limit, that memory stays bounded,
// and that a well-behaved client validating meanwhile gets every answer. (Its latency is
// printed here; the p99 figures are measured by tools/bench/abuse_bench.sh, not asserted.)
#define BOOST_TEST_MODULE abuse
#include <boost/test/unit_test.hpp>

#include "tests/integration/harness.h"
#include "tools/bench/abuse_clients.h"

namespace tokenledger::testing {
namespace {

using namespace std::chrono_literals;

double Metric(Running& s, const std::string& name) { return MetricValue(s.Call("GET", "/metrics", "", false).body, name); }

// Polls until done() or the timeout; returns done().
template <class Done>
bool WaitFor(Done done, std::chrono::seconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(20ms);
  return done();
}

void ReportProbe(const char* attack, bench::LatencyProbe& probe) {
  probe.Stop();
  char line[256];
  std::snprintf(line, sizeof line, "%s: well-behaved validations %ld, p50 %.3f ms, p99 %.3f ms, max %.1f ms", attack,
                probe.answered(), probe.PercentileMs(0.5), probe.PercentileMs(0.99), probe.PercentileMs(1.0));
  BOOST_TEST_MESSAGE(line);
  BOOST_TEST(probe.failed() == 0);
  BOOST_TEST(probe.answered() > 0);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(abuse)

// The reference for the figures below: the same client with nobody attacking.
BOOST_AUTO_TEST_CASE(a_well_behaved_client_alone) {
  Running s;
  bench::LatencyProbe probe(s.url, S(s.Create("acme", "probe"), "token"));
  std::this_thread::sleep_for(2s);
  ReportProbe("reference, no attack", probe);
}

BOOST_AUTO_TEST_CASE(slow_senders_are_closed_by_the_read_timeout_while_validation_answers) {
  Running s({"--read-timeout", "2"});
  std::string token = S(s.Create("acme", "probe"), "token");
  bench::LatencyProbe probe(s.url, token);
  auto start = std::chrono::steady_clock::now();
  {
    bench::Slowloris slow(PortOf(s.url), 300, 200ms);
    BOOST_REQUIRE(WaitFor([&] { return slow.opened() == 300; }, 10s));
    // Each sends a byte every 200 ms, which never completes a request: all are cut at ~2 s.
    BOOST_TEST(WaitFor([&] { return slow.closed_by_server() == 300; }, 15s), slow.closed_by_server() << " of 300 closed");
    bool not_before_their_time = std::chrono::steady_clock::now() - start >= 1900ms;
    BOOST_TEST(not_before_their_time);
  }
  BOOST_TEST(Metric(s, "tokenledger_connections_timed_out_total") >= 300);
  ReportProbe("slowloris x300", probe);
}

BOOST_AUTO_TEST_CASE(ten_thousand_idle_connections_cost_bounded_memory_and_validation_answers) {
  long fds = bench::RaiseOpenFilesLimit();
  size_t crowd = std::min<long>(10000, fds - 256);
  BOOST_REQUIRE_MESSAGE(crowd >= 1000, "the open-files hard limit (" << fds << ") allows too few connections");
  Running s;
  std::string token = S(s.Create("acme", "probe"), "token");
  double rss_before = bench::ResidentMiB(s.server->pid());
  bench::IdleConnections idle(PortOf(s.url), crowd);
  BOOST_REQUIRE_EQUAL(idle.opened(), crowd);
  BOOST_REQUIRE(WaitFor([&] { return Metric(s, "tokenledger_open_connections{protocol=\"http\"}") >= crowd; }, 30s));
  bench::LatencyProbe probe(s.url, token);
  std::this_thread::sleep_for(2s);
  ReportProbe("10k idle connections", probe);
  double rss_after = bench::ResidentMiB(s.server->pid());
  BOOST_TEST_MESSAGE(crowd << " idle connections: server RSS " << rss_before << " -> " << rss_after << " MiB");
  // About 6 KiB each (session, 4 KiB first read buffer, request and response); the bound
  // leaves room for allocator slack, not for a buffer of the largest read per connection.
  BOOST_TEST(rss_after - rss_before < static_cast<double>(crowd) * 16 / 1024);
  BOOST_TEST(idle.ClosedByServer() == 0u);  // idle, but within the 30 s read timeout
}

BOOST_AUTO_TEST_CASE(idle_resp_connections_cost_bounded_memory_too) {
  long fds = bench::RaiseOpenFilesLimit();
  size_t crowd = std::min<long>(5000, fds - 256);
  Running s({"--resp-listen", "127.0.0.1:0"});
  std::string resp = s.server->WaitLine("tokenledgerd resp listening on ");
  std::uint16_t resp_port = static_cast<std::uint16_t>(std::stoi(resp.substr(resp.rfind(':') + 1)));
  double rss_before = bench::ResidentMiB(s.server->pid());
  bench::IdleConnections idle(resp_port, crowd);
  BOOST_REQUIRE_EQUAL(idle.opened(), crowd);
  BOOST_REQUIRE(WaitFor([&] { return Metric(s, "tokenledger_open_connections{protocol=\"resp\"}") >= crowd; }, 30s));
  double rss_after = bench::ResidentMiB(s.server->pid());
  BOOST_TEST_MESSAGE(crowd << " idle RESP connections: server RSS " << rss_before << " -> " << rss_after << " MiB");
  // A 4 KiB first buffer each, not the ~64 KiB a pipelined batch may grow it to.
  BOOST_TEST(rss_after - rss_before < static_cast<double>(crowd) * 16 / 1024);
}

BOOST_AUTO_TEST_CASE(connections_beyond_max_connections_are_closed_at_accept) {
  Running s({"--max-connections", "50"});
  std::string token = S(s.Create("acme", "probe"), "token");
  s.client.reset();  // the harness's own connection would count against the limit
  {
    bench::IdleConnections idle(PortOf(s.url), 60);
    BOOST_REQUIRE_EQUAL(idle.opened(), 60u);
    // At least the 10 beyond the limit (one more when the server has not yet seen the harness's
    // own connection go).
    BOOST_TEST(WaitFor([&] { return idle.ClosedByServer() >= 10; }, 10s), idle.ClosedByServer() << " closed");
    std::this_thread::sleep_for(200ms);
    BOOST_TEST(idle.ClosedByServer() <= 11u);
  }
  // Once the crowd leaves, clients are served again.
  BOOST_TEST(WaitFor([&] {
    auto c = core::HttpClient::Create(s.url);
    auto r = (*c)->Request("GET", "/healthz");
    return r.ok() && r->status == 200;
  }, 10s));
  auto c = core::HttpClient::Create(s.url);
  s.client = std::move(c).value();
  BOOST_TEST(Metric(s, "tokenledger_connections_refused_total") >= 10);
  BOOST_TEST(s.Valid(token));
}

BOOST_AUTO_TEST_CASE(huge_headers_are_answered_431_and_closed) {
  Running s({"--max-header-bytes", "8192"});
  std::string token = S(s.Create("acme", "probe"), "token");
  bench::LatencyProbe probe(s.url, token);
  // Repeated for two seconds, so the well-behaved client is measured under a steady attack.
  int attacks = 0;
  for (auto end = std::chrono::steady_clock::now() + 2s; std::chrono::steady_clock::now() < end; ++attacks) {
    for (size_t size : {9000ul, 1024ul * 1024}) {
      std::string head = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(size, 'h') + "\r\n\r\n";
      auto outcome = bench::SendRaw(PortOf(s.url), head, 0, 10s);
      BOOST_TEST(outcome.status == 431, size);
      BOOST_TEST(outcome.closed_after, size);
    }
    // Many small headers add up the same way.
    std::string many = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
    for (int i = 0; i < 2000; ++i) many += "X-H" + std::to_string(i) + ": v\r\n";
    auto outcome = bench::SendRaw(PortOf(s.url), many + "\r\n", 0, 10s);
    BOOST_TEST(outcome.status == 431);
  }
  BOOST_TEST_MESSAGE("huge headers: " << attacks << " rounds of three oversized requests");
  ReportProbe("huge headers", probe);
}

BOOST_AUTO_TEST_CASE(a_one_megabyte_body_is_answered_413_without_being_read) {
  Running s;
  std::string token = S(s.Create("acme", "probe"), "token");
  bench::LatencyProbe probe(s.url, token);
  const size_t mib = 1024 * 1024;
  std::string head = "POST /v1/validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
                     std::to_string(mib) + "\r\n\r\n";
  // Chunked, so the size is known only while reading: cut off at the limit all the same.
  std::string chunked = "POST /v1/validate HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 20; ++i) chunked += "10000\r\n" + std::string(65536, 'x') + "\r\n";
  // Repeated for two seconds, so the well-behaved client is measured under a steady attack.
  int attacks = 0;
  for (auto end = std::chrono::steady_clock::now() + 2s; std::chrono::steady_clock::now() < end; ++attacks) {
    auto outcome = bench::SendRaw(PortOf(s.url), head, mib, 10s);
    BOOST_TEST(outcome.status == 413);
    BOOST_TEST(outcome.closed_after);
    BOOST_TEST(outcome.seconds < 5.0);
    outcome = bench::SendRaw(PortOf(s.url), chunked, 0, 10s);
    BOOST_TEST(outcome.status == 413);
    BOOST_TEST(outcome.closed_after);
  }
  BOOST_TEST_MESSAGE("1 MB bodies: " << attacks << " rounds of two 1 MB requests");
  // The limit is the flag's: a 2 KiB body passes at the default, not with --max-body-bytes 1024.
  Running small({"--max-body-bytes", "1024"});
  std::string padded = R"({"token":")" + token + R"(","pad":")" + std::string(2048, 'p') + R"("})";
  BOOST_TEST(s.Call("POST", "/v1/validate", padded, false).status == 200);
  BOOST_TEST(small.Call("POST", "/v1/validate", padded, false).status == 413);
  ReportProbe("1 MB bodies", probe);
}

BOOST_AUTO_TEST_CASE(endless_pipelining_without_reading_is_closed_by_the_write_timeout) {
  Running s({"--write-timeout", "2"});
  std::string token = S(s.Create("acme", "probe"), "token");
  std::string body = R"({"token":")" + token + R"("})";
  std::string request = "POST /v1/validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
                        std::to_string(body.size()) + "\r\n\r\n" + body;
  double rss_before = bench::ResidentMiB(s.server->pid());
  bench::LatencyProbe probe(s.url, token);
  double rss_peak = rss_before;
  {
    bench::Pipeliner pipeliner(PortOf(s.url), request, 30s);
    // The server answers until the responses fill the socket (the client never reads), then
    // stops reading it; TCP holds the rest. After 2 s without progress it closes.
    BOOST_TEST(WaitFor([&] {
      rss_peak = std::max(rss_peak, bench::ResidentMiB(s.server->pid()));
      return pipeliner.done();
    }, 20s));
    BOOST_TEST(pipeliner.closed_by_server());
    BOOST_TEST_MESSAGE("endless pipelining: " << pipeliner.bytes_sent() / 1024 << " KiB of requests sent before the close");
  }
  BOOST_TEST_MESSAGE("endless pipelining: server RSS " << rss_before << " -> peak " << rss_peak << " MiB");
  BOOST_TEST(rss_peak - rss_before < 64.0);
  BOOST_TEST(Metric(s, "tokenledger_connections_timed_out_total") >= 1);
  ReportProbe("endless pipelining", probe);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace tokenledger::testing
