package plan_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vitals-dev/vitals/internal/vitalstest"

	"github.com/google/go-cmp/cmp"

	"github.com/vitals-dev/vitals/config"
	"github.com/vitals-dev/vitals/plan"
	"github.com/vitals-dev/vitals/reconcile"
	"github.com/vitals-dev/vitals/report"
	"github.com/vitals-dev/vitals/sources/all"
)

var update = flag.Bool("update", false, "rewrite golden files from the current output")

// goldenCase is one input (a config) and the folder of its expected plans.
type goldenCase struct {
	name   string
	config string // path from this package
	shown  string // the config path the plan shows (repo-relative)
	golden string // folder of plan.txt, plan.json, plan.csv
}

// goldenCases lists this package's own cases (inputs and expected plans in
// testdata/cases/NAME), the checkout fixture cases (inputs in
// fixtures/cases/NAME, expected plans in testdata/fixtures/NAME) and the
// bundled demo (testdata/checkout).
func goldenCases(t *testing.T) []goldenCase {
	t.Helper()
	var out []goldenCase
	own, err := os.ReadDir("testdata/cases")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range own {
		dir := filepath.Join("testdata/cases", e.Name())
		out = append(out, goldenCase{name: e.Name(), config: filepath.Join(dir, "config.yaml"),
			shown: "plan/" + dir + "/config.yaml", golden: dir})
	}
	fx, err := os.ReadDir("../fixtures/cases")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range fx {
		if !e.IsDir() {
			continue
		}
		out = append(out, goldenCase{name: "fixtures/" + e.Name(),
			config: filepath.Join("../fixtures/cases", e.Name(), "config.yaml"),
			shown:  "fixtures/cases/" + e.Name() + "/config.yaml",
			golden: filepath.Join("testdata/fixtures", e.Name())})
	}
	if len(own) < 9 || len(fx) < 20 {
		t.Fatalf("%d own cases and %d fixture cases: testdata or fixtures/cases went missing", len(own), len(fx))
	}
	out = append(out, goldenCase{name: "checkout", config: "../configs/checkout.yaml", shown: "configs/checkout.yaml", golden: "testdata/checkout"})
	return out
}

// build runs the pipeline on a config file and plans, as `vitals plan`
// does.
func build(t *testing.T, path, shown string, opts reconcile.Options) (*reconcile.Result, *plan.Plan) {
	t.Helper()
	cfg, err := config.Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return buildFrom(t, cfg, shown, opts)
}

func buildFrom(t *testing.T, cfg *config.Config, shown string, opts reconcile.Options) (*reconcile.Result, *plan.Plan) {
	t.Helper()
	in, err := reconcile.Setup(cfg, all.Registry(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	res, err := reconcile.Run(context.Background(), in, opts)
	if err != nil {
		t.Fatal(err)
	}
	p, err := plan.Build(context.Background(), res, plan.Options{ConfigPath: shown})
	if err != nil {
		t.Fatal(err)
	}
	return res, p
}

func render(t *testing.T, p *plan.Plan, f report.Format) string {
	t.Helper()
	var b bytes.Buffer
	if err := report.WritePlan(&b, p, f); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	vitalstest.Golden(t, path, got, *update, "./plan")
}

// TestGoldenPlans plans every case and compares the table, JSON and CSV
// forms with the expected files.
func TestGoldenPlans(t *testing.T) {
	for _, c := range goldenCases(t) {
		t.Run(c.name, func(t *testing.T) {
			_, p := build(t, c.config, c.shown, reconcile.Options{})
			golden(t, filepath.Join(c.golden, "plan.txt"), render(t, p, report.FormatTable))
			golden(t, filepath.Join(c.golden, "plan.json"), render(t, p, report.FormatJSON))
			golden(t, filepath.Join(c.golden, "plan.csv"), render(t, p, report.FormatCSV))
		})
	}
}

// TestDeterministic plans the demo twice, once on one worker and once on
// many: the bytes are identical in every format.
func TestDeterministic(t *testing.T) {
	_, a := build(t, "../configs/checkout.yaml", "configs/checkout.yaml", reconcile.Options{Workers: 1})
	_, b := build(t, "../configs/checkout.yaml", "configs/checkout.yaml", reconcile.Options{Workers: 8})
	if len(a.Actions) < 20 {
		t.Fatalf("the demo plan has %d actions; expected a few dozen", len(a.Actions))
	}
	for _, f := range []report.Format{report.FormatTable, report.FormatJSON, report.FormatCSV} {
		if x, y := render(t, a, f), render(t, b, f); x != y {
			t.Errorf("%s output differs between two runs:\n%s", f, cmp.Diff(x, y))
		}
	}
}
