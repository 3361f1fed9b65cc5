package reconcile_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vitals-dev/vitals/internal/vitalstest"

	"github.com/vitals-dev/vitals/fixtures/gen"
	"github.com/vitals-dev/vitals/reconcile"
	"github.com/vitals-dev/vitals/saga"
)

// benchInstances is the workload size of the pipeline benchmarks;
// VITALS_BENCH_INSTANCES overrides it.
func benchInstances() int {
	if n, err := strconv.Atoi(os.Getenv("VITALS_BENCH_INSTANCES")); err == nil && n > 0 {
		return n
	}
	return 20000
}

var (
	workloadOnce sync.Once
	workloadDir  string
	workloadRecs int
)

// workload writes the benchmark workload once per process.
func workload(b *testing.B) string {
	workloadOnce.Do(func() {
		dir, err := os.MkdirTemp("", "vitals-bench-")
		if err != nil {
			b.Fatal(err)
		}
		st, err := gen.Workload(dir, gen.WorkloadOptions{Instances: benchInstances(), AnomalyRate: 0.02, Seed: 1, Config: "../configs/checkout.yaml"})
		if err != nil {
			b.Fatal(err)
		}
		workloadDir, workloadRecs = dir, st.Records
	})
	return workloadDir
}

func benchInput(b *testing.B) *reconcile.Input {
	return vitalstest.Input(b, filepath.Join(workload(b), "vitals.yaml"))
}

// cpuTime returns the process's user+system CPU time, so benchmarks can
// report CPU per item, which other load on the machine disturbs less than
// wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRead reads and correlates the workload: sources, mapping, the
// store, union-find.
func BenchmarkRead(b *testing.B) {
	in := benchInput(b)
	cpu0 := cpuTime()
	for b.Loop() {
		if _, err := reconcile.Run(context.Background(), in, reconcile.Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(workloadRecs)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(workloadRecs*b.N), "cpu-ns/record")
}

// BenchmarkEvaluate infers every instance's steps and judges it.
func BenchmarkEvaluate(b *testing.B) {
	res, err := reconcile.Run(context.Background(), benchInput(b), reconcile.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	cpu0 := cpuTime()
	for b.Loop() {
		n := 0
		if err := res.Each(context.Background(), func(in *saga.Instance) error { n += len(in.Findings); return nil }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(res.Len())*float64(b.N)/b.Elapsed().Seconds(), "instances/s")
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(res.Len()*b.N), "cpu-ns/instance")
}

// BenchmarkOneHugeInstance evaluates one instance of 60,000 records: a key
// value many records share links them all. Its steps hold 20,000 attempts
// whose outcome is unknown, 20,000 deliveries of one event and 20,000 dead
// letters; evaluation must stay linear in them.
func BenchmarkOneHugeInstance(b *testing.B) {
	dir := vitalstest.CopyCase(b, "clean")
	events, err := os.OpenFile(filepath.Join(dir, "events.jsonl"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	dead, err := os.OpenFile(filepath.Join(dir, "dead_letters.jsonl"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < 20000; i++ {
		fmt.Fprintf(events, `{"event_id":"evt_t%d","type":"PaymentTimedOut","occurred_at":"2026-11-20T09:00:00.000Z","order_id":"ORD-2001","data":{"idempotency_key":"idem_t%d"}}`+"\n", i, i)
		fmt.Fprintf(events, `{"event_id":"evt_dup","type":"PaymentCaptured","occurred_at":"2026-11-20T09:00:05.000Z","order_id":"ORD-2001","data":{"idempotency_key":"idem_ORD-2001_1"}}`+"\n")
		fmt.Fprintf(dead, `{"timestamp":1795165209000,"value":{"order_id":"ORD-2001","event_id":"evt_d%d","type":"PaymentCaptured"},"headers":{}}`+"\n", i)
	}
	events.Close()
	dead.Close()
	res, err := reconcile.Run(context.Background(), vitalstest.Input(b, filepath.Join(dir, "config.yaml")), reconcile.Options{})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := res.Each(context.Background(), func(in *saga.Instance) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}
