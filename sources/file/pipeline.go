package file

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/valyala/fastjson"

	"github.com/vitals-dev/vitals/sources"
)

// A file is read by one goroutine that splits it into rows and several
// that parse and map them: splitting is cheap, mapping and storing are not.

const batchRows = 512

// rowBatch carries rows from the splitter to the mappers.
type rowBatch struct {
	data  []byte  // all bytes of the batch
	ends  []int32 // end of each cell (CSV: fields per row cells; JSONL: one per row)
	lines []int64 // the line each row starts on
}

func (b *rowBatch) reset() {
	b.data, b.ends, b.lines = b.data[:0], b.ends[:0], b.lines[:0]
}

func (b *rowBatch) add(cell []byte) {
	b.data = append(b.data, cell...)
	b.ends = append(b.ends, int32(len(b.data)))
}

func (b *rowBatch) cell(i int) []byte {
	start := int32(0)
	if i > 0 {
		start = b.ends[i-1]
	}
	return b.data[start:b.ends[i]]
}

func bytesString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// pipeline runs split on this goroutine and map on several workers; it
// returns the time of the latest record and the first error.
func (r *reader) pipeline(ctx context.Context, sink sources.Sink, split func(ctx context.Context, send func(*rowBatch) bool, get func() *rowBatch) error, mapRow func(w *reader, b *rowBatch, row int, p *fastjson.Parser) error) (last time.Time, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	workers := runtime.GOMAXPROCS(0)
	batches := make(chan *rowBatch, 2*workers)
	free := make(chan *rowBatch, 4*workers)
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
		cancel()
	}
	outs := make([]*trackingWriter, workers)
	for i := range workers {
		outs[i] = &trackingWriter{Writer: sink.Writer()}
		w := r.clone(ctx, outs[i])
		wg.Add(1)
		go func() {
			defer wg.Done()
			var p fastjson.Parser
			for b := range batches {
				for row := range b.lines {
					if err := mapRow(w, b, row, &p); err != nil {
						fail(err)
						break
					}
				}
				b.reset()
				select {
				case free <- b:
				default:
				}
			}
		}()
	}
	send := func(b *rowBatch) bool {
		select {
		case batches <- b:
			return true
		case <-ctx.Done():
			return false
		}
	}
	get := func() *rowBatch {
		select {
		case b := <-free:
			return b
		default:
			return &rowBatch{}
		}
	}
	splitErr := split(ctx, send, get)
	close(batches)
	wg.Wait()
	for _, o := range outs {
		o.Close()
		if o.last.After(last) {
			last = o.last
		}
	}
	if firstErr != nil {
		return last, firstErr
	}
	if splitErr != nil {
		return last, splitErr
	}
	return last, ctx.Err()
}

// readCSVPipelined reads a CSV file: the splitter parses CSV (quotes may
// span lines) and ships the mapped columns; the workers map them.
func (r *reader) readCSVPipelined(ctx context.Context, in io.Reader, comma rune, sink sources.Sink) (last time.Time, err error) {
	cr := csv.NewReader(in)
	cr.Comma = comma
	cr.ReuseRecord = true
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err == io.EOF {
		// Not even a header: an export that failed, not one with no rows.
		return last, r.bad(1, errors.New("the file is empty: not even a header row"))
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return last, r.bad(1, fmt.Errorf("header: %w", err))
	}
	if err != nil {
		return last, fmt.Errorf("read %s: %w", r.path, err)
	}
	idx, err := r.columns(header)
	if err != nil {
		return last, err
	}
	for _, m := range r.maps {
		m.mapper = m.mapper.TextAmounts() // a copy: the stream's is shared
	}
	nf := len(idx) // cells shipped per row
	split := func(ctx context.Context, send func(*rowBatch) bool, get func() *rowBatch) error {
		b := get()
		lastLine := 1
		for n := 0; ; n++ {
			if n&1023 == 0 && ctx.Err() != nil {
				return nil
			}
			row, err := cr.Read()
			if err == io.EOF {
				break
			}
			line := lastLine + 1
			if err == nil && len(row) > 0 {
				line, _ = cr.FieldPos(0)
			}
			lastLine = line
			if err != nil {
				var pe *csv.ParseError
				if !errors.As(err, &pe) {
					// Reading failed (a truncated .gz): the reader returns
					// the same error again, so the rest cannot be read.
					return fmt.Errorf("read %s: %w", r.path, err)
				}
				lastLine = pe.Line
				err := pe.Err
				if pe.Line > pe.StartLine {
					// A quote left open swallows the lines after it.
					err = fmt.Errorf("%w (at line %d, column %d): lines %d to %d are one broken field, none of them is read", pe.Err, pe.Line, pe.Column, pe.StartLine, pe.Line)
				}
				if bad := r.bad(int64(pe.StartLine), err); bad != nil {
					return bad
				}
				continue
			}
			if len(row) < len(header) || len(row) > len(header) && !emptyTail(row[len(header):]) {
				// Too few or too many: the values do not sit under their
				// headers (an unquoted comma in a text, say).
				if bad := r.bad(int64(line), fmt.Errorf("row has %d fields, the header has %d", len(row), len(header))); bad != nil {
					return bad
				}
				continue
			}
			for _, c := range idx {
				b.data = append(b.data, row[c]...)
				b.ends = append(b.ends, int32(len(b.data)))
			}
			b.lines = append(b.lines, int64(line))
			if len(b.lines) == batchRows {
				if !send(b) {
					return nil
				}
				b = get()
			}
		}
		if len(b.lines) > 0 {
			send(b)
		}
		return nil
	}
	mapRow := func(w *reader, b *rowBatch, row int, _ *fastjson.Parser) error {
		for _, m := range w.maps {
			for i, c := range m.cells {
				if c < 0 {
					m.vals[i] = ""
				} else {
					m.vals[i] = bytesString(b.cell(row*nf + c))
				}
			}
		}
		return w.emit(b.lines[row])
	}
	return r.pipeline(ctx, sink, split, mapRow)
}

