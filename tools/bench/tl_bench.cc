// tl_bench: the measurements behind docs/benchmarks.md. Each mode prints "name value unit"
// lines; tools/bench/run_bench.sh runs them all against a fresh server and a reference.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <rocksdb/db.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <boost/program_options.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>
#include <queue>
#include <random>
#include <unordered_set>
#include <vector>

#include <condition_variable>
#include <mutex>

#include "core/secret_file.h"
#include "core/time_format.h"
#include "core/token_format.h"
#include "events/event_store.h"
#include "events/storage.h"
#include "projections/ledger.h"
#include "tools/bench/load_generator.h"
#include "tools/bench/percentile.h"
#include "core/http_client.h"

namespace po = boost::program_options;
namespace json = boost::json;
using namespace tokenledger;
using Clock = std::chrono::steady_clock;
using bench::Percentile;

namespace {

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

std::vector<std::pair<std::string, std::string>> Auth(const std::string& admin) {
  return {{"Authorization", "Bearer " + admin}};
}

// N clients, each on its own keep-alive connection, create tokens for `seconds`.
int Creates(const std::string& url, const std::string& admin, int clients, double seconds) {
  std::atomic<long> done{0}, failed{0};
  std::vector<std::thread> threads;
  auto end = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  auto start = Clock::now();
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      auto client = core::HttpClient::Create(url, std::chrono::seconds(30));
      std::string target = "/v1/namespaces/bench" + std::to_string(c % 8) + "/tokens";
      while (Clock::now() < end) {
        auto r = (*client)->Request("POST", target, R"({"name":"bench"})", Auth(admin));
        (r.ok() && r->status == 201 ? done : failed)++;
      }
    });
  }
  for (auto& t : threads) t.join();
  double elapsed = Seconds(Clock::now() - start);
  std::printf("creates_per_second_c%d %.0f creates/s\n", clients, done.load() / elapsed);
  if (failed.load() > 0) std::printf("creates_failed_c%d %ld requests\n", clients, failed.load());
  return failed.load() > 0 ? 1 : 0;
}

// Runs `request` on one connection for `seconds`; returns requests/s and fills latencies.
double OneConnection(core::HttpClient& client, double seconds, const std::string& method, const std::string& target,
                     const std::string& body, std::vector<double>& latencies_us) {
  auto start = Clock::now();
  auto end = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  long n = 0;
  while (Clock::now() < end) {
    auto t0 = Clock::now();
    auto r = client.Request(method, target, body);
    if (!r.ok() || r->status != 200) {
      std::fprintf(stderr, "request failed\n");
      return 0;
    }
    latencies_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    ++n;
  }
  return n / Seconds(Clock::now() - start);
}

int Validate(const std::string& url, const std::string& admin, double seconds) {
  auto client = core::HttpClient::Create(url);
  auto created = (*client)->Request("POST", "/v1/namespaces/bench/tokens", R"({"name":"validate"})", Auth(admin));
  if (!created.ok() || created->status != 201) return 1;
  std::string secret = json::value_to<std::string>(json::parse(created->body).at("token"));
  std::string body = R"({"token":")" + secret + R"("})";
  std::vector<double> health_lat, valid_lat;
  // Reference in the same go: the cheapest request the server answers, on the same connection.
  double health = OneConnection(**client, seconds / 2, "GET", "/healthz", "", health_lat);
  double valid = OneConnection(**client, seconds, "POST", "/v1/validate", body, valid_lat);
  std::printf("healthz_per_second_1conn %.0f req/s\n", health);
  std::printf("validations_per_second_1conn %.0f req/s\n", valid);
  std::printf("validation_vs_healthz %.2f ratio\n", health > 0 ? valid / health : 0);
  std::printf("validation_latency_p50 %.0f us\n", Percentile(valid_lat, 0.5));
  std::printf("validation_latency_p99 %.0f us\n", Percentile(valid_lat, 0.99));
  return valid > 0 ? 0 : 1;
}

