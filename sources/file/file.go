package file

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/valyala/fastjson"

	"github.com/vitals-dev/vitals/record"
	"github.com/vitals-dev/vitals/sources"
	"github.com/vitals-dev/vitals/sources/mapping"
)

// Factory registers the file source type.
func Factory() sources.Factory {
	return sources.Factory{Type: "file", New: New}
}

// Source reads one configured file source.
type Source struct {
	name    string
	dir     string
	since   bound
	until   bound
	streams []stream
}

type stream struct {
	index  int
	glob   string
	format format
	comma  rune
	mapper *mapping.Mapper
}

// New decodes and validates cfg; it does no I/O.
func New(cfg sources.Config) (sources.Source, error) {
	var c Config
	if err := mapping.Decode(cfg.Raw, &c); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	s := &Source{name: cfg.Name, dir: under(cfg.Dir, c.Dir)}
	s.since, _ = parseBound(c.Coverage.Since, false)
	s.until, _ = parseBound(c.Coverage.Until, true)
	if s.until.kind == "" {
		s.until.kind = "last_record"
	}
	for i, r := range c.Records {
		m, err := mapping.Compile(r.Spec, cfg.KeyTypes, cfg.SearchKeys)
		if err != nil {
			return nil, fmt.Errorf("records[%d].%w", i, err)
		}
		f, _ := formatOf(r.Format, r.Path)
		comma := ','
		if r.Delimiter != "" {
			comma = rune(r.Delimiter[0])
		} else if strings.HasSuffix(strings.TrimSuffix(strings.ToLower(r.Path), ".gz"), ".tsv") {
			comma = '\t'
		}
		s.streams = append(s.streams, stream{index: i, glob: r.Path, format: f, comma: comma, mapper: m})
	}
	return s, nil
}

// A job reads one file for every stream that maps it: a table mapped as
// two record kinds (an order and its failure, say) is read once.
type job struct {
	path    string
	format  format
	comma   rune
	streams []*stream
	rels    []string // each stream's provenance path for the file
}

// Read reads every file of every record mapping, several at a time.
func (s *Source) Read(ctx context.Context, w sources.Window, sink sources.Sink) (sources.Coverage, error) {
	var jobs []*job
	byPath := map[string]*job{}
	for i := range s.streams {
		st := &s.streams[i]
		pattern := under(s.dir, st.glob)
		matches, err := filepath.Glob(pattern)
		if err != nil {
			return sources.Coverage{}, fmt.Errorf("records[%d]: glob %q: %w", st.index, pattern, err)
		}
		if len(matches) == 0 {
			if _, statErr := os.Stat(pattern); statErr != nil && !hasMeta(st.glob) {
				return sources.Coverage{}, fmt.Errorf("records[%d]: %w%s", st.index, statErr, s.whereHint(st.glob))
			}
			return sources.Coverage{}, fmt.Errorf("records[%d]: no file matches %s%s", st.index, pattern, s.whereHint(st.glob))
		}
		sort.Strings(matches)
		for _, p := range matches {
			rel, err := filepath.Rel(s.dir, p)
			if err != nil || filepath.IsAbs(st.glob) {
				rel = p // provenance: the path as configured
			}
			rel = filepath.ToSlash(rel)
			key := p + "\x00" + string(st.format)
			if st.format == formatCSV {
				key += "\x00" + string(st.comma) // a delimiter only matters to CSV
			}
			j := byPath[key]
			if j == nil {
				j = &job{path: p, format: st.format, comma: st.comma}
				byPath[key] = j
				jobs = append(jobs, j)
			}
			j.streams = append(j.streams, st)
			j.rels = append(j.rels, rel)
		}
	}

	var (
		mu       sync.Mutex
		firstErr error
		last     time.Time // of the latest record read
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Add(1)
		sem <- struct{}{}
		go func(j *job) {
			defer wg.Done()
			defer func() { <-sem }()
			t, err := s.readFile(ctx, j, sink)
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = err
				cancel()
			}
			if t.After(last) {
				last = t
			}
		}(j)
	}
	wg.Wait()

	cov := sources.Coverage{Complete: firstErr == nil}
	switch s.since.kind {
	case "time":
		cov.Since = s.since.t
	case "as_of":
		cov.Since = w.Until
	}
	switch s.until.kind {
	case "time":
		cov.Until = s.until.t
	case "as_of":
		cov.Until = w.Until
	case "last_record":
		cov.Until = last
	}
	if !w.Until.IsZero() && cov.Until.After(w.Until) {
		cov.Until = w.Until
	}
	return cov, firstErr
}

