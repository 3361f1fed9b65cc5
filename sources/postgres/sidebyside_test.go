package postgres_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/vitals-dev/vitals/internal/pgtest"
	"github.com/vitals-dev/vitals/sources"
	"github.com/vitals-dev/vitals/sources/postgres"
	"github.com/vitals-dev/vitals/sources/sourcetest"
)

// cpuTime is the process's user+system CPU time: the client's share of a
// read (the server runs in its own processes).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// ordersQuery is the order mapping's query of configs/checkout-pg-kafka.yaml.
const ordersQuery = `SELECT id, customer_id, customer_email, status, total_cents, currency, created_at
FROM orders WHERE created_at >= :since AND created_at <= :until`

var ordersBase = time.Date(2026, 11, 18, 0, 0, 0, 0, time.UTC)

// loadOrders fills a fresh database's orders table (the shop schema of
// fixtures/checkout/shopdb.sql) with n rows and returns its DSN.
func loadOrders(b *testing.B, n int) string {
	dsn := pgtest.Fresh(b)
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE orders (id text PRIMARY KEY, customer_id text NOT NULL, customer_email text NOT NULL,
		status text NOT NULL, total_cents bigint NOT NULL, currency char(3) NOT NULL, created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL)`); err != nil {
		b.Fatal(err)
	}
	tx, err := db.Begin()
	if err != nil {
		b.Fatal(err)
	}
	stmt, err := tx.Prepare(pq.CopyIn("orders", "id", "customer_id", "customer_email", "status", "total_cents", "currency", "created_at", "updated_at"))
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < n; i++ {
		t := ordersBase.Add(time.Duration(i) * 150 * time.Millisecond)
		if _, err := stmt.Exec(fmt.Sprintf("ORD-%07d", 1000000+i), fmt.Sprintf("cus_%010d", i*7919%10000000), fmt.Sprintf("customer.%d@example.com", i%1000),
			[]string{"confirmed", "confirmed", "confirmed", "failed"}[i%4], 990+i%40000, []string{"EUR", "USD", "GBP"}[i%3], t, t); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := stmt.Exec(); err != nil {
		b.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	if _, err := db.Exec(`CREATE INDEX ON orders (created_at); ANALYZE orders`); err != nil {
		b.Fatal(err)
	}
	return dsn
}

// BenchmarkSideBySide reads the same query of the same table both ways,
// alternately, in every iteration: the postgres source (snapshot
// transaction, text rendering, mapping into records) and a bare sqlx loop
// that scans each row into typed variables in the same kind of
// transaction. Rows: VITALS_BENCH_PG_ROWS (default 300000). Metrics:
// rows/s of each, the ratio of their wall times (source/sqlx; target
// <= 1.3), and client CPU per row of each.
func BenchmarkSideBySide(b *testing.B) {
	n := 300_000
	if v, err := strconv.Atoi(os.Getenv("VITALS_BENCH_PG_ROWS")); err == nil && v > 0 {
		n = v
	}
	dsn := loadOrders(b, n)
	src, err := postgres.New(sources.Config{Name: "shopdb", Type: "postgres", KeyTypes: []string{"order_id", "customer_id"}, Raw: map[string]any{
		"dsn": dsn,
		"records": []any{map[string]any{
			"kind": "order", "table": "orders", "query": ordersQuery,
			"keys":   map[string]any{"order_id": "id", "customer_id": "customer_id"},
			"time":   "created_at",
			"status": "status",
			"amount": map[string]any{"value": "total_cents", "currency": "currency"},
			"attrs":  map[string]any{"customer_email": "customer_email"},
		}},
	}})
	if err != nil {
		b.Fatal(err)
	}
	until := ordersBase.Add(time.Duration(n) * time.Second)
	w := sources.Window{Since: ordersBase, Until: until}
	bare, err := sqlx.Open("postgres", dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer bare.Close()
	bareSQL, _, err := sqlx.Named(ordersQuery, map[string]any{"since": ordersBase, "until": until})
	if err != nil {
		b.Fatal(err)
	}
	bareSQL = sqlx.Rebind(sqlx.DOLLAR, bareSQL)
	scan := func() int {
		tx, err := bare.BeginTxx(context.Background(), &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
		if err != nil {
			b.Fatal(err)
		}
		defer tx.Rollback()
		rows, err := tx.Queryx(bareSQL, ordersBase, until)
		if err != nil {
			b.Fatal(err)
		}
		defer rows.Close()
		var (
			id, cust, email, status, cur string
			total                        int64
			created                      time.Time
		)
		k := 0
		for rows.Next() {
			if err := rows.Scan(&id, &cust, &email, &status, &total, &cur, &created); err != nil {
				b.Fatal(err)
			}
			k++
		}
		if err := rows.Err(); err != nil {
			b.Fatal(err)
		}
		return k
	}
	var srcWall, bareWall, srcCPU, bareCPU time.Duration
	b.ResetTimer()
	for b.Loop() {
		t0, c0 := time.Now(), cpuTime()
		sink := &sourcetest.CountSink{}
		if _, err := src.Read(context.Background(), w, sink); err != nil || sink.N() != n {
			b.Fatalf("source read %d of %d rows: %v", sink.N(), n, err)
		}
		t1, c1 := time.Now(), cpuTime()
		if k := scan(); k != n {
			b.Fatalf("sqlx read %d of %d rows", k, n)
		}
		srcWall += t1.Sub(t0)
		bareWall += time.Since(t1)
		srcCPU += c1 - c0
		bareCPU += cpuTime() - c1
	}
	rows := float64(n) * float64(b.N)
	b.ReportMetric(rows/srcWall.Seconds(), "source-rows/s")
	b.ReportMetric(rows/bareWall.Seconds(), "sqlx-rows/s")
	b.ReportMetric(srcWall.Seconds()/bareWall.Seconds(), "wall-ratio")
	b.ReportMetric(float64(srcCPU.Nanoseconds())/rows, "source-cpu-ns/row")
	b.ReportMetric(float64(bareCPU.Nanoseconds())/rows, "sqlx-cpu-ns/row")
}
