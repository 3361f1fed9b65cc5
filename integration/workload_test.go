package integration

import (
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/vitals-dev/vitals/fixtures/gen"
	"github.com/vitals-dev/vitals/fixtures/gen/live"
	"github.com/vitals-dev/vitals/internal/kafkatest"
	"github.com/vitals-dev/vitals/internal/pgtest"
	vreport "github.com/vitals-dev/vitals/report"
)

// liveWorkload generates n instances into files, a fresh PostgreSQL
// database and an in-process broker, and points SHOPDB_DSN and
// KAFKA_BROKERS at them. It returns the workload directory.
func liveWorkload(t *testing.T, n int, seed uint64) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dsn := pgtest.Fresh(t)
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	pg, err := live.NewPostgres(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	k := kafkatest.Start(t, nil)
	cl, err := kgo.NewClient(kgo.SeedBrokers(k.Addr), kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerLinger(0))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	kf, err := live.NewKafka(ctx, cl, 4)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	st, err := gen.Workload(dir, gen.WorkloadOptions{
		Instances: n, AnomalyRate: 0.2, Seed: seed,
		Config: "../configs/checkout.yaml", LiveConfig: "../configs/checkout-pg-kafka.yaml",
		Sinks: []gen.InstanceSink{pg, kf},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := pg.Close(); err != nil {
		t.Fatal(err)
	}
	if err := kf.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d instances: %d rows in PostgreSQL, %d messages in Kafka, %d records in all", st.Instances, pg.Rows, kf.Messages, st.Records)
	t.Setenv("SHOPDB_DSN", dsn)
	t.Setenv("KAFKA_BROKERS", k.Addr)
	return dir
}

// The generated workload read from PostgreSQL and Kafka gives exactly its
// ground truth, and exactly the findings (ids and all) of the same
// workload read from files.
func TestWorkloadPostgresKafkaGroundTruth(t *testing.T) {
	dir := liveWorkload(t, 2000, 5)
	check := func(config string) *vreport.Report {
		code, out, stderr := vitals(t, "check", "--config", filepath.Join(dir, config), "--format", "json", "--fail-on", "none")
		if code != 0 {
			t.Fatalf("check %s: exit %d: %s", config, code, stderr)
		}
		var r vreport.Report
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatal(err)
		}
		return &r
	}
	liveRep, files := check("vitals-pg-kafka.yaml"), check("vitals.yaml")
	if !liveRep.Run.Complete {
		t.Fatalf("incomplete: %+v", liveRep.Sources)
	}
	truth, err := gen.ReadTruth(filepath.Join(dir, "truth.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if bad := gen.CheckTruth(truth, findingCodes(liveRep)); len(bad) > 0 {
		t.Errorf("PostgreSQL + Kafka findings differ from the ground truth:\n%s", strings.Join(bad, "\n"))
	}
	ids := func(r *vreport.Report) string {
		var b strings.Builder
		for _, f := range r.Findings {
			b.WriteString(f.ID + " " + f.Code + " " + f.Root + "\n")
		}
		return b.String()
	}
	if a, b := ids(files), ids(liveRep); a != b {
		t.Errorf("findings differ between files and PostgreSQL + Kafka:\n%s", firstDiff(a, b))
	}
	if a, b := liveRep.Summary, files.Summary; a.Judged != b.Judged || a.Findings != b.Findings || a.Orphans != b.Orphans {
		t.Errorf("summaries differ: files %+v, live %+v", b, a)
	}
	t.Logf("%d findings on %d judged instances, as the ground truth says", liveRep.Summary.Findings, liveRep.Summary.Judged)
}
