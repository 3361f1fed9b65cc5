package kafka

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/valyala/fastjson"

	"github.com/vitals-dev/vitals/sources/mapping"
)

// message is what a document is built from.
type message struct {
	topic     string
	partition int
	offset    int64
	time      time.Time
	key       []byte
	value     []byte
	headers   []header
}

type header struct {
	key   string
	value []byte
}

// header returns the last header of that name, as Kafka clients do.
func (m *message) header(name string) ([]byte, bool) {
	for i := len(m.headers) - 1; i >= 0; i-- {
		if m.headers[i].key == name {
			return m.headers[i].value, true
		}
	}
	return nil, false
}

type decoder uint8

const (
	decJSON decoder = iota
	decDebezium
	decCloudEvents
)

func parseDecoder(s string) decoder {
	switch s {
	case "debezium":
		return decDebezium
	case "cloudevents":
		return decCloudEvents
	}
	return decJSON
}

// accessor reads one mapped field from a message's document.
type accessor struct {
	what string   // topic, partition, offset, timestamp, key, headers, value, payload, ce, data
	name string   // header or CloudEvents attribute name
	path []string // JSON path below the root the accessor names
}

// compileField turns a mapping field into an accessor for the decoder.
func compileField(f string, dec decoder) (accessor, error) {
	segs, err := mapping.ParsePath(f)
	if err != nil {
		return accessor{}, err
	}
	top, rest := segs[0], segs[1:]
	switch top {
	case "topic", "partition", "offset", "timestamp":
		if len(rest) > 0 {
			return accessor{}, fmt.Errorf("field %q: %s has no parts", f, top)
		}
		return accessor{what: top}, nil
	case "key", "value":
		return accessor{what: top, path: rest}, nil
	case "headers":
		if len(rest) != 1 {
			return accessor{}, fmt.Errorf(`field %q: write headers.NAME or headers["NAME.WITH.DOTS"]`, f)
		}
		return accessor{what: "headers", name: rest[0]}, nil
	}
	switch dec {
	case decDebezium:
		switch top {
		case "op", "ts_ms", "before", "after", "source", "transaction":
			return accessor{what: "payload", path: segs}, nil
		}
	case decCloudEvents:
		switch top {
		case "ce":
			if len(rest) != 1 {
				return accessor{}, fmt.Errorf("field %q: write ce.ATTRIBUTE (type, id, source, time, subject or an extension)", f)
			}
			return accessor{what: "ce", name: rest[0]}, nil
		case "data":
			return accessor{what: "data", path: rest}, nil
		}
	}
	known := "topic, partition, offset, timestamp, key, headers, value"
	switch dec {
	case decDebezium:
		known += ", op, ts_ms, before, after, source"
	case decCloudEvents:
		known += ", ce, data"
	}
	return accessor{}, fmt.Errorf("field %q: a message of this decoder has %s (did you mean value.%s?)", f, known, f)
}

// view is one message decoded by one decoder. Its JSON values live until
// the next decode.
type view struct {
	dec      decoder
	m        *message
	pValue   fastjson.Parser
	pKey     fastjson.Parser
	pData    fastjson.Parser
	value    *fastjson.Value // the value's JSON, nil when not JSON
	valueErr error
	payload  *fastjson.Value // Debezium: the change event
	row      *fastjson.Value // Debezium: the row image (after, or before for deletes)
	envelope *fastjson.Value // CloudEvents structured mode
	data     *fastjson.Value
	binaryCE bool
	keyDoc   *fastjson.Value
	keyDone  bool
	scratch  []byte
}

// errSkip marks a message that carries no record: a tombstone.
var errSkip = errors.New("tombstone")

