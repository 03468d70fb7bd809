package sender

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"time"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/render"
	"github.com/hookflow/hookflow/signature"
)

// prepared is a claimed batch after rendering. Rendering before the first
// attempt, and storing the result before that attempt, is what makes every
// attempt of a delivery send the same bytes even across a crash: fresh
// deliveries may only be sent once results are stored, which the loop does
// with its next claim (Store.SaveAndClaim).
type prepared struct {
	// now are ready to send: their requests were stored before.
	now []outgoing
	// fresh were rendered now.
	fresh []outgoing
	// results are what to store: the fresh requests, aborts, and the
	// deliveries that fail without an attempt.
	results []hookflow.RenderResult
}

// empty reports whether nothing waits to be stored.
func (p *prepared) empty() bool { return len(p.results) == 0 }

// prepare renders the claimed deliveries that have no stored request yet and
// looks up the signers of all. Deliveries whose needs could not be read go
// back to the queue at once.
func (s *Sender) prepare(ctx context.Context, lookup *batchLookup, batch []*hookflow.Delivery) prepared {
	p := &preparation{}
	stored, fresh, results := s.renderAll(ctx, lookup, p, batch)

	out := prepared{now: s.withSigners(ctx, lookup, p, stored)}
	failedBefore := len(p.failed)
	out.fresh = s.withSigners(ctx, lookup, p, fresh)
	// A fresh delivery that cannot be signed fails instead of storing its
	// request: one result per delivery.
	unsigned := map[string]bool{}
	for _, f := range p.failed[failedBefore:] {
		unsigned[f.DeliveryID] = true
	}
	for _, r := range results {
		if !unsigned[r.DeliveryID] {
			out.results = append(out.results, r)
		}
	}
	out.results = append(out.results, p.failed...)

	s.settle(ctx, p)
	return out
}

// preparation collects what preparing a batch decided besides sending:
// deliveries to fail without an attempt, and deliveries to put back
// because the store could not be read.
type preparation struct {
	failed  []hookflow.RenderResult
	retries []hookflow.Deferral
}

// storeRetry is how long a delivery waits after a failed read of its
// campaign, user or secrets. A store that cannot be read for a moment must
// not fail deliveries whose templates are fine.
const storeRetry = time.Second

// transient reports whether err, from reading what a render needs, may pass:
// anything but a missing campaign, message or user.
func transient(err error) bool {
	return err != nil && !errors.Is(err, hookflow.ErrNotFound)
}

// retry puts d back in the queue after a store error.
func (p *preparation) retry(s *Sender, d *hookflow.Delivery, err error) {
	s.log.Warn("reading what a delivery needs failed, will retry", "delivery_id", d.ID, "err", err)
	p.retries = append(p.retries, hookflow.Deferral{DeliveryID: d.ID, DueAt: s.clock.Now().Add(storeRetry)})
}

// settle puts back the deliveries whose needs could not be read. It
// outlives a cancelled run context, so a shutdown does not strand claimed
// deliveries in 'sending' until their leases expire.
func (s *Sender) settle(ctx context.Context, p *preparation) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := s.store.Defer(ctx, s.clock.Now(), p.retries); err != nil {
		s.log.Error("deferring deliveries", "err", err, "count", len(p.retries))
	}
}

// stored logs and counts the results just stored that end a delivery.
func (s *Sender) stored(results []hookflow.RenderResult) {
	for _, r := range results {
		switch {
		case r.AbortReason != "":
			s.log.Info("delivery aborted", "delivery_id", r.DeliveryID, "reason", r.AbortReason)
			s.opts.Observer.Finished(hookflow.StateAborted, 1)
		case r.Error != "":
			s.log.Info("delivery failed before sending", "delivery_id", r.DeliveryID, "err", r.Error)
			s.opts.Observer.Finished(hookflow.StateFailed, 1)
		}
	}
}

