#include "bench/dlt_load_nodes.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <thread>

extern char** environ;

namespace dlt_load {
namespace {

std::mutex g_mutex;
std::vector<pid_t> g_pids;
std::string g_run_dir; // removed by stop_nodes

/// The last `n` lines of a file, indented.
std::string tail_of(const std::string& path, std::size_t n) {
  std::ifstream in(path);
  std::deque<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    lines.push_back(line);
    if (lines.size() > n)
      lines.pop_front();
  }
  std::string out;
  for (auto& l : lines)
    out += "    " + l + "\n";
  return out.empty() ? "    (empty)\n" : out;
}

std::string describe_exit(int status) {
  if (WIFEXITED(status))
    return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return std::string("killed by signal ") + strsignal(WTERMSIG(status));
  return "stopped";
}

/// Reads stdout lines of a starting node until its listening line, EOF or
/// the deadline. Returns the listening line, or empty.
std::string await_ready(int fd, std::chrono::steady_clock::time_point deadline,
                        std::string& caf_address, bool& timed_out) {
  std::string line;
  timed_out = false;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      return {};
    }
    pollfd p{fd, POLLIN, 0};
    int r = poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      continue; // the deadline check above ends it
    char buf[256];
    auto got = read(fd, buf, sizeof buf);
    if (got <= 0)
      return {}; // EOF: the node exited (or closed stdout)
    for (ssize_t i = 0; i < got; ++i) {
      if (buf[i] != '\n') {
        line += buf[i];
        continue;
      }
      // ["dlt-node linking natively on caf://HOST:PORT"]
      // "dlt-node listening on http://HOST:PORT"
      if (auto caf = line.find("caf://"); caf != std::string::npos)
        caf_address = line.substr(caf);
      else if (line.find("http://") != std::string::npos)
        return line;
      line.clear();
    }
  }
}

} // namespace

bool start_nodes(const spawn_options& opt, std::vector<spawned_node>& out,
                 std::string& why) {
  char dir[] = "/tmp/dlt-load-XXXXXX";
  if (!mkdtemp(dir)) {
    why = std::string("cannot create a directory in /tmp: ") + strerror(errno);
    return false;
  }
  {
    std::lock_guard<std::mutex> guard{g_mutex};
    g_run_dir = dir;
  }
  std::string log_dir = opt.log_dir.empty() ? std::string{dir} : opt.log_dir;
  std::error_code ec;
  std::filesystem::create_directories(log_dir, ec);
  if (ec) {
    why = "cannot create the log directory " + log_dir + ": " + ec.message();
    return false;
  }

  // Children start with default signal handling and nothing blocked (we
  // block SIGINT/SIGTERM and ignore SIGPIPE ourselves).
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGTERM);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<int> pipes;
  for (int i = 0; i < opt.count; ++i) {
    spawned_node n;
    n.log_path = log_dir + "/node-" + std::to_string(i) + ".log";
    std::vector<std::string> args = {opt.binary,          "--port", "0",
                                     "--requeue-orphans", "--peer-timeout-ms",
                                     "3000"};
    if (opt.native)
      args.insert(args.end(), {"--caf-port", "0", "--gossip", "push"});
    if (opt.ephemeral) {
      args.push_back("--ephemeral");
    } else {
      args.push_back("--data-dir");
      args.push_back(std::string{dir} + "/node-" + std::to_string(i));
    }
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
      why = std::string("pipe: ") + strerror(errno)
            + " (raise the descriptor limit: ulimit -n)";
      break;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, n.log_path.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    int err = posix_spawn(&n.pid, opt.binary.c_str(), &fa, &attr, argv.data(),
                          environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (err != 0) {
      close(fds[0]);
      why = "cannot start " + opt.binary + ": " + strerror(err);
      break;
    }
    {
      std::lock_guard<std::mutex> guard{g_mutex};
      g_pids.push_back(n.pid);
    }
    pipes.push_back(fds[0]);
    out.push_back(std::move(n));
  }
  posix_spawnattr_destroy(&attr);

  // They start concurrently; allow for a loaded machine.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30)
                  + std::chrono::milliseconds(200) * opt.count;
  for (std::size_t i = 0; i < pipes.size(); ++i) {
    if (!why.empty()) {
      close(pipes[i]);
      continue;
    }
    auto& n = out[i];
    bool timed_out = false;
    auto line = await_ready(pipes[i], deadline, n.caf_address, timed_out);
    close(pipes[i]);
    if (auto pos = line.find("http://"); pos != std::string::npos) {
      n.address = line.substr(pos + 7);
      continue;
    }
    std::string what;
    if (timed_out) {
      what = "did not print its listening line in time";
    } else {
      int status = 0;
      bool exited = false;
      // It closed stdout; give it a moment to exit.
      for (int k = 0; k < 50 && !exited; ++k) {
        exited = waitpid(n.pid, &status, WNOHANG) == n.pid;
        if (!exited)
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      if (exited) {
        std::lock_guard<std::mutex> guard{g_mutex};
        g_pids.erase(std::find(g_pids.begin(), g_pids.end(), n.pid));
      }
      what = exited ? describe_exit(status)
                    : "closed its output without listening";
    }
    why = "node " + std::to_string(i) + " of " + std::to_string(opt.count)
          + " (" + opt.binary + ") did not start: " + what + "; its log ("
          + (opt.log_dir.empty() ? std::string{"kept with --node-logs DIR"}
                                 : n.log_path)
          + ") ends:\n" + tail_of(n.log_path, 8);
  }
  if (!why.empty()) {
    stop_nodes();
    return false;
  }
  return true;
}

void stop_nodes() {
  std::lock_guard<std::mutex> guard{g_mutex};
  for (auto pid : g_pids)
    kill(pid, SIGTERM);
  for (auto pid : g_pids) {
    int status = 0;
    waitpid(pid, &status, 0);
  }
  g_pids.clear();
  if (!g_run_dir.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(g_run_dir, ec);
    g_run_dir.clear();
  }
}

void stop_nodes_on_signal() {
  static sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread([] {
    int sig = 0;
    sigwait(&set, &sig);
    std::cerr << "\ndlt-load: " << strsignal(sig) << ", stopping the nodes\n";
    stop_nodes();
    std::_Exit(130);
  }).detach();
}

} // namespace dlt_load
