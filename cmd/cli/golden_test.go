package cli

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vitals-dev/vitals/internal/vitalstest"

	"github.com/vitals-dev/vitals/fixtures/gen"
	"github.com/vitals-dev/vitals/report"
	"github.com/vitals-dev/vitals/saga"
)

var update = flag.Bool("update", false, "rewrite golden files from the current output")

const casesDir = "../../fixtures/cases"

// run runs vitals with args and returns stdout, stderr and the exit code.
func run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Main(args, &out, &errOut)
	return out.String(), errOut.String(), code
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	vitalstest.Golden(t, path, got, *update, "./cmd/cli")
}

func caseDirs(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(casesDir)
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, e := range entries {
		if e.IsDir() {
			dirs = append(dirs, e.Name())
		}
	}
	if len(dirs) < len(gen.Catalogue) {
		t.Fatalf("%d case folders, %d scenarios: run go run ./fixtures/gen/cmd/checkoutgen", len(dirs), len(gen.Catalogue))
	}
	return dirs
}

// TestGoldenCases runs `vitals check` on every case folder and checks the
// report against the folder's expected report, and the findings against
// the scenario's intent (exactly these codes, no more, no fewer).
func TestGoldenCases(t *testing.T) {
	for _, name := range caseDirs(t) {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(casesDir, name)
			var exp gen.Expect
			b, err := os.ReadFile(filepath.Join(dir, "expect.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &exp); err != nil {
				t.Fatal(err)
			}
			stdout, stderr, code := run(t, "check", "-c", filepath.Join(dir, "config.yaml"), "--format", "json", "--all-instances")
			var rep report.Report
			if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
				t.Fatalf("exit %d, stderr %s: output is not a JSON report: %v", code, stderr, err)
			}
			golden(t, filepath.Join(dir, "report.json"), stdout)

			var codes []string
			wantExit := ExitOK
			for _, f := range rep.Findings {
				codes = append(codes, f.Code)
				if sev, _ := saga.ParseSeverity(f.Severity); sev >= saga.High {
					wantExit = ExitFindings
				}
			}
			slices.Sort(codes)
			if codes == nil {
				codes = []string{}
			}
			if !slices.Equal(codes, exp.Codes) {
				t.Errorf("%s (%s): findings %v, want exactly %v", exp.Scenario, exp.What, codes, exp.Codes)
			}
			if code != wantExit {
				t.Errorf("exit code %d, want %d (stderr: %s)", code, wantExit, stderr)
			}
			if !exp.Judged {
				if rep.Summary.Judged != 0 || rep.Summary.BeforeWindow != 1 {
					t.Errorf("judged %d, before window %d: the instance started before the window and must not be judged", rep.Summary.Judged, rep.Summary.BeforeWindow)
				}
				return
			}
			if exp.Outcome == "" {
				return // an orphan: no instance
			}
			got := ""
			for _, in := range rep.Instances {
				if in.Root == exp.Root {
					got = in.Outcome
				}
			}
			if got != exp.Outcome {
				t.Errorf("%s: outcome %q, want %q", exp.Root, got, exp.Outcome)
			}
		})
	}
}

// TestCheckoutGroundTruth runs the default config on the bundled demo and
// compares every instance with the generator's ground truth.
func TestCheckoutGroundTruth(t *testing.T) {
	stdout, stderr, code := run(t, "check", "-c", "../../configs/checkout.yaml", "--format", "json", "--all-instances")
	if code != ExitFindings {
		t.Fatalf("exit %d, want 1 (the demo has critical findings); stderr: %s", code, stderr)
	}
	var rep report.Report
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatal(err)
	}
	var truth []gen.Truth
	b, err := os.ReadFile("../../fixtures/checkout/truth.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &truth); err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, f := range rep.Findings {
		got[f.Root] = append(got[f.Root], f.Code)
	}
	outcome := map[string]string{}
	for _, in := range rep.Instances {
		outcome[in.Root] = in.Outcome
	}
	judged, seen := 0, map[string]bool{}
	for _, tr := range truth {
		seen[tr.Root] = true
		codes := got[tr.Root]
		slices.Sort(codes)
		if codes == nil {
			codes = []string{}
		}
		if !slices.Equal(codes, tr.Codes) {
			t.Errorf("%s (%s): findings %v, want %v", tr.Root, tr.Scenario, codes, tr.Codes)
		}
		if !tr.Judged {
			continue
		}
		if tr.Outcome != "" {
			judged++
			if outcome[tr.Root] != tr.Outcome {
				t.Errorf("%s (%s): outcome %q, want %q", tr.Root, tr.Scenario, outcome[tr.Root], tr.Outcome)
			}
		}
	}
	for root, codes := range got {
		if !seen[root] {
			t.Errorf("finding on %s (%v), which the ground truth does not know", root, codes)
		}
	}
	if rep.Summary.Judged != judged {
		t.Errorf("judged %d instances, ground truth has %d", rep.Summary.Judged, judged)
	}
	// Every code of the vocabulary shows at least once in the demo.
	for _, c := range saga.Codes {
		if rep.Summary.ByCode[string(c.Code)] == 0 {
			t.Errorf("the demo shows no %s finding", c.Code)
		}
	}
	// The truncated last line of the event dump is counted, with its line.
	for _, s := range rep.Sources {
		if s.Name == "events" && (s.Errors != 1 || len(s.BadInput) != 1 || s.BadInput[0].At != "events:events.jsonl:1591") {
			t.Errorf("events source: %d errors %v; want the truncated last line reported at events.jsonl:1591", s.Errors, s.BadInput)
		}
	}
}

// TestReadmeExample keeps the README's worked example true: its check
// output (up to the findings table) and its explain table are what vitals
// prints today.
func TestReadmeExample(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	check, _, _ := run(t, "check", "-c", "../../configs/checkout.yaml")
	head, _, ok := strings.Cut(check, "\nFindings\n")
	if !ok {
		t.Fatalf("no findings table in:\n%s", check)
	}
	explain, _, _ := run(t, "explain", "ORD-1042", "-c", "../../configs/checkout.yaml")
	steps, _, _ := strings.Cut(explain, "\nEvidence, in time order:")
	for name, want := range map[string]string{"check": head, "explain": steps} {
		if !strings.Contains(string(readme), want) {
			t.Errorf("README.md does not show today's %s output; replace its example with:\n%s", name, want)
		}
	}
}
