package sqlite

import (
	"context"
	"database/sql"
	"strings"
)

// batchRows is how many rows one statement of a batched write carries.
// Fewer, wider statements cost less per row in database/sql and the driver
// (Enqueue measured a third faster than row by row); 32 rows of the widest
// table, 22 columns, stay far below SQLite's limit on parameters.
const batchRows = 32

// execRows runs, in t, the statement build returns for n rows over rows,
// batchRows at a time, reusing one prepared statement for the full chunks.
// It returns the rows affected in total.
func execRows(ctx context.Context, t *sql.Tx, build func(n int) string, rows [][]any) (int64, error) {
	var full *sql.Stmt
	defer func() {
		if full != nil {
			full.Close()
		}
	}()

	var affected int64
	for len(rows) > 0 {
		n := min(len(rows), batchRows)
		var args []any
		for _, r := range rows[:n] {
			args = append(args, r...)
		}

		var res sql.Result
		var err error
		if n < batchRows {
			res, err = t.ExecContext(ctx, build(n), args...)
		} else {
			if full == nil {
				if full, err = t.PrepareContext(ctx, build(n)); err != nil {
					return affected, err
				}
			}
			res, err = full.ExecContext(ctx, args...)
		}
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
