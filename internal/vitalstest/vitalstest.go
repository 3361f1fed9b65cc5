// Package vitalstest helps tests run the pipeline on a config file, the
// way `vitals check` does: load, set up the sources, read and correlate.
package vitalstest

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/vitals-dev/vitals/config"
	"github.com/vitals-dev/vitals/reconcile"
	"github.com/vitals-dev/vitals/sources/all"
)

// Input loads the config at path and builds the run's input; it fails the
// test on any error.
func Input(t testing.TB, path string) *reconcile.Input {
	t.Helper()
	cfg, err := config.Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	in, err := reconcile.Setup(cfg, all.Registry(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// Run reads the sources of the config at path and correlates the records.
func Run(t testing.TB, path string, opts reconcile.Options) *reconcile.Result {
	t.Helper()
	res, err := reconcile.Run(context.Background(), Input(t, path), opts)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// root is the repository's directory.
var root = func() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}()

// CopyDemo copies the bundled demo data (fixtures/checkout) to a new
// temporary directory, so a test can damage it, and returns the directory.
// edit (nil: none) sees each file's name and bytes and returns what to
// write: another name renames the file, an empty one leaves it out.
func CopyDemo(t testing.TB, edit func(name string, b []byte) (string, []byte)) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(root, "fixtures", "checkout")
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		name := e.Name()
		if edit != nil {
			name, b = edit(name, b)
		}
		if name == "" {
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// DemoConfig writes a copy of configs/checkout.yaml that reads its files
// from dir, with each old, new pair of replace applied once (the test fails
// when one finds nothing to replace: the bundled config changed), and
// returns its path.
func DemoConfig(t testing.TB, dir string, replace ...string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "configs", "checkout.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for i := 0; i+1 < len(replace); i += 2 {
		if !strings.Contains(s, replace[i]) {
			t.Fatalf("configs/checkout.yaml no longer holds %q: update the test", replace[i])
		}
		s = strings.Replace(s, replace[i], replace[i+1], 1)
	}
	s = dataDirLine.ReplaceAllString(s, "data_dir: "+dir)
	path := filepath.Join(dir, "vitals.yaml")
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

var dataDirLine = regexp.MustCompile(`(?m)^data_dir: .*$`)

// CopyCase copies a golden case folder (fixtures/cases/NAME: its exports
// and config) to a new temporary directory, so a test can damage it, and
// returns the directory. The copied config extends the bundled checkout
// config by its absolute path.
func CopyCase(t testing.TB, name string) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(root, "fixtures", "cases", name)
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(root, "configs", "checkout.yaml")
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if e.Name() == "config.yaml" {
			b = []byte(strings.Replace(string(b), "../../../configs/checkout.yaml", base, 1))
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// Golden compares got with the file at path, or, when update is set (the
// package's -update flag), rewrites the file. pkg names the package in the
// message, as in `go test ./plan -update`.
func Golden(t testing.TB, path, got string, update bool, pkg string) {
	t.Helper()
	if update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test %s -update to create it)", err, pkg)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-want +got); if the change is intended, run go test %s -update and review the diff:\n%s", path, pkg, diff)
	}
}
