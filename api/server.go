// Package api serves Hookflow's HTTP API: Braze-compatible endpoints
// (/users/track, /campaigns/trigger/send, /messages/send and their
// scheduled forms) and Hookflow's own management API under /v1 (campaigns
// with signing, test sends and previews; the activity log and replay;
// users). It also runs the scheduled sends (RunSchedules), which one node of
// a cluster runs at a time.
//
// Every request but /healthz, /readyz and /metrics carries an API key as
// "Authorization: Bearer <key>"; each route needs one scope (Braze's
// permission names for Braze's endpoints). Errors are JSON in Braze's
// shape: {"message": ..., "errors": [...]}, with the status saying whose
// fault it was.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/deliver"
	"github.com/hookflow/hookflow/netguard"
	"github.com/hookflow/hookflow/trigger"
)

// Waker is told when deliveries were enqueued, so senders start at once
// instead of at their next poll.
type Waker interface{ Wake() }

// Observer counts what the API takes in; metrics.Metrics is one.
type Observer interface {
	Enqueued(origin string, n int)
	Intake(kind string, n int)
	Middleware(route string, h http.Handler) http.Handler
}

// Config is what a Server needs. Waker, Guard and Observer are optional.
type Config struct {
	Store   hookflow.Store
	Enqueue *trigger.Enqueuer
	Waker   Waker
	// Guard checks literal webhook URLs when campaigns and messages are
	// saved.
	Guard    *netguard.Guard
	Clock    hookflow.Clock
	Log      *slog.Logger
	Observer Observer
	// Ready reports whether the process can serve (the store answers); it
	// backs /readyz. Nil means always ready.
	Ready func(context.Context) error
	// Metrics, when set, is served at /metrics without authentication.
	Metrics http.Handler
	// Deliver makes the one attempt of a test send: the senders' client,
	// so the destination guard applies. Nil refuses test sends.
	Deliver *deliver.Client
	// SchedulePoll is the longest RunSchedules sleeps between looks for
	// due schedules. Default 1s.
	SchedulePoll time.Duration
	// RateLimitPerHour is how many requests one key may make per clock
	// hour, counted on each node. Default DefaultRateLimitPerHour.
	RateLimitPerHour int
}

// Server holds what the handlers need.
type Server struct {
	Config
	store   hookflow.Store
	enqueue *trigger.Enqueuer
	clock   hookflow.Clock
	log     *slog.Logger
	keys    *keyCache
	// scheduleWake wakes RunSchedules when a schedule is created or moved.
	scheduleWake chan struct{}
	// limiter counts requests per key; sendIDs counts /sends/id/create.
	limiter *RateLimiter
	sendIDs sendIDQuota
}

// New returns a Server.
func New(c Config) *Server {
	if c.RateLimitPerHour <= 0 {
		c.RateLimitPerHour = DefaultRateLimitPerHour
	}
	return &Server{
		Config: c, store: c.Store, enqueue: c.Enqueue, clock: c.Clock, log: c.Log,
		keys: newKeyCache(c.Store, c.Clock), scheduleWake: make(chan struct{}, 1),
		limiter: NewRateLimiter(c.RateLimitPerHour),
	}
}

