package mapping

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"

	"github.com/vitals-dev/vitals/money"
	"github.com/vitals-dev/vitals/record"
)

// Mapper turns field texts into records. Build one with Compile; give each
// goroutine its own copy (Clone), as it caches translated values.
type Mapper struct {
	// textAmounts: refuse ambiguous decimal amounts (TextAmounts).
	textAmounts bool
	fields      []string
	kind        getter
	keys        []named
	time        getter
	tf          TimeFormat
	minute      minuteCache // the last time's minute: see TimeFormat.parse
	status      getter
	amount      *amountGetter
	attrs       []named
	when        *vm.Program
	whenFast    whenFunc // when compiled to Go, or nil: see when.go
	env         whenEnv
	vm          *vm.VM // reused by evalWhen: a VM per run allocates its stacks
}

type named struct {
	name string
	g    getter
	// search: the key type only finds instances (keys.search); a damaged
	// byte in it is replaced rather than costing the record.
	search bool
}

type amountGetter struct {
	value    getter
	currency getter
	format   money.Format
}

// getter reads one value: a field by index, or a constant; then translates.
type getter struct {
	field   int // index into the row's values, -1 for a constant
	name    string
	konst   string
	dict    map[string]string // lower-cased keys
	def     string
	prefix  string
	cache   map[string]string // raw -> translated, for prefix/map on low-cardinality fields
	lowCard bool
}

const cacheLimit = 4096

func (g *getter) get(vals []string) string {
	v := g.konst
	if g.field >= 0 {
		v = vals[g.field]
	}
	if v == "" {
		return g.def
	}
	if g.dict == nil && g.prefix == "" {
		return v
	}
	if g.lowCard {
		if out, ok := g.cache[v]; ok {
			return out
		}
	}
	out, mapped := v, false
	if g.dict != nil {
		if m, ok := g.dict[v]; ok {
			out, mapped = m, true
		} else if m, ok := g.dict[strings.ToLower(v)]; ok {
			out, mapped = m, true
		}
	}
	if g.prefix != "" {
		out, mapped = g.prefix+out, true
	}
	if g.lowCard && len(g.cache) < cacheLimit {
		if !mapped {
			// v may point into the source's read buffer, reused for the
			// next row: the cache keeps a copy of its own.
			out = strings.Clone(v)
		}
		g.cache[strings.Clone(v)] = out
	}
	return out
}

func (g *getter) describe() string {
	if g.field >= 0 {
		return fmt.Sprintf("field %q", g.name)
	}
	return "constant"
}

// Compile checks spec against the declared key types and prepares a Mapper.
// searchOnly names the key types that only find instances and link nothing
// (keys.search). It does no I/O.
func Compile(spec Spec, keyTypes, searchOnly []string) (*Mapper, error) {
	m := &Mapper{}
	var err error
	if m.kind, err = m.getter(spec.Kind, true); err != nil {
		return nil, fmt.Errorf("kind: %w", err)
	}
	if spec.Kind.IsZero() {
		return nil, errors.New("kind: required (the record kind, e.g. kind: charge)")
	}
	if spec.Time.IsZero() {
		return nil, errors.New("time: required (the field that says when it happened)")
	}
	if spec.Time.Const != "" {
		return nil, errors.New("time: must be a field, not a constant")
	}
	if m.time, err = m.getter(Field{Field: spec.Time.Field, Default: spec.Time.Default}, false); err != nil {
		return nil, fmt.Errorf("time: %w", err)
	}
	if m.tf, err = ParseTimeFormat(spec.Time.Format, spec.Time.Zone); err != nil {
		return nil, fmt.Errorf("time: %w", err)
	}
	if m.status, err = m.getter(spec.Status, true); err != nil {
		return nil, fmt.Errorf("status: %w", err)
	}
	known := map[string]bool{}
	for _, k := range keyTypes {
		known[k] = true
	}
	for _, name := range sortedKeys(spec.Keys) {
		if !known[name] {
			return nil, fmt.Errorf("keys: %q is not a declared key type (declared: %s); declare it under keys.link (or keys.search) or fix the spelling", name, strings.Join(keyTypes, ", "))
		}
		g, err := m.getter(spec.Keys[name], false)
		if err != nil {
			return nil, fmt.Errorf("keys.%s: %w", name, err)
		}
		m.keys = append(m.keys, named{name: name, g: g, search: slices.Contains(searchOnly, name)})
	}
	if !spec.Amount.Value.IsZero() {
		a := &amountGetter{}
		if a.value, err = m.getter(spec.Amount.Value, false); err != nil {
			return nil, fmt.Errorf("amount.value: %w", err)
		}
		if spec.Amount.Currency.IsZero() {
			return nil, errors.New("amount.currency: required with amount.value (a field, or {const: EUR})")
		}
		if a.currency, err = m.getter(spec.Amount.Currency, true); err != nil {
			return nil, fmt.Errorf("amount.currency: %w", err)
		}
		if a.format, err = money.ParseFormat(spec.Amount.Format); err != nil {
			return nil, fmt.Errorf("amount.format: %w", err)
		}
		m.amount = a
	} else if !spec.Amount.Currency.IsZero() || spec.Amount.Format != "" {
		return nil, errors.New("amount: currency or format given without value")
	}
	for _, name := range sortedKeys(spec.Attrs) {
		g, err := m.getter(spec.Attrs[name], false)
		if err != nil {
			return nil, fmt.Errorf("attrs.%s: %w", name, err)
		}
		m.attrs = append(m.attrs, named{name: name, g: g})
	}
	if spec.When != "" {
		p, err := expr.Compile(spec.When, expr.Env(whenEnv{}), expr.AsBool())
		if err != nil {
			return nil, fmt.Errorf("when: %w", err)
		}
		m.when = p
		m.whenFast = compileWhen(p.Node())
	}
	return m, nil
}

