package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/vitals-dev/vitals/sources"
	"github.com/vitals-dev/vitals/sources/sourcetest"
)

// BenchmarkRead reads 200k rows of six columns in one snapshot: the
// number to watch is rows/s.
func BenchmarkRead(b *testing.B) {
	const n = 200_000
	table := loadRows(b, sourcetest.Rows(n, false))
	rec := sourcetest.Spec(func(f string) string { return f })
	rec["table"] = table
	src := newSource(b, map[string]any{"records": []any{rec}})
	w := sources.Window{Until: sourcetest.Base.Add(n * time.Minute)}
	b.ResetTimer()
	for b.Loop() {
		sink := &sourcetest.Sink{Discard: true}
		if _, err := src.Read(context.Background(), w, sink); err != nil || sink.N != n {
			b.Fatalf("read %d: %v", sink.N, err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
