package integration

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// fullRun returns the finding ids of the complete postgres+kafka run.
func fullRun(t *testing.T) map[string]string {
	t.Helper()
	code, out, errOut := vitals(t, "check", "--config", "../configs/checkout-pg-kafka.yaml", "--format", "json")
	if code != 1 {
		t.Fatalf("full run exited %d: %s", code, errOut)
	}
	ids := map[string]string{}
	for _, f := range parse(t, out).Findings {
		ids[f.ID] = f.Code + " " + f.Root + " " + f.Step
	}
	return ids
}

// checkFailedRun checks a run in which sources failed (some of those in
// may, at least one): exit 3, a message naming each, a report marked
// incomplete, and no finding that the complete run does not have: what a
// failed source would have shown is not judged as absent.
func checkFailedRun(t *testing.T, full map[string]string, may []string, wantErr string, args ...string) report {
	t.Helper()
	out := filepath.Join(t.TempDir(), "report.json")
	code, stdout, stderr := vitals(t, append([]string{"check", "--config", "../configs/checkout-pg-kafka.yaml", "--format", "json", "--out", out}, args...)...)
	if code != 3 {
		t.Fatalf("exit %d, want 3 (a source failed); stderr: %s", code, stderr)
	}
	if stdout != "" {
		t.Errorf("stdout is not empty with --out: %q", stdout)
	}
	if !strings.Contains(stderr, wantErr) {
		t.Errorf("stderr does not say %q: %s", wantErr, stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("no report written: %v", err)
	}
	rep := parse(t, string(b))
	if rep.Run.Complete {
		t.Error("the report of a run with a failed source is marked complete")
	}
	failed := 0
	for _, s := range rep.Sources {
		if s.Error == "" {
			if !s.Coverage.Complete {
				t.Errorf("source %s did not fail but its coverage is incomplete", s.Name)
			}
			continue
		}
		failed++
		if !slices.Contains(may, s.Name) {
			t.Errorf("source %s failed: %s", s.Name, s.Error)
		}
		if s.Coverage.Complete {
			t.Errorf("source %s failed but its coverage is complete", s.Name)
		}
		if !strings.Contains(stderr, `source "`+s.Name+`"`) {
			t.Errorf("stderr does not name the failed source %s: %s", s.Name, stderr)
		}
	}
	if failed == 0 {
		t.Error("no source failed in the report")
	}
	for _, f := range rep.Findings {
		if _, ok := full[f.ID]; !ok {
			t.Errorf("finding %s %s %s %s is not in the complete run: judged as if a failed source's evidence were absent", f.ID, f.Code, f.Root, f.Step)
		}
	}
	if len(rep.Findings) >= len(full) {
		t.Errorf("%d findings with some of %v failed, %d in the complete run", len(rep.Findings), may, len(full))
	}
	return rep
}

func TestUnreachablePostgres(t *testing.T) {
	shopDB(t)
	checkoutKafka(t)
	full := fullRun(t)
	t.Setenv("SHOPDB_DSN", "postgres://vitals:Sup3rSecret@127.0.0.1:1/shop?sslmode=disable")
	checkFailedRun(t, full, []string{"shopdb"}, "cannot connect to 127.0.0.1:1")
}

func TestUnreachableKafka(t *testing.T) {
	shopDB(t)
	k := checkoutKafka(t)
	full := fullRun(t)
	k.Shutdown()
	checkFailedRun(t, full, []string{"events", "dlq"}, "cannot reach any broker")
}

// The broker goes away while the events are being read: the first fetch
// is served, the next one finds the broker gone.
func TestBrokerGoesAwayMidRead(t *testing.T) {
	shopDB(t)
	k := checkoutKafka(t)
	full := fullRun(t)
	fetches := 0
	k.ControlKey(int16(kmsg.Fetch), func(req kmsg.Request) (kmsg.Response, error, bool) {
		k.KeepControl()
		fetches++
		if fetches == 1 {
			return nil, nil, false // served as usual
		}
		go k.Shutdown()
		return nil, errors.New("broker going away"), true
	})
	checkFailedRun(t, full, []string{"events", "dlq"}, "the broker went away")
}

// slowConfig writes a copy of checkout-pg-kafka.yaml whose orders query
// sleeps, with the given statement_timeout.
func slowConfig(t *testing.T, sleep, timeout string) string {
	t.Helper()
	b, err := os.ReadFile("../configs/checkout-pg-kafka.yaml")
	if err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs("../configs/checkout.yaml")
	s := strings.Replace(string(b), "extends: checkout.yaml", "extends: "+abs, 1)
	s = strings.Replace(s, "FROM orders WHERE created_at", "FROM orders, pg_sleep("+sleep+") WHERE created_at", 1)
	s = strings.Replace(s, "statement_timeout: 5m", "statement_timeout: "+timeout, 1)
	path := filepath.Join(t.TempDir(), "slow.yaml")
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestStatementTimeout(t *testing.T) {
	shopDB(t)
	checkoutKafka(t)
	full := fullRun(t)
	cfg := slowConfig(t, "2", "200ms")
	// checkFailedRun runs the default pg-kafka config: run this one by hand.
	out := filepath.Join(t.TempDir(), "report.json")
	code, _, stderr := vitals(t, "check", "--config", cfg, "--format", "json", "--out", out)
	if code != 3 || !strings.Contains(stderr, `source "shopdb" (postgres)`) || !strings.Contains(stderr, "statement_timeout (200ms)") {
		t.Fatalf("exit %d, stderr %s", code, stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	rep := parse(t, string(b))
	if rep.Run.Complete {
		t.Error("report marked complete")
	}
	for _, f := range rep.Findings {
		if _, ok := full[f.ID]; !ok {
			t.Errorf("finding %s %s %s not in the complete run", f.ID, f.Code, f.Root)
		}
	}
}

// Ctrl-C while a source reads: exit 130, a message, and no report file.
func TestInterrupt(t *testing.T) {
	dsn := shopDB(t)
	k := checkoutKafka(t)
	bin := filepath.Join(t.TempDir(), "vitals")
	build := exec.Command("go", "build", "-o", bin, "../cmd/vitals")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out := filepath.Join(t.TempDir(), "report.json")
	cmd := exec.Command(bin, "check", "--config", slowConfig(t, "30", "1m"), "--format", "json", "--out", out)
	cmd.Env = append(os.Environ(), "SHOPDB_DSN="+dsn, "KAFKA_BROKERS="+k.Addr)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond) // reading: the orders query sleeps 30s
	start := time.Now()
	_ = cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Fatalf("exit %v, want 130; stderr: %s", err, stderr.String())
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s to stop after SIGINT", d)
	}
	if !strings.Contains(stderr.String(), "interrupted") {
		t.Errorf("stderr: %s", stderr.String())
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a report was written after the interrupt: %v", err)
	}
	matches, _ := filepath.Glob(filepath.Join(filepath.Dir(out), ".report.json.*"))
	if len(matches) > 0 {
		t.Errorf("temporary files left: %v", matches)
	}
	// The server cancelled the query: no backend still sleeps for us.
	var n int
	deadline := time.Now().Add(5 * time.Second)
	for {
		if err := pgOpen(t).QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(30)%' AND pid <> pg_backend_pid()`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if n != 0 {
		t.Errorf("%d queries still running after the interrupt", n)
	}
}
