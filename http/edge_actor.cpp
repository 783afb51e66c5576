// The HTTP edge actor: routes each REST request to the actor that owns the
// state, and turns the answer into the exact JSON of the reference API.
//
// Where a request goes, in one table (see route()):
//   GET  /chain             -> chain     (snapshot)
//   POST /transactions/new  -> mempool   (add)
//   POST /mine              -> miner     (mine)
//   POST /nodes/register    -> peers     (register)
//   POST /nodes/consensus   -> gossiper  (consensus)
//   POST /action/evil       -> chain     (pop)
// Response objects list their keys in sorted order, as Flask's jsonify does.

#include <optional>
#include <unordered_map>

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/log.hpp"
#include "http/edge.hpp"
#include "model/block.hpp"
#include "model/canonical_json.hpp"
#include "model/json_parse.hpp"

namespace dlt {
namespace {

/// A hot-path ask the sweep watches (see edge_actor in actors.hpp).
struct pending_ask {
  std::chrono::steady_clock::time_point deadline;
  responder_ptr rp;
  const char* what;
};

struct edge_state {
  node_actors actors;
  std::unordered_map<std::uint64_t, pending_ask> pending;
  std::uint64_t next_ask = 0;
  std::chrono::milliseconds hot_ask_timeout{0};
  /// The chain's latest state as the chain actor published it.
  std::optional<chain_view> chain;
  std::chrono::milliseconds consensus_timeout{0};
  static inline const char* name = "edge";
};

using edge_ptr = edge_actor::stateful_pointer<edge_state>;

// -- responses -------------------------------------------------------------------

rest_response json_response(unsigned status, std::string body) {
  rest_response res;
  res.status = status;
  res.prefix = std::move(body);
  return res;
}

rest_response error_response(unsigned status, std::string_view message) {
  std::string body = "{\"error\": ";
  append_python_string(body, message);
  body += '}';
  return json_response(status, std::move(body));
}

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

/// Answers an actor error: the node failed, not the client.
auto fail_with(responder_ptr rp, const char* what) {
  return [rp, what](caf::error& err) {
    log("edge", what, " failed: ", to_string(err));
    rp->respond(error_response(503, std::string{what} + " failed: "
                                      + to_string(err)));
  };
}

// -- request bodies ------------------------------------------------------------

bool is_blank(const std::string& body) {
  return body.find_first_not_of(" \t\r\n") == std::string::npos;
}

/// Endpoints that take no input accept an empty body or any JSON value (the
/// notebook posts {}); anything else is a malformed request.
bool reject_malformed_body(const rest_request& req, const responder_ptr& rp) {
  if (is_blank(req.body))
    return false;
  auto doc = parse_json(req.body);
  if (doc)
    return false;
  rp->respond(error_response(400, "Malformed JSON body: " + doc.error()));
  return true;
}

/// The body as a JSON object, or nothing after answering 400: `missing` (the
/// reference's message) for an empty body or one that is not an object, the
/// parser's reason for malformed JSON.
std::optional<json> object_body(const rest_request& req, const responder_ptr& rp,
                                std::string_view missing) {
  if (is_blank(req.body)) {
    rp->respond(error_response(400, missing));
    return std::nullopt;
  }
  auto doc = parse_json(req.body);
  if (!doc) {
    rp->respond(error_response(400, "Malformed JSON body: " + doc.error()));
    return std::nullopt;
  }
  if (!doc->is_object()) {
    rp->respond(error_response(400, missing));
    return std::nullopt;
  }
  return std::move(*doc);
}

// -- handlers --------------------------------------------------------------------

rest_response chain_answer(const chain_view& view) {
  return chain_response(200, view,
                        ", \"is_valid\": " + bool_text(view.valid) + "}");
}

void get_chain(edge_ptr self, const rest_request&, responder_ptr rp) {
  if (self->state.chain)
    return rp->respond(chain_answer(*self->state.chain));
  self->request(self->state.actors.chain, ask_timeout, snapshot_atom::value)
    .then(
      [rp](const chain_view& view) { rp->respond(chain_answer(view)); },
      fail_with(rp, "reading the chain"));
}

void new_transaction(edge_ptr self, const rest_request& req, responder_ptr rp) {
  auto doc = object_body(req, rp, "Missing values");
  if (!doc)
    return;
  if (!doc->contains("data"))
    return rp->respond(error_response(400, "Missing values"));
  auto tx = transaction_json((*doc)["data"]);
  // The hottest path: its deadline is kept by the sweep, not by CAF.
  auto& st = self->state;
  auto id = ++st.next_ask;
  constexpr const char* what = "queueing the transaction";
  st.pending.emplace(id, pending_ask{std::chrono::steady_clock::now()
                                       + st.hot_ask_timeout,
                                     rp, what});
  self->request(st.actors.mempool, caf::infinite, add_atom::value, tx)
    .then(
      [self, id, rp, tx](std::uint64_t) {
        if (self->state.pending.erase(id))
          rp->respond(json_response(201, "{\"transaction\": " + tx + "}"));
      },
      [self, id, rp](caf::error& err) {
        if (self->state.pending.erase(id))
          fail_with(rp, what)(err);
      });
}

void mine(edge_ptr self, const rest_request& req, responder_ptr rp) {
  if (reject_malformed_body(req, rp))
    return;
  self->request(self->state.actors.miner, ask_timeout, mine_atom::value)
    .then(
      [rp](const mine_outcome& out) {
        // As the reference: 201, or 200 when the chain is not valid.
        std::string body = "{\"is_valid\": " + bool_text(out.valid)
                           + ", \"new_block\": "
                           + (out.new_block ? out.new_block->json : "null")
                           + "}";
        rp->respond(json_response(out.valid ? 201 : 200, std::move(body)));
      },
      fail_with(rp, "mining"));
}

void register_nodes(edge_ptr self, const rest_request& req, responder_ptr rp) {
  auto doc = object_body(req, rp, "Missing list of nodes");
  if (!doc)
    return;
  auto it = doc->find("nodes");
  if (it == doc->end() || it->is_null()
      || (it->is_array() && it->empty()))
    return rp->respond(error_response(400, "Missing list of nodes"));
  if (!it->is_array())
    return rp->respond(
      error_response(400, "\"nodes\" must be a list of node addresses"));
  std::vector<std::string> inputs;
  for (const auto& node : *it) {
    if (!node.is_string())
      return rp->respond(error_response(
        400, "every node address must be a string, got " + canonical(node)));
    inputs.push_back(node.get<std::string>());
  }
  self
    ->request(self->state.actors.peers, ask_timeout, register_atom::value,
              std::move(inputs))
    .then(
      [rp](const register_outcome& out) {
        auto list = [](const std::vector<std::string>& xs) {
          std::string s = "[";
          for (std::size_t i = 0; i < xs.size(); ++i) {
            if (i > 0)
              s += ", ";
            append_python_string(s, xs[i]);
          }
          return s + "]";
        };
        std::string body = "{";
        if (!out.invalid.empty())
          body += "\"invalid_nodes\": " + list(out.invalid) + ", ";
        body += "\"total_nodes\": " + list(out.total) + "}";
        rp->respond(json_response(201, std::move(body)));
      },
      fail_with(rp, "registering nodes"));
}

void consensus(edge_ptr self, const rest_request& req, responder_ptr rp) {
  if (reject_malformed_body(req, rp))
    return;
  self
    ->request(self->state.actors.gossiper, self->state.consensus_timeout,
              consensus_atom::value)
    .then(
      [rp](const consensus_outcome& out) {
        std::string status = out.replaced ? "Chain replaced"
                                          : "Chain not replaced - master";
        rp->respond(chain_response(200, out.view,
                                   ", \"status\": \"" + status + "\"}"));
      },
      fail_with(rp, "consensus"));
}

void evil(edge_ptr self, const rest_request& req, responder_ptr rp) {
  if (reject_malformed_body(req, rp))
    return;
  self->request(self->state.actors.chain, ask_timeout, pop_atom::value)
    .then(
      [rp](const block_ptr& popped) {
        std::string body = "{\"element\": ";
        body += popped ? popped->json : "null";
        body += popped ? ", \"status\": \"Snap done!\"}"
                       : ", \"status\": \"Nothing to do...\"}";
        rp->respond(json_response(200, std::move(body)));
      },
      fail_with(rp, "evil"));
}

// -- routing -----------------------------------------------------------------------

using handler = void (*)(edge_ptr, const rest_request&, responder_ptr);

struct route_entry {
  const char* path;
  const char* method; // HEAD is served wherever GET is
  handler fn;
};

constexpr route_entry routes[] = {
  {"/chain", "GET", get_chain},
  {"/transactions/new", "POST", new_transaction},
  {"/mine", "POST", mine},
  {"/nodes/register", "POST", register_nodes},
  {"/nodes/consensus", "POST", consensus},
  {"/action/evil", "POST", evil},
};

void route(edge_ptr self, const rest_request& req, responder_ptr rp) {
  for (const auto& r : routes) {
    if (req.path != r.path)
      continue;
    bool get_like = std::string_view{r.method} == "GET";
    if (req.method == r.method || (get_like && req.method == "HEAD"))
      return r.fn(self, req, std::move(rp));
    auto res = error_response(405, "Method " + req.method
                                     + " not allowed on " + req.path);
    res.allow = get_like ? "GET, HEAD" : r.method;
    return rp->respond(std::move(res));
  }
  rp->respond(error_response(404, "Not found: " + req.path));
}

edge_actor::behavior_type edge_behavior(edge_ptr self, node_actors actors,
                                        std::chrono::milliseconds timeout,
                                        std::chrono::milliseconds hot_timeout) {
  self->state.actors = std::move(actors);
  self->state.consensus_timeout = timeout;
  self->state.hot_ask_timeout = hot_timeout;
  self->send(self->state.actors.chain, subscribe_atom::value,
             caf::actor_cast<chain_watcher_actor>(self));
  self->delayed_send(self, std::chrono::seconds(1), sweep_atom::value);
  return {
    [self](const rest_request& req, responder_ptr& rp) {
      route(self, req, std::move(rp));
    },
    [self](chain_view& view) { self->state.chain = std::move(view); },
    [self](sweep_atom) {
      auto now = std::chrono::steady_clock::now();
      auto& pending = self->state.pending;
      for (auto it = pending.begin(); it != pending.end();) {
        if (it->second.deadline <= now) {
          log("edge", it->second.what, " timed out");
          it->second.rp->respond(error_response(
            503, std::string{it->second.what} + " timed out"));
          it = pending.erase(it);
        } else {
          ++it;
        }
      }
      self->delayed_send(self, std::chrono::seconds(1), sweep_atom::value);
    },
  };
}

} // namespace

edge_actor spawn_edge(caf::actor_system& sys, node_actors actors,
                      std::chrono::milliseconds consensus_timeout,
                      std::chrono::milliseconds hot_ask_timeout) {
  return sys.spawn(edge_behavior, std::move(actors), consensus_timeout,
                   hot_ask_timeout);
}

} // namespace dlt
