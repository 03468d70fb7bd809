package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/hookflow/hookflow"
)

type userView struct {
	BrazeID    string           `json:"braze_id"`
	ExternalID string           `json:"external_id,omitempty"`
	Aliases    []hookflow.Alias `json:"user_aliases,omitempty"`
	Attributes map[string]any   `json:"attributes"`
	CreatedAt  time.Time        `json:"created_at"`
	UpdatedAt  time.Time        `json:"updated_at"`
	Events     []eventView      `json:"recent_events"`
}

type eventView struct {
	Name       string             `json:"name"`
	Time       time.Time          `json:"time"`
	Properties map[string]any     `json:"properties,omitempty"`
	Purchase   *hookflow.Purchase `json:"purchase,omitempty"`
}

// recentEvents is how many events a user view lists.
const recentEvents = 50

// getUser serves GET /v1/users/{id}, where id is an external id or, failing
// that, a braze_id.
func (s *Server) getUser(r *http.Request) (int, any, error) {
	id := r.PathValue("id")
	u, err := s.store.GetUser(r.Context(), hookflow.UserRef{ExternalID: id})
	if errors.Is(err, hookflow.ErrNotFound) {
		u, err = s.store.GetUser(r.Context(), hookflow.UserRef{BrazeID: id})
	}
	if errors.Is(err, hookflow.ErrNotFound) {
		return 0, nil, errorf(http.StatusNotFound, "no user with external_id or braze_id %q", id)
	}
	if err != nil {
		return 0, nil, err
	}
	evs, err := s.store.ListEvents(r.Context(), u.ID, recentEvents)
	if err != nil {
		return 0, nil, err
	}

	v := userView{
		BrazeID: u.ID, ExternalID: u.ExternalID, Aliases: u.Aliases, Attributes: u.Attributes,
		CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt, Events: []eventView{},
	}
	for _, e := range evs {
		v.Events = append(v.Events, eventView{Name: e.Name, Time: e.Time, Properties: e.Properties, Purchase: e.Purchase})
	}
	return http.StatusOK, v, nil
}
