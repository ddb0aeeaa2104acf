// tl_crashtest: proves that a kill -9 at any moment loses nothing acknowledged and half-applies
// nothing. Per cycle: start tokenledgerd on the data dir, drive concurrent creates, single and
// batch revokes and validations over HTTP, SIGKILL it at a random moment, then check:
//   1. `tokenctl verify` on the killed data dir: seq gapless, hash chain intact, the persisted
//      projection equal to a full replay (offline, before anything touches the files);
//   2. restarted, the event log (GET /v1/events) holds every acknowledged creation and
//      revocation, and every revoke request (each under its own actor) is all or nothing:
//      none or every one of its ids revoked, acknowledged or not;
//   3. validation answers exactly as the log says: every acknowledged token active unless a
//      revocation of it is in the log, and every acknowledged revocation refused.
// During the load, a token whose revocation was acknowledged must never validate again.
// Prints a summary (cycles, operations, events checked, violations); exit 1 on any violation,
// 2 on bad flags or when the server cannot be run.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <boost/program_options.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/secret_file.h"
#include "core/http_client.h"
#include "tools/server_process.h"

namespace po = boost::program_options;
namespace json = boost::json;
using namespace tokenledger;

namespace {

struct Options {
  std::string bin_dir;
  std::string work_dir;
  int cycles = 5;
  int clients = 4;
  int min_run_ms = 200;
  int max_run_ms = 1500;
  std::uint64_t seed = 0;
  // Self-test: delete RocksDB's write-ahead log after each kill, losing the acknowledged
  // writes it held; the checks must then report violations.
  bool drop_wal_after_kill = false;
  // Cycles (in percent) whose kill lands while the server starts: during RocksDB's recovery,
  // the projection load or replay, or a rebuilt projection's save; no load is driven then.
  int start_kill_percent = 20;
};

struct Token {
  std::string id;
  std::string secret;
};

// A revoke request: its ids, the actor that tags its events, and whether it was acknowledged.
// A rotation is one too (its old token's revocation), whose append also creates the successor
// under the same actor.
struct RevokeOp {
  std::string actor;
  std::vector<std::string> ids;
  bool acknowledged = false;
  bool rotation = false;
};

// What the clients were told, shared by the client threads of all cycles.
class Acknowledged {
 public:
  void AddToken(Token t) {
    std::lock_guard lock(mutex_);
    tokens_[t.id] = t.secret;
  }
  void AddRevoke(RevokeOp op) {
    std::lock_guard lock(mutex_);
    if (op.acknowledged)
      for (const auto& id : op.ids) revoked_.insert(id);
    revokes_.push_back(std::move(op));
  }
  bool IsRevoked(const std::string& id) {
    std::lock_guard lock(mutex_);
    return revoked_.contains(id);
  }
  // Copies, for the checks between cycles (no client runs then).
  std::map<std::string, std::string> tokens() const { return tokens_; }
  std::vector<RevokeOp> revokes() const { return revokes_; }
  std::set<std::string> revoked() const { return revoked_; }

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::string> tokens_;  // id -> secret
  std::set<std::string> revoked_;              // ids whose revocation was acknowledged
  std::vector<RevokeOp> revokes_;
};

struct Counters {
  std::atomic<long> creates{0}, revokes{0}, batch_revokes{0}, leaked_revokes{0}, rotations{0}, validations{0},
      unanswered{0}, violations{0};
};

// Prints the first violations (enough to debug; a lost log could otherwise print thousands).
void Violation(Counters& counters, const std::string& what) {
  if (++counters.violations <= 20) std::cerr << "VIOLATION: " << what << "\n";
}

std::vector<std::pair<std::string, std::string>> Headers(const std::string& admin, const std::string& actor) {
  return {{"Authorization", "Bearer " + admin}, {"X-Actor", actor}, {"Content-Type", "application/json"}};
}

// The validation answer for a secret: 1 active, 0 inactive, -1 no answer.
int Validate(core::HttpClient& client, const std::string& secret) {
  auto r = client.Request("POST", "/v1/validate", R"({"token":")" + secret + R"("})",
                          {{"Content-Type", "application/json"}});
  if (!r.ok() || r->status != 200) return -1;
  auto body = json::parse(r->body, json::storage_ptr(), {});
  return body.as_object().at("active").as_bool() ? 1 : 0;
}

// One client thread: a random mix of operations until told to stop (or the server dies).
class Client {
 public:
  Client(std::string url, std::string admin, int cycle, int index, std::uint64_t seed, Acknowledged& acked,
         Counters& counters, const std::atomic<bool>& stop)
      : url_(std::move(url)), admin_(std::move(admin)), tag_("c" + std::to_string(cycle) + "t" + std::to_string(index)),
        rng_(seed), acked_(acked), counters_(counters), stop_(stop) {}