// The fsync ceiling of this disk: one thread writing RocksDB batches with sync=true.
int FsyncReference(const std::string& dir, double seconds) {
  rocksdb::Options options;
  options.create_if_missing = true;
  rocksdb::DB* raw = nullptr;
  if (!rocksdb::DB::Open(options, dir, &raw).ok()) return 1;
  std::unique_ptr<rocksdb::DB> db(raw);
  rocksdb::WriteOptions sync;
  sync.sync = true;
  auto start = Clock::now();
  long n = 0;
  std::string value(300, 'x');
  while (Seconds(Clock::now() - start) < seconds) {
    if (!db->Put(sync, "k" + std::to_string(n), value).ok()) return 1;
    ++n;
  }
  std::printf("raw_rocksdb_sync_writes_per_second %.0f writes/s\n", n / Seconds(Clock::now() - start));
  return 0;
}

int Populate(const std::string& url, const std::string& admin, long count, int clients) {
  std::atomic<long> next{0}, failed{0};
  std::vector<std::thread> threads;
  auto start = Clock::now();
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      auto client = core::HttpClient::Create(url, std::chrono::seconds(30));
      std::string target = "/v1/namespaces/pop" + std::to_string(c % 16) + "/tokens";
      while (next.fetch_add(1) < count) {
        auto r = (*client)->Request("POST", target, R"({"name":"populate"})", Auth(admin));
        if (!r.ok() || r->status != 201) failed++;
      }
    });
  }
  for (auto& t : threads) t.join();
  std::printf("populated %ld tokens in %.1f s (%ld failed)\n", count, Seconds(Clock::now() - start), failed.load());
  return failed.load() > 0 ? 1 : 0;
}

