package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/intake"
)

// Error is an error with the HTTP status and the message a caller sees,
// kept apart from the internal cause that only the log sees.
type Error struct {
	Status  int
	Message string
	// Errors are item-level details, shown as Braze's errors[] array.
	Errors any
	cause  error
}

func (e *Error) Error() string {
	if e.cause != nil {
		return e.Message + ": " + e.cause.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.cause }

func errorf(status int, format string, args ...any) *Error {
	return &Error{Status: status, Message: fmt.Sprintf(format, args...)}
}

// body is the JSON shape of every error response, Braze's:
// {"message": "...", "errors": [...]}.
type errorBody struct {
	Message string `json:"message"`
	Errors  any    `json:"errors,omitempty"`
}

// writeError is the one place an error becomes an HTTP status and body.
// The causes only the log sees name the request they belong to.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	var (
		ae *Error
		ve *hookflow.ValidationError
	)
	switch {
	case errors.As(err, &ae):
	case errors.As(err, &ve):
		ae = &Error{Status: http.StatusBadRequest, Message: ve.Error()}
	case errors.Is(err, intake.ErrTooLarge):
		// The rest of the body is unread: this connection cannot carry
		// another request, so it is closed rather than drained.
		w.Header().Set("Connection", "close")
		ae = &Error{Status: http.StatusRequestEntityTooLarge, Message: err.Error()}
	case errors.Is(err, intake.ErrBodyRead):
		// Usually nobody is left to read the answer; it is for the
		// client that sent a body shorter than its Content-Length.
		log.Debug("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		w.Header().Set("Connection", "close")
		ae = &Error{Status: http.StatusBadRequest, Message: err.Error()}
	// Handlers turn the not-found and conflict cases they expect into an
	// *Error naming the object; one reaching here unconverted carries the
	// store's text (a constraint or a serialisation failure, in the
	// driver's words), which is for the log, not the caller.
	case errors.Is(err, hookflow.ErrNotFound):
		log.Debug("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		ae = &Error{Status: http.StatusNotFound, Message: "not found: the request names an object that does not exist"}
	case errors.Is(err, hookflow.ErrConflict):
		log.Debug("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		ae = &Error{Status: http.StatusConflict, Message: "conflict: the request raced another change; retry it"}
	default:
		log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		ae = &Error{Status: http.StatusInternalServerError, Message: "internal error; the server log has the details"}
	}
	writeJSON(w, ae.Status, errorBody{Message: ae.Message, Errors: ae.Errors})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	// The status is sent by now; an error here is the caller hanging up
	// (or a value that cannot be JSON, which the handlers' tests catch),
	// and nothing useful can be answered.
	enc.Encode(v)
}

// maxJSONBytes bounds every JSON request body but /users/track's, which has
// its own limit.
const maxJSONBytes = 1 << 20

// decode reads a JSON body into v, refusing unknown fields, trailing data
// and bodies over max bytes, with messages that say where the problem is.
func decode(r *http.Request, max int64, v any) error {
	body, err := intake.ReadBody(r, max)
	if err != nil {
		return err
	}
	return decodeBytes(body, v)
}

func decodeBytes(body []byte, v any) error {
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return jsonError(err, body, v)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errorf(http.StatusBadRequest, "request body has data after the JSON value")
	}
	return nil
}

// jsonError turns an error decoding body into v into a message naming the
// place.
func jsonError(err error, body []byte, v any) error {
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
	)
	switch {
	case errors.Is(err, io.EOF):
		return errorf(http.StatusBadRequest, "request body is empty; expected a JSON object")
	case errors.As(err, &syn):
		return errorf(http.StatusBadRequest, "request body is not valid JSON: %v (at byte %d)", syn, syn.Offset)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "request body"
		}
		return errorf(http.StatusBadRequest, "%s: expected %s, got JSON %s", field, jsonKind(typ.Type), typ.Value)
	// encoding/json has no error type for DisallowUnknownFields: its text,
	// `json: unknown field "name"`, is all there is to match.
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		quoted := strings.TrimPrefix(err.Error(), "json: unknown field ")
		key, uerr := strconv.Unquote(quoted)
		if path, ok := unknownFieldPath(body, reflect.TypeOf(v), key); uerr == nil && ok && path != "" {
			return errorf(http.StatusBadRequest, "%s: unknown field %s", path, quoted)
		}
		return errorf(http.StatusBadRequest, "unknown field %s", quoted)
	}
	return errorf(http.StatusBadRequest, "request body: %v", err)
}

// jsonKind names what a Go type accepts in JSON terms, so a type error
// reads "expected an array of strings", not "expected []string".
func jsonKind(t reflect.Type) string {
	if t == reflect.TypeFor[json.Number]() {
		return "number"
	}
	switch t.Kind() {
	case reflect.Pointer:
		return jsonKind(t.Elem())
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "whole number"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		if e := t.Elem(); e.Kind() != reflect.Interface {
			return "array of " + plural(jsonKind(e))
		}
		return "array"
	case reflect.Map:
		if e := t.Elem(); e.Kind() != reflect.Interface {
			return "object of " + plural(jsonKind(e))
		}
		return "object"
	case reflect.Struct:
		return "object"
	}
	return "JSON value"
}

// plural makes a jsonKind name plural: "string" becomes "strings".
func plural(kind string) string {
	switch {
	case kind == "true or false":
		return "booleans"
	case strings.HasPrefix(kind, "array"), strings.HasPrefix(kind, "object"):
		if head, tail, ok := strings.Cut(kind, " of "); ok {
			return head + "s of " + tail
		}
	}
	return kind + "s"
}
