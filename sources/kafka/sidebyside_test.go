package kafka_test

import (
	"context"
	"os"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/vitals-dev/vitals/fixtures/gen"
	"github.com/vitals-dev/vitals/fixtures/gen/live"
	"github.com/vitals-dev/vitals/internal/kafkatest"
	"github.com/vitals-dev/vitals/sources"
	"github.com/vitals-dev/vitals/sources/kafka"
	"github.com/vitals-dev/vitals/sources/sourcetest"
)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkSideBySide reads the checkout event topic of a generated
// workload (4 partitions, JSON events as the shop emits them) from the
// in-process broker both ways, alternately, in every iteration: the kafka
// source with the events mapping of configs/checkout-pg-kafka.yaml, and
// bare kafka-go Readers (one per partition, read at once, as the source
// reads them) that fetch every message and do nothing with it. Instances:
// VITALS_BENCH_KAFKA_INSTANCES (default 40000, about 200k messages).
// A third way shows the floor: the same conn.ReadBatch loop the source
// runs, without decoding or mapping. Metrics: msgs/s of each, the ratios
// of wall times (source/reader: target <= 1.5; source/batch), CPU per
// message of each (the broker runs in this process, so its share is
// included in all three).
func BenchmarkSideBySide(b *testing.B) {
	n := 40_000
	if v, err := strconv.Atoi(os.Getenv("VITALS_BENCH_KAFKA_INSTANCES")); err == nil && v > 0 {
		n = v
	}
	ctx := context.Background()
	k := kafkatest.Start(b, nil)
	cl, err := kgo.NewClient(kgo.SeedBrokers(k.Addr), kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerBatchMaxBytes(16<<10))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	kf, err := live.NewKafka(ctx, cl, 4)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := gen.Workload(b.TempDir(), gen.WorkloadOptions{Instances: n, AnomalyRate: 0.02, Seed: 1, Sinks: []gen.InstanceSink{kf}}); err != nil {
		b.Fatal(err)
	}
	if err := kf.Close(); err != nil {
		b.Fatal(err)
	}
	// The events topic only: dead letters are a few dozen messages.
	var events int64
	hwm := map[int]int64{}
	conn, err := kafkago.Dial("tcp", k.Addr)
	if err != nil {
		b.Fatal(err)
	}
	parts, err := conn.ReadPartitions(live.EventsTopic)
	conn.Close()
	if err != nil {
		b.Fatal(err)
	}
	for _, p := range parts {
		c, err := kafkago.DialLeader(ctx, "tcp", k.Addr, live.EventsTopic, p.ID)
		if err != nil {
			b.Fatal(err)
		}
		_, last, err := c.ReadOffsets()
		c.Close()
		if err != nil {
			b.Fatal(err)
		}
		hwm[p.ID] = last
		events += last
	}
	src, err := kafka.New(sources.Config{Name: "events", Type: "kafka", KeyTypes: []string{"order_id", "event_id", "idempotency_key", "charge_id", "reservation_id", "invoice_id"}, Raw: map[string]any{
		"brokers": []any{k.Addr},
		"records": []any{map[string]any{
			"topic": live.EventsTopic,
			"kind":  map[string]any{"field": "value.type", "prefix": "event:"},
			"keys": map[string]any{
				"event_id": "value.event_id", "order_id": "value.order_id", "idempotency_key": "value.data.idempotency_key",
				"charge_id": "value.data.charge_id", "reservation_id": "value.data.reservation_id", "invoice_id": "value.data.invoice_id",
			},
			"time":   "value.occurred_at",
			"amount": map[string]any{"value": "value.data.amount", "currency": "value.data.currency"},
			"attrs":  map[string]any{"reason": "value.data.reason"},
		}},
	}})
	if err != nil {
		b.Fatal(err)
	}
	w := sources.Window{Until: time.Now().Add(time.Hour)}
	bare := func() int64 {
		var wg sync.WaitGroup
		var mu sync.Mutex
		var total int64
		for p, last := range hwm {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: []string{k.Addr}, Topic: live.EventsTopic, Partition: p, MinBytes: 1, MaxBytes: 4 << 20, MaxWait: 500 * time.Millisecond})
				defer r.Close()
				var got int64
				for got < last {
					m, err := r.ReadMessage(ctx)
					if err != nil {
						b.Error(err)
						return
					}
					got++
					if m.Offset >= last-1 {
						break
					}
				}
				mu.Lock()
				total += got
				mu.Unlock()
			}()
		}
		wg.Wait()
		return total
	}
	// The floor: what the source does below its mapping, fetching with
	// conn.ReadBatch from each partition's leader and reading every message.
	batches := func() int64 {
		var wg sync.WaitGroup
		var mu sync.Mutex
		var total int64
		for p, last := range hwm {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := kafkago.DialLeader(ctx, "tcp", k.Addr, live.EventsTopic, p)
				if err != nil {
					b.Error(err)
					return
				}
				defer c.Close()
				var got, off int64
				for off < last {
					if _, err := c.Seek(off, kafkago.SeekAbsolute|kafkago.SeekDontCheck); err != nil {
						b.Error(err)
						return
					}
					batch := c.ReadBatchWith(kafkago.ReadBatchConfig{MinBytes: 1, MaxBytes: 4 << 20, MaxWait: 500 * time.Millisecond})
					for {
						m, err := batch.ReadMessage()
						if err != nil {
							break
						}
						if m.Offset >= off {
							got++
							off = m.Offset + 1
						}
					}
					batch.Close()
				}
				mu.Lock()
				total += got
				mu.Unlock()
			}()
		}
		wg.Wait()
		return total
	}
	var srcWall, bareWall, batchWall, srcCPU, bareCPU, batchCPU time.Duration
	b.ResetTimer()
	for b.Loop() {
		t0, c0 := time.Now(), cpuTime()
		sink := &sourcetest.CountSink{}
		if _, err := src.Read(ctx, w, sink); err != nil || int64(sink.N()) != events {
			b.Fatalf("source read %d of %d messages: %v", sink.N(), events, err)
		}
		t1, c1 := time.Now(), cpuTime()
		if got := bare(); got != events {
			b.Fatalf("readers read %d of %d messages", got, events)
		}
		t2, c2 := time.Now(), cpuTime()
		if got := batches(); got != events {
			b.Fatalf("batches read %d of %d messages", got, events)
		}
		srcWall += t1.Sub(t0)
		bareWall += t2.Sub(t1)
		batchWall += time.Since(t2)
		srcCPU += c1 - c0
		bareCPU += c2 - c1
		batchCPU += cpuTime() - c2
	}
	msgs := float64(events) * float64(b.N)
	b.ReportMetric(msgs/srcWall.Seconds(), "source-msgs/s")
	b.ReportMetric(msgs/bareWall.Seconds(), "reader-msgs/s")
	b.ReportMetric(srcWall.Seconds()/bareWall.Seconds(), "wall-ratio")
	b.ReportMetric(float64(srcCPU.Nanoseconds())/msgs, "source-cpu-ns/msg")
	b.ReportMetric(float64(bareCPU.Nanoseconds())/msgs, "reader-cpu-ns/msg")
	b.ReportMetric(msgs/batchWall.Seconds(), "batch-msgs/s")
	b.ReportMetric(srcWall.Seconds()/batchWall.Seconds(), "batch-wall-ratio")
	b.ReportMetric(float64(batchCPU.Nanoseconds())/msgs, "batch-cpu-ns/msg")
}