// Starts tokenledgerd on data_dir and measures the time until /readyz answers 200.
int Restart(const std::string& bin, const std::string& data_dir, bool drop_projection) {
  if (drop_projection) {
    auto storage = events::Storage::OpenPrimary(data_dir);
    if (!storage.ok()) return 1;
    if (!(*storage)->db()->Delete(rocksdb::WriteOptions(), (*storage)->meta(), "projection_seq").ok()) return 1;
  }
  int out[2];
  if (::pipe(out) != 0) return 1;
  auto start = Clock::now();
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out[1], 1);
    int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, 2);
    ::execl(bin.c_str(), bin.c_str(), "--data-dir", data_dir.c_str(), "--listen", "127.0.0.1:0", nullptr);
    ::_exit(127);
  }
  ::close(out[1]);
  std::string line;
  char c;
  while (::read(out[0], &c, 1) == 1 && c != '\n') line += c;
  std::string url = line.substr(line.rfind(' ') + 1);
  auto client = core::HttpClient::Create(url);
  int rc = 1;
  for (int i = 0; i < 60000 && client.ok(); ++i) {
    auto r = (*client)->Request("GET", "/readyz");
    if (r.ok() && r->status == 200) {
      std::printf("%s %.0f ms\n", drop_projection ? "time_to_ready_full_replay" : "time_to_ready_from_projection",
                  Seconds(Clock::now() - start) * 1000);
      rc = 0;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ::kill(pid, SIGTERM);
  ::waitpid(pid, nullptr, 0);
  ::close(out[0]);
  return rc;
}

// Creates count tokens through the real ledger in process (the same decide -> fsync'd append
// -> projection path as POST, without HTTP), up to 8192 in flight so groups are large, and
// writes their secrets to tokens_out, one per line.
int BulkLoad(const std::string& data_dir, long count, int namespaces, const std::string& tokens_out) {
  auto ledger = projections::Ledger::Open({data_dir, projections::kDefaultMaxLifetimeDays, nullptr});
  if (!ledger.ok()) {
    std::cerr << ledger.status().ToString() << "\n";
    return 1;
  }
  std::mutex mutex;
  std::condition_variable cv;
  long in_flight = 0, failed = 0;
  std::vector<std::string> secrets;
  secrets.reserve(static_cast<size_t>(count));
  auto start = Clock::now();
  for (long i = 0; i < count; ++i) {
    {
      std::unique_lock lock(mutex);
      cv.wait(lock, [&] { return in_flight < 8192; });
      ++in_flight;
    }
    (*ledger)->Create({"bench" + std::to_string(i % namespaces), "bulk", std::nullopt, "bench"},
                      [&](core::Result<projections::CreatedToken> r) {
                        std::lock_guard lock(mutex);
                        if (r.ok()) secrets.push_back(std::move(r->secret));
                        else ++failed;
                        --in_flight;
                        cv.notify_one();
                      });
  }
  {
    std::unique_lock lock(mutex);
    cv.wait(lock, [&] { return in_flight == 0; });
  }
  double elapsed = Seconds(Clock::now() - start);
  (*ledger)->Stop();
  std::ofstream out(tokens_out);
  for (const auto& secret : secrets) out << secret << "\n";
  std::printf("bulk_loaded %zu tokens in %.1f s (%.0f creates/s, %ld failed, %llu fsync'd batches)\n", secrets.size(),
              elapsed, secrets.size() / elapsed, failed,
              static_cast<unsigned long long>((*ledger)->append_batches()));
  return failed > 0 ? 1 : 0;
}

// Overload: `clients` connections create tokens back to back for `seconds` (far more than the
// disk can take when the write queue is small), while one more connection validates a token
// and records each validation's latency. Prints accepted and refused (503 overloaded) writes
// per second, write latency, and validation latency during the flood.
// honour_retry_after: a client answered 503 overloaded waits the Retry-After it was given
// before its next write, as a well-behaved client does; otherwise it retries at once.
int Overload(const std::string& url, const std::string& admin, int clients, double seconds, bool honour_retry_after) {
  auto checker = core::HttpClient::Create(url);
  if (!checker.ok()) return 1;
  auto created = (*checker)->Request("POST", "/v1/namespaces/overload/tokens", R"({"name":"probe"})", Auth(admin));
  if (!created.ok() || created->status != 201) return 1;
  std::string body = R"({"token":")" + json::value_to<std::string>(json::parse(created->body).at("token")) + R"("})";
  std::atomic<long> accepted{0}, overloaded{0}, other{0};
  std::mutex latency_mutex;
  std::vector<double> write_lat;
  auto start = Clock::now();
  auto end = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&] {
      auto client = core::HttpClient::Create(url, std::chrono::seconds(30));
      if (!client.ok()) return;
      std::vector<double> mine;
      while (Clock::now() < end) {
        auto t0 = Clock::now();
        auto r = (*client)->Request("POST", "/v1/namespaces/overload/tokens", R"({"name":"flood"})", Auth(admin));
        if (r.ok() && r->status == 201) {
          ++accepted;
          mine.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
        } else if (r.ok() && r->status == 503 && r->body.find("overloaded") != std::string::npos) {
          ++overloaded;
          if (honour_retry_after) {
            int wait = std::atoi(r->Header("Retry-After").c_str());
            auto until = Clock::now() + std::chrono::seconds(std::max(wait, 1));
            while (Clock::now() < std::min(until, end)) std::this_thread::sleep_for(std::chrono::milliseconds(20));
          }
        } else {
          ++other;
        }
      }
      std::lock_guard lock(latency_mutex);
      write_lat.insert(write_lat.end(), mine.begin(), mine.end());
    });
  }
  std::vector<double> valid_lat;
  double validations = OneConnection(**checker, seconds, "POST", "/v1/validate", body, valid_lat);
  for (auto& t : threads) t.join();
  double elapsed = Seconds(Clock::now() - start);
  std::printf("overload_clients %d%s\n", clients, honour_retry_after ? " (honouring Retry-After)" : " (retrying at once)");
  std::printf("writes_accepted_per_second %.0f\n", accepted / elapsed);
  std::printf("writes_overloaded_per_second %.0f\n", overloaded / elapsed);
  std::printf("writes_other_errors %ld\n", other.load());
  std::printf("write_latency_p50 %.0f us\n", Percentile(write_lat, 0.5));
  std::printf("write_latency_p99 %.0f us\n", Percentile(write_lat, 0.99));
  std::printf("validations_per_second_during %.0f\n", validations);
  std::printf("validation_latency_p50_during %.0f us\n", Percentile(valid_lat, 0.5));
  std::printf("validation_latency_p99_during %.0f us\n", Percentile(valid_lat, 0.99));
  return other.load() == 0 ? 0 : 1;
}

