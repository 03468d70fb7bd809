package hookflow

import "time"

// User is one profile. Attributes holds both Braze's standard attributes
// (first_name, email, time_zone, …; see StandardAttributes) and custom ones,
// keyed by name, as JSON values: string, int64 (whole numbers), float64,
// bool, []any, map[string]any. Stores must keep whole numbers whole.
// Dates are kept as RFC 3339 strings.
type User struct {
	// ID is the Hookflow-assigned identifier, exposed as Braze's braze_id:
	// 24 lowercase hex characters.
	ID string
	// ExternalID is the caller's own identifier; empty for alias-only or
	// email-only profiles. Unique when set.
	ExternalID string
	// Aliases are (name, label) pairs; a label holds at most one name per
	// user and a (label, name) pair names at most one user.
	Aliases    []Alias
	Attributes map[string]any
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Email returns the user's email attribute, or "".
func (u *User) Email() string {
	s, _ := u.Attributes["email"].(string)
	return s
}

// Alias is Braze's user_alias object.
type Alias struct {
	Name  string `json:"alias_name"`
	Label string `json:"alias_label"`
}

// UserRef names a user the ways Braze's API does. Exactly one field is set.
type UserRef struct {
	ExternalID string
	BrazeID    string
	Alias      *Alias
	Email      string
}

// IsZero reports whether the reference names nobody.
func (r UserRef) IsZero() bool {
	return r.ExternalID == "" && r.BrazeID == "" && r.Alias == nil && r.Email == ""
}

// String renders the reference for logs and error messages.
func (r UserRef) String() string {
	switch {
	case r.ExternalID != "":
		return "external_id " + r.ExternalID
	case r.BrazeID != "":
		return "braze_id " + r.BrazeID
	case r.Alias != nil:
		return "user_alias " + r.Alias.Label + "/" + r.Alias.Name
	case r.Email != "":
		return "email " + r.Email
	}
	return "nobody"
}

// StandardAttributes are Braze's default profile attributes. Templates read
// them as {{${name}}}; everything else is a custom attribute read as
// {{custom_attribute.${name}}}. Both live in User.Attributes.
var StandardAttributes = map[string]bool{
	"first_name": true, "last_name": true, "email": true, "phone": true,
	"country": true, "home_city": true, "language": true, "gender": true,
	"dob": true, "time_zone": true, "email_subscribe": true,
	"push_subscribe": true, "date_of_first_session": true,
	"date_of_last_session": true, "image_url": true,
}

// Event is one custom event or purchase performed by a user.
type Event struct {
	ID     string
	UserID string
	// Name is the custom event name; for a purchase it is the product_id.
	Name       string
	Time       time.Time
	AppID      string
	Properties map[string]any
	// EncodedProperties, when not nil, is Properties as compact JSON, as
	// intake encoded them to check their size; a store may keep these
	// bytes rather than encode Properties again. Whoever changes
	// Properties after intake sets it to nil. It is not read back.
	EncodedProperties []byte
	// Purchase is set when the event is a purchase.
	Purchase   *Purchase
	ReceivedAt time.Time
}

// Purchase holds what a purchase adds to an event.
type Purchase struct {
	ProductID string  `json:"product_id"`
	Currency  string  `json:"currency"`
	Price     float64 `json:"price"`
	Quantity  int     `json:"quantity"`
}

// Size is about how many bytes u takes in memory, decoded: what holds
// profiles for a while counts them by it (the hand-off, package handoff).
// A profile of two short attributes measured 540 bytes; encoded as JSON
// it is a sixth of that.
func (u *User) Size() int {
	if u == nil {
		return 0
	}
	n := 120 + len(u.ID) + len(u.ExternalID)
	for _, a := range u.Aliases {
		n += 32 + len(a.Name) + len(a.Label)
	}
	return n + valueSize(u.Attributes)
}

// valueSize is about how many bytes v, a decoded JSON value, takes in
// memory: what it holds, and for a map or a slice its entries' room.
func valueSize(v any) int {
	switch x := v.(type) {
	case string:
		return 16 + len(x)
	case map[string]any:
		n := 48
		for k, e := range x {
			n += 80 + len(k) + valueSize(e)
		}
		return n
	case []any:
		n := 24
		for _, e := range x {
			n += 16 + valueSize(e)
		}
		return n
	}
	return 8 // a number, a boolean, null
}
