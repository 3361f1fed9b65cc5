package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"unsafe"

	"github.com/vitals-dev/vitals/sources"
)

// How a column reaches the mapping.
const (
	colRaw   = iota // the server renders it as text; read without decoding
	colTime         // timestamp(tz) rendered in UTC as text; rewritten to RFC 3339
	colDate         // date as text; rewritten to RFC 3339 midnight UTC
	colTyped        // decoded by the driver and rendered by text() (floats, bytea, char(n))
)

// plan is how one query is run: the user's query wrapped so that the
// server renders each column as text (cast to cstring, which the driver
// hands over as raw bytes instead of parsing timestamps and numbers into
// Go values only for vitals to render them back), optionally filtered to
// a shard.
type plan struct {
	sql   string
	cols  []string
	kinds []int
}

// wrapped returns the query as a subquery, with trailing semicolons
// removed; the newlines keep a trailing -- comment from eating the paren.
func wrapped(q string) string {
	q = strings.TrimRight(strings.TrimSpace(q), "; \t\r\n")
	return "SELECT %s FROM (\n" + strings.ReplaceAll(q, "%", "%%") + "\n) AS vitals_q"
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// describe learns the query's columns and their types (one LIMIT 0 round
// trip) and builds its plan. A query whose columns cannot be named
// uniquely (two columns called id, say) runs as written, every column
// decoded by the driver.
func (s *Source) describe(ctx context.Context, ses *session, q *query, bq boundQuery, sh sources.Shard) (*plan, error) {
	types, err := s.probe(ctx, ses, bq)
	if err != nil {
		if ctx.Err() != nil {
			return nil, s.queryError(ctx, ses, q, err)
		}
		// Not a query that can be a subquery (or not valid at all): run it
		// as written, so that its own error, if any, is the one reported.
		if sh.On() && q.pushdown {
			if _, ok := q.keys[sh.Root]; ok {
				return nil, fmt.Errorf("%s: shard_pushdown wraps the query in SELECT ... FROM (query) WHERE ..., and PostgreSQL refused that: %v; make the query a plain SELECT or remove shard_pushdown", q.label(), ses.sec.scrub(err))
			}
		}
		return &plan{sql: bq.sql}, nil
	}
	p := &plan{}
	seen := map[string]bool{}
	unique := true
	for _, t := range types {
		p.cols = append(p.cols, t.Name())
		if seen[t.Name()] {
			unique = false
		}
		seen[t.Name()] = true
	}
	root, err := q.shardColumn(sh, p.cols)
	if err != nil {
		return nil, err
	}
	if !unique {
		if root != "" {
			return nil, fmt.Errorf("%s: shard_pushdown needs uniquely named columns, and the query returns %s; alias them (SELECT o.id AS order_id, ...)", q.label(), strings.Join(p.cols, ", "))
		}
		p.sql = bq.sql
		p.kinds = make([]int, len(p.cols))
		for i := range p.kinds {
			p.kinds[i] = colTyped
		}
		return p, nil
	}
	var sel []string
	for _, t := range types {
		c := "vitals_q." + quoteIdent(t.Name())
		k := colRaw
		switch t.DatabaseTypeName() {
		case "TIMESTAMPTZ":
			c, k = "("+c+" AT TIME ZONE 'UTC')::text::cstring", colTime
		case "TIMESTAMP":
			c, k = c+"::text::cstring", colTime
		case "DATE":
			c, k = c+"::text::cstring", colDate
		case "FLOAT4", "FLOAT8", "BYTEA", "BPCHAR":
			k = colTyped
		default:
			c += "::text::cstring"
		}
		if k == colTyped && root == t.Name() {
			return nil, fmt.Errorf("%s: shard_pushdown cannot filter on the %s column %q (it is read as the driver renders it, not as text); map the root key from a text or integer column, or remove shard_pushdown", q.label(), strings.ToLower(t.DatabaseTypeName()), root)
		}
		sel = append(sel, c)
		p.kinds = append(p.kinds, k)
	}
	p.sql = fmt.Sprintf(wrapped(bq.sql), strings.Join(sel, ", "))
	if root != "" {
		p.sql += " WHERE " + sh.SQLExpr("vitals_q."+quoteIdent(root))
	}
	return p, nil
}

// probe returns the wrapped query's column types, inside a savepoint: a
// failed probe must not abort the snapshot transaction.
func (s *Source) probe(ctx context.Context, ses *session, bq boundQuery) ([]*sql.ColumnType, error) {
	if _, err := ses.tx.ExecContext(ctx, "SAVEPOINT vitals_describe"); err != nil {
		return nil, err
	}
	rows, err := ses.tx.QueryContext(ctx, fmt.Sprintf(wrapped(bq.sql), "*")+" LIMIT 0", bq.args...)
	var types []*sql.ColumnType
	if err == nil {
		types, err = rows.ColumnTypes()
		rows.Close()
	}
	if err != nil {
		if _, rerr := ses.tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT vitals_describe"); rerr != nil {
			return nil, rerr
		}
		return nil, err
	}
	_, err = ses.tx.ExecContext(ctx, "RELEASE SAVEPOINT vitals_describe")
	return types, err
}