// whereHint tells a user whose file is missing where vitals looked.
func (s *Source) whereHint(path string) string {
	if filepath.IsAbs(path) {
		return "; check the path in the config"
	}
	if fi, err := os.Stat(s.dir); err != nil || !fi.IsDir() {
		return fmt.Sprintf("; the data directory %s does not exist: check data_dir in the config, or --data-dir / VITALS_DATA_DIR", s.dir)
	}
	return fmt.Sprintf("; the path is read from the data directory %s: check the path in the config, or point data_dir (--data-dir, VITALS_DATA_DIR) elsewhere", s.dir)
}

// under resolves p against base unless p is absolute.
func under(base, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(base, p)
}

func hasMeta(p string) bool { return strings.ContainsAny(p, "*?[") }

// readFile reads one file and returns the time of its latest record.
func (s *Source) readFile(ctx context.Context, j *job, sink sources.Sink) (last time.Time, err error) {
	f, err := openCtx(ctx, j.path)
	if err != nil {
		return last, err
	}
	defer f.Close()
	// A read from a named pipe or a terminal blocks until its writer writes:
	// on cancellation, closing the file ends the read at once where Go polls
	// pipes (Linux, the BSDs; not macOS, where the read ends only when the
	// writer writes or closes).
	stop := context.AfterFunc(ctx, func() { f.Close() })
	defer stop()
	defer func() {
		if err != nil && ctx.Err() != nil {
			err = ctx.Err() // the read failed because it was stopped
		}
	}()
	var rd io.Reader = bufio.NewReaderSize(f, 256<<10)
	if strings.HasSuffix(strings.ToLower(j.path), ".gz") {
		gz, err := gzip.NewReader(rd)
		if err != nil {
			return last, fmt.Errorf("read %s: not gzip: %w", j.path, err)
		}
		defer gz.Close()
		rd = gz
	}
	out := &trackingWriter{Writer: sink.Writer()}
	defer out.Close()
	// The streams' mappers are shared by the files a glob matches, read at
	// once: whatever maps rows works on a clone (reader.clone).
	r := &reader{ctx: ctx, src: s.name, path: j.path, out: out}
	for i, st := range j.streams {
		r.maps = append(r.maps, newRowMap(st.mapper, j.rels[i]))
	}
	switch j.format {
	case formatCSV:
		last, err = r.readCSVPipelined(ctx, rd, j.comma, sink)
	case formatJSONL:
		last, err = r.readJSONLPipelined(ctx, rd, sink)
	case formatJSON:
		err = r.clone(ctx, out).readJSONArray(rd)
		last = out.last
	}
	return last, err
}

// openCtx opens a file for reading, or gives up when ctx ends first:
// opening a named pipe blocks until a writer opens its other end. When it
// gives up, the goroutine stays blocked in open(2) until a writer comes
// (then closes the file) — for good if none ever does; the process is
// about to exit anyway.
func openCtx(ctx context.Context, path string) (*os.File, error) {
	type opened struct {
		f   *os.File
		err error
	}
	ch := make(chan opened, 1)
	go func() {
		f, err := os.Open(path)
		ch <- opened{f, err}
	}()
	select {
	case o := <-ch:
		if o.err != nil {
			return nil, fmt.Errorf("open %s: %w", path, o.err)
		}
		return o.f, nil
	case <-ctx.Done():
		go func() { // the open may still succeed: close what it opens
			if o := <-ch; o.f != nil {
				o.f.Close()
			}
		}()
		return nil, ctx.Err()
	}
}

// trackingWriter remembers the time of the latest record it passes on
// (the coverage of until: last_record).
type trackingWriter struct {
	sources.Writer
	last time.Time
}

func (t *trackingWriter) Record(r *record.Record) error {
	if r.Time.After(t.last) {
		t.last = r.Time
	}
	return t.Writer.Record(r)
}

