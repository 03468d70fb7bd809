package hookflow

import (
	"encoding/json"
	"runtime"
	"testing"
)

// Size stays near what a decoded profile takes in memory, measured: the
// hand-off bounds the memory it holds by it.
func TestUserSizeIsNearItsMemory(t *testing.T) {
	tests := []struct {
		name  string
		attrs string
	}{
		{"no attributes", `{}`},
		{"two short ones", `{"first_name":"User 1234","plan":"gold"}`},
		{"nested", `{"first_name":"Ann","pets":["cat","dog"],"address":{"city":"Lyon","zip":"69001"},"visits":7}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const n = 5000
			users := make([]*User, n)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			for i := range users {
				var attrs map[string]any
				if err := json.Unmarshal([]byte(tt.attrs), &attrs); err != nil {
					t.Fatal(err)
				}
				users[i] = &User{ID: "0123456789abcdef01234567", ExternalID: "u1234", Attributes: attrs}
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			measured := int(after.HeapAlloc-before.HeapAlloc) / n
			runtime.KeepAlive(users)

			size := users[0].Size()
			if size < measured/2 || size > measured*2 {
				t.Errorf("Size %d bytes, measured %d in memory: want within a factor of 2", size, measured)
			}
		})
	}
	if (*User)(nil).Size() != 0 {
		t.Error("a nil profile has a size")
	}
}