// decode prepares v for m. An error says why the message is bad input.
func (v *view) decode(m *message) error {
	*v = view{dec: v.dec, m: m, pValue: v.pValue, pKey: v.pKey, pData: v.pData, scratch: v.scratch}
	if len(m.value) > 0 {
		v.value, v.valueErr = v.pValue.ParseBytes(m.value)
		if v.valueErr != nil {
			v.value = nil
			v.valueErr = fmt.Errorf("value is not JSON: %v", v.valueErr)
		}
	}
	switch v.dec {
	case decJSON:
		if len(m.value) == 0 {
			return errSkip
		}
		return v.valueErr
	case decDebezium:
		if len(m.value) == 0 {
			return errSkip
		}
		if v.valueErr != nil {
			return v.valueErr
		}
		p := v.value
		if inner := p.Get("payload"); inner != nil && p.Get("schema") != nil {
			p = inner
		}
		if p.Type() == fastjson.TypeNull {
			return errSkip
		}
		op := string(p.GetStringBytes("op"))
		if op == "" {
			return errors.New(`not a Debezium change event: no "op" (expected {"before", "after", "op", ...}, optionally inside {"schema", "payload"})`)
		}
		v.payload = p
		switch op {
		case "d":
			v.row = p.Get("before")
		case "t", "m":
			return errSkip // truncate and message events carry no row
		default:
			v.row = p.Get("after")
		}
		return nil
	case decCloudEvents:
		ct, _ := m.header("content-type")
		_, hasSpec := m.header("ce_specversion")
		switch {
		case strings.HasPrefix(string(ct), "application/cloudevents-batch"):
			return errors.New("CloudEvents batch mode is not supported: one event per message")
		case strings.HasPrefix(string(ct), "application/cloudevents"), !hasSpec && v.value != nil && v.value.Get("specversion") != nil:
			if v.valueErr != nil {
				return v.valueErr
			}
			if v.value == nil {
				return errors.New("structured CloudEvent with an empty value")
			}
			v.envelope = v.value
			if d := v.envelope.Get("data"); d != nil {
				v.data = d
			} else if b64 := v.envelope.GetStringBytes("data_base64"); b64 != nil {
				raw, err := base64.StdEncoding.DecodeString(string(b64))
				if err != nil {
					return fmt.Errorf("data_base64: %v", err)
				}
				v.data, _ = v.pData.ParseBytes(raw) // non-JSON data: data paths are empty
			}
		case hasSpec:
			v.binaryCE = true
			v.data = v.value // binary mode: the value is the data
		default:
			return errors.New("not a CloudEvent: no ce_specversion header and no specversion in the value")
		}
		return nil
	}
	return nil
}

// text returns the accessor's value as the mapping reads it.
func (v *view) text(a *accessor) string {
	m := v.m
	switch a.what {
	case "topic":
		return m.topic
	case "partition":
		return strconv.Itoa(m.partition)
	case "offset":
		return strconv.FormatInt(m.offset, 10)
	case "timestamp":
		if m.time.IsZero() {
			return ""
		}
		return strconv.FormatInt(m.time.UnixMilli(), 10)
	case "headers":
		b, _ := m.header(a.name)
		return string(b)
	case "key":
		if len(a.path) == 0 {
			return string(m.key)
		}
		if !v.keyDone {
			v.keyDone = true
			v.keyDoc, _ = v.pKey.ParseBytes(m.key)
		}
		return v.jsonText(v.keyDoc, a.path)
	case "value":
		root := v.value
		if v.dec == decDebezium {
			root = v.row
		}
		if len(a.path) == 0 {
			if v.dec == decDebezium {
				return v.jsonText(root, nil)
			}
			return string(m.value)
		}
		return v.jsonText(root, a.path)
	case "payload":
		return v.jsonText(v.payload, a.path)
	case "data":
		return v.jsonText(v.data, a.path)
	case "ce":
		if v.binaryCE {
			if a.name == "datacontenttype" {
				if b, ok := m.header("content-type"); ok {
					return string(b)
				}
			}
			b, _ := m.header("ce_" + a.name)
			return string(b)
		}
		return v.jsonText(v.envelope, []string{a.name})
	}
	return ""
}

// jsonText extracts a path's text: strings unquoted, numbers and booleans
// as written, objects and arrays as JSON, null and absent as "".
func (v *view) jsonText(root *fastjson.Value, path []string) string {
	if root == nil {
		return ""
	}
	text, scratch := mapping.JSONText(root.Get(path...), v.scratch)
	v.scratch = scratch
	if len(scratch) > 0 && unsafe.StringData(text) == unsafe.SliceData(scratch) {
		// The scratch is reused by the next field: keep a copy. A string is
		// a view of the parser's buffer, valid until the next message; the
		// mapping and the sink copy what they keep.
		return string(scratch)
	}
	return text
}
