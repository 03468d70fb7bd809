// Package api serves Hookflow's HTTP API: Braze-compatible endpoints
// (/users/track, /campaigns/trigger/send, /messages/send) and Hookflow's own
// management API under /v1 (campaigns, the activity log, users).
//
// Every request but /healthz carries an API key as "Authorization: Bearer
// <key>"; each route needs one scope (Braze's permission names for Braze's
// endpoints). Errors are JSON in Braze's shape: {"message": ..., "errors":
// [...]}, with the status saying whose fault it was.
package api

import (
	"log/slog"
	"net/http"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/netguard"
	"github.com/hookflow/hookflow/trigger"
)

// Waker is told when deliveries were enqueued, so senders start at once
// instead of at their next poll.
type Waker interface{ Wake() }

// Server holds what the handlers need.
type Server struct {
	store   hookflow.Store
	enqueue *trigger.Enqueuer
	waker   Waker
	guard   *netguard.Guard
	clock   hookflow.Clock
	log     *slog.Logger
	keys    *keyCache
}

// New returns a Server. guard checks literal webhook URLs when campaigns and
// messages are saved.
func New(store hookflow.Store, enq *trigger.Enqueuer, waker Waker, guard *netguard.Guard, clock hookflow.Clock, log *slog.Logger) *Server {
	return &Server{
		store: store, enqueue: enq, waker: waker, guard: guard, clock: clock, log: log,
		keys: newKeyCache(store, clock),
	}
}

// Handler returns the routes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	route := func(pattern, scope string, h func(*http.Request) (int, any, error)) {
		mux.Handle(pattern, s.authorized(scope, h))
	}

	route("POST /users/track", hookflow.ScopeUsersTrack, s.track)
	route("POST /campaigns/trigger/send", hookflow.ScopeCampaignsTriggerSend, s.triggerSend)
	route("POST /messages/send", hookflow.ScopeMessagesSend, s.messagesSend)

	route("POST /v1/campaigns", hookflow.ScopeCampaignsWrite, s.createCampaign)
	route("GET /v1/campaigns", hookflow.ScopeCampaignsRead, s.listCampaigns)
	route("GET /v1/campaigns/{id}", hookflow.ScopeCampaignsRead, s.getCampaign)
	route("PUT /v1/campaigns/{id}", hookflow.ScopeCampaignsWrite, s.updateCampaign)
	route("POST /v1/campaigns/{id}/pause", hookflow.ScopeCampaignsWrite, s.setState(hookflow.CampaignPaused))
	route("POST /v1/campaigns/{id}/resume", hookflow.ScopeCampaignsWrite, s.setState(hookflow.CampaignActive))
	route("POST /v1/campaigns/{id}/archive", hookflow.ScopeCampaignsWrite, s.setState(hookflow.CampaignArchived))
	route("GET /v1/campaigns/{id}/stats", hookflow.ScopeCampaignsRead, s.campaignStats)

	route("GET /v1/deliveries", hookflow.ScopeDeliveriesRead, s.listDeliveries)
	route("GET /v1/deliveries/{id}", hookflow.ScopeDeliveriesRead, s.getDelivery)
	route("GET /v1/users/{id}", hookflow.ScopeUsersRead, s.getUser)

	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, s.log, errorf(http.StatusNotFound, "no endpoint %s %s", r.Method, r.URL.Path))
	})
	return mux
}

// authorized checks the key and its scope, then runs h and writes what it
// returns as JSON.
func (s *Server) authorized(scope string, h func(*http.Request) (int, any, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.keys.check(r, scope); err != nil {
			writeError(w, s.log, err)
			return
		}
		status, body, err := h(r)
		if err != nil {
			writeError(w, s.log, err)
			return
		}
		writeJSON(w, status, body)
	})
}

func (s *Server) wake(n int) {
	if n > 0 && s.waker != nil {
		s.waker.Wake()
	}
}
