package postgres_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lib/pq"

	"github.com/vitals-dev/vitals/internal/pgtest"
	"github.com/vitals-dev/vitals/record"
	"github.com/vitals-dev/vitals/sources"
	"github.com/vitals-dev/vitals/sources/postgres"
	"github.com/vitals-dev/vitals/sources/sourcetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var tableSeq atomic.Int64

// loadRows creates a fresh table holding rows and returns its name.
func loadRows(t testing.TB, rows []sourcetest.Row) string {
	t.Helper()
	name := fmt.Sprintf("items_%d", tableSeq.Add(1))
	db := pgtest.Open(t)
	if _, err := db.Exec(`CREATE TABLE ` + name + ` (id text PRIMARY KEY, order_id text, status text, amount bigint, currency text, created_at timestamptz)`); err != nil {
		t.Fatal(err)
	}
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	stmt, err := tx.Prepare(pq.CopyIn(name, "id", "order_id", "status", "amount", "currency", "created_at"))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		var ts any
		if r.Time != nil {
			ts = *r.Time
		}
		if _, err := stmt.Exec(r.ID, r.Order, r.Status, r.Amount, r.Currency, ts); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := stmt.Exec(); err != nil {
		t.Fatal(err)
	}
	stmt.Close()
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	return name
}