  void Run() {
    auto client = core::HttpClient::Create(url_, std::chrono::seconds(5));
    if (!client.ok()) return;
    client_ = std::move(client).value();
    while (!stop_.load()) {
      int pick = std::uniform_int_distribution<int>(0, 99)(rng_);
      bool alive = pick < 55   ? CreateOne()
                   : pick < 67 ? RevokeOne(1, false)
                   : pick < 77 ? RevokeOne(2 + pick % 9, false)
                   : pick < 80 ? RevokeOne(1 + pick % 3, true)
                   : pick < 84 ? RotateOne()
                               : ValidateOne();
      if (!alive) return;  // the server is gone: this cycle's load is over
    }
  }

 private:
  bool CreateOne() {
    auto r = client_->Request("POST", "/v1/namespaces/crash/tokens", R"({"name":"t"})", Headers(admin_, tag_));
    if (!r.ok()) return Unanswered();
    if (r->status != 201) return Unexpected("create", r->status, r->body);
    auto body = json::parse(r->body).as_object();
    Token t{std::string(body.at("id").as_string()), std::string(body.at("token").as_string())};
    acked_.AddToken(t);
    mine_.push_back(std::move(t));
    ++counters_.creates;
    return true;
  }

  // Revokes n of this client's active tokens (taken out of its pool: a token is in one request
  // at most): by value through revoke-leaked (its events' actor is leak-report:<source>), else
  // with DELETE for one and the batch route for more.
  bool RevokeOne(size_t n, bool leaked) {
    if (mine_.size() < n) return CreateOne();
    std::string tag = tag_ + "-op" + std::to_string(ops_++);
    RevokeOp op{leaked ? "leak-report:" + tag : tag, {}, false};
    std::vector<Token> chosen;
    for (size_t i = 0; i < n; ++i) {
      size_t at = std::uniform_int_distribution<size_t>(0, mine_.size() - 1)(rng_);
      op.ids.push_back(mine_[at].id);
      chosen.push_back(std::move(mine_[at]));
      mine_.erase(mine_.begin() + static_cast<long>(at));
    }
    core::Result<core::ClientResponse> r = core::Status::Unavailable("unsent");
    if (leaked) {
      json::array secrets;
      for (const auto& t : chosen) secrets.emplace_back(t.secret);
      r = client_->Request("POST", "/v1/tokens/revoke-leaked",
                           json::serialize(json::object{{"tokens", secrets}, {"source", tag}}), Headers(admin_, tag));
    } else if (n == 1) {
      r = client_->Request("DELETE", "/v1/namespaces/crash/tokens/" + op.ids[0], {}, Headers(admin_, op.actor));
    } else {
      json::array ids;
      for (const auto& id : op.ids) ids.emplace_back(id);
      r = client_->Request("POST", "/v1/namespaces/crash/tokens/revoke", json::serialize(json::object{{"ids", ids}}),
                           Headers(admin_, op.actor));
    }
    if (r.ok() && r->status == 200) {
      if (leaked) {
        json::value body = json::parse(r->body);
        if (body.as_object().at("revoked").as_int64() != static_cast<std::int64_t>(n))
          Violation(counters_, op.actor + ": revoke-leaked of active tokens answered " + r->body);
      } else if (n > 1) {
        json::value body = json::parse(r->body);
        for (const auto& result : body.as_object().at("results").as_array())
          if (result.as_object().at("result").as_string() != "revoked")
            Violation(counters_, op.actor + ": a batch of active tokens answered " + json::serialize(result));
      }
      op.acknowledged = true;
      ++(leaked ? counters_.leaked_revokes : n == 1 ? counters_.revokes : counters_.batch_revokes);
      for (auto& t : chosen)
        if (revoked_probe_.size() < 256) revoked_probe_.push_back(std::move(t));
    } else if (r.ok()) {
      Unexpected("revoke", r->status, r->body);
    }
    bool answered = r.ok();
    acked_.AddRevoke(std::move(op));
    return answered ? true : Unanswered();
  }

