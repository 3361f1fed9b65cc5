// Package mapping turns the fields of a row, message or line into a
// record.Record, as a source's config says: which field holds each key, the
// time, the status, the amount; constants; time formats; status maps. It is
// shared by every source type, which only extracts field texts.
package mapping

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
)

// Field says where one value comes from: a field (column name or JSON path),
// or a constant, with optional transforms. In YAML a plain string is a field.
type Field struct {
	Field   string            `mapstructure:"field"`
	Const   string            `mapstructure:"const"`
	Format  string            `mapstructure:"format"`  // times: rfc3339, unix, unix_ms, ...; amounts: minor, decimal
	Zone    string            `mapstructure:"zone"`    // times without an offset
	Map     map[string]string `mapstructure:"map"`     // value translation; lookups ignore case
	Default string            `mapstructure:"default"` // when the field is empty or absent
	Prefix  string            `mapstructure:"prefix"`  // prepended to non-empty values
}

// IsZero reports whether nothing was configured.
func (f Field) IsZero() bool {
	return f.Field == "" && f.Const == "" && f.Default == "" && len(f.Map) == 0 && f.Format == "" && f.Prefix == "" && f.Zone == ""
}

// Amount says where money comes from.
type Amount struct {
	Value    Field  `mapstructure:"value"`
	Currency Field  `mapstructure:"currency"`
	Format   string `mapstructure:"format"` // minor (default) or decimal
}

// Spec maps one kind of record. Source types embed it (squashed) in their
// per-record config next to what tells them where to read (path, query, topic).
type Spec struct {
	// Kind is a constant (a plain string) or a field with a prefix/map.
	Kind   Field            `mapstructure:"kind"`
	Keys   map[string]Field `mapstructure:"keys"`
	Time   Field            `mapstructure:"time"`
	Status Field            `mapstructure:"status"`
	Amount Amount           `mapstructure:"amount"`
	Attrs  map[string]Field `mapstructure:"attrs"`
	// When, an expression over the mapped record (kind, status, keys, attrs,
	// amount, currency), keeps only the rows for which it is true; the others
	// are counted as filtered.
	When string `mapstructure:"when"`
}

// DecodeHook lets a plain string stand for a Field: a field name, except
// under `kind`, where it is the constant kind.
func DecodeHook() mapstructure.DecodeHookFunc {
	fieldType := reflect.TypeOf(Field{})
	return func(from, to reflect.Type, data any) (any, error) {
		if to != fieldType || from.Kind() != reflect.String {
			return data, nil
		}
		return Field{Field: data.(string)}, nil
	}
}

// TimeToStringHook turns YAML timestamps back into RFC 3339 strings: a
// config reader may have parsed `2026-11-20T12:00:00Z` into a time.
func TimeToStringHook() mapstructure.DecodeHookFunc {
	timeType := reflect.TypeOf(time.Time{})
	return func(from, to reflect.Type, data any) (any, error) {
		if from != timeType || to.Kind() != reflect.String {
			return data, nil
		}
		return data.(time.Time).UTC().Format(time.RFC3339Nano), nil
	}
}

// Decode decodes raw into out (a struct embedding Spec), rejecting unknown
// keys with their path, e.g. `records[0]: unknown key "kyes"`.
func Decode(raw any, out any) error {
	var md mapstructure.Metadata
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		DecodeHook: mapstructure.ComposeDecodeHookFunc(
			kindHook(),
			TimeToStringHook(),
			DecodeHook(),
			mapstructure.StringToTimeDurationHookFunc(),
		),
		Metadata:         &md,
		Result:           out,
		WeaklyTypedInput: true,
	})
	if err != nil {
		return err
	}
	if err := dec.Decode(raw); err != nil {
		return cleanDecodeError(err)
	}
	if len(md.Unused) > 0 {
		sort.Strings(md.Unused)
		return &UnknownKeysError{Keys: md.Unused}
	}
	return nil
}

// UnknownKeysError lists config keys nothing reads: usually typos.
type UnknownKeysError struct {
	Keys   []string
	Prefix string // where the decoded settings sit in the whole config, e.g. sources[2]
}

func (e *UnknownKeysError) Error() string {
	keys := e.Keys
	if e.Prefix != "" {
		keys = make([]string, len(e.Keys))
		for i, k := range e.Keys {
			keys[i] = e.Prefix + "." + k
		}
	}
	word := "key"
	if len(keys) > 1 {
		word = "keys"
	}
	return fmt.Sprintf("unknown %s %s: check the spelling against the config reference in README.md", word, quoteAll(keys))
}

// kindHook turns `kind: charge` into the constant kind "charge". It runs on
// the Spec as a whole because a plain string means a field everywhere else.
func kindHook() mapstructure.DecodeHookFunc {
	specType := reflect.TypeOf(Spec{})
	return func(from, to reflect.Type, data any) (any, error) {
		if from.Kind() != reflect.Map {
			return data, nil
		}
		if to != specType && !embedsSpec(to) {
			return data, nil
		}
		m, ok := data.(map[string]any)
		if !ok {
			return data, nil
		}
		if k, ok := m["kind"].(string); ok {
			c := make(map[string]any, len(m))
			for key, v := range m {
				c[key] = v
			}
			c["kind"] = map[string]any{"const": k}
			return c, nil
		}
		return data, nil
	}
}

func embedsSpec(t reflect.Type) bool {
	if t.Kind() != reflect.Struct {
		return false
	}
	specType := reflect.TypeOf(Spec{})
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Anonymous && f.Type == specType {
			return true
		}
	}
	return false
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

// cleanDecodeError shortens mapstructure's wording.
func cleanDecodeError(err error) error {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "decoding failed due to the following error(s):\n\n")
	return fmt.Errorf("%s", msg)
}
