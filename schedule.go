package hookflow

import (
	"encoding/json"
	"time"
)

// Kinds of a Schedule: which API send it makes when due.
const (
	// ScheduleCampaign is a scheduled /campaigns/trigger/send.
	ScheduleCampaign = "campaign"
	// ScheduleMessage is a scheduled /messages/send.
	ScheduleMessage = "message"
)

// Schedule states. A schedule waits (scheduled) until it is due, when the
// leader expands it into deliveries and marks it sent, or until a caller
// cancels it. Sent and cancelled are final.
const (
	ScheduleScheduled = "scheduled"
	ScheduleSent      = "sent"
	ScheduleCancelled = "cancelled"
)

// Schedule is an API send to be made at a later time: Braze's
// /campaigns/trigger/schedule/* and /messages/schedule/*.
type Schedule struct {
	// ID is "sch_" and random hex.
	ID   string
	Kind string
	// CampaignID is the campaign a ScheduleCampaign sends; for a
	// ScheduleMessage it is the optional campaign_id the caller gave.
	CampaignID string
	// DispatchID is assigned at creation and returned to the caller, so
	// the deliveries made when the schedule runs can be looked up by it.
	DispatchID string
	// Request is the validated API request body, without its schedule;
	// it is parsed again, and checked against the campaign as it is then,
	// when the schedule runs.
	Request json.RawMessage
	DueAt   time.Time
	State   string
	// SentAt is when the schedule ran; zero until then.
	SentAt time.Time
	// Error says why a schedule that ran sent nothing (its campaign was
	// gone or not active); empty when it sent.
	Error     string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ScheduleFilter selects schedules for listing. Zero fields do not filter.
// Results are ordered by DueAt, then ID.
type ScheduleFilter struct {
	State string
	// DueBefore keeps schedules with DueAt <= DueBefore.
	DueBefore time.Time
	Limit     int
}

// NewScheduleID returns a new schedule id.
func NewScheduleID() string {
	return "sch_" + randomHex(12)
}