  // Rotates one of this client's tokens without grace: one append creates its successor and
  // revokes it, both tagged with this request's actor.
  bool RotateOne() {
    if (mine_.empty()) return CreateOne();
    std::string tag = tag_ + "-op" + std::to_string(ops_++) + "-rotate";
    size_t at = std::uniform_int_distribution<size_t>(0, mine_.size() - 1)(rng_);
    Token old = std::move(mine_[at]);
    mine_.erase(mine_.begin() + static_cast<long>(at));
    RevokeOp op{tag, {old.id}, false, true};
    auto r = client_->Request("POST", "/v1/namespaces/crash/tokens/" + old.id + "/rotate", "{}", Headers(admin_, tag));
    if (r.ok() && r->status == 201) {
      auto body = json::parse(r->body).as_object();
      Token successor{std::string(body.at("id").as_string()), std::string(body.at("token").as_string())};
      if (std::string(body.at("rotated_from").as_string()) != old.id)
        Violation(counters_, tag + ": the successor's rotated_from is " + json::serialize(body.at("rotated_from")));
      acked_.AddToken(successor);
      mine_.push_back(std::move(successor));
      op.acknowledged = true;
      ++counters_.rotations;
      if (revoked_probe_.size() < 256) revoked_probe_.push_back(std::move(old));
    } else if (r.ok()) {
      Unexpected("rotate", r->status, r->body);
    }
    bool answered = r.ok();
    acked_.AddRevoke(std::move(op));
    return answered ? true : Unanswered();
  }

  // Validates one of this client's tokens, or one whose revocation was acknowledged: that one
  // must never be active again.
  bool ValidateOne() {
    if (revoked_probe_.empty() && mine_.empty()) return CreateOne();
    bool probe_revoked = mine_.empty() || (!revoked_probe_.empty() && rng_() % 2 == 0);
    const std::vector<Token>& pool = probe_revoked ? revoked_probe_ : mine_;
    const Token& t = pool[std::uniform_int_distribution<size_t>(0, pool.size() - 1)(rng_)];
    int v = Validate(*client_, t.secret);
    if (v < 0) return Unanswered();
    ++counters_.validations;
    if (probe_revoked && v == 1) Violation(counters_, "token " + t.id + " validates after its revocation was acknowledged");
    if (!probe_revoked && v == 0) Violation(counters_, "acknowledged active token " + t.id + " did not validate");
    return true;
  }

  bool Unanswered() {
    ++counters_.unanswered;
    return false;
  }
  bool Unexpected(const char* what, int status, const std::string& body) {
    // 503 only while the ledger is stopping or refusing: not expected under a plain kill.
    Violation(counters_, std::string(what) + " answered " + std::to_string(status) + ": " + body);
    return true;
  }

