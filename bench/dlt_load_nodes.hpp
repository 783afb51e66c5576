#pragma once
// dlt-load's spawned nodes: started on free loopback ports, each storing
// its ledger in a temporary directory, stopped by PID.

#include <sys/types.h>

#include <string>
#include <vector>

namespace dlt_load {

struct spawn_options {
  std::string binary;
  int count = 0;
  bool ephemeral = false;
  /// Link natively (caf://) with push gossip: --caf-port 0 --gossip push.
  bool native = false;
  /// Where the nodes' logs (stderr) go and stay; empty: a temporary
  /// directory removed with the nodes.
  std::string log_dir;
};

struct spawned_node {
  pid_t pid = -1;
  std::string address;     // host:port of the REST API
  std::string caf_address; // "caf://host:port" when native
  std::string log_path;
};

/// Starts every node at once and waits until each prints its listening
/// line. On failure, says which node and why (exit status, the end of its
/// log), stops the ones started and returns false.
bool start_nodes(const spawn_options& opt, std::vector<spawned_node>& out,
                 std::string& why);

/// Stops every node started (SIGTERM, then waits for it) and removes the
/// temporary directory. Safe to call more than once.
void stop_nodes();

/// Blocks SIGINT and SIGTERM in this thread and every thread it starts
/// later, and stops the nodes on either before exiting (status 130). Call
/// first in main.
void stop_nodes_on_signal();

} // namespace dlt_load