// columns resolves every map's fields to CSV columns: it returns the
// columns to ship per row (each once, however many maps read it) and sets
// each map's cells. Fields the header lacks are reported, once per map that
// reads them (their rows are read with the field empty).
func (r *reader) columns(header []string) ([]int, error) {
	cols := map[string]int{}
	twice := map[string][2]int{}
	for i, h := range header {
		h = strings.TrimPrefix(h, "\ufeff") // a BOM some exporters write
		h = strings.TrimSpace(h)
		if j, dup := cols[h]; dup {
			twice[h] = [2]int{j, i}
		}
		cols[h] = i
	}
	for _, m := range r.maps {
		for _, f := range m.mapper.Fields() {
			if d, ok := twice[f]; ok {
				return nil, fmt.Errorf("%s:1: the header has column %q twice (columns %d and %d), so the mapping cannot tell which to read: rename one in the export", r.path, f, d[0]+1, d[1]+1)
			}
		}
	}
	var ship []int
	for _, m := range r.maps {
		fields := m.mapper.Fields()
		m.cells = make([]int, len(fields))
		var missing []string
		for i, f := range fields {
			c, ok := cols[f]
			if !ok {
				m.cells[i] = -1
				missing = append(missing, fmt.Sprintf("%q", f))
				continue
			}
			at := slices.Index(ship, c)
			if at < 0 {
				at = len(ship)
				ship = append(ship, c)
			}
			m.cells[i] = at
		}
		if len(missing) > 0 {
			have := make([]string, 0, len(header))
			for _, h := range header {
				have = append(have, fmt.Sprintf("%q", h))
			}
			hint := ""
			for _, f := range fields {
				if _, ok := cols[f]; ok {
					continue
				}
				for h := range cols {
					if strings.EqualFold(h, f) {
						hint += fmt.Sprintf("; the header has %q: column names match exactly, so map %q or rename the column", h, h)
					}
				}
			}
			err := fmt.Errorf("header lacks column %s (it has %s); rows are read with that field empty%s", strings.Join(missing, ", "), strings.Join(have, ", "), hint)
			if bad := r.out.Bad(r.prov(m, 1), err); bad != nil {
				return nil, bad
			}
		}
	}
	return ship, nil
}

// readJSONLPipelined reads JSON lines: the splitter cuts lines, the workers
// parse and map them.
func (r *reader) readJSONLPipelined(ctx context.Context, in io.Reader, sink sources.Sink) (last time.Time, err error) {
	if err := r.jsonPaths(); err != nil {
		return last, err
	}
	split := func(ctx context.Context, send func(*rowBatch) bool, get func() *rowBatch) error {
		br := bufio.NewReaderSize(in, 1<<20)
		b := get()
		var long []byte
		for line := int64(1); ; line++ {
			if line&1023 == 0 && ctx.Err() != nil {
				return nil
			}
			raw, err := br.ReadSlice('\n')
			if err == bufio.ErrBufferFull {
				long = append(long[:0], raw...)
				for err == bufio.ErrBufferFull {
					raw, err = br.ReadSlice('\n')
					long = append(long, raw...)
				}
				raw = long
			}
			if err != nil && err != io.EOF {
				return fmt.Errorf("read %s: %w", r.path, err)
			}
			if line == 1 {
				raw = bytes.TrimPrefix(raw, utf8BOM) // some exporters write one
			}
			if t := bytes.TrimSpace(raw); len(t) > 0 {
				b.add(t)
				b.lines = append(b.lines, line)
				if len(b.lines) == batchRows {
					if !send(b) {
						return nil
					}
					b = get()
				}
			}
			if err == io.EOF {
				break
			}
		}
		if len(b.lines) > 0 {
			send(b)
		}
		return nil
	}
	mapRow := func(w *reader, b *rowBatch, row int, p *fastjson.Parser) error {
		line := b.lines[row]
		v, perr := p.ParseBytes(b.cell(row))
		switch {
		case perr != nil:
			return w.bad(line, jsonError(perr))
		case v.Type() != fastjson.TypeObject:
			return w.bad(line, fmt.Errorf("expected a JSON object, got %s", v.Type()))
		}
		w.fill(v)
		return w.emit(line)
	}
	return r.pipeline(ctx, sink, split, mapRow)
}

// emptyTail reports whether the cells past the header's are all empty (a
// trailing delimiter some exporters write on every row).
func emptyTail(cells []string) bool {
	for _, c := range cells {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}
