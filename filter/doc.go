// Package filter decides who a campaign is for and which events fire it: the
// audience filter on profile attributes, in the JSON shape of Braze's
// connected-audience object, and the property filters of action-based
// triggers. Everything here is a pure function; the current time is passed
// in, never read.
//
// # Audience JSON
//
// An audience is one node. A node is a JSON object holding exactly one of
// these keys:
//
//	{"AND": [node, ...]}   every node matches (at least one node)
//	{"OR":  [node, ...]}   some node matches (at least one node)
//	{"custom_attribute": {"custom_attribute_name": "eye_color",
//	    "comparison": "equals", "value": "blue"}}
//	{"email_subscription_status": {"comparison": "is", "value": "opted_in"}}
//	{"push_subscription_status":  {"comparison": "is_not", "value": "unsubscribed"}}
//	{"last_used_app": {"comparison": "after", "value": "2019-07-22T13:17:55+0000"}}
//
// A single filter at the top, without AND or OR, is allowed, as in Braze.
// AND and OR nest at most MaxDepth (10) levels. Unknown keys anywhere are
// refused, so a typo cannot turn into a filter that tests something else.
// An empty body, whitespace or null means no audience: everyone.
//
// # Custom attribute comparisons
//
// Braze does not say the attribute's type in the filter; Hookflow takes the
// type from the comparison and the JSON type of "value":
//
//	exists, does_not_exist                   value ignored, may be absent
//	equals, not_equal                        string, number or boolean
//	matches_regex, does_not_match_regex      string: a regular expression
//	includes_value, does_not_include_value   string, number or boolean
//	greater_than, greater_than_or_equal_to,
//	less_than, less_than_or_equal_to         number
//	less_than_x_days_ago,
//	greater_than_x_days_ago,
//	less_than_x_days_in_the_future,
//	greater_than_x_days_in_the_future        number of days, 0 to 36500
//	after, before                            time string
//
// Matching is typed, as in Braze: a comparison only holds for an attribute
// of its type. A string "3" does not equal the number 3 and is not greater
// than 2; numbers compare numerically whatever their Go type (int64,
// float64, json.Number), so 3 equals 3.0. String equality is exact and
// case-sensitive. exists means present and not null.
//
// Each negative comparison (does_not_exist, not_equal, does_not_match_regex,
// does_not_include_value) is the exact complement of its positive one: it
// holds when the attribute is missing or of another type.
//
// Time attributes are strings in RFC 3339, ISO 8601 with a colon-less
// offset ("2019-07-22T13:17:55+0000"), "2006-01-02T15:04:05" (UTC) or
// "2006-01-02" (UTC midnight). A day is 24 hours from now, not a calendar
// day in the user's time zone. "x days ago" comparisons hold only for past
// times and "in the future" ones only for future times; after and before
// are exclusive.
//
// Regular expressions use Go's RE2 syntax. Braze's are Ruby regular
// expressions: lookarounds (?=…) (?!…) (?<=…) and backreferences are not
// supported here and are refused when the audience is parsed. Matching is
// unanchored and case-sensitive; write (?i) for case-insensitive.
//
// custom_attribute_name may also name a standard attribute such as country:
// Hookflow keeps both kinds in one map. Braze's connected audience cannot
// filter on standard attributes.
//
// # Subscription and last used app
//
// email_subscription_status reads the email_subscribe attribute and
// push_subscription_status push_subscribe. comparison is "is" or "is_not";
// value is opted_in, subscribed or unsubscribed, compared without regard to
// case. A profile without the attribute is "subscribed", Braze's default.
// The states are distinct: "is subscribed" does not match opted_in.
//
// last_used_app compares date_of_last_session with the value ("after" or
// "before", exclusive). A profile with no session matches neither.
//
// # Event property filters
//
// A hookflow.PropertyFilter's Property is a dotted path into nested objects
// ("cart.total"); a dot always separates names. A JSON null counts as
// missing. The operators:
//
//	equals, not_equals  typed equality, as for custom attributes
//	greater_than, less_than
//	                    numbers numerically; when the value is a time string,
//	                    a property that is also a time string compares as
//	                    an instant. Anything else never holds.
//	contains            substring of a string property (case-sensitive), or
//	                    an element of an array property
//	exists, does_not_exist
//
// A missing property fails every operator except does_not_exist and
// not_equals, which hold: a property that is absent is not equal to the
// value.
package filter
