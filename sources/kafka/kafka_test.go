package kafka_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/vitals-dev/vitals/internal/kafkatest"
	"github.com/vitals-dev/vitals/record"
	"github.com/vitals-dev/vitals/sources"
	"github.com/vitals-dev/vitals/sources/kafka"
	"github.com/vitals-dev/vitals/sources/sourcetest"
)

var topicSeq atomic.Int64

func newTopic(t *testing.T, k *kafkatest.Cluster, partitions int) string {
	name := fmt.Sprintf("t%d.items", topicSeq.Add(1))
	k.CreateTopic(t, name, partitions)
	return name
}

var keyTypes = []string{"event_id", "item_id", "order_id"}

func newSource(t *testing.T, k *kafkatest.Cluster, raw map[string]any) sources.Source {
	t.Helper()
	src, err := newSourceE(k, raw)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func newSourceE(k *kafkatest.Cluster, raw map[string]any) (sources.Source, error) {
	if _, ok := raw["brokers"]; !ok && k != nil {
		raw["brokers"] = []any{k.Addr}
	}
	return kafka.New(sources.Config{Name: "events", Type: "kafka", KeyTypes: keyTypes, Raw: raw})
}

func readAll(t *testing.T, src sources.Source, w sources.Window) (*sourcetest.Sink, sources.Coverage) {
	t.Helper()
	if w.Until.IsZero() {
		w.Until = time.Now()
	}
	sink := &sourcetest.Sink{}
	cov, err := src.Read(context.Background(), w, sink)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return sink, cov
}

func TestConformance(t *testing.T) {
	// Segments on disk: the in-process broker's storage then does not
	// blur the streaming test's heap measure.
	k := kafkatest.Start(t, []kfake.Opt{kfake.DataDir(t.TempDir())})
	sourcetest.Run(t, sourcetest.Harness{Load: func(t *testing.T, rows []sourcetest.Row) (sources.Source, []record.Provenance) {
		topic := newTopic(t, k, 3)
		recs := make([]*kgo.Record, len(rows))
		for i, r := range rows {
			obj := map[string]any{"amount": r.Amount}
			for j, v := range r.Values() {
				if v != "" && sourcetest.Fields[j] != "amount" {
					obj[sourcetest.Fields[j]] = v
				}
			}
			b, _ := json.Marshal(obj)
			ts := sourcetest.Base.Add(time.Duration(i) * time.Minute)
			recs[i] = &kgo.Record{Topic: topic, Partition: int32(i % 3), Key: []byte(r.Order), Value: b, Timestamp: ts}
		}
		k.Produce(t, recs...)
		where := make([]record.Provenance, len(rows))
		for i, r := range recs {
			where[i] = record.Provenance{Source: "events", Loc: fmt.Sprintf("%s/%d", topic, r.Partition), Pos: r.Offset, Style: record.StyleOffset}
		}
		rec := sourcetest.Spec(func(f string) string { return "value." + f })
		rec["topic"] = topic
		return newSource(t, k, map[string]any{"records": []any{rec}, "fetch_max_bytes": 256 << 10}), where
	},
		// The in-process broker's own fetch buffers (a few MiB) count in
		// the live heap too: more rows keep them small beside the limit.
		StreamRows: 300000,
	})
}

func msg(topic string, part int32, ts time.Time, key, value string, headers ...kgo.RecordHeader) *kgo.Record {
	return &kgo.Record{Topic: topic, Partition: part, Timestamp: ts, Key: []byte(key), Value: []byte(value), Headers: headers}
}

var t0 = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

func TestDebezium(t *testing.T) {
	k := kafkatest.Start(t, nil)
	topic := newTopic(t, k, 1)
	k.Produce(t,
		msg(topic, 0, t0, `{"id":"O1"}`, `{"schema":{"type":"struct"},"payload":{"before":null,"after":{"id":"O1","status":"new","created_at":1795168800000000},"op":"c","ts_ms":1795168800123,"source":{"table":"orders"}}}`),
		msg(topic, 0, t0, `{"id":"O1"}`, `{"before":{"id":"O1","status":"new","created_at":1795168800000000},"after":{"id":"O1","status":"paid","created_at":1795168800000000},"op":"u","ts_ms":1795168860000}`),
		msg(topic, 0, t0, `{"id":"O1"}`, `{"before":{"id":"O1","status":"paid","created_at":1795168800000000},"after":null,"op":"d","ts_ms":1795168920000}`),
		msg(topic, 0, t0, `{"id":"O1"}`, ``), // tombstone
		msg(topic, 0, t0, `{"id":"O1"}`, `{"id":"O1"}`),
	)
	src := newSource(t, k, map[string]any{"records": []any{map[string]any{
		"topic":   topic,
		"decoder": "debezium",
		"kind":    map[string]any{"field": "op", "map": map[string]any{"c": "order_created", "u": "order_updated", "d": "order_deleted", "r": "order_snapshot"}},
		"keys":    map[string]any{"order_id": "value.id"},
		"time":    map[string]any{"field": "ts_ms", "format": "unix_ms"},
		"status":  "value.status",
		"attrs":   map[string]any{"table": "source.table", "created": "value.created_at", "was": "before.status"},
	}}})
	sink, _ := readAll(t, src, sources.Window{})
	if len(sink.Records) != 3 || sink.Filtered != 1 || len(sink.Bads) != 1 {
		t.Fatalf("records %d filtered %d bad %v", len(sink.Records), sink.Filtered, sink.Bads)
	}
	want := []struct{ kind, status, was string }{{"order_created", "new", ""}, {"order_updated", "paid", "new"}, {"order_deleted", "paid", "paid"}}
	for i, w := range want {
		r := sink.Records[i]
		if r.Kind != w.kind || r.Status != w.status || r.Attr("was") != w.was {
			t.Errorf("record %d: %s %s was=%q, want %+v", i, r.Kind, r.Status, r.Attr("was"), w)
		}
		if v, _ := r.Key("order_id"); v != "O1" {
			t.Errorf("record %d: order_id %q", i, v)
		}
	}
	if got := sink.Records[0].Attr("table"); got != "orders" {
		t.Errorf("source.table %q", got)
	}
	if !strings.Contains(sink.Bads[0].Err.Error(), "Debezium") || sink.Bads[0].At.Pos != 4 {
		t.Errorf("bad: %v at %v", sink.Bads[0].Err, sink.Bads[0].At)
	}
}

// The same CloudEvents in structured and binary mode map to the same
// records with one mapping; the type may also come from a header.
func TestCloudEvents(t *testing.T) {
	k := kafkatest.Start(t, nil)
	topic := newTopic(t, k, 2)
	structured := `{"specversion":"1.0","type":"PaymentCaptured","source":"/payments","id":"E1","time":"2026-11-20T10:00:03Z","orderid":"O1","datacontenttype":"application/json","data":{"order_id":"O1","amount":1250,"currency":"EUR"}}`
	k.Produce(t,
		msg(topic, 0, t0, "O1", structured, kafkatest.Header("content-type", "application/cloudevents+json; charset=UTF-8")),
		msg(topic, 1, t0, "O1", `{"order_id":"O1","amount":1250,"currency":"EUR"}`,
			kafkatest.Header("ce_specversion", "1.0"), kafkatest.Header("ce_type", "PaymentCaptured"),
			kafkatest.Header("ce_source", "/payments"), kafkatest.Header("ce_id", "E2"),
			kafkatest.Header("ce_time", "2026-11-20T10:00:03Z"), kafkatest.Header("ce_orderid", "O1"),
			kafkatest.Header("content-type", "application/json")),
		msg(topic, 0, t0, "O1", `{"hello":"world"}`),
	)
	src := newSource(t, k, map[string]any{"records": []any{map[string]any{
		"topic":   topic,
		"decoder": "cloudevents",
		"kind":    map[string]any{"field": "ce.type", "prefix": "event:"},
		"keys":    map[string]any{"order_id": "data.order_id", "event_id": "ce.id"},
		"time":    "ce.time",
		"amount":  map[string]any{"value": "data.amount", "currency": "data.currency"},
		"attrs":   map[string]any{"ext": "ce.orderid", "ct": "ce.datacontenttype", "src": "ce.source"},
	}}})
	sink, _ := readAll(t, src, sources.Window{})
	if len(sink.Records) != 2 || len(sink.Bads) != 1 {
		t.Fatalf("records %d bad %v", len(sink.Records), sink.Bads)
	}
	for _, r := range sink.Records {
		if r.Kind != "event:PaymentCaptured" || r.Amount != 1250 || r.Currency != "EUR" || !r.Time.Equal(t0.Add(3*time.Second)) {
			t.Errorf("%v: %s %d %s %s", r.Prov, r.Kind, r.Amount, r.Currency, r.Time)
		}
		if v, _ := r.Key("order_id"); v != "O1" {
			t.Errorf("%v: order_id %q", r.Prov, v)
		}
		if r.Attr("ext") != "O1" || r.Attr("ct") != "application/json" || r.Attr("src") != "/payments" {
			t.Errorf("%v: attrs %v", r.Prov, r.Attrs)
		}
	}
	if !strings.Contains(sink.Bads[0].Err.Error(), "not a CloudEvent") {
		t.Errorf("bad: %v", sink.Bads[0].Err)
	}
}

// Plain JSON: the event type from a header, keys from the message key
// (raw and as JSON) and from headers.
func TestHeadersAndKeys(t *testing.T) {
	k := kafkatest.Start(t, nil)
	topic := newTopic(t, k, 1)
	k.Produce(t, msg(topic, 0, t0, `{"order":"O7"}`, `{"n":1}`, kafkatest.Header("event-type", "OrderCreated"), kafkatest.Header("x.trace.id", "E9")))
	k.Produce(t, msg(topic, 0, t0, `O8`, `{"n":2}`, kafkatest.Header("event-type", "OrderCreated")))
	src := newSource(t, k, map[string]any{"records": []any{map[string]any{
		"topic": topic,
		"kind":  map[string]any{"field": "headers.event-type", "prefix": "event:"},
		"keys":  map[string]any{"order_id": "key.order", "item_id": "key", "event_id": `headers["x.trace.id"]`},
		"attrs": map[string]any{"n": "value.n", "where": "topic", "p": "partition", "o": "offset"},
	}}})
	sink, _ := readAll(t, src, sources.Window{})
	if len(sink.Records) != 2 {
		t.Fatalf("records %d bad %v", len(sink.Records), sink.Bads)
	}
	r := sink.Records[0]
	if r.Kind != "event:OrderCreated" || !r.Time.Equal(t0) || r.Attr("where") != topic || r.Attr("p") != "0" || r.Attr("o") != "0" {
		t.Errorf("record: %+v", r)
	}
	if v, _ := r.Key("order_id"); v != "O7" {
		t.Errorf("order_id from the JSON key: %q", v)
	}
	if v, _ := r.Key("event_id"); v != "E9" {
		t.Errorf("event_id from a header: %q", v)
	}
	if v, _ := sink.Records[1].Key("item_id"); v != "O8" {
		t.Errorf("raw key: %q", v)
	}
	if got := r.Prov.String(); got != "events:"+topic+"/0@0" {
		t.Errorf("provenance %s", got)
	}
}

func be32(n int32) string {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], uint32(n))
	return string(b[:])
}
func be64(n int64) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(n))
	return string(b[:])
}

