package kafkatest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Checkout topics: the events of fixtures/checkout/events.jsonl and the
// dead letters of dead_letters.jsonl, as configs/checkout-pg-kafka.yaml
// reads them.
const (
	EventsTopic      = "checkout.events"
	EventsPartitions = 3
	DLQTopic         = "checkout.dlq"
)

// CheckoutRecords turns the checkout fixture files in dir into the
// messages a real system would have produced: each event keyed by its
// order id, partitioned by key, stamped with its occurred_at (a broken
// line as it is, stamped like the line before it); each dead
// letter with its key, headers, value and timestamp as dumped.
func CheckoutRecords(dir string) ([]*kgo.Record, error) {
	var out []*kgo.Record
	var last time.Time
	err := eachLine(filepath.Join(dir, "events.jsonl"), func(line []byte) error {
		var ev struct {
			OrderID    string `json:"order_id"`
			OccurredAt string `json:"occurred_at"`
		}
		ts := last
		if json.Unmarshal(line, &ev) == nil {
			if t, err := time.Parse(time.RFC3339Nano, ev.OccurredAt); err == nil {
				ts = t
			}
		}
		// A line that is not JSON (the fixtures hold one on purpose) is
		// produced as it is: a broken message on the topic.
		last = ts
		h := fnv.New32a()
		h.Write([]byte(ev.OrderID))
		out = append(out, &kgo.Record{
			Topic: EventsTopic, Partition: int32(h.Sum32() % EventsPartitions),
			Key: []byte(ev.OrderID), Value: append([]byte(nil), line...), Timestamp: ts,
		})
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = eachLine(filepath.Join(dir, "dead_letters.jsonl"), func(line []byte) error {
		var dl struct {
			Timestamp int64             `json:"timestamp"`
			Key       string            `json:"key"`
			Headers   map[string]string `json:"headers"`
			Value     json.RawMessage   `json:"value"`
		}
		if err := json.Unmarshal(line, &dl); err != nil {
			return err
		}
		r := &kgo.Record{Topic: DLQTopic, Partition: 0, Key: []byte(dl.Key), Value: dl.Value, Timestamp: time.UnixMilli(dl.Timestamp)}
		for k, v := range dl.Headers {
			r.Headers = append(r.Headers, kgo.RecordHeader{Key: k, Value: []byte(v)})
		}
		out = append(out, r)
		return nil
	})
	return out, err
}

func eachLine(path string, fn func([]byte) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		if len(sc.Bytes()) == 0 {
			continue
		}
		if err := fn(sc.Bytes()); err != nil {
			return fmt.Errorf("%s:%d: %w", path, n, err)
		}
	}
	return sc.Err()
}

// LoadCheckout creates the checkout topics and produces the fixture data
// in dir to them.
func (k *Cluster) LoadCheckout(ctx context.Context, dir string) error {
	recs, err := CheckoutRecords(dir)
	if err != nil {
		return err
	}
	for _, t := range []struct {
		name string
		n    int
	}{{EventsTopic, EventsPartitions}, {DLQTopic, 1}} {
		if err := k.createTopic(ctx, t.name, t.n); err != nil {
			return err
		}
	}
	return k.cl.ProduceSync(ctx, recs...).FirstErr()
}
