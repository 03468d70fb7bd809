package api

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/hookflow/hookflow"
)

// exportEvents bounds how many of a user's events an export summarises.
const exportEvents = 10000

// exportTime is how Braze writes times in exports.
const exportTime = "2006-01-02T15:04:05.000Z07:00"

// exportFields are the fields_to_export Hookflow can fill. The standard
// attributes come from the profile under their Braze names.
var exportFields = []string{
	"braze_id", "external_id", "user_aliases", "created_at",
	"first_name", "last_name", "email", "phone", "country", "home_city",
	"language", "gender", "dob", "time_zone", "email_subscribe", "push_subscribe",
	"custom_attributes", "custom_events", "purchases", "total_revenue",
}

type exportRequest struct {
	ExternalIDs    []string         `json:"external_ids"`
	UserAliases    []hookflow.Alias `json:"user_aliases"`
	BrazeID        string           `json:"braze_id"`
	EmailAddress   string           `json:"email_address"`
	Phone          string           `json:"phone"`
	DeviceID       string           `json:"device_id"`
	FieldsToExport []string         `json:"fields_to_export"`
}

// exportResponse is Braze's answer to /users/export/ids.
type exportResponse struct {
	Users          []map[string]any `json:"users"`
	InvalidUserIDs []string         `json:"invalid_user_ids,omitempty"`
	Message        string           `json:"message"`
}

// exportIDs serves POST /users/export/ids: the named profiles with the
// fields asked for (all it has when fields_to_export is absent), and the
// identifiers that named nobody.
func (s *Server) exportIDs(r *http.Request) (int, any, error) {
	var req exportRequest
	if err := decode(r, maxJSONBytes, &req); err != nil {
		return 0, nil, err
	}
	refs, err := exportRefs(req)
	if err != nil {
		return 0, nil, err
	}
	fields, err := exportFieldSet(req.FieldsToExport)
	if err != nil {
		return 0, nil, err
	}

	out := exportResponse{Users: []map[string]any{}, Message: "success"}
	seen := map[string]bool{}
	for _, ref := range refs {
		u, err := s.store.GetUser(r.Context(), ref)
		if errors.Is(err, hookflow.ErrNotFound) {
			out.InvalidUserIDs = append(out.InvalidUserIDs, refName(ref))
			continue
		}
		if err != nil {
			return 0, nil, err
		}
		if seen[u.ID] {
			continue
		}
		seen[u.ID] = true
		row, err := s.exportUser(r, u, fields)
		if err != nil {
			return 0, nil, err
		}
		out.Users = append(out.Users, row)
	}
	return http.StatusCreated, out, nil
}

// exportRefs validates the identifiers of an export request.
func exportRefs(req exportRequest) ([]hookflow.UserRef, error) {
	if req.Phone != "" || req.DeviceID != "" {
		return nil, hookflow.Invalid("", "exporting users by phone or device_id is not supported; name them by external_ids, user_aliases, braze_id or email_address")
	}
	n := len(req.ExternalIDs) + len(req.UserAliases)
	if n > maxIdentityObjects {
		return nil, hookflow.Invalid("", "%d users named; at most %d are allowed per request", n, maxIdentityObjects)
	}
	var refs []hookflow.UserRef
	for i, id := range req.ExternalIDs {
		if id == "" {
			return nil, hookflow.Invalid(fmt.Sprintf("external_ids[%d]", i), "is empty")
		}
		refs = append(refs, hookflow.UserRef{ExternalID: id})
	}
	for i := range req.UserAliases {
		a := &req.UserAliases[i]
		if err := checkAlias(fmt.Sprintf("user_aliases[%d]", i), a.Name, a.Label); err != nil {
			return nil, err
		}
		refs = append(refs, hookflow.UserRef{Alias: a})
	}
	if req.BrazeID != "" {
		refs = append(refs, hookflow.UserRef{BrazeID: req.BrazeID})
	}
	if req.EmailAddress != "" {
		refs = append(refs, hookflow.UserRef{Email: req.EmailAddress})
	}
	if len(refs) == 0 {
		return nil, hookflow.Invalid("", "name the users to export in external_ids, user_aliases, braze_id or email_address")
	}
	return refs, nil
}

