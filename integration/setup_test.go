package integration

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/vitals-dev/vitals/cmd/cli"
	"github.com/vitals-dev/vitals/internal/kafkatest"
	"github.com/vitals-dev/vitals/internal/pgtest"
)

func TestMain(m *testing.M) {
	code := pgtest.Run(m)
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

const fixtures = "../fixtures/checkout"

var loadShop sync.Once

// shopDB loads fixtures/checkout/shopdb.sql into the test database once and
// points SHOPDB_DSN at it.
func shopDB(t *testing.T) string {
	t.Helper()
	dsn := pgtest.DSN(t)
	loadShop.Do(func() {
		sql, err := os.ReadFile(filepath.Join(fixtures, "shopdb.sql"))
		if err != nil {
			t.Fatal(err)
		}
		pgtest.Exec(t, string(sql))
	})
	t.Setenv("SHOPDB_DSN", dsn)
	return dsn
}

// checkoutKafka starts a broker holding the checkout topics and points
// KAFKA_BROKERS at it.
func checkoutKafka(t *testing.T) *kafkatest.Cluster {
	t.Helper()
	k := kafkatest.Start(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := k.LoadCheckout(ctx, fixtures); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KAFKA_BROKERS", k.Addr)
	return k
}

// vitals runs the CLI and returns its exit code, stdout and stderr.
func vitals(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := cli.Main(args, &out, &errb)
	return code, out.String(), errb.String()
}

// report is the part of the JSON report these tests compare.
type report struct {
	Run struct {
		Complete bool `json:"complete"`
	} `json:"run"`
	Sources []struct {
		Name     string `json:"name"`
		Type     string `json:"type"`
		Records  int    `json:"records"`
		Errors   int    `json:"errors"`
		Error    string `json:"error"`
		Coverage struct {
			Complete bool `json:"complete"`
		} `json:"coverage"`
	} `json:"sources"`
	Summary struct {
		Instances int            `json:"instances"`
		Judged    int            `json:"judged"`
		Outcomes  map[string]int `json:"outcomes"`
		Findings  int            `json:"findings"`
	} `json:"summary"`
	Findings []finding `json:"findings"`
}

type finding struct {
	ID   string `json:"id"`
	Code string `json:"code"`
	Root string `json:"root"`
	Step string `json:"step"`
}

func parse(t *testing.T, out string) report {
	t.Helper()
	var r report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, out)
	}
	return r
}

func pgOpen(t *testing.T) *sql.DB { return pgtest.Open(t) }
