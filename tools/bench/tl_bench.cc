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
#include <vector>

#include "core/secret_file.h"
#include "events/storage.h"
#include "tools/http_client.h"

namespace po = boost::program_options;
namespace json = boost::json;
using namespace tokenledger;
using Clock = std::chrono::steady_clock;

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
      auto client = tools::HttpClient::Create(url, std::chrono::seconds(30));
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
double OneConnection(tools::HttpClient& client, double seconds, const std::string& method, const std::string& target,
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

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(p * (v.size() - 1))];
}

int Validate(const std::string& url, const std::string& admin, double seconds) {
  auto client = tools::HttpClient::Create(url);
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
      auto client = tools::HttpClient::Create(url, std::chrono::seconds(30));
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
  auto client = tools::HttpClient::Create(url);
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

}  // namespace

int main(int argc, char** argv) {
  std::string mode, url, admin_file, dir, bin;
  int clients = 1;
  double seconds = 5;
  long count = 100000;
  po::options_description desc(
      "Usage: tl_bench MODE [options]\n"
      "Modes: creates, validate, fsync-reference, populate, restart, restart-full-replay\n"
      "(tools/bench/run_bench.sh runs them all)\n\nOptions");
  desc.add_options()("help,h", "show this help")("mode", po::value(&mode), "what to measure")(
      "url", po::value(&url), "server URL")("admin-token-file", po::value(&admin_file), "admin token file")(
      "clients", po::value(&clients)->default_value(1), "concurrent clients")(
      "seconds", po::value(&seconds)->default_value(5), "duration")(
      "count", po::value(&count)->default_value(100000), "tokens to populate")(
      "dir", po::value(&dir), "data dir (fsync-reference, restart)")("bin", po::value(&bin), "tokenledgerd path");
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
  std::cerr << "unknown mode " << mode << "\n";
  return 2;
}
