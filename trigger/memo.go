package trigger

import (
	"fmt"
	"time"

	"github.com/hookflow/hookflow"
)

// memoTx remembers, for the length of one request, what the request reads
// again and again: the campaigns an event name triggers or excepts, and the
// users it names. A batch of 75 events of one name then costs two campaign
// queries, not 150. Campaigns cannot change under a write transaction, and
// the users it caches are the ones it writes, so the memory stays true.
type memoTx struct {
	hookflow.Tx
	triggered  map[string][]*hookflow.Campaign
	exceptions map[string][]*hookflow.Campaign
	users      map[string]*hookflow.User // by memoKey
	// written holds the braze ids of the profiles this request inserted or
	// updated: the memory has them as the request built them, not as the
	// store reads them back.
	written map[string]bool
	// absent holds the memoKeys that prefetch found no profile for, until
	// the request creates one.
	absent map[string]bool

	// held, when holding, collects what Enqueue is given, to be written in
	// one call by flush: a /users/track batch then enqueues once, not once
	// per event. Everything that reads deliveries (LastSendAt,
	// CancelPending) flushes first, so it sees them.
	holding bool
	held    []*hookflow.Delivery
}

func memo(tx hookflow.Tx) *memoTx {
	if m, ok := tx.(*memoTx); ok {
		return m
	}
	return &memoTx{
		Tx:         tx,
		triggered:  map[string][]*hookflow.Campaign{},
		exceptions: map[string][]*hookflow.Campaign{},
		users:      map[string]*hookflow.User{},
		written:    map[string]bool{},
		absent:     map[string]bool{},
	}
}

// prefetch resolves, in one read, every external id among refs that the
// memory does not know yet, so that FindUser answers them from memory.
func (m *memoTx) prefetch(refs []hookflow.UserRef) error {
	var ids []string
	for _, ref := range refs {
		key := memoKey(ref)
		if ref.ExternalID == "" || m.users[key] != nil || m.absent[key] {
			continue
		}
		ids = append(ids, ref.ExternalID)
	}
	if len(ids) == 0 {
		return nil
	}
	found, err := m.Tx.FindUsersByExternalID(ids)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if u := found[id]; u != nil {
			m.remember(u)
		} else {
			m.absent[memoKey(hookflow.UserRef{ExternalID: id})] = true
		}
	}
	return nil
}

func (m *memoTx) TriggeredCampaigns(ev *hookflow.Event) ([]*hookflow.Campaign, error) {
	key := "event:" + ev.Name
	if ev.Purchase != nil {
		key = "purchase:" + ev.Name
	}
	if cs, ok := m.triggered[key]; ok {
		return cs, nil
	}
	cs, err := m.Tx.TriggeredCampaigns(ev)
	if err == nil {
		m.triggered[key] = cs
	}
	return cs, err
}

func (m *memoTx) ExceptionCampaigns(name string) ([]*hookflow.Campaign, error) {
	if cs, ok := m.exceptions[name]; ok {
		return cs, nil
	}
	cs, err := m.Tx.ExceptionCampaigns(name)
	if err == nil {
		m.exceptions[name] = cs
	}
	return cs, err
}

// FindUser answers from memory for a reference already resolved in this
// request. Only external ids and braze ids are remembered: an alias or an
// email can come to name another user within the request.
func (m *memoTx) FindUser(ref hookflow.UserRef) (*hookflow.User, error) {
	key := memoKey(ref)
	if u, ok := m.users[key]; ok && key != "" {
		return u, nil
	}
	if m.absent[key] {
		return nil, fmt.Errorf("finding user by %s: %w", ref, hookflow.ErrNotFound)
	}
	u, err := m.Tx.FindUser(ref)
	if err == nil {
		m.remember(u)
	}
	return u, err
}

func (m *memoTx) InsertUser(u *hookflow.User) error {
	if err := m.Tx.InsertUser(u); err != nil {
		return err
	}
	m.remember(u)
	m.written[u.ID] = true
	return nil
}

func (m *memoTx) UpdateUser(u *hookflow.User) error {
	if err := m.Tx.UpdateUser(u); err != nil {
		return err
	}
	m.remember(u)
	m.written[u.ID] = true
	return nil
}

func (m *memoTx) remember(u *hookflow.User) {
	m.users[memoKey(hookflow.UserRef{BrazeID: u.ID})] = u
	if u.ExternalID != "" {
		key := memoKey(hookflow.UserRef{ExternalID: u.ExternalID})
		m.users[key] = u
		delete(m.absent, key)
	}
}

func memoKey(ref hookflow.UserRef) string {
	switch {
	case ref.ExternalID != "":
		return "external:" + ref.ExternalID
	case ref.BrazeID != "":
		return "braze:" + ref.BrazeID
	}
	return ""
}

// hold makes Enqueue collect deliveries until flush.
func (m *memoTx) hold() { m.holding = true }

// flush writes the deliveries Enqueue collected.
func (m *memoTx) flush() error {
	if len(m.held) == 0 {
		return nil
	}
	ds := m.held
	m.held = nil
	m.withProfiles(ds)
	return m.Tx.Enqueue(ds)
}

func (m *memoTx) Enqueue(ds []*hookflow.Delivery) error {
	if !m.holding {
		m.withProfiles(ds)
		return m.Tx.Enqueue(ds)
	}
	m.held = append(m.held, ds...)
	return nil
}

// withProfiles gives each of ds the profile of its user that the memory
// holds as the store read it (Delivery.Profile): a sender handed ds in
// memory then renders without reading it again (BenchmarkGetUsers: 9 µs
// of CPU a profile, about 7 % of a delivery's at full speed). A profile
// this request wrote is left out: the memory holds it as the request
// built it, and a render must see it as the store gives it back.
//
// The hand-off passes a profile on only while its user has not been
// written since (package handoff): a sender that gets a delivery without
// it reads the profile as it is then, so a render sees what it would
// have seen without this.
func (m *memoTx) withProfiles(ds []*hookflow.Delivery) {
	for _, d := range ds {
		if d.Profile != nil || m.written[d.UserID] {
			continue
		}
		d.Profile = m.users[memoKey(hookflow.UserRef{BrazeID: d.UserID})]
	}
}

func (m *memoTx) LastSendAt(campaignID, userID string) (time.Time, bool, error) {
	if err := m.flush(); err != nil {
		return time.Time{}, false, err
	}
	return m.Tx.LastSendAt(campaignID, userID)
}

func (m *memoTx) CancelPending(campaignID, userID, reason string, now time.Time) (int, error) {
	if err := m.flush(); err != nil {
		return 0, err
	}
	return m.Tx.CancelPending(campaignID, userID, reason, now)
}