func newSource(t testing.TB, raw map[string]any) sources.Source {
	t.Helper()
	if _, ok := raw["dsn"]; !ok {
		if _, ok := raw["dsn_env"]; !ok {
			raw["dsn"] = pgtest.DSN(t)
		}
	}
	src, err := postgres.New(sources.Config{Name: "shopdb", Type: "postgres", KeyTypes: sourcetest.KeyTypes, Raw: raw})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func TestConformance(t *testing.T) {
	sourcetest.Run(t, sourcetest.Harness{Load: func(t *testing.T, rows []sourcetest.Row) (sources.Source, []record.Provenance) {
		table := loadRows(t, rows)
		rec := sourcetest.Spec(func(f string) string { return f })
		rec["table"] = table
		// Rows without a time are read too, so that they are reported.
		rec["query"] = "SELECT * FROM " + table + " WHERE created_at IS NULL OR created_at >= :since AND created_at <= :until ORDER BY id"
		src := newSource(t, map[string]any{"records": []any{rec}})
		where := make([]record.Provenance, len(rows))
		for i, r := range rows {
			where[i] = record.Provenance{Source: "shopdb", Loc: table, Key: r.ID, Style: record.StyleKey}
		}
		return src, where
	}})
}

func spec(extra map[string]any) map[string]any {
	m := sourcetest.Spec(func(f string) string { return f })
	for k, v := range extra {
		m[k] = v
	}
	return m
}

func TestValuesAsText(t *testing.T) {
	pgtest.Exec(t, `DROP TABLE IF EXISTS payments; CREATE TABLE payments (
		shop text, seq int, total numeric(12,2), cur char(3), at timestamptz, day date, ok bool, ratio float8, meta jsonb,
		PRIMARY KEY (shop, seq));
		INSERT INTO payments VALUES ('eu', 7, 12.50, 'EUR', '2026-11-20 10:00:01.5+01', '2026-11-19', true, 0.25, '{"order": {"id": "ORD-1"}, "n": 3}')`)
	src := newSource(t, map[string]any{"records": []any{map[string]any{
		"kind":        "payment",
		"table":       "payments",
		"primary_key": []any{"shop", "seq"},
		"keys":        map[string]any{"order_id": "meta.order.id"},
		"time":        "at",
		"status":      "ok",
		"amount":      map[string]any{"value": "total", "currency": "cur", "format": "decimal"},
		"attrs":       map[string]any{"day": "day", "ratio": "ratio", "n": "meta.n", "seq": "seq"},
	}}})
	sink := &sourcetest.Sink{}
	cov, err := src.Read(context.Background(), sources.Window{Until: time.Now()}, sink)
	if err != nil {
		t.Fatal(err)
	}
	if !cov.Complete || len(sink.Records) != 1 {
		t.Fatalf("complete %v, %d records, bad %v", cov.Complete, len(sink.Records), sink.Bads)
	}
	r := sink.Records[0]
	if got := r.Prov.String(); got != "shopdb:payments#eu/7" {
		t.Errorf("provenance %s", got)
	}
	if want := time.Date(2026, 11, 20, 9, 0, 1, 5e8, time.UTC); !r.Time.Equal(want) {
		t.Errorf("time %s, want %s", r.Time, want)
	}
	if r.Amount != 1250 || r.Currency != "EUR" || r.Status != "true" {
		t.Errorf("amount %d %s status %q", r.Amount, r.Currency, r.Status)
	}
	if v, _ := r.Key("order_id"); v != "ORD-1" {
		t.Errorf("order_id from jsonb: %q", v)
	}
	for name, want := range map[string]string{"day": "2026-11-19T00:00:00Z", "ratio": "0.25", "n": "3", "seq": "7"} {
		if got := r.Attr(name); got != want {
			t.Errorf("attr %s = %q, want %q", name, got, want)
		}
	}
}

// All queries of a source see one snapshot: a row committed while the
// source reads is seen by none of its queries.
func TestOneSnapshot(t *testing.T) {
	pgtest.Exec(t, `DROP TABLE IF EXISTS snap_a, snap_b; CREATE TABLE snap_a (id text PRIMARY KEY, order_id text, status text, amount bigint, currency text, created_at timestamptz);
		CREATE TABLE snap_b (LIKE snap_a INCLUDING ALL);
		INSERT INTO snap_a VALUES ('a1', 'o1', 'new', 1, 'EUR', '2026-11-20T10:00:00Z'), ('a2', 'o2', 'new', 1, 'EUR', '2026-11-20T10:00:00Z');
		INSERT INTO snap_b VALUES ('b1', 'o1', 'new', 1, 'EUR', '2026-11-20T10:00:00Z')`)
	src := newSource(t, map[string]any{"records": []any{
		spec(map[string]any{"table": "snap_a"}),
		spec(map[string]any{"table": "snap_b"}),
	}})
	db := pgtest.Open(t)
	sink := &sourcetest.Sink{OnRecord: func(n int, r *record.Record) error {
		if n == 1 {
			if _, err := db.Exec(`INSERT INTO snap_b VALUES ('b2', 'o2', 'new', 1, 'EUR', '2026-11-20T10:00:00Z')`); err != nil {
				t.Error(err)
			}
		}
		return nil
	}}
	if _, err := src.Read(context.Background(), sources.Window{Until: time.Now()}, sink); err != nil {
		t.Fatal(err)
	}
	if got := sink.ByKey("item_id", "b2"); len(got) != 0 {
		t.Errorf("a row committed during the read was seen: %v", got[0].Prov)
	}
	if len(sink.Records) != 3 {
		t.Errorf("got %d records, want 3", len(sink.Records))
	}
}

func TestReadOnly(t *testing.T) {
	pgtest.Exec(t, `DROP TABLE IF EXISTS ro; CREATE TABLE ro (id text PRIMARY KEY, order_id text, status text, amount bigint, currency text, created_at timestamptz)`)
	src := newSource(t, map[string]any{"records": []any{spec(map[string]any{
		"table": "ro",
		"query": "INSERT INTO ro VALUES ('x', 'o', 's', 1, 'EUR', now()) RETURNING *",
	})}})
	_, err := src.Read(context.Background(), sources.Window{Until: time.Now()}, &sourcetest.Sink{})
	if err == nil || !strings.Contains(err.Error(), "read-only transaction") {
		t.Fatalf("a write in the query was not refused by the read-only transaction: %v", err)
	}
	var n int
	if err := pgtest.Open(t).QueryRow("SELECT count(*) FROM ro").Scan(&n); err != nil || n != 0 {
		t.Fatalf("table written: %d rows (%v)", n, err)
	}
}

func TestStatementTimeout(t *testing.T) {
	src := newSource(t, map[string]any{
		"statement_timeout": "200ms",
		"records": []any{spec(map[string]any{
			"name":  "slow",
			"query": "SELECT 'x' AS id, 'o' AS order_id, 'new' AS status, 1 AS amount, 'EUR' AS currency, now() AS created_at FROM pg_sleep(5)",
		})},
	})
	start := time.Now()
	cov, err := src.Read(context.Background(), sources.Window{Until: time.Now()}, &sourcetest.Sink{})
	if err == nil || !strings.Contains(err.Error(), "statement_timeout (200ms)") || !strings.Contains(err.Error(), "records[0] (item from slow)") {
		t.Fatalf("want a statement_timeout error naming the query, got %v", err)
	}
	if cov.Complete {
		t.Error("coverage complete after a timeout")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %s", d)
	}
}

// TestSessionTerminated: a session killed mid-read (pg_terminate_backend,
// a restart) fails the source with what happened and what to do.
func TestSessionTerminated(t *testing.T) {
	src := newSource(t, map[string]any{
		"records": []any{spec(map[string]any{
			"name":  "doomed",
			"query": "SELECT 'x' AS id, 'o' AS order_id, 'new' AS status, 1 AS amount, 'EUR' AS currency, now() AS created_at /* vitals-terminate-me */ FROM pg_sleep(10)",
		})},
	})
	db := pgtest.Open(t)
	go func() {
		for range 100 {
			time.Sleep(50 * time.Millisecond)
			var n int
			_ = db.QueryRow(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query LIKE '%vitals-terminate-me */ FROM pg_sleep%' AND pid <> pg_backend_pid()`).Scan(&n)
			if n > 0 {
				return
			}
		}
	}()
	start := time.Now()
	cov, err := src.Read(context.Background(), sources.Window{Until: time.Now()}, &sourcetest.Sink{})
	if err == nil || !strings.Contains(err.Error(), "the connection was lost while reading") || !strings.Contains(err.Error(), "records[0] (item from doomed)") {
		t.Fatalf("want a lost-connection error naming the query, got %v", err)
	}
	if cov.Complete {
		t.Error("coverage complete after the session was killed")
	}
	if d := time.Since(start); d > 8*time.Second {
		t.Errorf("took %s: the session was not terminated", d)
	}
	t.Log(err)
}

func TestConnectErrorsHideThePassword(t *testing.T) {
	const pw = "s3cr3t-Pa55"
	cases := map[string]string{
		"url, nothing listens":       "postgres://vitals:" + pw + "@127.0.0.1:1/shop?sslmode=disable",
		"key=value, nothing listens": "host=127.0.0.1 port=1 user=vitals password=" + pw + " dbname=shop sslmode=disable",
		"malformed key=value":        "host=127.0.0.1 password='" + pw + "' port=notaport",
		"malformed url":              "postgres://vitals:" + pw + "@127.0.0.1:port/shop",
	}
	for name, dsn := range cases {
		t.Run(name, func(t *testing.T) {
			t.Setenv("VITALS_TEST_DSN", dsn)
			src := newSource(t, map[string]any{"dsn_env": "VITALS_TEST_DSN", "records": []any{spec(map[string]any{"table": "x"})}})
			_, err := src.Read(context.Background(), sources.Window{Until: time.Now()}, &sourcetest.Sink{})
			if err == nil {
				t.Fatal("no error")
			}
			if strings.Contains(err.Error(), pw) {
				t.Fatalf("the password is in the error: %v", err)
			}
			t.Log(err)
		})
	}
}

func TestDSNEnvUnset(t *testing.T) {
	src := newSource(t, map[string]any{"dsn_env": "VITALS_SURELY_UNSET_DSN", "records": []any{spec(map[string]any{"table": "x"})}})
	_, err := src.Read(context.Background(), sources.Window{Until: time.Now()}, &sourcetest.Sink{})
	if err == nil || !strings.Contains(err.Error(), "VITALS_SURELY_UNSET_DSN") {
		t.Fatalf("want an error naming the variable, got %v", err)
	}
}

// A server that accepts the connection and never answers: connect_timeout
// ends the wait.
func TestConnectTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	src := newSource(t, map[string]any{
		"dsn":             fmt.Sprintf("host=127.0.0.1 port=%d user=x dbname=x sslmode=disable", port),
		"connect_timeout": "300ms",
		"records":         []any{spec(map[string]any{"table": "x"})},
	})
	start := time.Now()
	_, err = src.Read(context.Background(), sources.Window{Until: time.Now()}, &sourcetest.Sink{})
	if err == nil || !strings.Contains(err.Error(), "connect") {
		t.Fatalf("want a connect error, got %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %s despite connect_timeout 300ms", d)
	}
	t.Log(err)
}

func TestQueryErrors(t *testing.T) {
	pgtest.Exec(t, `DROP TABLE IF EXISTS qe; CREATE TABLE qe (id text PRIMARY KEY, order_id text, status text, amount bigint, currency text, created_at timestamptz)`)
	cases := []struct {
		name string
		rec  map[string]any
		want string
	}{
		{"missing column", spec(map[string]any{"table": "qe", "query": "SELECT id, order_id FROM qe"}), `returns no column "created_at", "status"`},
		{"missing primary key", spec(map[string]any{"table": "qe", "primary_key": "ref"}), `no primary key column "ref"`},
		{"bad sql", spec(map[string]any{"table": "qe", "query": "SELECT * FROM no_such_table"}), "not valid here"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := newSource(t, map[string]any{"records": []any{c.rec}})
			_, err := src.Read(context.Background(), sources.Window{Until: time.Now()}, &sourcetest.Sink{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("want %q, got %v", c.want, err)
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	cases := []struct {
		raw  map[string]any
		want string
	}{
		{map[string]any{"records": []any{spec(map[string]any{"table": "t"})}}, "dsn_env: required"},
		{map[string]any{"dsn": "x", "dsn_env": "Y", "records": []any{spec(map[string]any{"table": "t"})}}, "not both"},
		{map[string]any{"dsn": "x", "records": []any{spec(map[string]any{"query": "SELECT 1"})}}, "give table:"},
		{map[string]any{"dsn": "x", "records": []any{spec(map[string]any{"table": "t", "query": "SELECT * FROM t WHERE a > :from"})}}, "uses :from"},
		{map[string]any{"dsn": "x", "records": []any{spec(map[string]any{"table": "t", "qurey": "x"})}}, `unknown key "records[0].qurey"`},
	}
	for _, c := range cases {
		_, err := postgres.New(sources.Config{Name: "db", Type: "postgres", KeyTypes: sourcetest.KeyTypes, Raw: c.raw})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("want %q, got %v", c.want, err)
		}
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u:pw@h:5432/db?sslmode=disable": "postgres://u:***@h:5432/db?sslmode=disable",
		"host=h user=u password=pw dbname=d":        "host=h user=u password=*** dbname=d",
		"host=h user=u password='p w' dbname=d":     "host=h user=u password=*** dbname=d",
		"postgres://u@h/db":                         "postgres://u@h/db",
	} {
		if got := postgres.Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

// The source has the server render columns as text (fast) unless a query's
// columns cannot be named uniquely, when the driver decodes them (as
// before). Both must give every value the same text.
func TestRenderedTextEqualsDecoded(t *testing.T) {
	pgtest.Exec(t, `DROP TABLE IF EXISTS kinds; CREATE TABLE kinds (
		id text PRIMARY KEY, n int, big bigint, total numeric(12,2), cur char(5), at timestamptz, naive timestamp, day date,
		ok bool, ratio float8, big_ratio float8, meta jsonb, u uuid, blob bytea, v varchar(10));
		INSERT INTO kinds VALUES
		('a', 7, 9007199254740993, 12.50, 'EUR', '2026-11-20 10:00:01.5+01', '2026-11-20 10:00:01.123456', '2026-11-19', true, 0.25, 1e20,
		 '{"order": {"id": "ORD-1"}}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '\x6869', 'x y'),
		('b', NULL, NULL, NULL, NULL, '2026-11-20 10:00:00+00', '2026-11-20 10:00:00', NULL, false, NULL, NULL, NULL, NULL, NULL, ''),
		('c', -1, 0, 0.00, 'GB', '1999-12-31 23:59:59.999999+00', '0044-03-15 12:00:00 BC', '2026-01-01', NULL, -0.5, 3, '[1, 2]', NULL, '\x', 'é')`)
	cols := []string{"n", "big", "total", "cur", "at", "naive", "day", "ok", "ratio", "big_ratio", "meta", "u", "blob", "v"}
	read := func(query string) map[string]map[string]string {
		attrs := map[string]any{}
		for _, c := range cols {
			attrs[c] = c
		}
		src := newSource(t, map[string]any{"records": []any{map[string]any{
			"kind": "k", "table": "kinds", "query": query, "keys": map[string]any{"item_id": "id"},
			"time": "at", "attrs": attrs,
		}}})
		sink := &sourcetest.Sink{}
		if _, err := src.Read(context.Background(), sources.Window{Until: time.Now()}, sink); err != nil {
			t.Fatal(err)
		}
		out := map[string]map[string]string{}
		for _, r := range sink.Records {
			id, _ := r.Key("item_id")
			out[id] = map[string]string{}
			for _, c := range cols {
				out[id][c] = r.Attr(c)
			}
		}
		if len(out) != 3 {
			t.Fatalf("%s: read %d rows, bad %v", query, len(out), sink.Bads)
		}
		return out
	}
	fast := read("SELECT * FROM kinds")
	decoded := read("SELECT *, 1 AS dup, 2 AS dup FROM kinds")
	for id, row := range decoded {
		for c, want := range row {
			if got := fast[id][c]; got != want && !(id == "c" && c == "naive") {
				t.Errorf("row %s column %s: rendered %q, decoded %q", id, c, got, want)
			}
		}
	}
	// Spot checks of the text itself.
	for _, tc := range []struct{ id, col, want string }{
		{"a", "at", "2026-11-20T09:00:01.5Z"}, {"a", "naive", "2026-11-20T10:00:01.123456Z"}, {"a", "day", "2026-11-19T00:00:00Z"},
		{"a", "big", "9007199254740993"}, {"a", "total", "12.50"}, {"a", "cur", "EUR  "}, {"a", "ok", "true"},
		{"a", "big_ratio", "100000000000000000000"}, {"a", "meta", `{"order": {"id": "ORD-1"}}`}, {"a", "blob", "hi"},
		{"b", "at", "2026-11-20T10:00:00Z"}, {"b", "n", ""}, {"b", "ok", "false"}, {"b", "v", ""},
		{"c", "at", "1999-12-31T23:59:59.999999Z"}, {"c", "v", "é"},
	} {
		if got := fast[tc.id][tc.col]; got != tc.want {
			t.Errorf("row %s column %s = %q, want %q", tc.id, tc.col, got, tc.want)
		}
	}
}
