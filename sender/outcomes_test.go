package sender

import (
	"testing"
	"time"

	"github.com/hookflow/hookflow"
)

func TestOutboxHandsOverEverythingAndHoldsBackWhenFull(t *testing.T) {
	o := newOutbox(3)
	outcome := func(id string) hookflow.Completion {
		return hookflow.Completion{Attempt: hookflow.Attempt{DeliveryID: id, Number: 1}}
	}
	for _, id := range []string{"a", "b", "c"} {
		o.put(outcome(id))
	}

	// Full: the fourth put waits until the writer takes the others.
	put := make(chan struct{})
	go func() {
		o.put(outcome("d"))
		close(put)
	}()
	select {
	case <-put:
		t.Fatal("put into a full outbox did not wait")
	case <-time.After(50 * time.Millisecond):
	}
	if !o.wait() {
		t.Fatal("wait = false with outcomes pending")
	}
	var ids []string
	for _, c := range o.take() {
		ids = append(ids, c.Attempt.DeliveryID)
	}
	if got := len(ids); got != 3 || ids[0] != "a" || ids[2] != "c" {
		t.Fatalf("taken %v, want [a b c]", ids)
	}
	select {
	case <-put:
	case <-time.After(5 * time.Second):
		t.Fatal("put still waiting after the outbox was emptied")
	}

	// Closed: what is pending is still handed over, then wait says done.
	o.close()
	if !o.wait() {
		t.Fatal("wait = false with d pending after close")
	}
	if got := o.take(); len(got) != 1 || got[0].Attempt.DeliveryID != "d" {
		t.Fatalf("taken after close %+v, want d", got)
	}
	if o.wait() {
		t.Error("wait = true on a closed, empty outbox")
	}
}
