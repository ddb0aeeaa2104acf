// A tokenledgerd child process for the programs that drive the real server (tl_crashtest, the
// integration tests): started on port 0 with its stderr appended to a log file, its stdout read
// line by line for the listening lines.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace tokenledger::tools {

struct ServerProcessOptions {
  std::string binary;    // the tokenledgerd to run
  std::string data_dir;  // --data-dir
  std::string log_path;  // stderr is appended here
  std::vector<std::string> extra;  // more flags, after --data-dir and --listen 127.0.0.1:0
  // > 0: every file the server writes is capped (RLIMIT_FSIZE) so that a disk write really
  // fails (EFBIG) once the WAL reaches it.
  rlim_t file_size_limit = 0;
};

class ServerProcess {
 public:
  explicit ServerProcess(ServerProcessOptions options);
  ~ServerProcess();  // SIGKILLs and reaps it if still running
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  bool started() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

  // The URL of "tokenledgerd listening on URL", or "" when stdout ends or the time runs out.
  std::string WaitListening(std::chrono::seconds timeout = std::chrono::seconds(30));
  // The next line of stdout without its prefix; "" on EOF or timeout. A line that does not
  // start with prefix is returned whole in unexpected (and "" returned).
  std::string WaitLine(const std::string& prefix, std::chrono::seconds timeout, std::string* unexpected = nullptr);

  void Signal(int sig);
  // Waits for the exit: its code, 128 + the signal when killed, -1 on timeout.
  int Wait(std::chrono::seconds timeout = std::chrono::seconds(30));
  // SIGKILL and reap.
  void Kill();

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
  int stdout_fd_ = -1;
  std::string stdout_text_;
};

// Runs a shell command; its stdout and stderr into out. The exit status (-1 if it cannot run).
int RunCommand(const std::string& command, std::string& out);

}  // namespace tokenledger::tools
