// Package pgtest gives tests a PostgreSQL database of their own on the
// local server: created on first use, dropped when the test binary ends.
// A server that cannot be reached fails the test; it is never skipped.
//
// The admin connection is VITALS_TEST_PG_DSN, or else the local server at
// 127.0.0.1:5432 with trust auth as postgres or root, database test.
package pgtest

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	_ "github.com/lib/pq" // the driver under test
)

var (
	once    sync.Once
	adminDB string // admin DSN that worked
	dbName  string
	setup   error
)

func admins() []string {
	if d := os.Getenv("VITALS_TEST_PG_DSN"); d != "" {
		return []string{d}
	}
	var out []string
	for _, u := range []string{"postgres", "root"} {
		out = append(out, fmt.Sprintf("host=127.0.0.1 port=5432 user=%s dbname=test sslmode=disable connect_timeout=5", u))
	}
	return out
}

func create() {
	var errs []string
	for _, dsn := range admins() {
		db, err := sql.Open("postgres", dsn)
		if err == nil {
			err = db.Ping()
		}
		if err != nil {
			errs = append(errs, err.Error())
			if db != nil {
				db.Close()
			}
			continue
		}
		var b [6]byte
		_, _ = rand.Read(b[:])
		name := "vitals_test_" + hex.EncodeToString(b[:])
		_, err = db.Exec("CREATE DATABASE " + name)
		db.Close()
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		adminDB, dbName = dsn, name
		return
	}
	setup = fmt.Errorf("PostgreSQL is needed at 127.0.0.1:5432 (trust auth, user postgres or root, database test) or at $VITALS_TEST_PG_DSN: %s; start it with: pg_ctlcluster $(ls /etc/postgresql) main start", strings.Join(errs, "; "))
}

// DSN returns the DSN of this test binary's own database, creating it on
// first use. Use it with Main, which drops the database at the end.
func DSN(t testing.TB) string {
	t.Helper()
	once.Do(create)
	if setup != nil {
		t.Fatal(setup)
	}
	return withDB(adminDB, dbName)
}

func withDB(dsn, name string) string {
	var parts []string
	for _, f := range strings.Fields(dsn) {
		if !strings.HasPrefix(f, "dbname=") {
			parts = append(parts, f)
		}
	}
	return strings.Join(append(parts, "dbname="+name), " ")
}

// Exec runs SQL statements (separated by semicolons, as psql -f takes
// them) in the test database.
func Exec(t testing.TB, stmts string) {
	t.Helper()
	db := Open(t)
	if _, err := db.Exec(stmts); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
}

// Open returns a connection pool to the test database, closed at the end
// of the test.
func Open(t testing.TB) *sql.DB {
	t.Helper()
	db, err := sql.Open("postgres", DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Main runs the tests, drops the database they created and exits.
func Main(m *testing.M) { os.Exit(Run(m)) }

// Run runs the tests, drops the database they created and returns the
// exit code, for a TestMain with more to clean up.
func Run(m *testing.M) int {
	code := m.Run()
	if dbName != "" {
		if db, err := sql.Open("postgres", adminDB); err == nil {
			_, err = db.Exec("DROP DATABASE IF EXISTS " + dbName + " WITH (FORCE)")
			if err != nil {
				fmt.Fprintf(os.Stderr, "pgtest: drop %s: %v\n", dbName, err)
			}
			db.Close()
		}
	}
	return code
}

// Fresh creates another database on the same server for one test, and
// drops it when the test ends; for tests that need tables of their own
// names (a workload's orders, say) beside the binary's shared database.
func Fresh(t testing.TB) string {
	t.Helper()
	once.Do(create)
	if setup != nil {
		t.Fatal(setup)
	}
	admin, err := sql.Open("postgres", adminDB)
	if err != nil {
		t.Fatal(err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "vitals_test_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		admin.Close()
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: drop %s: %v", name, err)
		}
		admin.Close()
	})
	return withDB(adminDB, name)
}
