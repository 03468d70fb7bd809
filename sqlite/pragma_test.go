package sqlite

import "testing"

// TestWALAutocheckpoint checks that the writer checkpoints at
// walAutocheckpoint pages, not at SQLite's default.
func TestWALAutocheckpoint(t *testing.T) {
	s := openInternal(t)
	var n int
	if err := s.write.DB.QueryRow(`PRAGMA wal_autocheckpoint`).Scan(&n); err != nil || n != walAutocheckpoint {
		t.Errorf("writer's wal_autocheckpoint = %d, %v; want %d", n, err, walAutocheckpoint)
	}
}
