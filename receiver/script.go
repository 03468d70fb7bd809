package receiver

import (
	"net/http"
	"time"
)

// Response is how the receiver answers one request.
type Response struct {
	// Status defaults to 200.
	Status int
	Header http.Header
	Body   []byte
	// Delay holds the answer back this long; it ends early, with no answer,
	// when the client goes away or the receiver closes.
	Delay time.Duration
	// Trickle sends the status and headers at once, then Body one byte a
	// second followed by spaces, until the client goes away or the receiver
	// closes. It is the slow endpoint a sender's deadline must cut off.
	Trickle bool
	// Drop closes the connection with a reset instead of answering, as a
	// crashing server would.
	Drop bool
}

// A Script decides the answer to each request. n is the request's 1-based
// arrival number on its path (the path without the query), so a script can
// fail the first tries and accept later ones. The receiver calls it from many
// goroutines at once; it must not modify r.
type Script func(r *Request, n int) Response

// Always answers every request with status.
func Always(status int) Script {
	return func(*Request, int) Response {
		return Response{Status: status}
	}
}

// Sequence answers the n-th request on a path with statuses[n-1], and every
// later one with the last status: Sequence(500, 500, 200) fails twice, then
// accepts. With no statuses it answers 200.
func Sequence(statuses ...int) Script {
	return func(_ *Request, n int) Response {
		if len(statuses) == 0 {
			return Response{Status: http.StatusOK}
		}
		i := min(n, len(statuses)) - 1
		return Response{Status: statuses[i]}
	}
}

// Redirect answers every request with status and a Location header.
func Redirect(status int, location string) Script {
	return func(*Request, int) Response {
		return Response{
			Status: status,
			Header: http.Header{"Location": {location}},
		}
	}
}
