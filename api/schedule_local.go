package api

import (
	"encoding/json"
	"fmt"
	"time"
	// Embedded so users' time_zone names resolve the same on a host (or in
	// a container) without a zoneinfo database.
	_ "time/tzdata"

	"github.com/hookflow/hookflow"
)

// The widest UTC offsets of any zone: Pacific/Kiritimati is UTC+14 and
// Etc/GMT+12 is UTC−12. A wall-clock time occurs first 14 h before it does
// in UTC and last 12 h after.
const (
	earliestZoneOffset = 14 * time.Hour
	latestZoneOffset   = 12 * time.Hour
)

// localTimeKey is the key a local-time schedule's stored request carries
// its wall-clock time under (as written, without a zone). The Schedule row
// has no column for it; the key is removed again before the request is
// decoded, so callers can never send it themselves.
const localTimeKey = "hookflow_in_local_time"

// localTimeLayout writes a wall-clock time to the microsecond stores keep.
const localTimeLayout = "2006-01-02T15:04:05.999999"

// scheduleWhen is a validated schedule object: the instant the schedule is
// due for expansion and, for in_local_time, the wall-clock time each user
// gets it at in their own zone (zero otherwise).
type scheduleWhen struct {
	due  time.Time
	wall time.Time
}

// localWhen reads t's UTC digits as a wall-clock time. It is due when that
// time occurs in the first zone, and refused once it has passed in every
// zone, as Braze refuses it.
func localWhen(t, now time.Time) (scheduleWhen, error) {
	if t.Add(latestZoneOffset).Before(now) {
		return scheduleWhen{}, hookflow.Invalid("schedule.time", "has passed in every time zone (in_local_time reads it as each user's local time)")
	}
	return scheduleWhen{due: t.Add(-earliestZoneOffset), wall: t}, nil
}

// withLocalTime returns a stored request body carrying wall under
// localTimeKey, or without the key when wall is zero.
func withLocalTime(body json.RawMessage, wall time.Time) (json.RawMessage, error) {
	fields := map[string]json.RawMessage{}
	if err := json.Unmarshal(body, &fields); err != nil {
		return nil, fmt.Errorf("decoding scheduled request: %w", err)
	}
	delete(fields, localTimeKey)
	if !wall.IsZero() {
		v, _ := json.Marshal(wall.Format(localTimeLayout))
		fields[localTimeKey] = v
	}
	out, err := json.Marshal(fields)
	if err != nil {
		return nil, fmt.Errorf("encoding scheduled request: %w", err)
	}
	return out, nil
}

// splitLocalTime returns a stored request body without localTimeKey and
// the wall-clock time it carried (zero for a UTC schedule).
func splitLocalTime(body json.RawMessage) (json.RawMessage, time.Time, error) {
	fields := map[string]json.RawMessage{}
	if err := json.Unmarshal(body, &fields); err != nil {
		return nil, time.Time{}, fmt.Errorf("decoding scheduled request: %w", err)
	}
	raw, ok := fields[localTimeKey]
	if !ok {
		return body, time.Time{}, nil
	}
	var v string
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, time.Time{}, fmt.Errorf("decoding %s: %w", localTimeKey, err)
	}
	wall, err := time.Parse(localTimeLayout, v)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("decoding %s: %w", localTimeKey, err)
	}
	rest, err := withLocalTime(body, time.Time{})
	return rest, wall, err
}

// localDueAt returns the per-user due time of a local-time schedule: wall
// in the user's time_zone attribute (an IANA name; a user without one, or
// with one Go does not know, gets UTC, where Braze would use the company's
// zone). A user whose local time had already passed when the schedule was
// made (since: its creation or last update) is skipped: a message meant
// for 09:00 is not sent at 15:00 instead. A user whose time passed only
// while the schedule waited for its runner (the first zones fall due at
// the very moment the schedule does; a leader may be changing hands) is
// sent at once, late by that wait, rather than lost.
func localDueAt(wall, since time.Time) func(u *hookflow.User) time.Time {
	zones := map[string]*time.Location{}
	return func(u *hookflow.User) time.Time {
		name, _ := u.Attributes["time_zone"].(string)
		loc, ok := zones[name]
		if !ok {
			loc = userLocation(name)
			zones[name] = loc
		}
		at := inZone(wall, loc)
		if at.Before(since) {
			return time.Time{}
		}
		return at
	}
}

// inZone returns the instant wall's digits name in loc. A time that a
// spring change skips (02:30 when clocks go from 02:00 to 03:00) is moved
// forward by the gap, to 03:30, as a wall clock would be.
func inZone(wall time.Time, loc *time.Location) time.Time {
	y, mo, d := wall.Date()
	h, mi, sec := wall.Clock()
	at := time.Date(y, mo, d, h, mi, sec, wall.Nanosecond(), loc)
	shown := time.Date(at.Year(), at.Month(), at.Day(), at.Hour(), at.Minute(), at.Second(), at.Nanosecond(), time.UTC)
	if gap := wall.Sub(shown); gap > 0 {
		at = at.Add(gap)
	}
	return at.UTC()
}

// userLocation loads a time_zone attribute; "" and unknown names are UTC.
// "Local" would be the server's own zone, which says nothing of the user.
func userLocation(name string) *time.Location {
	if name == "" || name == "Local" {
		return time.UTC
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return time.UTC
	}
	return loc
}
