package integration

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/vitals-dev/vitals/fixtures/gen"
	vreport "github.com/vitals-dev/vitals/report"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds cmd/vitals once per test binary: shard tests run it as
// separate processes, as a scheduler would.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "vitals-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "vitals")
		out, err := exec.Command("go", "build", "-o", binPath, "../cmd/vitals").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// exe runs the vitals binary and returns its exit code and stderr.
func exe(t *testing.T, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), errb.String()
	}
	if err != nil {
		t.Fatalf("vitals %v: %v", args, err)
	}
	return 0, errb.String()
}

// runShards runs n shard processes at once, then one single run, then
// merges the shards, and returns the single and the merged report.
func runShards(t *testing.T, n int, args ...string) (single, merged *vreport.Report, shards []*vreport.Report) {
	t.Helper()
	dir := t.TempDir()
	var wg sync.WaitGroup
	codes := make([]int, n)
	errs := make([]string, n)
	var paths []string
	for i := 0; i < n; i++ {
		p := filepath.Join(dir, fmt.Sprintf("shard-%d.json", i))
		paths = append(paths, p)
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			codes[i], errs[i] = exe(t, append([]string{"check", "--shard", fmt.Sprintf("%d/%d", i, n), "--fail-on", "none", "--format", "json", "--out", p}, args...)...)
		}(i)
	}
	wg.Wait()
	for i := range codes {
		if codes[i] != 0 {
			t.Fatalf("shard %d/%d exited %d: %s", i, n, codes[i], errs[i])
		}
	}
	singlePath, mergedPath := filepath.Join(dir, "single.json"), filepath.Join(dir, "merged.json")
	if code, stderr := exe(t, append([]string{"check", "--fail-on", "none", "--format", "json", "--out", singlePath}, args...)...); code != 0 {
		t.Fatalf("single run exited %d: %s", code, stderr)
	}
	// Shards are given out of order: the merge must not care.
	if code, stderr := exe(t, append([]string{"report", "merge", "--fail-on", "none", "--out", mergedPath}, append(paths[1:], paths[0])...)...); code != 0 {
		t.Fatalf("merge exited %d: %s", code, stderr)
	}
	load := func(p string) *vreport.Report {
		r, err := vreport.Load(p)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	for _, p := range paths {
		shards = append(shards, load(p))
	}
	return load(singlePath), load(mergedPath), shards
}

// sameReport compares everything a merged report must share with the
// single run: run, sources, summary, findings (ids, evidence and all),
// instances and rule errors.
func sameReport(t *testing.T, single, merged *vreport.Report) {
	t.Helper()
	sameReportExcept(t, single, merged, nil)
}

// sameReportExcept is sameReport, but the findings and instances of the
// given roots need only agree on ids, codes and outcomes.
func sameReportExcept(t *testing.T, single, merged *vreport.Report, roots map[string]bool) {
	t.Helper()
	strip := func(r *vreport.Report) ([]vreport.Finding, []vreport.Instance) {
		var fs []vreport.Finding
		for _, f := range r.Findings {
			if roots[f.Root] {
				f = vreport.Finding{ID: f.ID, Code: f.Code, Root: f.Root, Severity: f.Severity}
			}
			fs = append(fs, f)
		}
		var is []vreport.Instance
		for _, in := range r.Instances {
			if roots[in.Root] {
				in = vreport.Instance{Root: in.Root, Roots: in.Roots, Outcome: in.Outcome, Findings: in.Findings}
			}
			is = append(is, in)
		}
		return fs, is
	}
	sf, si := strip(single)
	mf, mi := strip(merged)
	js := func(v any) string {
		b, err := json.MarshalIndent(v, "", " ")
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for _, part := range []struct {
		name string
		a, b any
	}{
		{"run", single.Run, merged.Run},
		{"sources", single.Sources, merged.Sources},
		{"summary", single.Summary, merged.Summary},
		{"findings", sf, mf},
		{"instances", si, mi},
		{"rule_errors", single.RuleErrors, merged.RuleErrors},
	} {
		if a, b := js(part.a), js(part.b); a != b {
			t.Errorf("merged %s differ from the single run's:\n%s", part.name, firstDiff(a, b))
		}
	}
}

func firstDiff(a, b string) string {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(la) && i < len(lb); i++ {
		if la[i] != lb[i] {
			return fmt.Sprintf("line %d: single %q, merged %q", i+1, la[i], lb[i])
		}
	}
	return fmt.Sprintf("single has %d lines, merged %d", len(la), len(lb))
}

// Four shard processes over the bundled demo merge into exactly the
// single run's report.
func TestShardsMergeEqualsSingleRunDemo(t *testing.T) {
	single, merged, _ := runShards(t, 4, "--config", "../configs/checkout.yaml", "--all-instances")
	sameReport(t, single, merged)
	if merged.Merged == nil || merged.Merged.Shards != 4 || len(merged.Merged.Warnings) > 0 {
		t.Errorf("merge info %+v; want 4 shards, no warnings", merged.Merged)
	}
	if len(single.Findings) == 0 {
		t.Fatal("the demo gave no findings")
	}
	t.Logf("%d findings, %d instances: identical", len(single.Findings), single.Summary.Instances)
}

// The same on a generated workload: thousands of instances, every
// scenario, ground truth known.
func TestShardsMergeEqualsSingleRunWorkload(t *testing.T) {
	dir := t.TempDir()
	if _, err := gen.Workload(dir, gen.WorkloadOptions{Instances: 3000, AnomalyRate: 0.2, Seed: 7, Config: "../configs/checkout.yaml"}); err != nil {
		t.Fatal(err)
	}
	single, merged, _ := runShards(t, 4, "--config", filepath.Join(dir, "vitals.yaml"))
	sameReport(t, single, merged)
	truth, err := gen.ReadTruth(filepath.Join(dir, "truth.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if bad := gen.CheckTruth(truth, findingCodes(merged)); len(bad) > 0 {
		t.Errorf("the merged report differs from the ground truth:\n%s", strings.Join(bad, "\n"))
	}
}

// findingCodes returns each root's finding codes.
func findingCodes(r *vreport.Report) map[string][]string {
	out := map[string][]string{}
	for _, f := range r.Findings {
		out[f.Root] = append(out[f.Root], f.Code)
	}
	return out
}
