package sqlite

import (
	"context"
	"strings"
)

// batchRows is how many rows one statement of a batched write carries.
// Fewer, wider statements cost less per row in database/sql and the driver
// (Enqueue measured a third faster than row by row); 32 rows of the widest
// table, 22 columns, stay far below SQLite's limit on parameters.
const batchRows = 32

// execRows runs, in t, the statement build returns for n rows over rows,
// batchRows at a time. t keeps a statement per text, so the full chunks share
// one and a batch prepares at most two. It returns the rows affected in total.
//
// The hot statements given to execRows say OR FAIL. A statement that writes
// several rows and may stop at a constraint (ABORT, the default) makes
// SQLite copy every page it touches into a statement journal first, so
// that it can undo its own rows alone: a tenth of the events insert's CPU
// (BenchmarkIntakeGroup's profile). FAIL keeps no journal and leaves the
// rows written before the failure, which is safe here because an error
// from execRows ends the whole transaction, or the Update call's
// savepoint, in a rollback: nothing of the statement survives either way.
// Statements with an immediate foreign key keep the journal whatever they
// say; those are left as they are.
func execRows(ctx context.Context, t *writeTx, build func(n int) string, rows [][]any) (int64, error) {
	var affected int64
	query, built := "", 0
	for len(rows) > 0 {
		n := min(len(rows), batchRows)
		args := make([]any, 0, n*len(rows[0]))
		for _, r := range rows[:n] {
			args = append(args, r...)
		}
		if n != built {
			query, built = build(n), n
		}

		res, err := t.ExecContext(ctx, query, args...)
		if err != nil {
			return affected, err
		}
		k, _ := res.RowsAffected()
		affected += k
		rows = rows[n:]
	}
	return affected, nil
}

// values returns n comma-separated rows of width placeholders.
func values(n, width int) string {
	row := "(?" + strings.Repeat(", ?", width-1) + ")"
	return row + strings.Repeat(", "+row, n-1)
}
