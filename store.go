package hookflow

import (
	"context"
	"time"
)

// Store is the storage contract. Every backend (SQLite, PostgreSQL)
// implements it and passes the same conformance suite. Methods return
// ErrNotFound and ErrConflict rather than driver errors.
type Store interface {
	// Update runs fn in one write transaction. If fn returns an error, nothing
	// it wrote is kept. Intake and API sends run in Update so that an accepted
	// event and the deliveries it causes are stored together or not at all.
	// A backend may run concurrent calls in one transaction (both do,
	// package txgroup), each seeing the writes of those before it, as if
	// they ran in turn; Update returns only once the call's writes are
	// committed. So fn may run more than once (again in a transaction of
	// its own when its group's fails), and must not call Update on the
	// same store: it would wait for its own group.
	Update(ctx context.Context, fn func(Tx) error) error

	GetUser(ctx context.Context, ref UserRef) (*User, error)
	// GetUsers returns the profiles with the given braze ids, aliases
	// included, keyed by id; an id with no profile is simply absent, and
	// repeated ids are fine. It reads the users in one query and their
	// aliases in at most one (per chunk of many ids), so the sender can
	// render a whole batch without a read per delivery.
	GetUsers(ctx context.Context, ids []string) (map[string]*User, error)
	// ListEvents returns a user's events, newest first.
	ListEvents(ctx context.Context, userID string, limit int) ([]*Event, error)

	// CreateCampaign stores c, which carries its ID, with Version 1.
	CreateCampaign(ctx context.Context, c *Campaign) error
	// UpdateCampaign replaces the stored campaign whose ID and Version match
	// c, and increments c.Version; ErrConflict if the version moved on.
	UpdateCampaign(ctx context.Context, c *Campaign) error
	GetCampaign(ctx context.Context, id string) (*Campaign, error)
	ListCampaigns(ctx context.Context, f CampaignFilter) ([]*Campaign, error)
	CampaignStats(ctx context.Context, id string) (CampaignStats, error)

	// GetAPIMessage returns the webhook of a /messages/send dispatch.
	GetAPIMessage(ctx context.Context, dispatchID string) (*Webhook, error)

	CreateKey(ctx context.Context, k *APIKey) error
	// KeyByHash finds a key that is not revoked by the hash of its secret.
	KeyByHash(ctx context.Context, hash string) (*APIKey, error)
	ListKeys(ctx context.Context) ([]*APIKey, error)
	RevokeKey(ctx context.Context, id string, at time.Time) error

	// Claim leases up to limit deliveries that are due: pending with DueAt <=
	// now, or sending with an expired lease. Each comes back in StateSending
	// with LeaseUntil = now+lease, oldest due first.
	Claim(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]*Delivery, error)
	// SaveRendered stores rendered requests in one write. A result with an
	// AbortReason ends its delivery aborted; one with an Error ends it
	// failed, and both set UpdatedAt. A rendered request leaves the rest of
	// its delivery, UpdatedAt included, as the claim left it.
	SaveRendered(ctx context.Context, now time.Time, results []RenderResult) error
	// SaveAndClaim records w.Completions as Complete does, stores
	// w.Rendered as SaveRendered does and hands w.Deferrals back as Defer
	// does, then claims as Claim does, all in one write: if any part
	// fails, nothing is kept and nothing claimed (ErrConflict for an
	// attempt already recorded, ErrNotFound for an unknown delivery). A
	// store that reads the claimed deliveries' content after the write
	// hands them back to the queue when that read fails, so an error
	// still leaves nothing claimed. A sender stores the batch it has just
	// rendered, and the outcomes since its last claim, with the claim of
	// its next batch, so a batch costs it one write, not three.
	SaveAndClaim(ctx context.Context, now time.Time, w QueueWrite, limit int,
		lease time.Duration) ([]*Delivery, error)
	// Complete records attempts and next states in one write.
	Complete(ctx context.Context, now time.Time, cs []Completion) error
	// NextDue returns the earliest DueAt of a pending delivery, and the
	// earliest lease expiry of a sending one, whichever is sooner.
	NextDue(ctx context.Context) (time.Time, bool, error)
	// Defer returns claimed deliveries to the queue without an attempt:
	// each sending one becomes pending at its DueAt, attempts unchanged;
	// one whose Deferral names a LeaseUntil only while its lease still
	// ends then.
	Defer(ctx context.Context, now time.Time, ds []Deferral) error
	// PaceClaimed applies campaignID's delivery-speed limit, perMinute
	// attempt starts a minute, to deliveries of that campaign the caller
	// has just claimed. It runs as one transaction that takes the
	// campaign's pacing row first, so callers on every node reserve one at
	// a time and never get the same slot: it reads the campaign's Pacing
	// and the slots the deliveries hold for their next attempt, decides
	// with hookflow.Pace, and stores the outcome. A delivery to wait goes
	// back to the queue pending, due at its slot, holding it, its attempts
	// unchanged; one to abort ends aborted with hookflow.PaceAbortReason.
	// The caller attempts those to send. Decisions come in the order of ds.
	PaceClaimed(ctx context.Context, now time.Time, campaignID string, perMinute int, ds []*Delivery) ([]PaceDecision, error)
	// ReleasePaced gives back the slots held by campaignID's waiting
	// deliveries and makes those deliveries due at now, so they are paced
	// again under the campaign's current limit. Call it when the limit
	// changes.
	ReleasePaced(ctx context.Context, now time.Time, campaignID string) error
	// QueueStats counts deliveries due, scheduled and sending at now.
	QueueStats(ctx context.Context, now time.Time) (QueueStats, error)
	// Replay makes the failed deliveries f selects (or the one failed or
	// delivered delivery it names) pending again with the same ID and
	// stored request, due spacing apart from now, oldest first, and returns
	// how many matched; a dry run only counts. A named delivery in another
	// state is ErrConflict.
	Replay(ctx context.Context, f ReplayFilter, now time.Time, dryRun bool, spacing time.Duration) (int, error)

	ListDeliveries(ctx context.Context, f DeliveryFilter) ([]*Delivery, error)
	// GetDelivery returns a delivery and its attempts, oldest first.
	GetDelivery(ctx context.Context, id string) (*Delivery, []Attempt, error)

	// CreateSchedule stores sc, which carries its ID; ErrConflict if the ID
	// is taken.
	CreateSchedule(ctx context.Context, sc *Schedule) error
	// UpdateSchedule replaces the request and due time of a schedule that
	// is still scheduled, and sets UpdatedAt; ErrNotFound for an unknown
	// ID, ErrConflict once it was sent or cancelled.
	UpdateSchedule(ctx context.Context, sc *Schedule) error
	// CancelSchedule cancels a scheduled schedule at now; cancelling a
	// cancelled one changes nothing. ErrNotFound for an unknown ID,
	// ErrConflict once it was sent.
	CancelSchedule(ctx context.Context, id string, now time.Time) error
	GetSchedule(ctx context.Context, id string) (*Schedule, error)
	ListSchedules(ctx context.Context, f ScheduleFilter) ([]*Schedule, error)

	// CreateContentBlock stores b, which carries its ID; ErrConflict if the
	// ID or the name is taken.
	CreateContentBlock(ctx context.Context, b *ContentBlock) error
	// UpdateContentBlock replaces the name, description, content, state,
	// tags and UpdatedAt of the block with b's ID; ErrNotFound for an
	// unknown ID, ErrConflict if the new name is another block's.
	UpdateContentBlock(ctx context.Context, b *ContentBlock) error
	GetContentBlock(ctx context.Context, id string) (*ContentBlock, error)
	GetContentBlockByName(ctx context.Context, name string) (*ContentBlock, error)
	// ListContentBlocks returns the blocks f selects, oldest first.
	ListContentBlocks(ctx context.Context, f ContentBlockFilter) ([]*ContentBlock, error)

	Close() error
}

