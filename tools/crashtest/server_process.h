// A tokenledgerd child process for tools that drive the real server (tl_crashtest): started on
// port 0 with its stderr in a log file; the listening line read from its stdout.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace tokenledger::tools {

class ServerProcess {
 public:
  // Starts binary --data-dir data_dir --listen 127.0.0.1:0 extra...
  ServerProcess(const std::string& binary, const std::string& data_dir, const std::string& log_path,
                const std::vector<std::string>& extra = {});
  ~ServerProcess();  // SIGKILLs it if still running
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // The "http://HOST:PORT" of the listening line, or "" when it exits or times out first.
  std::string WaitListening(std::chrono::seconds timeout);
  // SIGKILL and reap.
  void Kill();
  // SIGTERM and reap; the exit status, or -1 when it had to be killed after 30 s.
  int Terminate();

 private:
  int pid_ = -1;
  int stdout_fd_ = -1;
  std::string buffered_;
};

// Runs a shell command; its stdout and stderr into out. The exit status (-1 if it cannot run).
int RunCommand(const std::string& command, std::string& out);

}  // namespace tokenledger::tools