// exportFieldSet checks fields_to_export; empty means every field.
func exportFieldSet(names []string) (map[string]bool, error) {
	set := map[string]bool{}
	if len(names) == 0 {
		names = exportFields
	}
	for i, f := range names {
		if !slices.Contains(exportFields, f) {
			return nil, hookflow.Invalid(fmt.Sprintf("fields_to_export[%d]", i), "%q is not a field Hookflow can export", f)
		}
		set[f] = true
	}
	return set, nil
}

// refName is how an identifier that named nobody is listed in
// invalid_user_ids.
func refName(ref hookflow.UserRef) string {
	switch {
	case ref.ExternalID != "":
		return ref.ExternalID
	case ref.BrazeID != "":
		return ref.BrazeID
	case ref.Alias != nil:
		return ref.Alias.Name
	}
	return ref.Email
}

// exportUser renders one profile with Braze's field names, leaving out
// fields not asked for and standard attributes the profile lacks.
func (s *Server) exportUser(r *http.Request, u *hookflow.User,
	fields map[string]bool) (map[string]any, error) {
	row := map[string]any{}
	put := func(name string, v any) {
		if fields[name] {
			row[name] = v
		}
	}
	put("braze_id", u.ID)
	if u.ExternalID != "" {
		put("external_id", u.ExternalID)
	}
	aliases := u.Aliases
	if aliases == nil {
		aliases = []hookflow.Alias{}
	}
	put("user_aliases", aliases)
	put("created_at", u.CreatedAt.UTC().Format(exportTime))

	custom := map[string]any{}
	for k, v := range u.Attributes {
		if hookflow.StandardAttributes[k] {
			put(k, v)
		} else {
			custom[k] = v
		}
	}
	put("custom_attributes", custom)

	if fields["custom_events"] || fields["purchases"] || fields["total_revenue"] {
		evs, err := s.store.ListEvents(r.Context(), u.ID, exportEvents)
		if err != nil {
			return nil, err
		}
		events, purchases, revenue := summarise(evs)
		put("custom_events", events)
		put("purchases", purchases)
		put("total_revenue", revenue)
	}
	return row, nil
}

// eventSummary is one entry of an export's custom_events or purchases.
type eventSummary struct {
	Name  string `json:"name"`
	First string `json:"first"`
	Last  string `json:"last"`
	Count int    `json:"count"`
}

// summarise groups events by name: custom events and purchases (named by
// product id) apart, each with its first and last time and count, sorted
// by name; revenue is the sum of price × quantity of the purchases.
func summarise(evs []*hookflow.Event) (events, purchases []eventSummary, revenue float64) {
	type span struct {
		first, last time.Time
		count       int
	}
	spans := [2]map[string]*span{{}, {}}
	for _, e := range evs {
		kind := 0
		if e.Purchase != nil {
			kind = 1
			revenue += e.Purchase.Price * float64(max(e.Purchase.Quantity, 1))
		}
		sp := spans[kind][e.Name]
		if sp == nil {
			sp = &span{first: e.Time, last: e.Time}
			spans[kind][e.Name] = sp
		}
		sp.count++
		if e.Time.Before(sp.first) {
			sp.first = e.Time
		}
		if e.Time.After(sp.last) {
			sp.last = e.Time
		}
	}
	out := [2][]eventSummary{{}, {}}
	for kind, m := range spans {
		for _, name := range slices.Sorted(maps.Keys(m)) {
			sp := m[name]
			out[kind] = append(out[kind], eventSummary{Name: name,
				First: sp.first.UTC().Format(exportTime), Last: sp.last.UTC().Format(exportTime), Count: sp.count})
		}
	}
	return out[0], out[1], revenue
}