func (m *Mapper) getter(f Field, lowCard bool) (getter, error) {
	if f.Field != "" && f.Const != "" {
		return getter{}, errors.New("give either field or const, not both")
	}
	if f.Format != "" || f.Zone != "" {
		return getter{}, errors.New("format and zone apply only to time and amount")
	}
	g := getter{field: -1, konst: f.Const, def: f.Default, prefix: f.Prefix, lowCard: lowCard}
	if f.Field != "" {
		g.name = f.Field
		g.field = m.fieldIndex(f.Field)
	}
	if len(f.Map) > 0 {
		g.dict = make(map[string]string, len(f.Map))
		for k, v := range f.Map {
			g.dict[strings.ToLower(k)] = v
		}
	}
	if lowCard && (g.dict != nil || g.prefix != "") {
		g.cache = map[string]string{}
	}
	return g, nil
}

func (m *Mapper) fieldIndex(name string) int {
	for i, f := range m.fields {
		if f == name {
			return i
		}
	}
	m.fields = append(m.fields, name)
	return len(m.fields) - 1
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// Fields returns the field names the mapping reads, in the order Map
// expects their values. A source resolves each once (a CSV column, a JSON
// path) and fills a []string per row; "" means empty or absent.
func (m *Mapper) Fields() []string { return m.fields }

// TextAmounts returns a copy that refuses decimal amounts a text export
// may have written with a thousands separator (money.Ambiguous): for CSV,
// where "12.500" may be twelve thousand five hundred. A database's numeric
// or a JSON number is never written so, and is read as it is.
func (m *Mapper) TextAmounts() *Mapper {
	c := m.Clone()
	c.textAmounts = true
	return c
}

// Clone returns a copy with its own caches, for another goroutine.
func (m *Mapper) Clone() *Mapper {
	c := *m
	c.kind = cloneGetter(m.kind)
	c.status = cloneGetter(m.status)
	if m.amount != nil {
		a := *m.amount
		a.currency = cloneGetter(a.currency)
		c.amount = &a
	}
	c.env = whenEnv{}
	c.vm = nil
	return &c
}

func cloneGetter(g getter) getter {
	if g.cache != nil {
		g.cache = map[string]string{}
	}
	return g
}

// FieldError says which mapped value could not be read.
type FieldError struct {
	What  string // time, amount, ...
	Where string // field "created_at"
	Err   error
}

func (e *FieldError) Error() string { return fmt.Sprintf("%s (%s): %v", e.What, e.Where, e.Err) }
func (e *FieldError) Unwrap() error { return e.Err }

// Map fills r from vals (one text per Fields() entry). It returns keep=false
// when the `when` condition excludes the row. r.Prov is left to the caller.
// Strings in r may alias vals.
func (m *Mapper) Map(vals []string, r *record.Record) (keep bool, err error) {
	prov := r.Prov
	r.Reset()
	r.Prov = prov
	r.Kind = m.kind.get(vals)
	if r.Kind == "" {
		return false, &FieldError{What: "kind", Where: m.kind.describe(), Err: errors.New("empty")}
	}
	r.Status = m.status.get(vals)
	for i := range m.keys {
		if v := m.keys[i].g.get(vals); v != "" {
			if !utf8.ValidString(v) {
				if m.keys[i].search {
					// A customer name exported as Latin-1 finds nothing
					// either way; the record still counts.
					v = strings.ToValidUTF8(v, "\uFFFD")
					r.Keys = append(r.Keys, record.KV{Name: m.keys[i].name, Value: v})
					continue
				}
				// A damaged byte in a linking key would make a key that
				// links nothing and open an instance of its own.
				return false, &FieldError{What: "key " + m.keys[i].name, Where: m.keys[i].g.describe(), Err: fmt.Errorf("%q is not valid UTF-8 (a damaged byte, or an export in another encoding)", v)}
			}
			r.Keys = append(r.Keys, record.KV{Name: m.keys[i].name, Value: v})
		}
	}
	for i := range m.attrs {
		if v := m.attrs[i].g.get(vals); v != "" {
			r.Attrs = append(r.Attrs, record.KV{Name: m.attrs[i].name, Value: v})
		}
	}
	if m.amount != nil {
		if err := m.mapAmount(vals, r); err != nil {
			return false, err
		}
	}
	if m.when != nil {
		ok, err := m.evalWhen(r)
		if err != nil {
			return false, &FieldError{What: "when", Where: "condition", Err: err}
		}
		if !ok {
			return false, nil
		}
	}
	ts := m.time.get(vals)
	if ts == "" {
		return false, &FieldError{What: "time", Where: m.time.describe(), Err: errors.New("empty or missing")}
	}
	t, err := m.tf.parse(ts, &m.minute)
	if err != nil {
		return false, &FieldError{What: "time", Where: m.time.describe(), Err: err}
	}
	r.Time = t
	return true, nil
}

func (m *Mapper) mapAmount(vals []string, r *record.Record) error {
	a := m.amount
	v := a.value.get(vals)
	if v == "" {
		return nil // no amount on this row
	}
	cur := a.currency.get(vals)
	if cur == "" {
		return &FieldError{What: "amount.currency", Where: a.currency.describe(), Err: fmt.Errorf("empty, but the amount is %q", v)}
	}
	cur, err := money.Normalize(cur)
	if err != nil {
		return &FieldError{What: "amount.currency", Where: a.currency.describe(), Err: err}
	}
	if m.textAmounts && a.format == money.Decimal {
		if err := money.Ambiguous(v, cur); err != nil {
			return &FieldError{What: "amount", Where: a.value.describe(), Err: err}
		}
	}
	n, err := money.Parse(v, a.format, cur)
	if err != nil {
		return &FieldError{What: "amount", Where: a.value.describe(), Err: err}
	}
	r.Amount, r.HasAmount, r.Currency = n, true, cur
	return nil
}

// whenEnv is what a `when` condition sees.
type whenEnv struct {
	Kind     string            `expr:"kind"`
	Status   string            `expr:"status"`
	Keys     map[string]string `expr:"keys"`
	Attrs    map[string]string `expr:"attrs"`
	Amount   int64             `expr:"amount"`
	Currency string            `expr:"currency"`
}

func (m *Mapper) evalWhen(r *record.Record) (bool, error) {
	if m.whenFast != nil {
		return m.whenFast(r), nil
	}
	env := &m.env
	env.Kind, env.Status, env.Amount, env.Currency = r.Kind, r.Status, r.Amount, r.Currency
	if env.Keys == nil {
		env.Keys, env.Attrs = map[string]string{}, map[string]string{}
	}
	clear(env.Keys)
	clear(env.Attrs)
	for _, k := range r.Keys {
		env.Keys[k.Name] = k.Value
	}
	for _, a := range r.Attrs {
		env.Attrs[a.Name] = a.Value
	}
	if m.vm == nil {
		m.vm = &vm.VM{}
	}
	out, err := m.vm.Run(m.when, env)
	if err != nil {
		return false, err
	}
	return out.(bool), nil
}

// KeyTypes lists the key types the mapping gives its records.
func (m *Mapper) KeyTypes() []string {
	out := make([]string, len(m.keys))
	for i, k := range m.keys {
		out[i] = k.name
	}
	return out
}

// KindPattern says which kinds the mapping can produce: the kind itself
// when constant, "prefix*" when read from a field with a prefix, "*" when
// any kind is possible.
func (m *Mapper) KindPattern() string {
	g := m.kind
	if g.field < 0 {
		return g.get(nil)
	}
	if g.dict == nil && g.prefix != "" {
		return g.prefix + "*"
	}
	return "*"
}
