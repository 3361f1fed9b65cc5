package reconcile

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vitals-dev/vitals/record"
	"github.com/vitals-dev/vitals/sources"
)

// maxBadListed is how many bad inputs per source a report lists; all are counted.
const maxBadListed = 100

// BadInput is input that could not become a record, with its location.
type BadInput struct {
	At    record.Provenance
	Error string
}

// StrictError stops a run in strict mode at the first bad input.
type StrictError struct {
	Bad BadInput
}

func (e *StrictError) Error() string {
	return fmt.Sprintf("bad input at %s: %s (strict mode stops at the first bad input; fix the input or run without --strict to count and list it)", e.Bad.At, e.Bad.Error)
}

// sink collects one source's records into the store and counts the rest.
type sink struct {
	name   string
	store  *record.Store
	strict bool
	asOf   time.Time
	root   string // sharded runs: count records without this key type

	progress atomic.Int64 // records so far, for progress display
	state    atomic.Int32 // reading, done or failed, for progress display
	doneAt   atomic.Int64 // unix nanoseconds when the read ended

	mu       sync.Mutex
	records  int
	filtered int
	outside  int
	bad      int
	badList  []BadInput

	unrooted, unrootedOutside int
}

func (s *sink) Writer() sources.Writer {
	return &writer{s: s, w: s.store.Writer(s.name)}
}

func (s *sink) addBad(b BadInput) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bad++
	s.badList = append(s.badList, b)
	if len(s.badList) > 4*maxBadListed {
		s.trimBad()
	}
}

// trimBad sorts the bad inputs and keeps the first: the list is the same
// whatever order concurrent readers reported them in.
func (s *sink) trimBad() {
	sort.Slice(s.badList, func(i, j int) bool { return lessBad(&s.badList[i], &s.badList[j]) })
	if len(s.badList) > maxBadListed {
		s.badList = s.badList[:maxBadListed]
	}
}

// lessBad orders bad inputs by location, then message: two mappings of
// one file may both fail on one row.
func lessBad(a, b *BadInput) bool {
	if c := a.At.Compare(b.At); c != 0 {
		return c < 0
	}
	return a.Error < b.Error
}

type writer struct {
	s        *sink
	w        *record.Writer
	records  int
	filtered int
	outside  int
	pending  int64

	unrooted, unrootedOutside int
}

func (w *writer) Record(r *record.Record) error {
	unrooted := false
	if w.s.root != "" {
		_, rooted := r.Key(w.s.root)
		unrooted = !rooted
	}
	if r.Time.After(w.s.asOf) {
		// Evidence from after as_of did not exist at as_of: a run stays
		// reproducible whenever it is repeated.
		w.outside++
		if unrooted {
			w.unrootedOutside++
		}
		return nil
	}
	if err := w.w.Add(r); err != nil {
		return w.Bad(r.Prov, err)
	}
	w.records++
	if unrooted {
		w.unrooted++
	}
	w.pending++
	if w.pending == 4096 {
		w.s.progress.Add(w.pending)
		w.pending = 0
	}
	return nil
}

func (w *writer) Bad(at record.Provenance, err error) error {
	// The list outlives the row: its strings may view the source's read
	// buffer (a record the store rejected comes here as it was given).
	at.Source, at.Loc, at.Key = strings.Clone(at.Source), strings.Clone(at.Loc), strings.Clone(at.Key)
	b := BadInput{At: at, Error: err.Error()}
	w.s.addBad(b)
	if w.s.strict {
		return &StrictError{Bad: b}
	}
	return nil
}

func (w *writer) Filtered(n int) { w.filtered += n }

func (w *writer) Close() {
	w.s.progress.Add(w.pending)
	w.pending = 0
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	w.s.records += w.records
	w.s.filtered += w.filtered
	w.s.outside += w.outside
	w.s.unrooted += w.unrooted
	w.s.unrootedOutside += w.unrootedOutside
	w.records, w.filtered, w.outside = 0, 0, 0
	w.unrooted, w.unrootedOutside = 0, 0
}
