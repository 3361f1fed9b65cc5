// Package vitalstest helps tests run the pipeline on a config file, the
// way `vitals check` does: load, set up the sources, read and correlate.
package vitalstest

import (
	"context"
	"testing"
	"time"

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