// Writes a synthetic ledger of `count` events straight through the event store (10,000 events
// per fsync'd batch, no projection rows: the first open rebuilds them): about 70 % creates,
// 25 % revocations of earlier tokens and the expiries due, over the 400 days before now, over
// `namespaces` namespaces. Every 1000th token's secret goes to tokens_out (for as-of queries).
int SynthLedger(const std::string& data_dir, long count, int namespaces, const std::string& tokens_out) {
  auto storage = events::Storage::OpenPrimary(data_dir);
  if (!storage.ok()) return (std::cerr << storage.status().ToString() << "\n", 1);
  auto store = events::EventStore::Open(**storage);
  if (!store.ok()) return (std::cerr << store.status().ToString() << "\n", 1);
  std::ofstream tokens(tokens_out.empty() ? "/dev/null" : tokens_out);
  core::Timestamp end = core::SystemClock().Now();
  core::Timestamp start_time = end - 400 * 86400;
  double step = 400.0 * 86400 / static_cast<double>(count);
  std::vector<std::pair<std::string, std::string>> active;  // id, namespace; revoked at random
  using Expiry = std::pair<core::Timestamp, std::pair<std::string, std::string>>;
  std::priority_queue<Expiry, std::vector<Expiry>, std::greater<>> expiries;
  std::unordered_set<std::string> ended;
  std::mt19937_64 random(42);
  std::vector<events::NewEvent> batch;
  auto begin = Clock::now();
  long written = 0, created = 0;
  while (written < count) {
    core::Timestamp t = start_time + static_cast<core::Timestamp>(step * static_cast<double>(written));
    if (!expiries.empty() && expiries.top().first <= t) {
      auto [when, token] = expiries.top();
      expiries.pop();
      if (!ended.insert(token.first).second) continue;
      batch.push_back({t, "system:expiry", events::TokenExpired{token.first, token.second}});
    } else if (active.size() > 100 && random() % 100 < 26) {
      size_t i = random() % active.size();
      auto token = active[i];
      active[i] = active.back();
      active.pop_back();
      if (!ended.insert(token.first).second) continue;
      batch.push_back({t, "auditor", events::TokenRevoked{token.first, token.second, "rotated"}});
    } else {
      auto secret = core::GenerateTokenSecret();
      auto id = core::GenerateTokenId();
      if (!secret.ok() || !id.ok()) return 1;
      std::string ns = "bench" + std::to_string(random() % namespaces);
      core::Timestamp expires = core::AddOneCalendarYear(t);
      batch.push_back({t, "admin", events::TokenCreated{*id, ns, "synthetic", core::Sha256(*secret), expires}});
      if (created++ % 1000 == 0) tokens << *secret << "\n";
      active.emplace_back(*id, ns);
      expiries.push({expires, {*id, ns}});
    }
    ++written;
    if (batch.size() == 10000 || written == count) {
      auto appended = (*store)->Append(std::move(batch));
      if (!appended.ok()) return (std::cerr << appended.status().ToString() << "\n", 1);
      batch.clear();
    }
  }
  std::printf("synth_ledger %ld events (%ld creates) in %.1f s\n", written, created, Seconds(Clock::now() - begin));
  return 0;
}

