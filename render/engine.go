package render

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/hookflow/hookflow"
	"github.com/osteele/liquid"
	lrender "github.com/osteele/liquid/render"
)

// DefaultAbortReason is the reason of an abort_message given none, the text
// Braze logs in that case.
const DefaultAbortReason = "{% abort_message %} called"

// AbortError reports that the template called abort_message: this user's
// send is cancelled, not failed.
type AbortError struct {
	Reason string
}

func (e *AbortError) Error() string { return "message aborted: " + e.Reason }

// Error reports a render failure of one part of the webhook. The delivery
// fails and must not be retried: rendering again gives the same result.
type Error struct {
	// Part names the part in the terms of Check, e.g. "webhook.url" or
	// "webhook.headers[1].value"; "webhook.body" for the body as a whole.
	Part   string
	Reason string
	// Err is the underlying error, when there is one.
	Err error
}

func (e *Error) Error() string { return "render " + e.Part + ": " + e.Reason }

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Engine compiles webhooks in Braze's Liquid dialect. It is safe for
// concurrent use; one per process is enough.
type Engine struct {
	liquid *liquid.Engine
	clock  hookflow.Clock
	// filters names every filter a template may use, so an unknown one is
	// refused when the webhook is saved, not at every send.
	filters map[string]bool
	// blocks caches parsed content blocks by their content.
	blocks blockCache
}

// NewEngine returns an Engine whose 'now' is the system clock.
func NewEngine() *Engine { return NewEngineWithClock(hookflow.SystemClock{}) }

// NewEngineWithClock returns an Engine whose 'now' (as in
// {{ 'now' | date: '%Y' }}) is read from clock.
func NewEngineWithClock(clock hookflow.Clock) *Engine {
	e := &Engine{liquid: liquid.NewEngine(), clock: clock, filters: map[string]bool{}}
	for _, name := range standardFilters {
		e.filters[name] = true
	}
	for name, fn := range brazeFilters(e.now) {
		e.addFilter(name, fn)
	}
	e.liquid.RegisterTag("abort_message", abortTag)
	e.liquid.RegisterTag(outputTag, outputTagRender)
	e.liquid.RegisterTag(blockTag, e.renderBlock)
	// include would read files; checkTag refuses it at save time, and this
	// keeps it refused should a template get past that.
	e.liquid.RegisterTag("include", func(lrender.Context) (string, error) {
		return "", errors.New("include is not supported")
	})
	return e
}

func (e *Engine) now() time.Time { return e.clock.Now() }

// addFilter registers a filter and lets templates use it.
func (e *Engine) addFilter(name string, fn any) {
	e.liquid.RegisterFilter(name, fn)
	e.filters[name] = true
}

// abortTag raises the AbortError that Render returns; osteele/liquid stops
// rendering at the first error a tag returns.
func abortTag(ctx lrender.Context) (string, error) {
	reason := abortReason(ctx.TagArgs())
	if reason == "" {
		reason = DefaultAbortReason
	}
	return "", &AbortError{Reason: reason}
}

// outputTagRender prints an output that spans lines, which osteele/liquid
// does not recognise as {{ }}; rewrite turns it into this tag.
func outputTagRender(ctx lrender.Context) (string, error) {
	v, err := ctx.EvaluateString(ctx.TagArgs())
	if err != nil {
		return "", err
	}
	return show(v), nil
}

// part is one compiled template of a webhook. A template without Liquid
// markup (a fixed URL, a header, a key) is its text, with no tpl: rendering
// it through osteele/liquid, which copies every binding first, cost as much
// as a template's, for the same bytes.
type part struct {
	field string
	tpl   *liquid.Template
	text  string
}

var (
	liquidPrefix = regexp.MustCompile(`^Liquid error(?: \(line \d+\))?: `)
	rootLookup   = regexp.MustCompile(rootName + `\[\\?["']([^"'\\]*)\\?["']\]`)
	showCall     = regexp.MustCompile(`\s*\|\s*` + showFilter + `\s*`)
	// strayEnd and crossedEnd are osteele/liquid's reasons for an end tag
	// with no block open or another block open, which name no parent:
	// "endif not inside  in" and "endif not inside ; immediate parent is for".
	strayEnd   = regexp.MustCompile(`^(end\w+) not inside  in`)
	crossedEnd = regexp.MustCompile(`^(end\w+) not inside ; immediate parent is (\w+) in`)
)

// parse compiles one template, reporting a problem as a ValidationError on
// field with the line number and the parser's reason.
func (e *Engine) parse(field, src string) (part, error) {
	if nextDelim(src, 0) < 0 {
		return part{field: field, text: strings.ToValidUTF8(src, "\uFFFD")}, nil
	}
	return e.parseMarkup(field, src)
}

