package kafka

import (
	"encoding/binary"
	"sort"
	"strconv"
	"time"

	"github.com/vitals-dev/vitals/record"
)

// deadLetterFields are what a dead letter's headers can say; each becomes
// an attribute of the dead_letter record (original_topic, ...).
var deadLetterFields = []string{"topic", "partition", "offset", "timestamp", "error_class", "error_message", "error_cause", "attempts", "consumer"}

// attrName is the record attribute each field becomes.
var attrName = map[string]string{
	"topic": "original_topic", "partition": "original_partition", "offset": "original_offset",
	"timestamp": "original_timestamp", "error_class": "error_class", "error_message": "error_message",
	"error_cause": "error_cause", "attempts": "attempts", "consumer": "consumer",
}

// convention names the headers of one dead-letter convention.
type convention map[string]string

var (
	// Kafka Connect's errors.deadletterqueue.context.headers.enable: all
	// values are strings.
	connectHeaders = convention{
		"topic":         "__connect.errors.topic",
		"partition":     "__connect.errors.partition",
		"offset":        "__connect.errors.offset",
		"error_class":   "__connect.errors.exception.class.name",
		"error_message": "__connect.errors.exception.message",
		"consumer":      "__connect.errors.connector.name",
	}
	// Spring Kafka's DeadLetterPublishingRecoverer (KafkaHeaders.DLT_*)
	// and retry topics (RetryTopicHeaders): partition and attempts are
	// 4-byte big-endian ints, offset and timestamp 8-byte longs.
	springHeaders = convention{
		"topic":         "kafka_dlt-original-topic",
		"partition":     "kafka_dlt-original-partition",
		"offset":        "kafka_dlt-original-offset",
		"timestamp":     "kafka_dlt-original-timestamp",
		"error_class":   "kafka_dlt-exception-fqcn",
		"error_message": "kafka_dlt-exception-message",
		"error_cause":   "kafka_dlt-exception-cause-fqcn",
		"attempts":      "retry_topic-attempts",
		"consumer":      "kafka_dlt-original-consumer-group",
	}
)

// deadLetter reads the dead-letter headers of one configured topic.
type deadLetter struct {
	mode          string     // connect, spring, auto, custom
	custom        convention // custom names; with connect or spring they override
	originalTopic string
}

func (d *deadLetter) conventions(m *message) []convention {
	switch d.mode {
	case "connect":
		return []convention{d.merge(connectHeaders)}
	case "spring":
		return []convention{d.merge(springHeaders)}
	case "custom":
		return []convention{d.custom}
	}
	// auto: a standard convention when its headers are there, else the
	// configured names.
	if _, ok := m.header(connectHeaders["topic"]); ok {
		return []convention{connectHeaders}
	}
	if _, ok := m.header(springHeaders["topic"]); ok {
		return []convention{springHeaders}
	}
	if len(d.custom) > 0 {
		return []convention{d.custom}
	}
	return nil
}

// merge lets configured names override a convention's.
func (d *deadLetter) merge(c convention) convention {
	if len(d.custom) == 0 {
		return c
	}
	out := convention{}
	for k, v := range c {
		out[k] = v
	}
	for k, v := range d.custom {
		out[k] = v
	}
	return out
}

// info is what a dead letter's headers say.
type info map[string]string

func (d *deadLetter) read(m *message) info {
	out := info{}
	for _, c := range d.conventions(m) {
		for field, name := range c {
			b, ok := m.header(name)
			if !ok {
				continue
			}
			switch field {
			case "partition", "offset", "timestamp", "attempts":
				out[field] = intText(b)
			default:
				out[field] = string(b)
			}
		}
	}
	return out
}

// intText reads an integer header written as text (Connect) or as a
// big-endian binary int of 1, 2, 4 or 8 bytes (Spring).
func intText(b []byte) string {
	if len(b) > 0 && isDecimal(b) {
		return string(b)
	}
	switch len(b) {
	case 1:
		return strconv.Itoa(int(int8(b[0])))
	case 2:
		return strconv.Itoa(int(int16(binary.BigEndian.Uint16(b))))
	case 4:
		return strconv.Itoa(int(int32(binary.BigEndian.Uint32(b))))
	case 8:
		return strconv.FormatInt(int64(binary.BigEndian.Uint64(b)), 10)
	}
	return string(b)
}

func isDecimal(b []byte) bool {
	for i, c := range b {
		if (c < '0' || c > '9') && !(i == 0 && c == '-' && len(b) > 1) {
			return false
		}
	}
	return true
}

// original returns the message as it was before it was dead-lettered:
// the original topic, partition, offset and timestamp the headers name.
func (in info) original(m *message, topic string) *message {
	o := *m
	o.topic = topic
	if p, err := strconv.Atoi(in["partition"]); err == nil {
		o.partition = p
	}
	if off, err := strconv.ParseInt(in["offset"], 10, 64); err == nil {
		o.offset = off
	}
	if ts, err := strconv.ParseInt(in["timestamp"], 10, 64); err == nil {
		o.time = time.UnixMilli(ts).UTC()
	}
	return &o
}

// enrich adds what the headers say and what the original mapping found to
// a dead letter, never overriding what its own mapping set.
func enrich(r *record.Record, in info, origKind string, origKeys []record.KV) {
	for field, v := range in {
		if v != "" {
			r.Attrs = setKV(r.Attrs, attrName[field], v)
		}
	}
	if origKind != "" {
		r.Attrs = setKV(r.Attrs, "original_kind", origKind)
	}
	for _, k := range origKeys {
		r.Keys = setKV(r.Keys, k.Name, k.Value)
	}
}

// setKV adds name=value to a list sorted by name, unless name is there.
func setKV(kvs []record.KV, name, value string) []record.KV {
	i := sort.Search(len(kvs), func(i int) bool { return kvs[i].Name >= name })
	for j := range kvs {
		if kvs[j].Name == name {
			return kvs
		}
	}
	kvs = append(kvs, record.KV{})
	copy(kvs[i+1:], kvs[i:])
	kvs[i] = record.KV{Name: name, Value: value}
	return kvs
}
