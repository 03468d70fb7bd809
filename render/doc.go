// Package render turns a webhook's Liquid templates into the HTTP request
// sent for one user, in Braze's dialect of Liquid, on
// github.com/osteele/liquid.
//
// # What a template can read
//
// A template reads only the Data of one render, nothing else: no files, no
// environment, no other users.
//
//   - Standard tags, {{${name}}}: first_name, last_name, email_address
//     (attribute email), phone_number (phone), city (home_city), country,
//     language, gender, date_of_birth (dob), time_zone, email_subscribe,
//     push_subscribe, date_of_first_session, date_of_last_session,
//     image_url, user_id (the external id), braze_id (the Hookflow id) and
//     random_bucket_number (0-9999, stable per user, derived from braze_id).
//     Every standard attribute is also readable under its stored name
//     (${email}, ${home_city}, …).
//   - {{custom_attribute.${name}}}: any attribute of the profile, standard
//     ones included, under its stored name.
//   - {{event_properties.${name}}}: the triggering event's properties;
//     nested values are reached with dots or brackets after the closing
//     brace, as in {{event_properties.${address}.city}}.
//   - {{api_trigger_properties.${name}}}: trigger_properties of an API send.
//   - {{context.${name}}}: a journey's context.
//   - {{campaign.${api_id}}}, ${name}, ${dispatch_id}, ${message_name} and
//     ${send_id}.
//   - {{content_blocks.${name}}}: the content block of that name, rendered
//     in place with everything above (see blocks.go). Data.Blocks supplies
//     the content; Check refuses a malformed reference, and BlockNames lets
//     the caller refuse one to a block that does not exist.
//
// ${...} works wherever an expression does: in output, in tags and in filter
// arguments. The name inside the braces is taken literally, spaces and
// punctuation included ({{custom_attribute.${Favorite Color}}}).
//
// # Tags and filters
//
// All standard Liquid tags of osteele/liquid, plus
// {% abort_message('reason') %}, which cancels the send of that user
// (Render returns *AbortError). No tag touches the network or the file
// system: connected_content is not implemented yet and is refused when a
// webhook is saved, and include is disabled. Braze's filters (json_escape,
// url_param_escape, url_escape, md5, sha1, sha2, base64_encode, the hmac_*
// family, property_accessor, number_with_delimiter, time_zone, date with %s
// and 'now', as_json_string, default) are added; numeric filters coerce
// strings the way Ruby Liquid does ("abc" counts as 0).
//
// # Output
//
// A value prints the way Braze's Ruby Liquid prints it: a hash as
// {"key"=>"value"}, an array as its elements joined with nothing between,
// nil as nothing. Rendered text is always valid UTF-8: invalid bytes become
// U+FFFD.
//
// Known differences from Braze: hash keys print sorted (profiles are stored
// as Go maps, so the order they were sent in is lost); a number that is
// integral is treated as an Integer, since JSON decoding cannot tell 2 from
// 2.0, so it prints without ".0" and divided_by on two such numbers
// divides as integers.
package render
