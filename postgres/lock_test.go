package postgres

import (
	"reflect"
	"strings"
	"testing"

	"github.com/hookflow/hookflow"
)

// The lock names only the kinds of reference a call uses: a kind given an
// empty array still costs its scan in a plan made for any array.
func TestLockUsersSQL(t *testing.T) {
	alias := &hookflow.Alias{Name: "crm-1", Label: "crm"}
	tests := []struct {
		name     string
		refs     []hookflow.UserRef
		selects  int    // one per kind used
		byIDs    bool   // several kinds, combined by id
		contains string // the kind's lookup
		args     []any
	}{
		{name: "none"},
		{
			name:     "external ids",
			refs:     []hookflow.UserRef{{ExternalID: "a"}, {ExternalID: "b"}},
			selects:  1,
			contains: "WHERE external_id = ANY($1) ORDER BY id FOR NO KEY UPDATE",
			args:     []any{[]string{"a", "b"}},
		},
		{
			name:     "braze ids",
			refs:     []hookflow.UserRef{{BrazeID: "u1"}},
			selects:  1,
			contains: "WHERE id = ANY($1) ORDER BY id",
			args:     []any{[]string{"u1"}},
		},
		{
			name:     "emails",
			refs:     []hookflow.UserRef{{Email: "a@example.com"}},
			selects:  1,
			contains: "WHERE email = ANY($1) ORDER BY id",
			args:     []any{[][]byte{[]byte("a@example.com")}},
		},
		{
			name:     "an alias alone is looked up by id",
			refs:     []hookflow.UserRef{{Alias: alias}},
			selects:  1,
			byIDs:    true,
			contains: "unnest($1::text[], $2::text[])",
			args:     []any{[]string{"crm"}, []string{"crm-1"}},
		},
		{
			name:     "two kinds",
			refs:     []hookflow.UserRef{{ExternalID: "a"}, {Alias: alias}, {ExternalID: "b"}},
			selects:  2,
			byIDs:    true,
			contains: "external_id = ANY($1) UNION ALL SELECT a.user_id",
			args:     []any{[]string{"a", "b"}, []string{"crm"}, []string{"crm-1"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sql, args := lockUsersSQL(tt.refs)
			if tt.selects == 0 {
				if sql != "" || args != nil {
					t.Fatalf("lockUsersSQL(%v) = %q, %v; want nothing", tt.refs, sql, args)
				}
				return
			}
			if n := strings.Count(sql, "SELECT"); n != tt.selects+btoi(tt.byIDs) {
				t.Errorf("%d selects in %q, want %d", n, sql, tt.selects+btoi(tt.byIDs))
			}
			if got := strings.Contains(sql, "u.id = ANY(ARRAY("); got != tt.byIDs {
				t.Errorf("combined by id: %v, want %v, in %q", got, tt.byIDs, sql)
			}
			if !strings.Contains(sql, tt.contains) {
				t.Errorf("%q does not contain %q", sql, tt.contains)
			}
			if !reflect.DeepEqual(args, tt.args) {
				t.Errorf("args %v, want %v", args, tt.args)
			}
		})
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