// HandOffer is a Store that can pass the deliveries it enqueues, due at
// once, straight to this process's sender, without the sender claiming
// them from the table and reading their content back.
//
// Between HandOff and stop, Enqueue stores each delivery whose DueAt is
// not after its CreatedAt, while fewer than max (and a few MiB of
// payloads) are held, already in StateSending with LeaseUntil =
// CreatedAt+lease, and keeps it once its transaction commits. Claim and
// SaveAndClaim hand out those kept after what they claim from the table:
// at least half of a limit of two or more goes to the table's due
// deliveries while both have some, so neither waits long on the other. A
// held delivery comes back as the table would return it (its Payload in
// the store's stored form, Payload.StoredForm or StoredFormFloatsKept),
// except that UpdatedAt stays its CreatedAt.
//
// One held longer than a tenth of its lease, counted from CreatedAt, is
// handed back to the table instead, due as it was, so no attempt starts
// on a lease that may run out under it; so is one held that long while no
// claim comes, within a twentieth of the lease more. stop makes every
// delivery still held pending again. Each hand-back names the lease given (see
// Deferral.LeaseUntil): a delivery whose lease expired while held, and
// that a claim from the table took since, is left to that claim. If the
// process dies, held deliveries wait for their leases to expire, as
// claimed ones do.
type HandOffer interface {
	HandOff(lease time.Duration, max int) (stop func(ctx context.Context) error)
}

