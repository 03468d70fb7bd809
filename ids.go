package hookflow

import (
	"crypto/rand"
	"encoding/hex"

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
// trigger or API call.
func NewDispatchID() string {
	return "dsp_" + randomHex(12)
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
