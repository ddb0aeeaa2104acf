#include "tools/server_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <thread>

namespace tokenledger::tools {

ServerProcess::ServerProcess(ServerProcessOptions options) {
  int out[2];
  if (::pipe(out) != 0) return;
  pid_ = ::fork();
  if (pid_ < 0) {
    ::close(out[0]);
    ::close(out[1]);
    return;
  }
  if (pid_ == 0) {
    ::dup2(out[1], 1);
    int err = ::open(options.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (err >= 0) ::dup2(err, 2);
    ::close(out[0]);
    if (options.file_size_limit > 0) {
      ::signal(SIGXFSZ, SIG_IGN);  // make the write fail with EFBIG instead of killing
      rlimit limit{options.file_size_limit, options.file_size_limit};
      ::setrlimit(RLIMIT_FSIZE, &limit);
    }
    std::vector<std::string> args = {options.binary, "--data-dir", options.data_dir, "--listen", "127.0.0.1:0"};
    args.insert(args.end(), options.extra.begin(), options.extra.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(out[1]);
  stdout_fd_ = out[0];
}

ServerProcess::~ServerProcess() {
  Kill();
  if (stdout_fd_ >= 0) ::close(stdout_fd_);
}

std::string ServerProcess::WaitListening(std::chrono::seconds timeout) {
  return WaitLine("tokenledgerd listening on ", timeout);
}

std::string ServerProcess::WaitLine(const std::string& prefix, std::chrono::seconds timeout, std::string* unexpected) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (stdout_fd_ >= 0 && std::chrono::steady_clock::now() < deadline) {
    size_t nl = stdout_text_.find('\n');
    if (nl != std::string::npos) {
      std::string line = stdout_text_.substr(0, nl);
      stdout_text_.erase(0, nl + 1);
      if (line.rfind(prefix, 0) == 0) return line.substr(prefix.size());
      if (unexpected != nullptr) *unexpected = line;
      return "";
    }
    pollfd p{stdout_fd_, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char chunk[512];
    ssize_t n = ::read(stdout_fd_, chunk, sizeof chunk);
    if (n <= 0) return "";
    stdout_text_.append(chunk, static_cast<size_t>(n));
  }
  return "";
}

void ServerProcess::Signal(int sig) {
  if (pid_ > 0 && !reaped_) ::kill(pid_, sig);
}

int ServerProcess::Wait(std::chrono::seconds timeout) {
  if (pid_ <= 0 || reaped_) return -1;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      reaped_ = true;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return -1;
}

void ServerProcess::Kill() {
  if (pid_ <= 0 || reaped_) return;
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  reaped_ = true;
}

int RunCommand(const std::string& command, std::string& out) {
  out.clear();
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return -1;
  char chunk[4096];
  size_t n;
  while ((n = std::fread(chunk, 1, sizeof chunk, pipe)) > 0) out.append(chunk, n);
  int status = ::pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace tokenledger::tools
