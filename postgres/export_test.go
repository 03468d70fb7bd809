package postgres

// LeaderPID exposes, to the external tests, the backend process of s's
// leader session, or 0 when s does not lead.
func LeaderPID(s *Store) uint32 { return s.leaderPID.Load() }
