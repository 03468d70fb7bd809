package render

import (
	"crypto/sha256"
	"encoding/binary"

	"github.com/hookflow/hookflow"
)

// Data is everything one render can read.
type Data struct {
	// User is the recipient's profile; Attributes holds standard and
	// custom attributes. Nil renders every user tag as missing.
	User *hookflow.User
	// Payload holds the triggering event's properties, an API send's
	// trigger properties and a journey's context.
	Payload  hookflow.Payload
	Campaign Campaign
	SendID   string
	// Blocks returns the content of the content block with the given
	// name, false when there is none. Nil makes every
	// {{content_blocks.${name}}} fail the render.
	Blocks func(name string) (string, bool)
}

// Campaign is the message metadata a template reads as campaign.${...}.
type Campaign struct {
	APIID       string
	Name        string
	DispatchID  string
	MessageName string
}

// standardTags maps Braze's personalisation tag names to the attribute each
// reads, where the two differ. Every other standard attribute is read under
// its own name.
var standardTags = map[string]string{
	"email_address": "email",
	"phone_number":  "phone",
	"city":          "home_city",
	"date_of_birth": "dob",
}

// Namespaces of the Braze dialect.
const (
	nsCustom   = "custom_attribute"
	nsEvent    = "event_properties"
	nsTrigger  = "api_trigger_properties"
	nsContext  = "context"
	nsCampaign = "campaign"
)

// scope returns the top-level values of the dialect: the standard tags and
// the namespaces, each as a template reads it after ${ or before .${.
func (d Data) scope() map[string]any {
	// Sized for every name addUser may add, so the map is made once
	// rather than grown twice on each render.
	s := make(map[string]any, scopeSize)
	s[nsCustom], s[nsEvent] = map[string]any{}, map[string]any{}
	s[nsTrigger], s[nsContext] = orEmpty(d.Payload.TriggerProperties), orEmpty(d.Payload.Context)
	s[nsCampaign] = d.campaign()
	if ev := d.Payload.Event; ev != nil {
		s[nsEvent] = orEmpty(ev.Properties)
	}
	if d.User != nil {
		d.addUser(s)
	}
	return s
}

// scopeSize is how many names scope can hold: the namespaces, the
// standard attributes and tags, and the three ids addUser adds.
var scopeSize = 5 + len(hookflow.StandardAttributes) + len(standardTags) + 3

func (d Data) addUser(s map[string]any) {
	u := d.User
	attrs := orEmpty(u.Attributes)
	s[nsCustom] = attrs
	for name := range hookflow.StandardAttributes {
		if v, ok := attrs[name]; ok {
			s[name] = v
		}
	}
	for tag, attr := range standardTags {
		if v, ok := attrs[attr]; ok {
			s[tag] = v
		}
	}
	if u.ExternalID != "" {
		s["user_id"] = u.ExternalID
	}
	if u.ID != "" {
		s["braze_id"] = u.ID
		s["random_bucket_number"] = RandomBucket(u.ID)
	}
}

func (d Data) campaign() map[string]any {
	return map[string]any{
		"api_id":       d.Campaign.APIID,
		"name":         d.Campaign.Name,
		"dispatch_id":  d.Campaign.DispatchID,
		"message_name": d.Campaign.MessageName,
		"send_id":      d.SendID,
	}
}

// bindings returns what osteele/liquid renders with: the namespaces under
// their own names, so custom_attribute.${x} reads custom_attribute["x"],
// and everything under rootName for bare ${x}.
func (d Data) bindings() map[string]any {
	s := d.scope()
	b := map[string]any{rootName: s, blocksKey: &blockState{resolve: d.Blocks}}
	for _, ns := range []string{nsCustom, nsEvent, nsTrigger, nsContext, nsCampaign} {
		b[ns] = s[ns]
	}
	return b
}

// RandomBucket is Braze's random_bucket_number for a user id: a number from
// 0 to 9999 that is the same on every render for that user, so audiences can
// be split into stable random groups.
func RandomBucket(userID string) int64 {
	sum := sha256.Sum256([]byte(userID))
	return int64(binary.BigEndian.Uint64(sum[:8]) % 10000)
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}
