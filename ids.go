package hookflow

import (
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/google/uuid"
)

// NewDeliveryID returns a new delivery id: a UUIDv7, so ids sort by creation
// time and the queue's index stays append-mostly.
func NewDeliveryID() string {
	return uuid.Must(uuid.NewV7()).String()
}

// NewUserID returns a new braze_id: 24 lowercase hex characters, the shape
// Braze's own ids have.
func NewUserID() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// NewDispatchID returns a new dispatch id, grouping the deliveries of one
// trigger or API call: "dsp_" and 24 hex digits, the first 12 the time in
// milliseconds and the rest random. Ids sort by creation time, as UUIDv7s
// do, so the index of deliveries by dispatch grows at its end: with random
// ids every delivery dirtied a page of its own of that index, which halved
// the store's enqueue rate once the table had outgrown a commit.
func NewDispatchID() string {
	return newDispatchID(time.Now())
}

func newDispatchID(at time.Time) string {
	var b [12]byte
	ms := uint64(at.UnixMilli())
	for i := range 6 {
		b[i] = byte(ms >> (40 - 8*i))
	}
	rand.Read(b[6:])
	return "dsp_" + hex.EncodeToString(b[:])
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