// Handler returns the routes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	route := func(pattern, scope string, h func(*http.Request) (int, any, error)) {
		var handler http.Handler = s.authorized(scope, h)
		if s.Observer != nil {
			handler = s.Observer.Middleware(pattern, handler)
		}
		mux.Handle(pattern, handler)
	}

	route("POST /users/track", hookflow.ScopeUsersTrack, s.track)
	route("POST /users/alias/new", hookflow.ScopeUsersAliasNew, s.aliasNew)
	route("POST /users/identify", hookflow.ScopeUsersIdentify, s.identify)
	route("POST /users/delete", hookflow.ScopeUsersDelete, s.usersDelete)
	route("POST /users/export/ids", hookflow.ScopeUsersExportIDs, s.exportIDs)
	route("POST /campaigns/trigger/send", hookflow.ScopeCampaignsTriggerSend, s.triggerSend)
	route("POST /messages/send", hookflow.ScopeMessagesSend, s.messagesSend)
	route("POST /content_blocks/create", hookflow.ScopeContentBlocksCreate, s.createContentBlock)
	route("POST /content_blocks/update", hookflow.ScopeContentBlocksUpdate, s.updateContentBlock)
	route("GET /content_blocks/list", hookflow.ScopeContentBlocksList, s.listContentBlocks)
	route("GET /content_blocks/info", hookflow.ScopeContentBlocksInfo, s.contentBlockInfo)
	route("POST /campaigns/trigger/schedule/create", hookflow.ScopeCampaignsScheduleCreate, s.createTriggerSchedule)
	route("POST /campaigns/trigger/schedule/update", hookflow.ScopeCampaignsScheduleUpdate, s.updateTriggerSchedule)
	route("POST /campaigns/trigger/schedule/delete", hookflow.ScopeCampaignsScheduleDelete, s.deleteTriggerSchedule)
	route("POST /messages/schedule/create", hookflow.ScopeMessagesScheduleCreate, s.createMessagesSchedule)
	route("POST /messages/schedule/update", hookflow.ScopeMessagesScheduleUpdate, s.updateMessagesSchedule)
	route("POST /messages/schedule/delete", hookflow.ScopeMessagesScheduleDelete, s.deleteMessagesSchedule)
	route("GET /messages/scheduled_broadcasts", hookflow.ScopeScheduledBroadcasts, s.scheduledBroadcasts)
	route("GET /campaigns/list", hookflow.ScopeCampaignsList, s.brazeCampaignsList)
	route("GET /campaigns/details", hookflow.ScopeCampaignsDetails, s.brazeCampaignDetails)
	route("GET /campaigns/data_series", hookflow.ScopeCampaignsDataSeries, s.brazeCampaignDataSeries)
	route("POST /sends/id/create", hookflow.ScopeSendsIDCreate, s.brazeSendIDCreate)
	route("GET /sends/data_series", hookflow.ScopeSendsDataSeries, s.brazeSendsDataSeries)
	route("POST /transactional/v1/campaigns/{campaign_id}/send", hookflow.ScopeTransactionalSend, s.brazeTransactionalSend)
	for _, f := range unsupportedFamilies {
		mux.Handle(f.prefix, s.unsupported(f.why))
	}

	route("POST /v1/campaigns", hookflow.ScopeCampaignsWrite, s.createCampaign)
	route("GET /v1/campaigns", hookflow.ScopeCampaignsRead, s.listCampaigns)
	route("GET /v1/campaigns/{id}", hookflow.ScopeCampaignsRead, s.getCampaign)
	route("PUT /v1/campaigns/{id}", hookflow.ScopeCampaignsWrite, s.updateCampaign)
	route("POST /v1/campaigns/{id}/pause", hookflow.ScopeCampaignsWrite, s.setState(hookflow.CampaignPaused))
	route("POST /v1/campaigns/{id}/resume", hookflow.ScopeCampaignsWrite, s.setState(hookflow.CampaignActive))
	route("POST /v1/campaigns/{id}/archive", hookflow.ScopeCampaignsWrite, s.setState(hookflow.CampaignArchived))
	route("GET /v1/campaigns/{id}/stats", hookflow.ScopeCampaignsRead, s.campaignStats)
	route("POST /v1/campaigns/{id}/signing/rotate", hookflow.ScopeCampaignsWrite, s.rotateSigning)
	route("POST /v1/campaigns/{id}/test", hookflow.ScopeCampaignsWrite, s.testSend)
	route("POST /v1/campaigns/{id}/preview", hookflow.ScopeCampaignsRead, s.previewCampaign)
	route("POST /v1/preview", hookflow.ScopeCampaignsRead, s.previewWebhook)

	route("GET /v1/deliveries", hookflow.ScopeDeliveriesRead, s.listDeliveries)
	route("GET /v1/deliveries/{id}", hookflow.ScopeDeliveriesRead, s.getDelivery)
	route("POST /v1/deliveries/{id}/replay", hookflow.ScopeDeliveriesWrite, s.replayOne)
	route("POST /v1/deliveries/replay", hookflow.ScopeDeliveriesWrite, s.replayMany)
	route("GET /v1/users/{id}", hookflow.ScopeUsersRead, s.getUser)

	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", s.readyz)
	if s.Metrics != nil {
		mux.Handle("GET /metrics", s.Metrics)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if allowed := methodsFor(mux, r); len(allowed) > 0 {
			header := allowed
			if slices.Contains(allowed, http.MethodGet) {
				// A GET route answers HEAD too (net/http).
				header = append(slices.Clone(allowed), http.MethodHead)
			}
			w.Header().Set("Allow", strings.Join(header, ", "))
			writeError(w, r, s.log, errorf(http.StatusMethodNotAllowed, "%s %s: use %s",
				r.Method, r.URL.Path, strings.Join(allowed, " or ")))
			return
		}
		writeError(w, r, s.log, errorf(http.StatusNotFound, "no endpoint %s %s", r.Method, r.URL.Path))
	})
	return mux
}

// methodsFor lists the methods mux has a route for at r's path, when r
// came to the catch-all: a GET of /users/track is a wrong method, not a
// missing endpoint, and saying which method to use ends the search.
func methodsFor(mux *http.ServeMux, r *http.Request) []string {
	var allowed []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete} {
		if m == r.Method {
			continue
		}
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := mux.Handler(probe); pattern != "/" && pattern != "" {
			allowed = append(allowed, m)
		}
	}
	return allowed
}

// authorized checks the key and its scope, then runs h and writes what it
// returns as JSON.
func (s *Server) authorized(scope string, h func(*http.Request) (int, any, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.admit(w, r, scope); err != nil {
			writeError(w, r, s.log, err)
			return
		}
		status, body, err := h(r)
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		writeJSON(w, status, body)
	})
}

// enqueued wakes the senders and counts deliveries enqueued.
func (s *Server) enqueued(origin string, n int) {
	if n == 0 {
		return
	}
	if s.Waker != nil {
		s.Waker.Wake()
	}
	if s.Observer != nil {
		s.Observer.Enqueued(origin, n)
	}
}

// readyz answers 200 when the store answers, 503 otherwise: a load
// balancer stops sending requests to a node that cannot store them.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.Ready(ctx); err != nil {
			// The cause (a driver error, perhaps naming the database's host
			// and user) goes to the log only: /readyz needs no API key.
			s.log.Warn("not ready", "err", err)
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{
				"status": "unavailable",
				"reason": "the store does not answer; the server log has the details",
			})
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}