// renderAll renders what needs it. It returns the deliveries whose requests
// were stored before, those rendered now, and the results to store.
func (s *Sender) renderAll(ctx context.Context, lookup *batchLookup, p *preparation,
	batch []*hookflow.Delivery) (stored, fresh []*hookflow.Delivery, results []hookflow.RenderResult) {
	var todo []*hookflow.Delivery
	for _, d := range batch {
		if d.Request != nil {
			stored = append(stored, d)
		} else {
			todo = append(todo, d)
		}
	}
	users, err := s.usersOf(ctx, todo)
	for _, d := range todo {
		// users holds the profiles the deliveries carried; they let go of
		// them, as they may wait a while for their attempts.
		d.Profile = nil
	}
	if err != nil {
		// The users could not be read, which may pass: every delivery that
		// needed one goes back to the queue rather than failing.
		for _, d := range todo {
			p.retry(s, d, err)
		}
		return stored, nil, nil
	}
	for _, d := range todo {
		r, err := s.render(ctx, lookup, d, users)
		if transient(err) {
			p.retry(s, d, err)
			continue
		}
		results = append(results, r)
		if r.Request != nil {
			d.Request = r.Request
			fresh = append(fresh, d)
		}
	}
	return stored, fresh, results
}

// usersOf returns the users of the deliveries: the profile a delivery
// carries from its enqueue (Delivery.Profile), and the others read in one
// store call, rather than one read per delivery. A user missing from the
// map no longer exists.
func (s *Sender) usersOf(ctx context.Context, ds []*hookflow.Delivery) (map[string]*hookflow.User, error) {
	users := make(map[string]*hookflow.User, len(ds))
	var ids []string
	for _, d := range ds {
		if d.Profile != nil {
			users[d.UserID] = d.Profile
		} else {
			ids = append(ids, d.UserID)
		}
	}
	if len(ids) == 0 {
		return users, nil
	}
	read, err := s.store.GetUsers(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("reading %d users: %w", len(ids), err)
	}
	// What the store says now wins over a profile carried from the
	// enqueue: a newer profile, or none for a user deleted since.
	for _, id := range ids {
		if u := read[id]; u != nil {
			users[id] = u
		} else {
			delete(users, id)
		}
	}
	return users, nil
}

// render renders one delivery into a RenderResult, taking its user from
// users; it never fails the batch, only the delivery. A transient error
// (the store could not be read) is returned instead, and the delivery is
// tried again later.
func (s *Sender) render(ctx context.Context, lookup *batchLookup, d *hookflow.Delivery, users map[string]*hookflow.User) (hookflow.RenderResult, error) {
	res := hookflow.RenderResult{DeliveryID: d.ID}
	tmpl, meta, err := lookup.template(ctx, d)
	if transient(err) && !errors.As(err, new(*hookflow.ValidationError)) {
		return res, err
	}
	if err != nil {
		res.Error = err.Error()
		return res, nil
	}
	u := users[d.UserID]
	if u == nil {
		res.Error = fmt.Sprintf("user %s no longer exists", d.UserID)
		return res, nil
	}

	meta.DispatchID = d.DispatchID
	blocks, readErr := lookup.blocks.resolver(ctx)
	req, err := tmpl.Render(render.Data{User: u, Payload: d.Payload, Campaign: meta, SendID: d.SendID, Blocks: blocks})
	if readErr() != nil {
		return res, readErr()
	}
	var abort *render.AbortError
	switch {
	case errors.As(err, &abort):
		res.AbortReason = abort.Reason
	case err != nil:
		res.Error = err.Error()
	default:
		res.Request = req
	}
	return res, nil
}

// templates caches compiled templates: a campaign's by id and version, an
// API message's by dispatch id.
type templates struct {
	store  Store
	engine *render.Engine

	mu    sync.Mutex
	cache map[string]*render.Template
}

// maxCachedTemplates bounds the cache; API messages add one entry per call.
const maxCachedTemplates = 10000

func newTemplates(store Store, engine *render.Engine) *templates {
	return &templates{store: store, engine: engine, cache: map[string]*render.Template{}}
}

func (t *templates) compiled(key string, w hookflow.Webhook) (*render.Template, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if tmpl, ok := t.cache[key]; ok {
		return tmpl, nil
	}
	tmpl, err := t.engine.Compile(w)
	if err != nil {
		return nil, err
	}
	if len(t.cache) >= maxCachedTemplates {
		clear(t.cache)
	}
	t.cache[key] = tmpl
	return tmpl, nil
}

// batch returns a lookup that reads each campaign or message once per batch.
func (t *templates) batch() *batchLookup {
	return &batchLookup{t: t, webhooks: map[string]*lookedUp{}, blocks: newBlockLookup(t.store)}
}