  std::string url_, admin_, tag_;
  std::mt19937_64 rng_;
  Acknowledged& acked_;
  Counters& counters_;
  const std::atomic<bool>& stop_;
  std::unique_ptr<core::HttpClient> client_;
  std::vector<Token> mine_;
  std::vector<Token> revoked_probe_;
  int ops_ = 0;
};

// The events of the log after restart: per token, its creation and its revocation's actor.
struct LogView {
  std::uint64_t events = 0;
  std::set<std::string> created;
  std::map<std::string, std::string> revoked_by;  // token id -> actor of its revocation
  std::map<std::string, size_t> revocations_by_actor;
  std::map<std::string, size_t> creations_by_actor;
};

bool ReadLog(core::HttpClient& client, const std::string& admin, LogView& log, std::string& error) {
  std::uint64_t after = 0;
  for (;;) {
    auto r = client.Request("GET", "/v1/events?after=" + std::to_string(after) + "&limit=100000", {},
                            {{"Authorization", "Bearer " + admin}});
    if (!r.ok() || r->status != 200) {
      error = "GET /v1/events failed";
      return false;
    }
    size_t lines = 0, start = 0;
    while (start < r->body.size()) {
      size_t nl = r->body.find('\n', start);
      if (nl == std::string::npos) nl = r->body.size();
      auto event = json::parse(std::string_view(r->body).substr(start, nl - start)).as_object();
      start = nl + 1;
      ++lines;
      auto seq = static_cast<std::uint64_t>(event.at("seq").as_int64());
      if (seq != after + 1) {
        error = "the log skips from seq " + std::to_string(after) + " to " + std::to_string(seq);
        return false;
      }
      after = seq;
      std::string type(event.at("type").as_string()), id(event.at("token_id").as_string());
      if (type == "token.created") {
        log.created.insert(id);
        ++log.creations_by_actor[std::string(event.at("actor").as_string())];
      }
      if (type == "token.revoked") {
        std::string actor(event.at("actor").as_string());
        log.revoked_by[id] = actor;
        ++log.revocations_by_actor[actor];
      }
    }
    log.events = after;
    if (lines == 0) return true;
  }
}

class CrashTest {
 public:
  explicit CrashTest(Options o) : options_(std::move(o)), acked_(), rng_(options_.seed) {}

  int Run() {
    std::string data = options_.work_dir + "/data";
    auto start = std::chrono::steady_clock::now();
    for (int cycle = 1; cycle <= options_.cycles; ++cycle) {
      if (!Cycle(cycle, data)) return 2;
      std::printf("cycle %d/%d: %ld creates, %ld revokes, %ld batch revokes, %ld leaked-token revokes, "
                  "%ld rotations, %ld validations acknowledged; "
                  "%ld requests cut by the kill; %d kills while starting; %llu events checked; violations %ld\n",
                  cycle, options_.cycles, counters_.creates.load(), counters_.revokes.load(),
                  counters_.batch_revokes.load(), counters_.leaked_revokes.load(), counters_.rotations.load(),
                  counters_.validations.load(),
                  counters_.unanswered.load(),
                  start_kills_, static_cast<unsigned long long>(events_checked_), counters_.violations.load());
      std::fflush(stdout);
    }
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("crashtest: %d cycles (kill -9 each, %d while starting) in %.0f s; %zu tokens and %zu revoke requests tracked; "
                "final log %llu events; %llu events checked in all; violations: %ld\n",
                options_.cycles, start_kills_, seconds, acked_.tokens().size(), acked_.revokes().size(),
                static_cast<unsigned long long>(last_log_events_), static_cast<unsigned long long>(events_checked_),
                counters_.violations.load());
    return counters_.violations.load() == 0 ? 0 : 1;
  }

