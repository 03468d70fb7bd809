package render

import (
	"errors"
	"fmt"
	"io"
	"time"
)

// A template is a small program and can loop: one render (every part of one
// request) may write at most maxRenderBytes and must finish writing within
// maxRenderTime, or it fails that delivery. 1 MiB is fifty times what the
// Standard Webhooks spec advises for a payload; a real webhook renders in
// well under a millisecond.
//
// Known gap: the budget is charged where output is written, so a loop that
// only assigns, or writes into a capture (osteele/liquid's capture buffers
// on its own and cannot be replaced), is bounded by its iteration count
// alone.
const (
	maxRenderBytes = 1 << 20
	maxRenderTime  = 2 * time.Second
)

var (
	errRenderTooLarge = fmt.Errorf("output is larger than %d KiB", maxRenderBytes>>10)
	errRenderTooSlow  = fmt.Errorf("rendering took longer than %s", maxRenderTime)
)

// budgetKey is the binding that carries the budget of a render to each of
// its parts.
const budgetKey = "__hookflow_budget"

// budget is what is left to one render.
type budget struct {
	deadline time.Time
	written  int
}

func newBudget() *budget { return &budget{deadline: time.Now().Add(maxRenderTime)} }

// spend charges n bytes written, and the time so far.
func (b *budget) spend(n int) error {
	b.written += n
	if b.written > maxRenderBytes {
		return errRenderTooLarge
	}
	if time.Now().After(b.deadline) {
		return errRenderTooSlow
	}
	return nil
}

// budgetWriter charges every write to a budget before passing it on; a
// write over budget fails, which stops the render.
type budgetWriter struct {
	w io.Writer
	b *budget
}

func (w budgetWriter) Write(p []byte) (int, error) {
	if err := w.b.spend(len(p)); err != nil {
		return 0, err
	}
	return w.w.Write(p)
}

// overBudget finds a budget error in what osteele/liquid returned or
// panicked with (it panics when the final flush of a render fails).
func overBudget(v any) error {
	err, ok := v.(error)
	if !ok {
		return nil
	}
	for _, target := range []error{errRenderTooLarge, errRenderTooSlow} {
		if errors.Is(err, target) {
			return target
		}
	}
	for err != nil {
		if c, ok := err.(interface{ Cause() error }); ok && c.Cause() != nil && c.Cause() != err {
			err = c.Cause()
		} else {
			err = errors.Unwrap(err)
		}
		if errors.Is(err, errRenderTooLarge) || errors.Is(err, errRenderTooSlow) {
			return err
		}
	}
	return nil
}
