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