type reader struct {
	ctx  context.Context
	src  string
	path string
	maps []*rowMap // one per stream reading this file
	out  sources.Writer
	rec  record.Record
	n    int
	// JSON: the paths of every stream's fields, walked once per row
	json    *mapping.JSONPaths
	vals    []string
	scratch [][]byte // per path, for number and object texts
}

// rowMap is one stream's mapping of a file's rows.
type rowMap struct {
	rel    string // the file, as provenance names it for this stream
	mapper *mapping.Mapper
	vals   []string // the mapper's field texts of the current row
	cells  []int    // CSV: where each field is among the cells shipped per row (-1: absent)
}

func newRowMap(m *mapping.Mapper, rel string) *rowMap {
	return &rowMap{rel: rel, mapper: m, vals: make([]string, len(m.Fields()))}
}

// clone gives another goroutine its own mapper and buffers.
func (m *rowMap) clone() *rowMap {
	return &rowMap{rel: m.rel, mapper: m.mapper.Clone(), vals: make([]string, len(m.vals)), cells: m.cells}
}

// clone returns a reader for another goroutine, writing to out.
func (r *reader) clone(ctx context.Context, out sources.Writer) *reader {
	w := &reader{ctx: ctx, src: r.src, path: r.path, out: out, json: r.json}
	for _, m := range r.maps {
		w.maps = append(w.maps, m.clone())
	}
	if r.json != nil {
		w.vals, w.scratch = make([]string, len(r.vals)), make([][]byte, len(r.vals))
		w.shareVals()
	}
	return w
}

func (r *reader) prov(m *rowMap, line int64) record.Provenance {
	return record.Provenance{Source: r.src, Loc: m.rel, Pos: line, Style: record.StyleLine}
}

// bad reports a row no stream can map (it does not parse): once per stream
// reading the file, as each would have made a record of it.
func (r *reader) bad(line int64, err error) error {
	for _, m := range r.maps {
		if bad := r.out.Bad(r.prov(m, line), err); bad != nil {
			return bad
		}
	}
	return nil
}

// emit maps one row with every stream's mapper and hands the records or
// the errors on; each map's vals must hold the row's fields.
func (r *reader) emit(line int64) error {
	r.n++
	if r.n&1023 == 0 {
		if err := r.ctx.Err(); err != nil {
			return err
		}
	}
	for _, m := range r.maps {
		r.rec.Prov = r.prov(m, line)
		keep, err := m.mapper.Map(m.vals, &r.rec)
		if err != nil {
			if bad := r.out.Bad(r.rec.Prov, err); bad != nil {
				return bad
			}
			continue
		}
		if !keep {
			r.out.Filtered(1)
			continue
		}
		if err := r.out.Record(&r.rec); err != nil {
			return err
		}
	}
	return nil
}

// jsonPaths resolves every stream's fields to JSON paths once.
func (r *reader) jsonPaths() error {
	var paths [][]string
	for _, m := range r.maps {
		for _, f := range m.mapper.Fields() {
			p, err := mapping.ParsePath(f)
			if err != nil {
				return err
			}
			paths = append(paths, p)
		}
	}
	r.json = mapping.NewJSONPaths(paths)
	r.vals, r.scratch = make([]string, len(paths)), make([][]byte, len(paths))
	r.shareVals()
	return nil
}

// shareVals makes each map's vals its part of r.vals, which the JSON walk
// fills: the maps' fields in order.
func (r *reader) shareVals() {
	off := 0
	for _, m := range r.maps {
		n := len(m.mapper.Fields())
		m.vals = r.vals[off : off+n : off+n]
		off += n
	}
}

// fill extracts each map's fields' texts from v: strings unquoted, numbers
// and booleans as written, objects and arrays as JSON, null and absent as "".
func (r *reader) fill(v *fastjson.Value) {
	r.json.Fill(v, r.vals, r.scratch)
}