// shardColumn returns the column to filter on when this query pushes the
// shard down, or "" when it reads every row: no shard, no pushdown, or a
// mapping without the root key (its records carry none, so every shard
// needs them all).
func (q *query) shardColumn(sh sources.Shard, cols []string) (string, error) {
	if !sh.On() || !q.pushdown {
		return "", nil
	}
	f, ok := q.keys[sh.Root]
	if !ok {
		return "", nil
	}
	if f.Const != "" || f.Default != "" || f.Prefix != "" || len(f.Map) > 0 || f.Field == "" {
		return "", fmt.Errorf("%s: shard_pushdown needs the root key %s mapped from a plain column (no const, default, prefix or map); map it plainly or remove shard_pushdown", q.label(), sh.Root)
	}
	for _, c := range cols {
		if c == f.Field {
			return c, nil
		}
	}
	return "", fmt.Errorf("%s: shard_pushdown needs the root key %s from a column of the query, and %q is not one (a JSON path cannot be filtered in SQL); select it as a column or remove shard_pushdown", q.label(), sh.Root, f.Field)
}

// rfc3339 rewrites PostgreSQL's text of a timestamp in UTC
// ("2026-11-20 10:00:01.5") or of a date ("2026-11-20") as RFC 3339 in
// UTC, as time.RFC3339Nano writes it ("2026-11-20T10:00:01.5Z",
// "2026-11-20T00:00:00Z"). Text of any other shape (a year past 9999,
// BC, infinity) is returned as it is, for the mapping to judge.
func rfc3339(b []byte, date bool, buf []byte) []byte {
	const ymd = len("2006-01-02")
	const ymdhms = len("2006-01-02 15:04:05")
	buf = buf[:0]
	switch {
	case date && len(b) == ymd && b[4] == '-' && b[7] == '-':
		buf = append(buf, b...)
		return append(buf, "T00:00:00Z"...)
	case !date && len(b) >= ymdhms && b[4] == '-' && b[10] == ' ' && b[13] == ':' && (len(b) == ymdhms || b[ymdhms] == '.'):
		buf = append(buf, b[:10]...)
		buf = append(buf, 'T')
		frac := b[ymdhms:]
		for len(frac) > 1 && frac[len(frac)-1] == '0' {
			frac = frac[:len(frac)-1]
		}
		if len(frac) == 1 { // "." alone
			frac = frac[:0]
		}
		buf = append(buf, b[11:ymdhms]...)
		buf = append(buf, frac...)
		return append(buf, 'Z')
	}
	return append(buf, b...)
}

// str views b as a string without copying: valid until b changes, which
// is fine for values handed to the mapping and the sink (which copies what
// it keeps).
func str(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
