package reconcile

import (
	"context"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/vitals-dev/vitals/config"
	"github.com/vitals-dev/vitals/fixtures/gen"
	"github.com/vitals-dev/vitals/sources/all"
)

// The phase benchmarks time correlation alone, on a result read once.

func phaseInput(b *testing.B) *Input {
	n := 20000
	if v, err := strconv.Atoi(os.Getenv("VITALS_BENCH_INSTANCES")); err == nil && v > 0 {
		n = v
	}
	dir := b.TempDir()
	if _, err := gen.Workload(dir, gen.WorkloadOptions{Instances: n, AnomalyRate: 0.02, Seed: 1, Config: "../configs/checkout.yaml"}); err != nil {
		b.Fatal(err)
	}
	cfg, err := config.Load(dir+"/vitals.yaml", nil)
	if err != nil {
		b.Fatal(err)
	}
	in, err := Setup(cfg, all.Registry(), time.Now())
	if err != nil {
		b.Fatal(err)
	}
	return in
}

func cpuNow() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkCorrelate links the records of a read workload into instances.
func BenchmarkCorrelate(b *testing.B) {
	res, err := Run(context.Background(), phaseInput(b), Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	cpu0 := cpuNow()
	for b.Loop() {
		if err := res.correlate(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuNow()-cpu0)/float64(res.Store.Len()*b.N), "cpu-ns/record")
}

// BenchmarkInfer infers the steps of every component of a read workload
// on one goroutine, without judging: the inference alone.
func BenchmarkInfer(b *testing.B) {
	res, err := Run(context.Background(), phaseInput(b), Options{})
	if err != nil {
		b.Fatal(err)
	}
	res.cov = newCoverage(res.Sources)
	x := res.newInferer()
	b.ResetTimer()
	cpu0 := cpuNow()
	for b.Loop() {
		for i := range res.comps {
			if _, err := x.instance(i); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(cpuNow()-cpu0)/float64(len(res.comps)*b.N), "cpu-ns/instance")
}