// count 64-hex-character keys for Redis: a 52-hex-digit prefix and i as 12 decimal digits, the
// form redis-benchmark's -r writes for __rand_int__, so it can draw them too. keys_out lists
// them, resp_out holds the SET commands for `redis-cli --pipe`, each with a value as large as
// what VALIDATE answers (token id, namespace, expiry).
int RedisKeys(long count, const std::string& prefix, const std::string& keys_out, const std::string& resp_out) {
  if (prefix.size() != 52 || prefix.find_first_not_of("0123456789abcdef") != std::string::npos) {
    std::cerr << "--key-prefix must be 52 lowercase hex digits\n";
    return 2;
  }
  std::ofstream keys(keys_out), resp(resp_out);
  char digits[24];
  for (long i = 0; i < count; ++i) {
    std::snprintf(digits, sizeof digits, "%012ld", i);
    std::string key = prefix + digits;
    std::string value = "tok_" + key.substr(0, 20) + " bench" + std::to_string(i % 100) + " 1812345678";
    keys << key << "\n";
    resp << "*3\r\n$3\r\nSET\r\n$" << key.size() << "\r\n" << key << "\r\n$" << value.size() << "\r\n"
         << value << "\r\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode, url, admin_file, dir, bin, tokens_file, keys_file, resp_file, command, label, key_prefix, host = "127.0.0.1",
                                                                                               path = "/v1/auth";
  int clients = 1, port = 0, pipeline = 16, namespaces = 100;
  bool honour_retry_after = false;
  double seconds = 5, rate = 10000;
  long count = 100000;
  po::options_description desc(
      "Usage: tl_bench MODE [options]\n"
      "Modes: creates, validate, fsync-reference, populate, restart, restart-full-replay\n"
      "(tools/bench/run_bench.sh runs them); bulk-load, redis-keys, resp-load, http-rate\n"
      "(tools/bench/gateway_bench.sh runs them); synth-ledger (tools/bench/audit_bench.sh); overload (tools/bench/overload_bench.sh)\n\nOptions");
  desc.add_options()("help,h", "show this help")("mode", po::value(&mode), "what to measure")(
      "url", po::value(&url), "server URL")("admin-token-file", po::value(&admin_file), "admin token file")(
      "clients", po::value(&clients)->default_value(1), "concurrent clients")(
      "honour-retry-after", po::bool_switch(&honour_retry_after), "overload: clients wait the Retry-After of a 503 before writing again")(
      "seconds", po::value(&seconds)->default_value(5), "duration")(
      "count", po::value(&count)->default_value(100000), "tokens to populate")(
      "dir", po::value(&dir), "data dir (fsync-reference, restart, bulk-load)")("bin", po::value(&bin), "tokenledgerd path")(
      "tokens-file", po::value(&tokens_file), "token secrets, one per line (bulk-load writes it; http-rate, resp-load read it)")(
      "keys-file", po::value(&keys_file), "Redis keys, one per line (redis-keys writes it; resp-load GET reads it)")(
      "resp-file", po::value(&resp_file), "SET commands for redis-cli --pipe (redis-keys)")(
      "key-prefix", po::value(&key_prefix), "52 hex digits in front of every Redis key (redis-keys)")(
      "namespaces", po::value(&namespaces)->default_value(100), "namespaces to spread bulk-loaded tokens over")(
      "host", po::value(&host)->default_value("127.0.0.1"), "server host (resp-load, http-rate)")(
      "port", po::value(&port), "server port (resp-load, http-rate)")(
      "pipeline", po::value(&pipeline)->default_value(16), "requests in flight per connection (resp-load)")(
      "command", po::value(&command), "GET or VALIDATE (resp-load)")(
      "rate", po::value(&rate)->default_value(10000), "requests per second (http-rate)")(
      "path", po::value(&path)->default_value("/v1/auth"), "request path (http-rate)")(
      "label", po::value(&label)->default_value("load"), "metric name prefix (resp-load, http-rate)");
  po::positional_options_description pos;
  pos.add("mode", 1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(desc).positional(pos).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << e.what() << "\n" << desc << "\n";
    return 2;
  }
  if (vm.count("help") || mode.empty()) {
    std::cout << desc << "\n";
    return mode.empty() && !vm.count("help") ? 2 : 0;
  }
  std::string admin;
  if (!admin_file.empty()) {
    auto read = core::ReadSecretFile(admin_file);
    if (!read.ok()) {
      std::cerr << read.status().message() << "\n";
      return 2;
    }
    admin = std::move(read).value();
  }
  if (mode == "creates") return Creates(url, admin, clients, seconds);
  if (mode == "validate") return Validate(url, admin, seconds);
  if (mode == "fsync-reference") return FsyncReference(dir, seconds);
  if (mode == "populate") return Populate(url, admin, count, clients);
  if (mode == "restart") return Restart(bin, dir, false);
  if (mode == "restart-full-replay") return Restart(bin, dir, true);
  if (mode == "bulk-load") return BulkLoad(dir, count, namespaces, tokens_file);
  if (mode == "redis-keys") return RedisKeys(count, key_prefix, keys_file, resp_file);
  if (mode == "synth-ledger") return SynthLedger(dir, count, namespaces, tokens_file);
  if (mode == "overload") return Overload(url, admin, clients, seconds, honour_retry_after);
  bench::LoadTarget target{host, port, clients, seconds, label};
  if (mode == "resp-load") {
    bench::RespLoadOptions o{target, pipeline, command,
                             bench::ReadLines(command == "GET" ? keys_file : tokens_file)};
    return bench::RunRespLoad(o);
  }
  if (mode == "http-rate") return bench::RunHttpRate({target, rate, path, bench::ReadLines(tokens_file)});
  std::cerr << "unknown mode " << mode << "\n";
  return 2;
}