// parseMarkup compiles src with osteele/liquid, markup or not.
func (e *Engine) parseMarkup(field, src string) (part, error) {
	rewritten, err := rewrite(src)
	if err != nil {
		return part{}, &hookflow.ValidationError{Field: field, Reason: err.Error()}
	}
	tpl, err := e.parseLiquid(src, rewritten)
	if err != nil {
		return part{}, &hookflow.ValidationError{Field: field, Reason: err.Error()}
	}
	if name, line := unknownFilter(src, e.filters); name != "" {
		return part{}, &hookflow.ValidationError{Field: field, Reason: fmt.Sprintf("line %d: unknown filter %q", line, name)}
	}
	return part{field: field, tpl: tpl}, nil
}

// parseLiquid parses the rewritten template, with errors as "line N:
// reason". osteele/liquid's lexer panics on some input, such as an integer
// literal beyond int64 (found by FuzzRender); that is a template error too,
// never a crashed request.
func (e *Engine) parseLiquid(src, rewritten string) (tpl *liquid.Template, err error) {
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		tpl = nil
		var num *strconv.NumError
		if rerr, ok := r.(error); ok && errors.As(rerr, &num) {
			err = fmt.Errorf("line %d: number %s is out of range", lineOf(src, num.Num), num.Num)
			return
		}
		err = fmt.Errorf("line 1: cannot be parsed: %v", r)
	}()
	// Line 1, not osteele/liquid's default 0, so errors count lines from 1.
	tpl, serr := e.liquid.ParseTemplateLocation([]byte(rewritten), "", 1)
	if serr != nil {
		return nil, errors.New(liquidReason(serr))
	}
	return tpl, nil
}

// lineOf returns the line of src where needle first appears, 1 if nowhere.
func lineOf(src, needle string) int {
	i := strings.Index(src, needle)
	if i < 0 {
		return 1
	}
	return 1 + strings.Count(src[:i], "\n")
}

// liquidReason formats an osteele/liquid error as "line N: reason".
func liquidReason(err liquid.SourceError) string {
	msg := liquidPrefix.ReplaceAllString(err.Error(), "")
	msg = showCall.ReplaceAllString(msg, "")
	msg = strings.Replace(msg, `syntax error in "" in`, "missing expression in", 1)
	msg = rootLookup.ReplaceAllString(msg, "$${$1}")
	msg = strayEnd.ReplaceAllString(msg, "$1 without a matching opening tag in")
	msg = crossedEnd.ReplaceAllString(msg, "$1 does not close the open {% $2 %} in")
	line := err.LineNumber()
	if line < 1 {
		line = 1
	}
	return fmt.Sprintf("line %d: %s", line, msg)
}

// render renders one part. osteele/liquid copies the bindings before each
// render, so an assign in one part is not seen by another (as in Braze,
// where each field renders alone) and one bindings map serves every part.
func (p part) render(vars map[string]any) (s string, err error) {
	// A filter or osteele/liquid itself may panic; that fails this part
	// only. The reason keeps the first line: osteele/liquid appends a stack.
	defer func() {
		if r := recover(); r != nil {
			if over := overBudget(r); over != nil {
				s, err = "", &Error{Part: p.field, Reason: over.Error(), Err: over}
				return
			}
			msg, _, _ := strings.Cut(fmt.Sprint(r), "\n")
			s, err = "", &Error{Part: p.field, Reason: "internal error: " + msg}
		}
	}()

	b, ok := vars[budgetKey].(*budget)
	if !ok {
		b = newBudget()
	}
	if p.tpl == nil {
		if err := b.spend(len(p.text)); err != nil {
			return "", &Error{Part: p.field, Reason: err.Error(), Err: err}
		}
		return p.text, nil
	}
	var out strings.Builder
	serr := p.tpl.FRender(budgetWriter{w: &out, b: b}, vars)
	if serr == nil {
		return strings.ToValidUTF8(out.String(), "\uFFFD"), nil
	}
	if abort := findAbort(serr); abort != nil {
		return "", abort
	}
	if over := overBudget(serr); over != nil {
		return "", &Error{Part: p.field, Reason: over.Error(), Err: over}
	}
	return "", &Error{Part: p.field, Reason: liquidReason(serr), Err: serr}
}

// findAbort digs an AbortError out of osteele/liquid's error wrapping, which
// exposes causes through Cause rather than Unwrap.
func findAbort(err error) *AbortError {
	for err != nil {
		var abort *AbortError
		if errors.As(err, &abort) {
			return abort
		}
		c, ok := err.(interface{ Cause() error })
		if !ok {
			return nil
		}
		err = c.Cause()
	}
	return nil
}
