package render

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/osteele/liquid/expressions"
)

// rootName is the binding that holds every top-level value a template reads
// as ${name}. osteele/liquid has no syntax for a variable whose name is not
// an identifier, so ${Favorite Color} becomes __braze["Favorite Color"].
const rootName = "__braze"

// showFilter is appended to every output expression so values print the
// way Ruby Liquid prints them rather than the way Go's fmt does.
const showFilter = "__show"

// outputTag prints an output expression that spans lines: osteele/liquid
// only recognises {{ }} on one line, but Braze templates often break long
// filter chains.
const outputTag = "__out"

// sourceError is a problem found while rewriting a template, before
// osteele/liquid sees it.
type sourceError struct {
	line   int
	reason string
}

func (e *sourceError) Error() string { return fmt.Sprintf("line %d: %s", e.line, e.reason) }

// refusedTags are Braze tags Hookflow does not run. include is a standard
// Liquid tag, refused because it would read files.
var refusedTags = map[string]string{
	"connected_content": "connected_content is not supported yet",
	"content_blocks":    "a content block is included as {{content_blocks.${name}}}, not as a tag",
	"include":           "include is not supported",
}

var (
	abortArgs = regexp.MustCompile(`^\s*(?:\(\s*(?:'([^']*)'|"([^"]*)")?\s*\))?\s*$`)
	tagName   = regexp.MustCompile(`^\{%-?\s*([A-Za-z_]\w*)`)
	abortCall = regexp.MustCompile(`^(-?\s*)abort_message\s*`)
)

// rewrite turns Braze syntax into syntax osteele/liquid parses, keeping
// every newline where it was so line numbers in errors still match what the
// author wrote:
//
//   - a.${name} becomes a["name"] and a bare ${name} becomes __braze["name"];
//   - {{ expr }} becomes {{ expr | __show }}, or {% __out expr %} when it
//     spans lines;
//   - the arguments of abort_message are checked and left for the tag.
//
// Text inside raw and comment blocks is copied untouched.
func rewrite(src string) (string, error) {
	var out strings.Builder
	out.Grow(len(src) + 16)
	for i := 0; i < len(src); {
		open := nextDelim(src, i)
		if open < 0 {
			out.WriteString(src[i:])
			break
		}
		out.WriteString(src[i:open])

		isOutput := src[open+1] == '{'
		closer := "%}"
		if isOutput {
			closer = "}}"
		}
		end := findClose(src, open+2, closer)
		if end < 0 {
			return "", &sourceError{lineAt(src, open), fmt.Sprintf("%q was never closed", src[open:open+2])}
		}
		markup := src[open : end+2]
		converted, err := convertMarkup(markup, isOutput)
		if err != nil {
			return "", &sourceError{lineAt(src, open), err.Error()}
		}
		out.WriteString(converted)
		i = end + 2

		if name := verbatimTag(markup, isOutput); name != "" {
			j := verbatimEnd(src, i, name)
			out.WriteString(src[i:j])
			i = j
		}
	}
	return out.String(), nil
}

// Literal reports whether s holds no Liquid markup, no "{{" or "{%": it
// renders exactly as written, so it can be checked as sent when saved.
func Literal(s string) bool { return nextDelim(s, 0) < 0 }

// nextDelim returns the index of the next "{{" or "{%" at or after i, or -1.
func nextDelim(src string, i int) int {
	for {
		j := strings.IndexByte(src[i:], '{')
		if j < 0 || i+j+1 >= len(src) {
			return -1
		}
		i += j
		if c := src[i+1]; c == '{' || c == '%' {
			return i
		}
		i++
	}
}

// findClose returns the index of closer at or after i, skipping quoted
// strings and ${...} names so a "}}" inside them does not end the markup.
func findClose(src string, i int, closer string) int {
	for i < len(src) {
		switch c := src[i]; {
		case c == '\'' || c == '"':
			j := strings.IndexByte(src[i+1:], c)
			if j < 0 {
				return -1
			}
			i += j + 2
		case strings.HasPrefix(src[i:], "${"):
			j := strings.IndexByte(src[i:], '}')
			if j < 0 {
				return -1
			}
			i += j + 1
		case strings.HasPrefix(src[i:], closer):
			return i
		default:
			i++
		}
	}
	return -1
}

// convertMarkup rewrites one {{ ... }} or {% ... %}.
func convertMarkup(markup string, isOutput bool) (string, error) {
	if !isOutput {
		if err := checkTag(markup); err != nil {
			return "", err
		}
	}
	if isOutput {
		if tag, ok, err := convertBlock(markup[2 : len(markup)-2]); ok {
			return tag, err
		}
	}
	body, err := replaceNames(markup[2 : len(markup)-2])
	if err != nil {
		return "", err
	}
	switch {
	case isOutput && strings.Contains(body, "\n"):
		return multiLineOutput(body)
	case isOutput:
		body = addShow(body)
	default:
		// osteele/liquid needs a space between a tag's name and its
		// arguments; Braze writes abort_message('reason') without one.
		body = abortCall.ReplaceAllString(body, "${1}abort_message ")
	}
	return markup[:2] + body + markup[len(markup)-2:], nil
}