// Dead letters: the headers of Kafka Connect and Spring give the original
// topic, partition, offset, error and attempts; the payload is decoded with
// the original topic's mapping, so the dead letter carries its keys.
func TestDeadLetters(t *testing.T) {
	k := kafkatest.Start(t, nil)
	events := newTopic(t, k, 2)
	dlq := newTopic(t, k, 1)
	payload := `{"type":"PaymentCaptured","event_id":"E5","order_id":"O5","occurred_at":"2026-11-20T10:00:03Z"}`
	k.Produce(t,
		msg(dlq, 0, t0.Add(time.Minute), "O5", payload,
			kafkatest.Header("__connect.errors.topic", events), kafkatest.Header("__connect.errors.partition", "1"),
			kafkatest.Header("__connect.errors.offset", "42"), kafkatest.Header("__connect.errors.exception.class.name", "org.apache.kafka.connect.errors.DataException"),
			kafkatest.Header("__connect.errors.exception.message", "timeout"), kafkatest.Header("__connect.errors.connector.name", "order-sink")),
		msg(dlq, 0, t0.Add(2*time.Minute), "O5", payload,
			kafkatest.Header("kafka_dlt-original-topic", events), kafkatest.Header("kafka_dlt-original-partition", be32(1)),
			kafkatest.Header("kafka_dlt-original-offset", be64(43)), kafkatest.Header("kafka_dlt-original-timestamp", be64(t0.UnixMilli())),
			kafkatest.Header("kafka_dlt-exception-fqcn", "java.lang.IllegalStateException"), kafkatest.Header("kafka_dlt-exception-message", "no stock"),
			kafkatest.Header("retry_topic-attempts", be32(4)), kafkatest.Header("kafka_dlt-original-consumer-group", "orders")),
		msg(dlq, 0, t0.Add(3*time.Minute), "", "\x00\x01not json", kafkatest.Header("x-from", events), kafkatest.Header("x-tries", "2")),
	)
	raw := map[string]any{"records": []any{
		map[string]any{
			"topic": events,
			"kind":  map[string]any{"field": "value.type", "prefix": "event:"},
			"keys":  map[string]any{"order_id": "value.order_id", "event_id": "value.event_id"},
			"time":  "value.occurred_at",
		},
		map[string]any{"topic": dlq, "dead_letter": "auto", "dead_letter_headers": map[string]any{"topic": "x-from", "attempts": "x-tries"}},
	}}
	sink, _ := readAll(t, newSource(t, k, raw), sources.Window{})
	if len(sink.Records) != 3 || len(sink.Bads) != 0 {
		t.Fatalf("records %d, bad %v", len(sink.Records), sink.Bads)
	}
	want := []map[string]string{
		{"original_topic": events, "original_partition": "1", "original_offset": "42", "error_class": "org.apache.kafka.connect.errors.DataException", "error_message": "timeout", "consumer": "order-sink", "original_kind": "event:PaymentCaptured"},
		{"original_topic": events, "original_partition": "1", "original_offset": "43", "original_timestamp": fmt.Sprint(t0.UnixMilli()), "error_class": "java.lang.IllegalStateException", "error_message": "no stock", "attempts": "4", "consumer": "orders", "original_kind": "event:PaymentCaptured"},
		{"original_topic": events, "attempts": "2"},
	}
	for i, w := range want {
		r := sink.Records[i]
		if r.Kind != record.KindDeadLetter || !r.Time.Equal(t0.Add(time.Duration(i+1)*time.Minute)) {
			t.Errorf("dead letter %d: kind %s time %s", i, r.Kind, r.Time)
		}
		for name, v := range w {
			if got := r.Attr(name); got != v {
				t.Errorf("dead letter %d: %s = %q, want %q", i, name, got, v)
			}
		}
		if i < 2 {
			if v, _ := r.Key("order_id"); v != "O5" {
				t.Errorf("dead letter %d: order_id %q from the original mapping", i, v)
			}
			if v, _ := r.Key("event_id"); v != "E5" {
				t.Errorf("dead letter %d: event_id %q from the original mapping", i, v)
			}
		} else if len(r.Keys) != 0 {
			t.Errorf("dead letter %d with a broken payload has keys %v", i, r.Keys)
		}
	}
}

