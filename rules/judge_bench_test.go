package rules_test

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vitals-dev/vitals/fixtures/gen"
	"github.com/vitals-dev/vitals/internal/vitalstest"
	"github.com/vitals-dev/vitals/reconcile"
	"github.com/vitals-dev/vitals/record"
	"github.com/vitals-dev/vitals/saga"
)

// judged generates a checkout workload of n instances and evaluates it:
// the instances with their findings, the kinds of their records, and
// the result they come from. invariants, YAML of list items, are added to
// the checkout process's.
func judged(tb testing.TB, n int, invariants string) (*reconcile.Result, []*saga.Instance, [][]record.Sym) {
	dir := tb.TempDir()
	if _, err := gen.Workload(dir, gen.WorkloadOptions{Instances: n, AnomalyRate: 0.02, Seed: 1, Config: "../configs/checkout.yaml"}); err != nil {
		tb.Fatal(err)
	}
	if invariants != "" {
		cfg := filepath.Join(dir, "vitals.yaml")
		b, err := os.ReadFile(cfg)
		if err != nil {
			tb.Fatal(err)
		}
		y := strings.Replace(string(b), "\n  orphans:", "\n"+invariants+"\n  orphans:", 1)
		if y == string(b) {
			tb.Fatal("the checkout config has no orphans: section to add invariants before")
		}
		if err := os.WriteFile(cfg, []byte(y), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	res, err := reconcile.Run(context.Background(), vitalstest.Input(tb, filepath.Join(dir, "vitals.yaml")), reconcile.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	var ins []*saga.Instance
	var kinds [][]record.Sym
	if err := res.Each(context.Background(), func(in *saga.Instance) error {
		ks := make([]record.Sym, len(in.Records))
		for i, id := range in.Records {
			_, ks[i], _ = res.Store.Sig(id)
		}
		ins, kinds = append(ins, in), append(kinds, ks)
		return nil
	}); err != nil {
		tb.Fatal(err)
	}
	return res, ins, kinds
}

// TestJudgeReusesNothingStale judges a workload's instances again with
// one judger, in reverse order: a judger reuses its memory from one
// instance to the next, and no instance may see anything of another.
// Besides the checkout invariants, one counts what the env's lists hold,
// which a list left over from the instance before would change (the
// checkout invariants only take the first order, and a reused view may
// alias the current instance's).
func TestJudgeReusesNothingStale(t *testing.T) {
	res, ins, kinds := judged(t, 3000, `    - code: STATUS_DIVERGENCE   # any code of the vocabulary: a probe
      severity: low
      step: create_order
      expr: len(by_kind.order ?? []) + len(steps.capture_payment.succeeded) + len(steps.refund_payment.succeeded) <= 3
      message: 'lists hold {{len(by_kind.order ?? [])}}, {{len(steps.capture_payment.succeeded)}}, {{len(steps.refund_payment.succeeded)}}'`)
	jr := res.Model.Judger(res.Store)
	flagged := 0
	for i := len(ins) - 1; i >= 0; i-- {
		in := ins[i]
		want := in.Findings
		in.RuleErrors = in.RuleErrors[:0]
		got := jr.Judge(in, kinds[i])
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("instance %s judged again: %+v, want %+v", in.Root, got, want)
		}
		if len(want) > 0 {
			flagged++
		}
	}
	if flagged == 0 {
		t.Fatal("no instance has findings: the test tests nothing")
	}
}

// BenchmarkJudge judges the inferred instances of a generated checkout
// workload (VITALS_BENCH_INSTANCES, default 20,000) on one goroutine:
// the judge alone, without reading, correlating or inferring.
func BenchmarkJudge(b *testing.B) {
	n := 20000
	if v, err := strconv.Atoi(os.Getenv("VITALS_BENCH_INSTANCES")); err == nil && v > 0 {
		n = v
	}
	res, ins, kinds := judged(b, n, "")
	findings := 0
	for _, in := range ins {
		findings += len(in.Findings)
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