// checkTag refuses tags Hookflow does not run and malformed abort_message
// arguments, which osteele/liquid would only see at render time.
func checkTag(markup string) error {
	m := tagName.FindStringSubmatch(markup)
	if m == nil {
		return nil
	}
	if reason, ok := refusedTags[m[1]]; ok {
		return fmt.Errorf("%s", reason)
	}
	if m[1] == "abort_message" {
		args := strings.TrimSuffix(strings.TrimSuffix(markup[len(m[0]):], "%}"), "-")
		if !abortArgs.MatchString(args) {
			return fmt.Errorf("abort_message takes an optional quoted reason in parentheses, as abort_message('reason')")
		}
	}
	return nil
}

// abortReason extracts the reason from abort_message's arguments; "" when
// none was given.
func abortReason(args string) string {
	m := abortArgs.FindStringSubmatch(args)
	if m == nil {
		return ""
	}
	return m[1] + m[2]
}

// replaceNames rewrites the ${name} references of one markup body, outside
// string literals.
func replaceNames(body string) (string, error) {
	if !strings.Contains(body, "${") {
		return body, nil
	}
	var out strings.Builder
	for i := 0; i < len(body); {
		c := body[i]
		if c == '\'' || c == '"' {
			j := strings.IndexByte(body[i+1:], c)
			if j < 0 {
				out.WriteString(body[i:])
				break
			}
			out.WriteString(body[i : i+j+2])
			i += j + 2
			continue
		}
		if !strings.HasPrefix(body[i:], "${") {
			out.WriteByte(c)
			i++
			continue
		}
		j := strings.IndexByte(body[i:], '}')
		if j < 0 {
			return "", fmt.Errorf("${ without a closing }")
		}
		lit, err := nameLiteral(body[i+2 : i+j])
		if err != nil {
			return "", err
		}
		writeLookup(&out, lit)
		i += j + 1
	}
	return out.String(), nil
}

// writeLookup writes the lookup of a quoted name: an index on what precedes
// it when that is a "x." property access, else an index on the root.
func writeLookup(out *strings.Builder, lit string) {
	s := out.String()
	if strings.HasSuffix(s, ".") && len(s) > 1 && isNameByte(s[len(s)-2]) {
		out.Reset()
		out.WriteString(s[:len(s)-1])
		out.WriteString("[" + lit + "]")
		return
	}
	out.WriteString(rootName + "[" + lit + "]")
}

func isNameByte(c byte) bool {
	return c == '_' || c == ']' || c == '?' || c == '-' ||
		'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// nameLiteral quotes a ${...} name as a Liquid string literal. Liquid
// strings have no escapes, so a name holding both quote kinds cannot be
// written.
func nameLiteral(name string) (string, error) {
	switch {
	case name == "":
		return "", fmt.Errorf("empty name in ${}")
	case strings.ContainsAny(name, "\r\n"):
		return "", fmt.Errorf("line break inside ${%s}", strconv.Quote(name))
	case !strings.Contains(name, `"`):
		return `"` + name + `"`, nil
	case !strings.Contains(name, `'`):
		return `'` + name + `'`, nil
	}
	return "", fmt.Errorf("name %s holds both quote characters", strconv.Quote(name))
}

// multiLineOutput turns a {{ }} body that spans lines into the output tag,
// checking its expression now, as the parser would have.
func multiLineOutput(body string) (string, error) {
	lead, trail, expr := trimDashes(body)
	if strings.TrimSpace(expr) == "" {
		return "{{" + lead + " nil " + trail + "}}", nil
	}
	if _, err := expressions.Parse(expr); err != nil {
		return "", err
	}
	return "{%" + lead + " " + outputTag + " " + expr + " " + trail + "%}", nil
}

// trimDashes splits the whitespace-control dashes off a markup body.
func trimDashes(body string) (lead, trail, expr string) {
	expr = body
	if strings.HasPrefix(expr, "-") {
		lead, expr = "-", expr[1:]
	}
	if strings.HasSuffix(expr, "-") {
		trail, expr = "-", expr[:len(expr)-1]
	}
	return lead, trail, expr
}

// addShow appends the output filter to an output expression, keeping the
// whitespace-control dashes at either end. An empty expression, which Ruby
// Liquid prints as nothing, becomes nil.
func addShow(body string) string {
	lead, trail, expr := trimDashes(body)
	if strings.TrimSpace(expr) == "" {
		return lead + " nil " + trail
	}
	return lead + expr + " | " + showFilter + " " + trail
}

// verbatimTag returns "raw" or "comment" when markup opens a block whose
// text is not Liquid, else "".
func verbatimTag(markup string, isOutput bool) string {
	if isOutput {
		return ""
	}
	m := tagName.FindStringSubmatch(markup)
	if m != nil && (m[1] == "raw" || m[1] == "comment") {
		return m[1]
	}
	return ""
}

// verbatimEnd returns where the text of a raw or comment block starting at
// i ends: at its end tag, or at the end of the source (osteele/liquid then
// reports the missing end tag).
func verbatimEnd(src string, i int, name string) int {
	end := regexp.MustCompile(`\{%-?\s*end` + name + `\s*-?%\}`)
	loc := end.FindStringIndex(src[i:])
	if loc == nil {
		return len(src)
	}
	return i + loc[0]
}

// lineAt returns the 1-based line of byte offset i.
func lineAt(src string, i int) int {
	return strings.Count(src[:i], "\n") + 1
}
