// The links actor: keeps a link to every registered native peer, one link
// actor each, and with push gossip announces every new tip of ours to the
// peers it is linked to and to the peers that linked to us (each node once).
//
// A link actor is an explicit state machine, after CAF's
// distributed_calculator example, switched with become():
//
//   connecting --(linked)--> linked --(down)--> waiting
//        ^                                        |
//        +------(backoff passed, or asked)--------+
//   connecting --(failed)--> waiting
//
// Waits between attempts double from first_backoff to last_backoff; CAF's
// heartbeats turn a silent connection into a down message. A request for
// the peer's face waits for the attempt under way, or starts one at once.

#include <algorithm>
#include <map>
#include <set>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/io/middleman.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "actors/log.hpp"
#include "actors/spawn.hpp"

namespace dlt {
namespace {

/// How long one attempt may take, and the waits between attempts.
constexpr std::chrono::seconds link_timeout{10};
constexpr std::chrono::milliseconds first_backoff{250};
constexpr std::chrono::milliseconds last_backoff{10000};
/// How long a new link waits for the peer's HTTP address.
constexpr std::chrono::seconds info_timeout{5};
/// Nodes that linked to us and get our announcements.
constexpr std::size_t max_inbound = 1024;

using clock = std::chrono::steady_clock;

// -- one link ----------------------------------------------------------------------

using face_promise = caf::typed_response_promise<caf::strong_actor_ptr>;

struct link_state {
  peer_address addr;
  links_actor manager;
  native_connector connect;
  std::chrono::milliseconds backoff{first_backoff};
  caf::strong_actor_ptr face;        // while linked
  clock::time_point linked_at;       // when it last came up
  std::vector<face_promise> waiting; // asked while connecting
  static inline const char* name = "link";
};

using link_ptr = link_actor::stateful_pointer<link_state>;

link_actor::behavior_type connecting(link_ptr self);
link_actor::behavior_type linked(link_ptr self);
link_actor::behavior_type waiting(link_ptr self);

void answer_waiting(link_ptr self, const std::string& failure) {
  auto promises = std::move(self->state.waiting);
  self->state.waiting.clear();
  for (auto& rp : promises)
    if (failure.empty())
      rp.deliver(self->state.face);
    else
      rp.deliver(caf::make_error(caf::sec::cannot_connect_to_node, failure));
}

void failed(link_ptr self, const std::string& why) {
  auto& st = self->state;
  answer_waiting(self, why);
  self->delayed_send(self, st.backoff, relink_atom::value);
  st.backoff = std::min(st.backoff * 2, last_backoff);
  self->become(waiting(self));
}

void start_connecting(link_ptr self) {
  auto handle = caf::actor_cast<link_actor>(self);
  self->state.connect(self->state.addr, link_timeout,
                      [handle](caf::strong_actor_ptr face, std::string error) {
                        caf::anon_send(handle, open_atom::value,
                                       std::move(face), std::move(error));
                      });
  self->become(connecting(self));
}

link_actor::behavior_type connecting(link_ptr self) {
  return {
    [self](link_atom) {
      auto rp = self->make_response_promise<caf::strong_actor_ptr>();
      self->state.waiting.push_back(rp);
      return rp;
    },
    [](relink_atom) {}, // an attempt is under way
    [self](open_atom, caf::strong_actor_ptr& face, const std::string& error) {
      if (!error.empty() || !face)
        return failed(self, error.empty() ? "no face there" : error);
      auto& st = self->state;
      st.face = std::move(face);
      st.linked_at = clock::now();
      self->monitor(st.face);
      log("links", "linked to ", st.addr.text);
      self->send(st.manager, linked_atom::value, st.addr.text, st.face);
      answer_waiting(self, {});
      self->become(linked(self));
    },
  };
}

link_actor::behavior_type linked(link_ptr self) {
  return {
    [self](link_atom) -> caf::result<caf::strong_actor_ptr> {
      return self->state.face;
    },
    [](relink_atom) {},
    [](open_atom, const caf::strong_actor_ptr&, const std::string&) {},
  };
}

link_actor::behavior_type waiting(link_ptr self) {
  return {
    [self](link_atom) {
      auto rp = self->make_response_promise<caf::strong_actor_ptr>();
      self->state.waiting.push_back(rp);
      start_connecting(self); // asked: try now rather than after the backoff
      return rp;
    },
    [self](relink_atom) { start_connecting(self); },
    [](open_atom, const caf::strong_actor_ptr&, const std::string&) {},
  };
}

link_actor::behavior_type link_behavior(link_ptr self, peer_address addr,
                                        links_actor manager,
                                        native_connector connect) {
  auto& st = self->state;
  st.addr = std::move(addr);
  st.manager = std::move(manager);
  st.connect = std::move(connect);
  self->set_down_handler([self](caf::down_msg& down) {
    auto& st = self->state;
    if (!st.face || down.source != st.face->address())
      return;
    log("links", "lost ", st.addr.text, "; linking again");
    st.face = nullptr;
    self->send(st.manager, linked_atom::value, st.addr.text,
               caf::strong_actor_ptr{});
    // A link that held for a while starts over with short waits; one that
    // drops at once (a node whose face is gone) keeps backing off.
    if (clock::now() - st.linked_at >= last_backoff)
      st.backoff = first_backoff;
    self->delayed_send(self, st.backoff, relink_atom::value);
    st.backoff = std::min(st.backoff * 2, last_backoff);
    self->become(waiting(self));
  });
  start_connecting(self);
  return connecting(self);
}

// -- the manager -------------------------------------------------------------------

struct links_state {
  peer_registry_actor registry;
  peer_actor face; // ours
  event_hub_actor hub;
  published_chain_ptr published;
  native_connector connect;
  bool push = false;
  std::map<std::string, link_actor> links; // by address text
  std::map<std::string, caf::strong_actor_ptr> linked; // address -> face
  std::vector<caf::strong_actor_ptr> inbound; // faces that said hello
  std::string last_tip; // the last tip announced
  static inline const char* name = "links";
};

using links_ptr = links_actor::stateful_pointer<links_state>;

link_actor& link_for(links_ptr self, const peer_address& addr) {
  auto& st = self->state;
  auto it = st.links.find(addr.text);
  if (it == st.links.end())
    // Linked: the links die with this actor.
    it = st.links
           .emplace(addr.text, self->spawn<caf::linked>(
                                 link_behavior, addr,
                                 caf::actor_cast<links_actor>(self), st.connect))
           .first;
  return it->second;
}

/// Our tip (index and hash) to `peer`.
void announce_to(links_ptr self, const caf::strong_actor_ptr& peer) {
  auto view = self->state.published->load();
  self->send(self->state.face, announce_atom::value, peer, view.height,
             view.tip_hash);
}

/// Our tip to every native peer, each node once.
void announce_tip(links_ptr self) {
  auto& st = self->state;
  auto view = st.published->load();
  if (!st.push || view.tip_hash.empty() || view.tip_hash == st.last_tip)
    return;
  st.last_tip = view.tip_hash;
  std::set<caf::node_id> told;
  auto tell = [&](const caf::strong_actor_ptr& peer) {
    if (peer && told.insert(peer->node()).second)
      self->send(st.face, announce_atom::value, peer, view.height,
                 view.tip_hash);
  };
  for (const auto& [text, face] : st.linked)
    tell(face);
  for (const auto& face : st.inbound)
    tell(face);
}

void on_peers(links_ptr self, const peers_changed& peers) {
  auto& st = self->state;
  std::set<std::string> registered;
  for (const auto& text : peers.total_nodes) {
    auto addr = parse_peer_address(text);
    if (!addr || !addr->native)
      continue;
    registered.insert(addr->text);
    link_for(self, *addr);
  }
  for (auto it = st.links.begin(); it != st.links.end();) {
    if (registered.count(it->first)) {
      ++it;
      continue;
    }
    log("links", "unlinking ", it->first, ": no longer registered");
    self->unlink_from(it->second);
    self->send_exit(it->second, caf::exit_reason::user_shutdown);
    st.linked.erase(it->first);
    it = st.links.erase(it);
  }
}

void on_linked(links_ptr self, const std::string& text,
               caf::strong_actor_ptr face) {
  auto& st = self->state;
  if (!st.links.count(text))
    return; // unlinked meanwhile
  if (!face) {
    st.linked.erase(text);
    self->send(st.registry, linked_atom::value, text, false, std::string{});
    return;
  }
  st.linked[text] = face;
  self->send(st.face, hello_atom::value, face);
  if (st.push && !st.last_tip.empty())
    announce_to(self, face);
  self->send(st.registry, linked_atom::value, text, true, std::string{});
  auto ms = static_cast<std::uint64_t>(
    std::chrono::milliseconds(info_timeout).count());
  self->request(st.face, info_timeout + std::chrono::seconds(1),
                info_atom::value, face, ms)
    .then(
      [self, text](std::string& http) {
        // The address a peer claims is shown, never dialled by the node.
        if (http.size() <= 300)
          self->send(self->state.registry, linked_atom::value, text, true,
                     std::move(http));
      },
      [self, text](caf::error& err) {
        log("links", "no HTTP address from ", text, ": ", error_text(err));
      });
}

links_actor::behavior_type
links_behavior(links_ptr self, peer_registry_actor registry, peer_actor face,
               event_hub_actor hub, published_chain_ptr published,
               native_connector connect, gossip_settings settings) {
  auto& st = self->state;
  st.registry = std::move(registry);
  st.face = std::move(face);
  st.hub = std::move(hub);
  st.published = std::move(published);
  st.connect = connect ? std::move(connect)
                       : plain_native_connector(self->system());
  st.push = settings.push;
  if (st.push)
    st.last_tip = st.published->load().tip_hash; // announce changes only
  self->set_down_handler([self](caf::down_msg& down) {
    auto& in = self->state.inbound;
    in.erase(std::remove_if(in.begin(), in.end(),
                            [&](const caf::strong_actor_ptr& p) {
                              return p->address() == down.source;
                            }),
             in.end());
  });
  if (st.hub)
    self->send(st.hub, subscribe_atom::value,
               make_actor_sink(caf::actor_cast<caf::actor>(self), "links",
                               [](const node_event& e) {
                                 return std::holds_alternative<peers_changed>(e.what)
                                        || std::holds_alternative<block_appended>(e.what)
                                        || std::holds_alternative<chain_replaced>(e.what);
                               }),
               std::uint64_t{0}, false);
  return {
    [self](const event_ptr& e) {
      if (auto p = std::get_if<peers_changed>(&e->event.what))
        on_peers(self, *p);
      else
        announce_tip(self);
    },
    [self](link_atom, const std::string& text,
           std::uint64_t ms) -> caf::result<caf::strong_actor_ptr> {
      auto addr = parse_peer_address(text);
      if (!addr || !addr->native)
        return caf::make_error(caf::sec::invalid_argument,
                               "not a native peer: " + text);
      auto rp = self->make_response_promise<caf::strong_actor_ptr>();
      self->request(link_for(self, *addr), std::chrono::milliseconds(ms),
                    link_atom::value)
        .then([rp](caf::strong_actor_ptr& face) mutable { rp.deliver(face); },
              [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
      return rp;
    },
    [self](hello_atom, caf::strong_actor_ptr& peer) {
      auto& st = self->state;
      if (!peer || st.inbound.size() >= max_inbound)
        return;
      for (const auto& known : st.inbound)
        if (known->address() == peer->address())
          return;
      self->monitor(peer);
      st.inbound.push_back(peer);
      if (st.push && !st.last_tip.empty())
        announce_to(self, peer);
    },
    [self](name_atom, const caf::strong_actor_ptr& face) {
      if (face)
        for (const auto& [text, linked] : self->state.linked)
          if (linked && linked->node() == face->node())
            return text;
      return std::string{};
    },
    [self](linked_atom, const std::string& text, caf::strong_actor_ptr& face) {
      on_linked(self, text, std::move(face));
    },
  };
}

} // namespace

links_actor spawn_links(caf::actor_system& sys, peer_registry_actor registry,
                        peer_actor face, event_hub_actor hub,
                        published_chain_ptr published, native_connector connect,
                        gossip_settings settings) {
  return sys.spawn(links_behavior, std::move(registry), std::move(face),
                   std::move(hub), std::move(published), std::move(connect),
                   settings);
}

namespace {

/// Asks CAF's middleman to connect to (host, port) and hands on the face.
void middleman_connect(caf::event_based_actor* self, std::string host,
                       std::uint16_t port, std::chrono::milliseconds timeout,
                       std::function<void(caf::strong_actor_ptr, std::string)> done) {
  auto mm = self->system().middleman().actor_handle();
  self->request(mm, timeout, caf::connect_atom::value, std::move(host), port)
    .then(
      [done](const caf::node_id&, caf::strong_actor_ptr& face,
             const std::set<std::string>&) {
        if (face)
          done(std::move(face), {});
        else
          done(nullptr, "no actor published there");
      },
      [done](caf::error& err) { done(nullptr, error_text(err)); });
}

} // namespace

native_connector plain_native_connector(caf::actor_system& sys) {
  return [&sys](const peer_address& peer, std::chrono::milliseconds timeout,
                std::function<void(caf::strong_actor_ptr, std::string)> done) {
    sys.spawn(middleman_connect, peer.host, peer.port, timeout, std::move(done));
  };
}

} // namespace dlt