// The same paths as a dead-letter dump file (see configs/checkout.yaml)
// work on a dead-letter topic.
func TestDeadLetterDumpPaths(t *testing.T) {
	k := kafkatest.Start(t, nil)
	dlq := newTopic(t, k, 1)
	k.Produce(t, msg(dlq, 0, t0, "O5", `{"type":"OrderCreated","order_id":"O5","event_id":"E6"}`,
		kafkatest.Header("__connect.errors.topic", "checkout.events"), kafkatest.Header("__connect.errors.exception.message", "boom")))
	src := newSource(t, k, map[string]any{"records": []any{map[string]any{
		"topic": dlq,
		"kind":  "dead_letter",
		"keys":  map[string]any{"order_id": "value.order_id", "event_id": "value.event_id"},
		"time":  map[string]any{"field": "timestamp", "format": "unix_ms"},
		"attrs": map[string]any{
			"original_type":  "value.type",
			"original_topic": `headers["__connect.errors.topic"]`,
			"error_message":  `headers["__connect.errors.exception.message"]`,
		},
	}}})
	sink, _ := readAll(t, src, sources.Window{})
	r := sink.Records[0]
	if r.Attr("original_type") != "OrderCreated" || r.Attr("original_topic") != "checkout.events" || r.Attr("error_message") != "boom" || !r.Time.Equal(t0) {
		t.Errorf("%+v", r)
	}
}

