package kafka_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/vitals-dev/vitals/internal/kafkatest"
	"github.com/vitals-dev/vitals/sources"
	"github.com/vitals-dev/vitals/sources/sourcetest"
)

// BenchmarkRead reads 200k JSON messages from 4 partitions of the
// in-process broker over TCP: the number to watch is messages/s (the
// broker shares the CPU with the reader here).
func BenchmarkRead(b *testing.B) {
	const n = 200_000
	k := kafkatest.Start(b, []kfake.Opt{kfake.DataDir(b.TempDir())})
	k.CreateTopic(b, "bench", 4)
	recs := make([]*kgo.Record, n)
	for i, r := range sourcetest.Rows(n, false) {
		v, _ := json.Marshal(map[string]any{"id": r.ID, "order_id": r.Order, "status": r.Status, "amount": r.Amount, "currency": r.Currency, "created_at": r.Time})
		recs[i] = &kgo.Record{Topic: "bench", Partition: int32(i % 4), Key: []byte(r.Order), Value: v, Timestamp: *r.Time}
	}
	k.Produce(b, recs...)
	rec := sourcetest.Spec(func(f string) string { return "value." + f })
	rec["topic"] = "bench"
	src, err := newSourceE(k, map[string]any{"records": []any{rec}})
	if err != nil {
		b.Fatal(err)
	}
	w := sources.Window{Until: sourcetest.Base.Add(n * time.Minute)}
	b.ResetTimer()
	for b.Loop() {
		sink := &sourcetest.Sink{Discard: true}
		if _, err := src.Read(context.Background(), w, sink); err != nil || sink.N != n {
			b.Fatalf("read %d: %v", sink.N, err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
