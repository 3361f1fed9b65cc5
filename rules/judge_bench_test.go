package rules_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/vitals-dev/vitals/fixtures/gen"
	"github.com/vitals-dev/vitals/internal/vitalstest"
	"github.com/vitals-dev/vitals/reconcile"
	"github.com/vitals-dev/vitals/record"
	"github.com/vitals-dev/vitals/saga"
)

// BenchmarkJudge judges the inferred instances of a generated checkout
// workload (VITALS_BENCH_INSTANCES, default 20,000) on one goroutine:
// the judge alone, without reading, correlating or inferring.
func BenchmarkJudge(b *testing.B) {
	n := 20000
	if v, err := strconv.Atoi(os.Getenv("VITALS_BENCH_INSTANCES")); err == nil && v > 0 {
		n = v
	}
	dir := b.TempDir()
	if _, err := gen.Workload(dir, gen.WorkloadOptions{Instances: n, AnomalyRate: 0.02, Seed: 1, Config: "../configs/checkout.yaml"}); err != nil {
		b.Fatal(err)
	}
	res, err := reconcile.Run(context.Background(), vitalstest.Input(b, filepath.Join(dir, "vitals.yaml")), reconcile.Options{})
	if err != nil {
		b.Fatal(err)
	}
	var ins []*saga.Instance
	var kinds [][]record.Sym
	findings := 0
	if err := res.Each(context.Background(), func(in *saga.Instance) error {
		ks := make([]record.Sym, len(in.Records))
		for i, id := range in.Records {
			_, ks[i], _ = res.Store.Sig(id)
		}
		ins, kinds = append(ins, in), append(kinds, ks)
		findings += len(in.Findings)
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	jr := res.Model.Judger(res.Store)
	b.ResetTimer()
	cpu0 := cpuTime()
	for b.Loop() {
		got := 0
		for i, in := range ins {
			in.RuleErrors = in.RuleErrors[:0]
			got += len(jr.Judge(in, kinds[i]))
		}
		if got != findings {
			b.Fatalf("%d findings, want %d", got, findings)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(len(ins)*b.N), "ns/instance")
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(len(ins)*b.N), "cpu-ns/instance")
}

// cpuTime returns the process's user+system CPU time, which other load on
// the machine disturbs less than wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