// A bounded snapshot: messages produced after the read started are not
// read; no consumer group is joined and no offset committed.
func TestBoundedSnapshot(t *testing.T) {
	k := kafkatest.Start(t, nil)
	topic := newTopic(t, k, 1)
	for i := 0; i < 50; i++ {
		k.Produce(t, msg(topic, 0, t0.Add(time.Duration(i)*time.Second), "k", fmt.Sprintf(`{"id":"I%d"}`, i)))
	}
	src := newSource(t, k, map[string]any{"fetch_max_bytes": 100, "records": []any{map[string]any{
		"topic": topic, "kind": "item", "keys": map[string]any{"item_id": "value.id"},
	}}})
	sink := &sourcetest.Sink{OnRecord: func(n int, _ *record.Record) error {
		if n == 1 {
			k.Produce(t, msg(topic, 0, t0, "k", `{"id":"LATE"}`))
		}
		return nil
	}}
	cov, err := src.Read(context.Background(), sources.Window{Until: time.Now()}, sink)
	if err != nil || !cov.Complete {
		t.Fatalf("Read: %v (complete %v)", err, cov.Complete)
	}
	if len(sink.Records) != 50 || len(sink.ByKey("item_id", "LATE")) != 0 {
		t.Errorf("read %d records (late one: %d), want the 50 below the high-water mark", len(sink.Records), len(sink.ByKey("item_id", "LATE")))
	}
	if g := k.Groups(t); len(g) != 0 {
		t.Errorf("consumer groups after the read: %v", g)
	}
}

