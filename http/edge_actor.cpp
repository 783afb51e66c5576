// The HTTP edge actor: takes each routed, parsed request (see routes.hpp)
// to the actor that owns the state, and turns the answer into the exact
// JSON of the reference API (or of our extensions). Response objects of the
// reference endpoints list their keys in sorted order, as Flask's jsonify.
//
// Deadlines: every ask has one (see deadline_t in actors.hpp). A request
// that changes state and times out after being handed on is answered 503
// with "the outcome is unknown" -- the change may still land -- never with
// a plain failure.

#include <algorithm>
#include <optional>
#include <unordered_map>

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/event_json.hpp"
#include "actors/log.hpp"
#include "http/edge.hpp"
#include "model/canonical_json.hpp"

namespace dlt {
namespace {

/// A hot-path ask the sweep watches (see edge_actor).
struct pending_ask {
  std::chrono::steady_clock::time_point deadline;
  responder_ptr rp;
  const char* what;
};

/// A peer's chain fetched for browsers (GET /nodes/peer-chain): kept for a
/// second, so any number of open pages cost the peer one fetch a second.
struct peer_view {
  std::chrono::steady_clock::time_point fetched;
  std::optional<fetch_result> result; // none while the fetch runs
  std::vector<responder_ptr> waiting;
};

struct edge_state {
  node_actors actors;
  edge_settings settings;
  std::unordered_map<std::uint64_t, pending_ask> pending;
  std::uint64_t next_ask = 0;
  std::unordered_map<std::string, peer_view> peer_views;
  static inline const char* name = "edge";
};

using edge_ptr = edge_actor::stateful_pointer<edge_state>;

/// {"chain": [...], <suffix>: the chain list is shared, not copied.
rest_response chain_response(unsigned status, const chain_view& view,
                             std::string suffix) {
  rest_response res;
  res.status = status;
  res.prefix = "{\"chain\": ";
  res.chain = view.blocks;
  res.suffix = std::move(suffix);
  return res;
}

std::string bool_text(bool b) {
  return b ? "true" : "false";
}

/// The answer to an actor's error. `changes_state`: the request may have
/// taken effect even though its answer failed.
rest_response failure(const caf::error& err, const char* what,
                      bool changes_state) {
  auto code = node_error_code(err);
  auto text = error_text(err);
  if (code == node_error::full) {
    auto res = error_response(503, text);
    res.retry_after = "1";
    return res;
  }
  if (code == node_error::too_large)
    return error_response(413, text);
  log("edge", what, " failed: ", text);
  if (code == node_error::outcome_unknown
      || (changes_state && err == caf::sec::request_timeout))
    return error_response(503, std::string{what} + " did not finish in time ("
                                 + text + "); the outcome is unknown: it may "
                                   "still take effect");
  return error_response(503, std::string{what} + " failed: " + text);
}

auto fail_with(responder_ptr rp, const char* what, bool changes_state) {
  return [rp, what, changes_state](caf::error& err) {
    rp->respond(failure(err, what, changes_state));
  };
}

// -- handlers --------------------------------------------------------------------

void new_transaction(edge_ptr self, rest_request& req, responder_ptr rp) {
  // The hottest path: its deadline is kept by the sweep, not by CAF.
  auto& st = self->state;
  auto id = ++st.next_ask;
  constexpr const char* what = "queueing the transaction";
  st.pending.emplace(id, pending_ask{std::chrono::steady_clock::now()
                                       + st.settings.hot_ask_timeout,
                                     rp, what});
  auto tx = std::make_shared<std::string>(std::move(req.tx));
  self->request(st.actors.mempool, caf::infinite, add_atom::value, *tx)
    .then(
      [self, id, rp, tx](std::uint64_t) {
        if (self->state.pending.erase(id))
          rp->respond(json_response(201, "{\"transaction\": " + *tx + "}"));
      },
      [self, id, rp](caf::error& err) {
        if (self->state.pending.erase(id))
          rp->respond(failure(err, what, true));
      });
}

void mine(edge_ptr self, rest_request&, responder_ptr rp) {
  auto& st = self->state;
  auto deadline = std::chrono::steady_clock::now() + st.settings.ask_timeout;
  self
    ->request(st.actors.miner, st.settings.ask_timeout + std::chrono::seconds(5),
              mine_atom::value, deadline)
    .then(
      [rp](const mine_outcome& out) {
        // As the reference: 201, or 200 when the chain is not valid.
        std::string body = "{\"is_valid\": " + bool_text(out.valid)
                           + ", \"new_block\": "
                           + (out.new_block ? out.new_block->json : "null")
                           + "}";
        rp->respond(json_response(out.valid ? 201 : 200, std::move(body)));
      },
      fail_with(rp, "mining", true));
}

void register_nodes(edge_ptr self, rest_request& req, responder_ptr rp) {
  self
    ->request(self->state.actors.peers, self->state.settings.ask_timeout,
              register_atom::value, std::move(req.nodes))
    .then(
      [rp](const register_outcome& out) {
        std::string body = "{";
        if (!out.invalid.empty())
          body += "\"invalid_nodes\": " + json_strings(out.invalid) + ", ";
        body += "\"total_nodes\": " + json_strings(out.total) + "}";
        rp->respond(json_response(201, std::move(body)));
      },
      fail_with(rp, "registering nodes", true));
}

void unregister_nodes(edge_ptr self, rest_request& req, responder_ptr rp) {
  self
    ->request(self->state.actors.peers, self->state.settings.ask_timeout,
              unregister_atom::value, std::move(req.nodes))
    .then(
      [rp](const unregister_outcome& out) {
        rp->respond(json_response(200, "{\"removed\": " + json_strings(out.removed)
                                         + ", \"total_nodes\": "
                                         + json_strings(out.total) + "}"));
      },
      fail_with(rp, "unregistering nodes", true));
}

void consensus(edge_ptr self, rest_request&, responder_ptr rp) {
  self
    ->request(self->state.actors.consensus, self->state.settings.consensus_timeout,
              consensus_atom::value)
    .then(
      [rp](const consensus_outcome& out) {
        std::string status = out.replaced ? "Chain replaced"
                                          : "Chain not replaced - master";
        rp->respond(chain_response(200, out.view,
                                   ", \"status\": \"" + status + "\"}"));
      },
      fail_with(rp, "consensus", true));
}

void evil(edge_ptr self, rest_request&, responder_ptr rp) {
  self
    ->request(self->state.actors.chain, self->state.settings.ask_timeout,
              pop_atom::value)
    .then(
      [rp](const block_ptr& popped) {
        std::string body = "{\"element\": ";
        body += popped ? popped->json : "null";
        body += popped ? ", \"status\": \"Snap done!\"}"
                       : ", \"status\": \"Nothing to do...\"}";
        rp->respond(json_response(200, std::move(body)));
      },
      fail_with(rp, "evil", true));
}

void status(edge_ptr self, rest_request&, responder_ptr rp) {
  auto version = self->state.settings.version;
  auto native = self->state.settings.native_address;
  self->request(self->state.actors.hub, self->state.settings.ask_timeout,
                status_atom::value)
    .then(
      [rp, version, native](const node_status& s) {
        std::string body = "{\"height\": " + std::to_string(s.chain.height);
        body += ", \"http\": " + json_pairs(s.peers.http);
        body += ", \"links\": " + json_pairs(s.peers.links);
        body += ", \"native\": ";
        if (native.empty())
          body += "null";
        else
          append_python_string(body, native);
        body += ", \"pending\": " + std::to_string(s.pending);
        body += ", \"tip\": ";
        append_python_string(body, s.chain.tip_hash);
        body += ", \"total_nodes\": " + json_strings(s.peers.total_nodes);
        body += ", \"valid\": " + bool_text(s.chain.valid);
        body += ", \"version\": ";
        append_python_string(body, version);
        rp->respond(json_response(200, body + "}"));
      },
      fail_with(rp, "reading the status", false));
}

void pending(edge_ptr self, rest_request& req, responder_ptr rp) {
  std::string error;
  auto limit = query_number(req.query, "limit", 100, 0, 1000, error);
  if (!limit)
    return rp->respond(error_response(400, error));
  self
    ->request(self->state.actors.mempool, self->state.settings.ask_timeout,
              pending_atom::value, *limit)
    .then(
      [rp](const pending_list& list) {
        std::string body = "{\"pending\": " + std::to_string(list.pending)
                           + ", \"transactions\": [";
        for (std::size_t i = 0; i < list.first.size(); ++i) {
          if (i > 0)
            body += ", ";
          body += list.first[i];
        }
        rp->respond(json_response(200, body + "]}"));
      },
      fail_with(rp, "listing pending transactions", false));
}

/// The peer's chain as it was read (each block in canonical form: the
/// same blocks and hashes as the peer's own answer).
rest_response peer_chain_answer(const fetch_result& res) {
  if (res.ok && res.chain)
    return json_response(200, "{\"chain\": " + chain_json_array(*res.chain)
                                + ", \"is_valid\": true}");
  return error_response(502, "the peer's chain could not be read: " + res.error);
}

void peer_chain(edge_ptr self, rest_request& req, responder_ptr rp) {
  auto it = req.query.find("node");
  if (it == req.query.end() || it->second.empty())
    return rp->respond(error_response(400, "give the peer as ?node=host:port"));
  auto wanted = it->second;
  self->request(self->state.actors.peers, self->state.settings.ask_timeout,
                peers_atom::value)
    .then(
      [self, wanted, rp](const std::vector<peer_address>& peers) {
        auto& st = self->state;
        auto p = std::find_if(peers.begin(), peers.end(),
                              [&](const peer_address& a) {
                                return a.text == wanted && !a.native;
                              });
        // Only registered HTTP peers: the node is no proxy to anywhere.
        if (p == peers.end() || !st.settings.fetch)
          return rp->respond(error_response(
            404, "not a registered HTTP peer: " + wanted));
        auto& view = st.peer_views[wanted];
        if (view.result)
          return rp->respond(peer_chain_answer(*view.result));
        view.waiting.push_back(rp);
        if (view.waiting.size() > 1)
          return; // a fetch is under way
        auto edge = caf::actor_cast<edge_actor>(self);
        st.settings.fetch(*p, st.settings.peer_timeout, 0,
                          [edge, wanted](fetch_result res) {
                            caf::anon_send(edge, fetched_atom::value, wanted,
                                           std::move(res));
                          });
      },
      fail_with(rp, "reading the peers", false));
}

// -- routing -----------------------------------------------------------------------

void route(edge_ptr self, rest_request& req, responder_ptr rp) {
  switch (req.route) {
    case route_id::transactions_new:
      return new_transaction(self, req, std::move(rp));
    case route_id::mine:
      return mine(self, req, std::move(rp));
    case route_id::register_nodes:
      return register_nodes(self, req, std::move(rp));
    case route_id::unregister_nodes:
      return unregister_nodes(self, req, std::move(rp));
    case route_id::consensus:
      return consensus(self, req, std::move(rp));
    case route_id::evil:
      return evil(self, req, std::move(rp));
    case route_id::status:
      return status(self, req, std::move(rp));
    case route_id::pending:
      return pending(self, req, std::move(rp));
    case route_id::peer_chain:
      return peer_chain(self, req, std::move(rp));
    default:
      // The transport answers the other routes itself.
      return rp->respond(error_response(404, "Not found: " + req.path));
  }
}

edge_actor::behavior_type edge_behavior(edge_ptr self, node_actors actors,
                                        edge_settings settings) {
  self->state.actors = std::move(actors);
  self->state.settings = std::move(settings);
  self->delayed_send(self, std::chrono::seconds(1), sweep_atom::value);
  return {
    [self](rest_request& req, responder_ptr& rp) {
      route(self, req, std::move(rp));
    },
    [self](sweep_atom) {
      auto now = std::chrono::steady_clock::now();
      auto& pending = self->state.pending;
      for (auto it = pending.begin(); it != pending.end();) {
        if (it->second.deadline <= now) {
          log("edge", it->second.what, " timed out");
          it->second.rp->respond(error_response(
            503, std::string{it->second.what}
                   + " did not finish in time; the outcome is unknown: it may "
                     "still take effect"));
          it = pending.erase(it);
        } else {
          ++it;
        }
      }
      auto& views = self->state.peer_views;
      for (auto it = views.begin(); it != views.end();)
        if (it->second.result && now - it->second.fetched >= std::chrono::seconds(1))
          it = views.erase(it);
        else
          ++it;
      self->delayed_send(self, std::chrono::seconds(1), sweep_atom::value);
    },
    [self](fetched_atom, const std::string& peer, fetch_result& res) {
      auto& view = self->state.peer_views[peer];
      view.fetched = std::chrono::steady_clock::now();
      for (auto& rp : view.waiting)
        rp->respond(peer_chain_answer(res));
      view.waiting.clear();
      view.result = std::move(res);
    },
  };
}

} // namespace

edge_actor spawn_edge(caf::actor_system& sys, node_actors actors,
                      edge_settings settings) {
  return sys.spawn(edge_behavior, std::move(actors), std::move(settings));
}

} // namespace dlt