// Tx is the view of the store inside one write transaction. It is bound to
// the context given to Update.
type Tx interface {
	FindUser(ref UserRef) (*User, error)
	// FindUsersByExternalID returns the profiles with the given external
	// ids, aliases included, keyed by external id; an id with no profile is
	// simply absent, and repeated ids are fine. It reads them in a few
	// queries, however many ids, so that a /users/track batch resolves its
	// users at once rather than one query per item.
	FindUsersByExternalID(ids []string) (map[string]*User, error)
	// InsertUser stores a new profile with its aliases.
	//
	// A store may report the errors of InsertUser and UpdateUser
	// (ErrConflict, ErrNotFound) from a later call of the same Tx, or from
	// Update itself, instead: the PostgreSQL store sends a request's
	// profile writes to the server together. The outcome is the same:
	// Update fails, and nothing of it is kept.
	InsertUser(u *User) error
	// UpdateUser replaces the profile's external id, aliases and attributes
	// and sets UpdatedAt.
	UpdateUser(u *User) error
	// EachUser calls fn for every profile, in ID order, stopping at the
	// first error.
	EachUser(fn func(*User) error) error
	InsertEvents(evs []*Event) error

	GetCampaign(id string) (*Campaign, error)
	// TriggeredCampaigns returns the active action-based campaigns whose
	// trigger matches ev (filters not applied).
	TriggeredCampaigns(ev *Event) ([]*Campaign, error)
	// ExceptionCampaigns returns the action-based campaigns, in any state,
	// that list eventName among their exception events: a paused or archived
	// campaign's delayed sends still go out, so its exceptions must still
	// cancel them.
	ExceptionCampaigns(eventName string) ([]*Campaign, error)

	// LastSendAt returns when the user was last enqueued a delivery of the
	// campaign that was not aborted or cancelled.
	LastSendAt(campaignID, userID string) (time.Time, bool, error)
	// Enqueue stores ds. A store may keep their payloads' maps to hand the
	// deliveries to its sender (HandOffer): the caller must not change
	// them afterwards.
	Enqueue(ds []*Delivery) error
	// CancelPending cancels the user's pending deliveries of the campaign
	// that have made no attempt yet, recording reason; returns how many.
	CancelPending(campaignID, userID, reason string, now time.Time) (int, error)
	SaveAPIMessage(dispatchID string, w Webhook, now time.Time) error

	// DueSchedules returns up to limit scheduled schedules with DueAt <=
	// now, earliest first, and holds them for this transaction: a
	// concurrent DueSchedules skips them, so one schedule runs once even
	// when two leaders briefly overlap.
	DueSchedules(now time.Time, limit int) ([]*Schedule, error)
	// MarkScheduleSent ends a scheduled schedule as sent at now, with the
	// reason it sent nothing when errMsg is not empty; ErrConflict if it is
	// no longer scheduled.
	MarkScheduleSent(id string, now time.Time, errMsg string) error

	// AddAlias gives the user one more alias and sets UpdatedAt;
	// ErrNotFound for an unknown user, ErrConflict when the (label, name)
	// pair names a user already or the user has a name for that label.
	AddAlias(userID string, a Alias) error
	// DeleteUser deletes a profile with its aliases and events; its
	// deliveries stay in the activity log. ErrNotFound for an unknown id.
	DeleteUser(id string) error
	// MergeUser moves the events and deliveries of profile from to profile
	// into, then deletes from with its aliases. Copying attributes and
	// aliases is the caller's part (UpdateUser after the merge).
	// ErrNotFound when either profile is unknown.
	MergeUser(from, into string) error
}

// UserLocker is implemented by a Tx whose transactions run beside other
// writers (PostgreSQL; SQLite has one writer at a time and needs no lock).
// LockUsers locks the existing profiles refs name until the transaction
// ends. Writers read a profile, change it in Go and write it whole: two
// requests doing so at once would each write what they read, and the last
// would erase the other's change. A writer locks every profile it may
// change first, in one call: the locks are taken in one statement in braze
// id order, so two writers locking overlapping sets cannot deadlock. Refs
// that name no one are ignored. A profile another writer creates meanwhile
// is not locked: this writer's insert of it, or FindUser finding it, fails
// with ErrConflict, and the write is to be run again.
type UserLocker interface {
	LockUsers(refs []UserRef) error
}