// With a window, each partition is read from the offset of since, found
// by timestamp, and the coverage starts there.
func TestStartFromSince(t *testing.T) {
	k := kafkatest.Start(t, nil)
	topic := newTopic(t, k, 2)
	var recs []*kgo.Record
	for i := 0; i < 40; i++ {
		recs = append(recs, msg(topic, int32(i%2), t0.Add(time.Duration(i)*time.Minute), "k", fmt.Sprintf(`{"id":"I%d"}`, i)))
	}
	k.Produce(t, recs...)
	raw := func(start string) map[string]any {
		return map[string]any{"start": start, "records": []any{map[string]any{"topic": topic, "kind": "item", "keys": map[string]any{"item_id": "value.id"}}}}
	}
	w := sources.Window{Since: t0.Add(30 * time.Minute), Until: time.Now()}
	sink, cov := readAll(t, newSource(t, k, raw("since")), w)
	if len(sink.Records) != 10 || !cov.Since.Equal(w.Since) {
		t.Errorf("since: read %d records, coverage since %s", len(sink.Records), cov.Since)
	}
	sink, cov = readAll(t, newSource(t, k, raw("earliest")), w)
	if len(sink.Records) != 40 || !cov.Since.IsZero() {
		t.Errorf("earliest: read %d records, coverage since %s", len(sink.Records), cov.Since)
	}
}

