// Package intake parses and validates Braze's POST /users/track request and
// applies attribute operations to a profile. It is pure: it reads bytes and
// returns values; storage, triggers and HTTP serving live elsewhere.
//
// # What a request may hold
//
// The body is a JSON object with up to three arrays, attributes, events and
// purchases, each of at most MaxObjects objects. A request that is not a JSON
// object, has one of those keys with a non-array value, has more than
// MaxObjects objects in an array, or holds no object at all is refused as a
// whole (Parse returns a *hookflow.ValidationError). Other top-level keys are
// ignored. Any other problem concerns one object: it becomes an ItemError
// (Braze's errors[] entry) and the valid objects are still returned, as Braze
// processes them. An object with a problem is skipped whole and reported
// once, with the first problem found.
//
// Every object names its user by external_id, braze_id, user_alias
// ({alias_name, alias_label}) or email. If several are given, the first
// present in that order names the user (Braze's priority) and the others are
// ignored for identification. In an attributes object email is also a
// standard attribute, so it is set on the profile whether or not it named the
// user; this gives a profile created by email its email address.
// _update_existing_only is a boolean, false when absent, for all three kinds.
//
// An attributes object sets every other key as an attribute: a value is set,
// null deletes, {"inc": n} adds n (a missing attribute counts as 0),
// {"add": [...]} appends the values (duplicates kept), {"remove": [...]}
// removes every element equal to one of the values. Arrays hold at most
// MaxArrayLen elements. Standard attributes (hookflow.StandardAttributes) must
// be strings or null and cannot take inc/add/remove; these are checked:
// email (an address), time_zone (an IANA zone name), country (ISO-3166-1
// alpha-2, stored upper-case), dob (YYYY-MM-DD), gender (M, F, O, U, N or P,
// stored upper-case), email_subscribe and push_subscribe (opted_in,
// subscribed or unsubscribed), date_of_first_session and
// date_of_last_session (an ISO-8601 time, stored as RFC 3339 in UTC).
//
// An event has a non-empty name, an ISO-8601 time, an optional app_id and
// optional properties. A purchase has product_id, a three-letter currency
// (stored upper-case), a numeric price, a quantity from 1 to 100 (default 1),
// a time and optional properties. Times are RFC 3339 with or without
// fractional seconds, with a Z or ±hh:mm or ±hhmm offset, or without any zone
// (read as UTC); a time in the future becomes now. Property keys are
// non-empty, at most 255 characters, never start with '$', and are not
// "time" or "event_name"; top-level string values are at most 255
// characters; nested objects and arrays are allowed; the properties, encoded
// as JSON, are at most MaxPropertiesBytes.
//
// # Values
//
// Numbers are decoded exactly: a JSON integer literal (no fraction, no
// exponent) that fits in 64 bits becomes int64, any other number float64.
// So {"inc": 1} stores 1, not 1.0, and increments keep integers integral.
// Strings are valid UTF-8: encoding/json replaces invalid bytes (and lone
// surrogate escapes) with U+FFFD. An escaped NUL (\u0000) is valid UTF-8 and
// is kept as is; note that PostgreSQL text and jsonb refuse it, so a
// PostgreSQL store must escape or replace it.
//
// # Not implemented
//
// Braze's phone identifier, _merge_objects, push_tokens and
// subscription_groups are refused with an item error rather than misread as
// custom attributes. Braze's limits on custom attribute string length, nested
// attribute size and identifier length are not enforced (the body limit bounds
// them). The language attribute and currency codes are not checked against
// the ISO lists; emails are not lower-cased.
package intake
