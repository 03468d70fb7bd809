package intake

import (
	"cmp"
	"slices"
)

// Response is Braze's /users/track response body. A count is present only
// for an array the request held.
type Response struct {
	Message             string      `json:"message"`
	AttributesProcessed *int        `json:"attributes_processed,omitempty"`
	EventsProcessed     *int        `json:"events_processed,omitempty"`
	PurchasesProcessed  *int        `json:"purchases_processed,omitempty"`
	Errors              []ItemError `json:"errors,omitempty"`
}

// Response builds the answer to the request b came from. failed lists the
// valid objects that still could not be processed (an Apply clash, an
// unknown user with _update_existing_only); they are reported as errors and
// not counted as processed. The message is "success", as Braze answers when
// the request as a whole was accepted.
func (b *Batch) Response(failed []ItemError) Response {
	r := Response{Message: "success"}
	r.Errors = append(slices.Clone(b.Errors), failed...)
	sortItemErrors(r.Errors)

	count := func(name string, valid int) *int {
		if !b.present[name] {
			return nil
		}
		n := valid
		for _, f := range failed {
			if f.InputArray == name {
				n--
			}
		}
		return &n
	}
	r.AttributesProcessed = count(InputAttributes, len(b.Attributes))
	r.EventsProcessed = count(InputEvents, len(b.Events))
	r.PurchasesProcessed = count(InputPurchases, len(b.Purchases))
	return r
}

// arrayOrder is the order Braze processes the arrays in.
var arrayOrder = map[string]int{InputAttributes: 0, InputEvents: 1, InputPurchases: 2}

// sortItemErrors orders errors by array, then index.
func sortItemErrors(errs []ItemError) {
	slices.SortStableFunc(errs, func(a, b ItemError) int {
		if c := cmp.Compare(arrayOrder[a.InputArray], arrayOrder[b.InputArray]); c != 0 {
			return c
		}
		return cmp.Compare(a.Index, b.Index)
	})
}