// readJSONArray reads a file holding one JSON array of objects. Provenance
// is the line each element starts on.
func (r *reader) readJSONArray(in io.Reader) error {
	data, err := io.ReadAll(in)
	if err != nil {
		return fmt.Errorf("read %s: %w", r.path, err)
	}
	if err := r.jsonPaths(); err != nil {
		return err
	}
	var p fastjson.Parser
	sc := arrayScanner{data: data, line: 1}
	if err := sc.open(); err != nil {
		return r.bad(sc.line, err)
	}
	for {
		elem, line, err := sc.next()
		if err != nil {
			// The array's structure is broken: the rest cannot be split into
			// elements. Say where, and how much was not read.
			return r.bad(line, fmt.Errorf("%v; the rest of the file is not read", err))
		}
		if elem == nil {
			return nil
		}
		v, perr := p.ParseBytes(elem)
		switch {
		case perr != nil:
			if bad := r.bad(line, jsonError(perr)); bad != nil {
				return bad
			}
		case v.Type() != fastjson.TypeObject:
			if bad := r.bad(line, fmt.Errorf("expected a JSON object, got %s", v.Type())); bad != nil {
				return bad
			}
		default:
			r.fill(v)
			if err := r.emit(line); err != nil {
				return err
			}
		}
	}
}

// utf8BOM is the byte order mark some exporters begin a file with.
var utf8BOM = []byte("\ufeff")

// arrayScanner splits a JSON array into its elements without parsing them,
// counting lines.
type arrayScanner struct {
	data []byte
	pos  int
	line int64
	done bool
}

func (s *arrayScanner) skipSpace() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case '\n':
			s.line++
		case ' ', '\t', '\r':
		default:
			return
		}
		s.pos++
	}
}

func (s *arrayScanner) open() error {
	if bytes.HasPrefix(s.data, utf8BOM) {
		s.pos = len(utf8BOM)
	}
	s.skipSpace()
	if s.pos >= len(s.data) {
		s.done = true
		return nil // empty file
	}
	if s.data[s.pos] != '[' {
		return fmt.Errorf("expected a JSON array, found %q", s.data[s.pos])
	}
	s.pos++
	s.skipSpace()
	if s.pos < len(s.data) && s.data[s.pos] == ']' {
		s.done = true
	}
	return nil
}

// next returns the next element and the line it starts on; nil at the end.
func (s *arrayScanner) next() ([]byte, int64, error) {
	if s.done {
		return nil, s.line, nil
	}
	s.skipSpace()
	start, line := s.pos, s.line
	depth := 0
	inStr := false
	for s.pos < len(s.data) {
		c := s.data[s.pos]
		if inStr {
			switch c {
			case '\\':
				s.pos++
			case '"':
				inStr = false
			case '\n':
				s.line++
			}
			s.pos++
			continue
		}
		switch c {
		case '"':
			inStr = true
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 { // the array's closing bracket
				if c == '}' {
					return nil, s.line, errors.New("unbalanced }")
				}
				s.done = true
				elem := bytes.TrimSpace(s.data[start:s.pos])
				if len(elem) == 0 {
					return nil, line, errors.New("empty element before ]")
				}
				return elem, line, nil
			}
			depth--
		case ',':
			if depth == 0 {
				elem := bytes.TrimSpace(s.data[start:s.pos])
				s.pos++
				if len(elem) == 0 {
					return nil, line, errors.New("empty element")
				}
				return elem, line, nil
			}
		case '\n':
			s.line++
		}
		s.pos++
	}
	return nil, line, errors.New("the array is not closed: missing ]")
}

// Kinds lists the kinds this source can produce (see mapping.KindPattern).
func (s *Source) Kinds() []string {
	var out []string
	for _, st := range s.streams {
		p := st.mapper.KindPattern()
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

// KeyTypesByMapping lists, for each record mapping, the key types it
// gives its records.
func (s *Source) KeyTypesByMapping() [][]string {
	var out [][]string
	for _, st := range s.streams {
		out = append(out, st.mapper.KeyTypes())
	}
	return out
}

// jsonError shortens fastjson's nested "cannot parse ...: " chain to its cause.
func jsonError(err error) error {
	msg := err.Error()
	for {
		i := strings.Index(msg, ": ")
		if i < 0 || !strings.HasPrefix(msg, "cannot parse") {
			break
		}
		msg = msg[i+2:]
	}
	msg = strings.TrimSuffix(msg, `; unparsed tail: ""`)
	return fmt.Errorf("invalid JSON: %s", msg)
}