func TestUnreachableAndMissingTopic(t *testing.T) {
	src := newSource(t, nil, map[string]any{"brokers": []any{"127.0.0.1:1"}, "dial_timeout": "1s", "records": []any{map[string]any{"topic": "x", "kind": "k"}}})
	_, err := src.Read(context.Background(), sources.Window{Until: time.Now()}, &sourcetest.Sink{})
	if err == nil || !strings.Contains(err.Error(), "cannot reach any broker of 127.0.0.1:1") {
		t.Errorf("unreachable: %v", err)
	}
	k := kafkatest.Start(t, nil)
	src = newSource(t, k, map[string]any{"records": []any{map[string]any{"topic": "no.such.topic", "kind": "k"}}})
	_, err = src.Read(context.Background(), sources.Window{Until: time.Now()}, &sourcetest.Sink{})
	if err == nil || !strings.Contains(err.Error(), `topic "no.such.topic"`) {
		t.Errorf("missing topic: %v", err)
	}
}

// TestSilentBroker: a broker that accepts connections and never answers
// (a frozen process, a half-open connection) costs a timeout, not the
// whole run: the metadata and every partition's leader are found through
// the next broker.
func TestSilentBroker(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var held []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c) // read nothing, answer nothing
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		for _, c := range held {
			c.Close()
		}
		mu.Unlock()
	}()
	k := kafkatest.Start(t, nil)
	topic := newTopic(t, k, 2)
	k.Produce(t, msg(topic, 0, t0, "k", `{"id":"I1"}`), msg(topic, 1, t0, "k", `{"id":"I2"}`))
	src := newSource(t, k, map[string]any{"brokers": []any{ln.Addr().String(), k.Addr}, "dial_timeout": "1s", "read_timeout": "1s",
		"records": []any{map[string]any{"topic": topic, "kind": "item", "keys": map[string]any{"item_id": "value.id"}}}})
	done := make(chan error, 1)
	var sink sourcetest.Sink
	go func() {
		_, err := src.Read(context.Background(), sources.Window{Until: time.Now()}, &sink)
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil || len(sink.Records) != 2 {
			t.Errorf("read %d records: %v", len(sink.Records), err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the read hangs on a broker that does not answer")
	}
}

// TestBrokersFromEnvironment: an error about the brokers says when their
// addresses came from the variable the config names, and a variable that
// holds only blanks is refused as such.
func TestBrokersFromEnvironment(t *testing.T) {
	raw := func() map[string]any {
		return map[string]any{"brokers": []any{"127.0.0.1:9092"}, "brokers_env": "VT_KAFKA_BROKERS", "dial_timeout": "1s", "records": []any{map[string]any{"topic": "x", "kind": "k"}}}
	}
	t.Setenv("VT_KAFKA_BROKERS", "127.0.0.1:1")
	_, err := newSource(t, nil, raw()).Read(context.Background(), sources.Window{Until: time.Now()}, &sourcetest.Sink{})
	if err == nil || !strings.Contains(err.Error(), "cannot reach any broker of 127.0.0.1:1 (from $VT_KAFKA_BROKERS, which overrides brokers in the config)") {
		t.Errorf("unreachable broker from the environment: %v", err)
	}
	t.Setenv("VT_KAFKA_BROKERS", " , ")
	_, err = newSource(t, nil, raw()).Read(context.Background(), sources.Window{Until: time.Now()}, &sourcetest.Sink{})
	if err == nil || !strings.Contains(err.Error(), "VT_KAFKA_BROKERS (brokers_env) is set but holds no broker address") {
		t.Errorf("blank variable: %v", err)
	}
}

// TestNoTopicIsCreated: on a cluster that creates topics on request (Kafka's
// default, auto.create.topics.enable), a misspelled topic is an error, not
// a new empty topic read as complete: vitals never asks for creation.
func TestNoTopicIsCreated(t *testing.T) {
	k := kafkatest.Start(t, []kfake.Opt{kfake.AllowAutoTopicCreation()})
	src := newSource(t, k, map[string]any{"records": []any{map[string]any{"topic": "checkout.evnts", "kind": "k"}}})
	for i := range 2 { // the second read would find a topic the first created
		_, err := src.Read(context.Background(), sources.Window{Until: time.Now()}, &sourcetest.Sink{})
		if err == nil || !strings.Contains(err.Error(), `topic "checkout.evnts"`) || !strings.Contains(err.Error(), "Unknown Topic") {
			t.Fatalf("read %d of a misspelled topic: %v; want an unknown-topic error", i+1, err)
		}
	}
	if err := src.(interface{ Check(context.Context) error }).Check(context.Background()); err == nil {
		t.Errorf("doctor's check of a misspelled topic passed")
	}
}

// The broker goes away in the middle of a read: the read fails after its
// retries, naming the partition and how far it got.
func TestBrokerGoesAway(t *testing.T) {
	k := kafkatest.Start(t, nil)
	topic := newTopic(t, k, 2)
	// Small produce calls make small record batches: a fetch returns at
	// least one whole batch whatever its size limit.
	for i := 0; i < 400; i += 10 {
		var recs []*kgo.Record
		for j := i; j < i+10; j++ {
			recs = append(recs, msg(topic, int32(j%2), t0, "k", fmt.Sprintf(`{"id":"I%d","pad":"%s"}`, j, strings.Repeat("x", 200))))
		}
		k.Produce(t, recs...)
	}
	src := newSource(t, k, map[string]any{"fetch_max_bytes": 1024, "retries": 2, "dial_timeout": "1s", "read_timeout": "2s",
		"records": []any{map[string]any{"topic": topic, "kind": "item", "keys": map[string]any{"item_id": "value.id"}}}})
	sink := &sourcetest.Sink{OnRecord: func(n int, _ *record.Record) error {
		if n == 20 {
			k.Shutdown()
		}
		return nil
	}}
	start := time.Now()
	cov, err := src.Read(context.Background(), sources.Window{Until: time.Now()}, sink)
	if err == nil || cov.Complete {
		t.Fatalf("Read after the broker went away: err %v, complete %v", err, cov.Complete)
	}
	if !strings.Contains(err.Error(), "topic "+topic+" partition") || !strings.Contains(err.Error(), "the broker went away") {
		t.Errorf("error does not say where the read stopped: %v", err)
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("took %s", d)
	}
	t.Log(err)
}

func TestConfigErrors(t *testing.T) {
	cases := []struct {
		raw  map[string]any
		want string
	}{
		{map[string]any{"records": []any{map[string]any{"topic": "t", "kind": "k"}}}, "brokers: required"},
		{map[string]any{"brokers": []any{"h"}, "records": []any{map[string]any{"topic": "t", "kind": "k"}}}, "no port"},
		{map[string]any{"brokers": []any{"h:1"}, "records": []any{map[string]any{"topic": "t", "kind": "k", "decoder": "avro"}}}, "decoder"},
		{map[string]any{"brokers": []any{"h:1"}, "records": []any{map[string]any{"topic": "t", "kind": "k", "keys": map[string]any{"order_id": "order_id"}}}}, `did you mean value.order_id`},
		{map[string]any{"brokers": []any{"h:1"}, "records": []any{map[string]any{"topic": "t", "kind": "k", "keys": map[string]any{"order_id": "ce.type"}}}}, `field "ce.type"`},
		{map[string]any{"brokers": []any{"h:1"}, "sasl": map[string]any{"mechanism": "GSSAPI", "username": "u"}, "records": []any{map[string]any{"topic": "t", "kind": "k"}}}, "sasl.mechanism"},
		{map[string]any{"brokers": []any{"h:1"}, "sasl": map[string]any{"mechanism": "PLAIN", "username": "u"}, "records": []any{map[string]any{"topic": "t", "kind": "k"}}}, "password_env"},
		{map[string]any{"brokers": []any{"h:1"}, "records": []any{map[string]any{"topic": "t", "dead_letter": "custom"}}}, "dead_letter_headers.topic"},
		{map[string]any{"brokers": []any{"h:1"}, "records": []any{map[string]any{"topic": "t", "kind": "k", "original_topic": "x"}}}, "need dead_letter"},
	}
	for _, c := range cases {
		_, err := kafka.New(sources.Config{Name: "k", Type: "kafka", KeyTypes: keyTypes, Raw: c.raw})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("want %q, got %v", c.want, err)
		}
	}
}
