package integration

import (
	"fmt"
	"slices"
	"testing"
)

// The checkout scenario read from PostgreSQL and Kafka gives exactly the
// findings of the file run: same ids, same codes, same instances.
func TestParityFilesVersusPostgresAndKafka(t *testing.T) {
	shopDB(t)
	checkoutKafka(t)
	codeF, outF, errF := vitals(t, "check", "--config", "../configs/checkout.yaml", "--format", "json")
	codeL, outL, errL := vitals(t, "check", "--config", "../configs/checkout-pg-kafka.yaml", "--format", "json")
	if codeF != 1 || codeL != 1 {
		t.Fatalf("exit codes: files %d (%s), postgres+kafka %d (%s); want 1 (findings) for both", codeF, errF, codeL, errL)
	}
	files, live := parse(t, outF), parse(t, outL)
	if !live.Run.Complete {
		t.Fatalf("the postgres+kafka run is incomplete: %+v", live.Sources)
	}
	// Each source reads the same records, and finds the same bad input,
	// whatever its medium.
	count := func(r report) map[string]string {
		m := map[string]string{}
		for _, s := range r.Sources {
			m[s.Name] = fmt.Sprintf("%d records, %d errors", s.Records, s.Errors)
		}
		return m
	}
	if f, l := count(files), count(live); fmt.Sprint(f) != fmt.Sprint(l) {
		t.Errorf("records per source differ: files %v, postgres+kafka %v", f, l)
	}
	key := func(f finding) string { return f.ID + " " + f.Code + " " + f.Root + " " + f.Step }
	var fk, lk []string
	for _, f := range files.Findings {
		fk = append(fk, key(f))
	}
	for _, f := range live.Findings {
		lk = append(lk, key(f))
	}
	slices.Sort(fk)
	slices.Sort(lk)
	if len(fk) == 0 {
		t.Fatal("the file run has no findings: the fixtures changed?")
	}
	for _, k := range fk {
		if _, ok := slices.BinarySearch(lk, k); !ok {
			t.Errorf("only in the file run: %s", k)
		}
	}
	for _, k := range lk {
		if _, ok := slices.BinarySearch(fk, k); !ok {
			t.Errorf("only in the postgres+kafka run: %s", k)
		}
	}
	if fmt.Sprint(files.Summary) != fmt.Sprint(live.Summary) {
		t.Errorf("summaries differ:\nfiles %+v\nlive  %+v", files.Summary, live.Summary)
	}
	t.Logf("%d findings, %d instances, identical", len(fk), files.Summary.Instances)
}