 private:
  bool Cycle(int cycle, const std::string& data) {
    tools::ServerProcess server({options_.bin_dir + "/tokenledgerd", data, options_.work_dir + "/server.log", {}, 0});
    bool kill_while_starting = cycle > 1 && cycle < options_.cycles &&
                               std::uniform_int_distribution<int>(0, 99)(rng_) < options_.start_kill_percent;
    if (kill_while_starting) {
      std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 300)(rng_)));
      server.Kill();
      ++start_kills_;
      VerifyOffline(cycle, data);
      return true;
    }
    std::string url = server.WaitListening(std::chrono::seconds(60));
    if (url.empty()) {
      std::cerr << "crashtest: tokenledgerd did not start; see " << options_.work_dir << "/server.log\n";
      return false;
    }
    auto admin_token = core::ReadSecretFile(data + "/admin.token");
    if (!admin_token.ok()) {
      std::cerr << "crashtest: " << admin_token.status().message() << "\n";
      return false;
    }
    const std::string& admin = *admin_token;
    if (cycle > 1) CheckAfterRestart(url, admin);

    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    for (int i = 0; i < options_.clients; ++i) {
      std::uint64_t seed = rng_();
      threads.emplace_back([&, i, seed] { Client(url, admin, cycle, i, seed, acked_, counters_, stop).Run(); });
    }
    int run_ms = std::uniform_int_distribution<int>(options_.min_run_ms, options_.max_run_ms)(rng_);
    std::this_thread::sleep_for(std::chrono::milliseconds(run_ms));
    server.Kill();  // SIGKILL, mid-load
    stop.store(true);
    for (auto& t : threads) t.join();

    if (options_.drop_wal_after_kill) DropWal(data);
    VerifyOffline(cycle, data);
    if (cycle == options_.cycles) {
      tools::ServerProcess last({options_.bin_dir + "/tokenledgerd", data, options_.work_dir + "/server.log", {}, 0});
      std::string last_url = last.WaitListening(std::chrono::seconds(60));
      if (last_url.empty()) return false;
      CheckAfterRestart(last_url, admin);
      last.Signal(SIGTERM);
      if (last.Wait() != 0) Violation(counters_, "the last restart did not stop cleanly on SIGTERM");
    }
    return true;
  }

  // Offline, before the restart: data file checksums, chain, seqs, projection == replay.
  void VerifyOffline(int cycle, const std::string& data) {
    std::string out;
    int rc = tools::RunCommand(options_.bin_dir + "/tokenctl --progress never --data-dir " + data + " verify", out);
    if (rc != 0) Violation(counters_, "cycle " + std::to_string(cycle) + ": tokenctl verify failed: " + out);
  }

  void CheckAfterRestart(const std::string& url, const std::string& admin) {
    auto client = core::HttpClient::Create(url, std::chrono::seconds(30));
    if (!client.ok()) return Violation(counters_, "cannot connect after restart");
    LogView log;
    std::string error;
    if (!ReadLog(**client, admin, log, error)) return Violation(counters_, error);
    events_checked_ += log.events;
    last_log_events_ = log.events;
    auto tokens = acked_.tokens();
    for (const auto& [id, secret] : tokens)
      if (!log.created.contains(id)) Violation(counters_, "acknowledged token " + id + " is not in the log");
    for (const auto& op : acked_.revokes()) {
      size_t found = log.revocations_by_actor.contains(op.actor) ? log.revocations_by_actor[op.actor] : 0;
      if (op.acknowledged && found != op.ids.size())
        Violation(counters_, "acknowledged revoke " + op.actor + " has " + std::to_string(found) + " of " +
                                 std::to_string(op.ids.size()) + " revocations in the log");
      if (!op.acknowledged && found != 0 && found != op.ids.size())
        Violation(counters_, "unacknowledged revoke " + op.actor + " is half applied: " + std::to_string(found) +
                                 " of " + std::to_string(op.ids.size()));
      // A rotation's successor exists exactly when the old token's revocation does.
      size_t created = op.rotation && log.creations_by_actor.contains(op.actor) ? log.creations_by_actor[op.actor] : 0;
      if (op.rotation && created != found)
        Violation(counters_, "rotation " + op.actor + " is half applied: " + std::to_string(created) +
                                 " successor(s), " + std::to_string(found) + " revocation(s)");
    }
    auto revoked = acked_.revoked();
    for (const auto& [id, secret] : tokens)
      if (revoked.contains(id) && !log.revoked_by.contains(id))
        Violation(counters_, "acknowledged revocation of " + id + " lost");
    // Every token validated, on as many connections as the load used (the set grows with
    // every cycle).
    std::vector<std::pair<std::string, std::string>> all(tokens.begin(), tokens.end());
    std::vector<std::thread> checkers;
    for (int c = 0; c < options_.clients; ++c) {
      checkers.emplace_back([&, c] {
        auto checker = core::HttpClient::Create(url, std::chrono::seconds(30));
        if (!checker.ok()) return Violation(counters_, "cannot connect after restart");
        for (size_t i = static_cast<size_t>(c); i < all.size(); i += static_cast<size_t>(options_.clients)) {
          const auto& [id, secret] = all[i];
          bool revoked_in_log = log.revoked_by.contains(id);
          int v = Validate(**checker, secret);
          if (v < 0) return Violation(counters_, "validation unanswered after restart");
          if (v == 1 && revoked_in_log) Violation(counters_, "revoked token " + id + " validates after restart");
          if (v == 0 && !revoked_in_log) Violation(counters_, "active token " + id + " refused after restart");
        }
      });
    }
    for (auto& t : checkers) t.join();
  }

  static void DropWal(const std::string& data) {
    for (const auto& entry : std::filesystem::directory_iterator(data))
      if (entry.path().extension() == ".log") std::filesystem::remove(entry.path());
  }

  Options options_;
  Acknowledged acked_;
  Counters counters_;
  std::mt19937_64 rng_;
  std::uint64_t events_checked_ = 0;
  std::uint64_t last_log_events_ = 0;
  int start_kills_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  Options o;
  po::options_description desc(
      "Usage: tl_crashtest --bin-dir DIR [options]\n\n"
      "Kills tokenledgerd with SIGKILL under concurrent load, restarts it, and checks after every\n"
      "cycle that nothing acknowledged was lost and nothing was half applied (see the source's\n"
      "header and docs/reliability.md). Exit 0: no violation; 1: violations; 2: cannot run.\n\nOptions");
  desc.add_options()("help,h", "show this help")
      ("bin-dir", po::value(&o.bin_dir), "directory holding tokenledgerd and tokenctl")
      ("work-dir", po::value(&o.work_dir), "scratch directory for the data dir and server log (default: a new temp dir, removed on success)")
      ("cycles", po::value(&o.cycles)->default_value(5), "kill/restart cycles")
      ("clients", po::value(&o.clients)->default_value(4), "concurrent client connections")
      ("min-run-ms", po::value(&o.min_run_ms)->default_value(200), "shortest load before a kill")
      ("max-run-ms", po::value(&o.max_run_ms)->default_value(1500), "longest load before a kill")
      ("seed", po::value(&o.seed)->default_value(0), "random seed (0: from the clock; printed)")
      ("start-kill-percent", po::value(&o.start_kill_percent)->default_value(20), "percent of cycles killed 0-300 ms after the server is started (during recovery), with no load")
      ("drop-wal-after-kill", po::bool_switch(&o.drop_wal_after_kill), "self-test of the checks: delete RocksDB's write-ahead log after each kill (losing acknowledged writes); must end with violations");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, desc), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "tl_crashtest: " << e.what() << "\n\n" << desc << "\n";
    return 2;
  }
  if (vm.count("help")) {
    std::cout << desc << "\n";
    return 0;
  }
  if (o.bin_dir.empty() || o.cycles < 1 || o.clients < 1 || o.min_run_ms < 1 || o.max_run_ms < o.min_run_ms ||
      o.start_kill_percent < 0 || o.start_kill_percent > 100) {
    std::cerr << "tl_crashtest: need --bin-dir, cycles and clients >= 1, 1 <= min-run-ms <= max-run-ms, "
                 "start-kill-percent 0-100\n";
    return 2;
  }
  if (o.seed == 0) o.seed = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  bool temp = o.work_dir.empty();
  if (temp) {
    std::string pattern = (std::filesystem::temp_directory_path() / "tl-crashtest-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) return 2;
    o.work_dir = pattern;
  }
  std::printf("crashtest: seed %llu, %d cycles, %d clients, kill after %d-%d ms, work dir %s\n",
              static_cast<unsigned long long>(o.seed), o.cycles, o.clients, o.min_run_ms, o.max_run_ms,
              o.work_dir.c_str());
  int rc = CrashTest(o).Run();
  if (temp && rc == 0) std::filesystem::remove_all(o.work_dir);
  return rc;
}