// ContentBlock is a named piece of Liquid that templates include as
// {{content_blocks.${name}}}, as in Braze. It is read at every render, so an
// edit reaches every message that uses it on its next render.
type ContentBlock struct {
	ID          string
	Name        string
	Description string
	Content     string
	// State is "active" or "draft".
	State     string
	Tags      []string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ContentBlockFilter selects content blocks for listing by UpdatedAt
// (inclusive bounds). Zero fields do not filter.
type ContentBlockFilter struct {
	ModifiedAfter  time.Time
	ModifiedBefore time.Time
	Limit          int
	Offset         int
}

// CampaignFilter selects campaigns for listing. Zero fields do not filter.
type CampaignFilter struct {
	State string
	Limit int
}

// APIKey is a REST API key. Only the SHA-256 of its secret is stored.
type APIKey struct {
	ID   string
	Name string
	// Hash is the hex SHA-256 of the whole secret.
	Hash string
	// Prefix is the first characters of the secret, shown to help people
	// tell keys apart.
	Prefix string
	Scopes []string
	// AllowedIPs, when not empty, are the CIDRs (or single addresses)
	// callers of this key must come from, as Braze's IP allow-list.
	AllowedIPs []string
	CreatedAt  time.Time
	RevokedAt  time.Time
}

// Allows reports whether the key grants scope.
func (k *APIKey) Allows(scope string) bool {
	for _, s := range k.Scopes {
		if s == scope || s == ScopeAll {
			return true
		}
	}
	return false
}

// Scopes use Braze's permission names for Braze's endpoints and hookflow.*
// names for Hookflow's own management API.
const (
	ScopeAll                  = "all"
	ScopeUsersTrack           = "users.track"
	ScopeMessagesSend         = "messages.send"
	ScopeCampaignsTriggerSend = "campaigns.trigger.send"

	ScopeCampaignsScheduleCreate = "campaigns.trigger.schedule.create"
	ScopeCampaignsScheduleUpdate = "campaigns.trigger.schedule.update"
	ScopeCampaignsScheduleDelete = "campaigns.trigger.schedule.delete"
	ScopeMessagesScheduleCreate  = "messages.schedule.create"
	ScopeMessagesScheduleUpdate  = "messages.schedule.update"
	ScopeMessagesScheduleDelete  = "messages.schedule.delete"
	ScopeScheduledBroadcasts     = "messages.schedule_broadcasts"

	ScopeCampaignsList       = "campaigns.list"
	ScopeCampaignsDetails    = "campaigns.details"
	ScopeCampaignsDataSeries = "campaigns.data_series"
	ScopeSendsIDCreate       = "sends.id.create"
	ScopeSendsDataSeries     = "sends.data_series"
	ScopeTransactionalSend   = "transactional.send"

	ScopeUsersAliasNew  = "users.alias.new"
	ScopeUsersIdentify  = "users.identify"
	ScopeUsersDelete    = "users.delete"
	ScopeUsersExportIDs = "users.export.ids"

	ScopeContentBlocksCreate = "content_blocks.create"
	ScopeContentBlocksUpdate = "content_blocks.update"
	ScopeContentBlocksList   = "content_blocks.list"
	ScopeContentBlocksInfo   = "content_blocks.info"

	ScopeCampaignsRead   = "hookflow.campaigns.read"
	ScopeCampaignsWrite  = "hookflow.campaigns.write"
	ScopeDeliveriesRead  = "hookflow.deliveries.read"
	ScopeDeliveriesWrite = "hookflow.deliveries.write"
	ScopeUsersRead       = "hookflow.users.read"
)

// KnownScopes lists every scope a key can be given, in the order help and
// errors show them: all, then Braze's by family, then Hookflow's own.
var KnownScopes = []string{
	ScopeAll,
	ScopeUsersTrack, ScopeUsersAliasNew, ScopeUsersIdentify, ScopeUsersDelete, ScopeUsersExportIDs,
	ScopeMessagesSend, ScopeCampaignsTriggerSend, ScopeTransactionalSend,
	ScopeCampaignsScheduleCreate, ScopeCampaignsScheduleUpdate, ScopeCampaignsScheduleDelete,
	ScopeMessagesScheduleCreate, ScopeMessagesScheduleUpdate, ScopeMessagesScheduleDelete,
	ScopeScheduledBroadcasts,
	ScopeCampaignsList, ScopeCampaignsDetails, ScopeCampaignsDataSeries,
	ScopeSendsIDCreate, ScopeSendsDataSeries,
	ScopeContentBlocksCreate, ScopeContentBlocksUpdate, ScopeContentBlocksList, ScopeContentBlocksInfo,
	ScopeCampaignsRead, ScopeCampaignsWrite, ScopeDeliveriesRead, ScopeDeliveriesWrite, ScopeUsersRead,
}