// batchLookup reads the webhook of each campaign or API message once per
// batch, for its template and its signing secrets.
type batchLookup struct {
	t        *templates
	webhooks map[string]*lookedUp
	// blocks reads the content blocks the batch's templates include.
	blocks *blockLookup
}

// lookedUp is the webhook of one campaign version or one API message.
type lookedUp struct {
	key     string
	webhook *hookflow.Webhook
	meta    render.Campaign
	// campaign is the campaign read, nil for an API message.
	campaign *hookflow.Campaign
	// signer is built on first use; signed says it was.
	signer *signature.Signer
	signed bool
}

func (b *batchLookup) webhook(ctx context.Context, d *hookflow.Delivery) (*lookedUp, error) {
	key := "dispatch:" + d.DispatchID
	if d.CampaignID != "" {
		key = "campaign:" + d.CampaignID
	}
	if w, ok := b.webhooks[key]; ok {
		return w, nil
	}

	var w *lookedUp
	if d.CampaignID == "" {
		m, err := b.t.store.GetAPIMessage(ctx, d.DispatchID)
		if err != nil {
			return nil, fmt.Errorf("reading message of dispatch %s: %w", d.DispatchID, err)
		}
		w = &lookedUp{key: key, webhook: m}
	} else {
		c, err := b.t.store.GetCampaign(ctx, d.CampaignID)
		if err != nil {
			return nil, fmt.Errorf("reading campaign %s: %w", d.CampaignID, err)
		}
		w = &lookedUp{key: fmt.Sprintf("campaign:%s:%d", c.ID, c.Version), webhook: &c.Webhook,
			meta: render.Campaign{APIID: c.ID, Name: c.Name}, campaign: c}
	}
	b.webhooks[key] = w
	return w, nil
}

func (b *batchLookup) template(ctx context.Context, d *hookflow.Delivery) (*render.Template, render.Campaign, error) {
	w, err := b.webhook(ctx, d)
	if err != nil {
		return nil, render.Campaign{}, err
	}
	tmpl, err := b.t.compiled(w.key, *w.webhook)
	return tmpl, w.meta, err
}

// signer returns the signer of d's campaign or message with the secrets
// active at now, or nil when it is not signed.
func (b *batchLookup) signer(ctx context.Context, d *hookflow.Delivery, now time.Time) (*signature.Signer, error) {
	w, err := b.webhook(ctx, d)
	if err != nil {
		return nil, err
	}
	if w.signed {
		return w.signer, nil
	}
	if active := w.webhook.Signing.Active(now); len(active) > 0 {
		if w.signer, err = signature.NewSigner(active...); err != nil {
			return nil, fmt.Errorf("%w of %s: %v", errBadSecrets, w.key, err)
		}
	}
	w.signed = true
	return w.signer, nil
}

// outgoing is a delivery ready for its attempt, the signer of that
// attempt (nil when unsigned), and the host of its URL, which the gate,
// the waiting lines, the metrics and the logs all key by: parsed once here
// rather than at each of them.
type outgoing struct {
	*hookflow.Delivery
	signer *signature.Signer
	host   string
}

// withSigners looks up the signing secrets of every ready delivery, also of
// those rendered in an earlier batch: secrets are read at each attempt, so
// a rotation or an expiry applies to retries too. A delivery is never sent
// unsigned when it should be signed: if its secrets cannot be read it is
// tried again later, and if they are unusable (or its campaign is gone) it
// fails.
func (s *Sender) withSigners(ctx context.Context, lookup *batchLookup, p *preparation, ready []*hookflow.Delivery) []outgoing {
	now := s.clock.Now()
	out := make([]outgoing, 0, len(ready))
	for _, d := range ready {
		signer, err := lookup.signer(ctx, d, now)
		switch {
		case err == nil:
			out = append(out, outgoing{Delivery: d, signer: signer, host: hostOf(d.Request.URL)})
		case transient(err) && !errors.Is(err, errBadSecrets):
			p.retry(s, d, err)
		default:
			p.failed = append(p.failed, hookflow.RenderResult{DeliveryID: d.ID, Error: err.Error()})
		}
	}
	return out
}

// errBadSecrets marks stored signing secrets that cannot sign.
var errBadSecrets = errors.New("unusable signing secrets")

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Host
}
