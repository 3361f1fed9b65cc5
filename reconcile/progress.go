package reconcile

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Source read states, for progress display.
const (
	stateReading int32 = iota
	stateDone
	stateFailed
)

// finish records how the source's read ended.
func (s *sink) finish(err error) {
	s.doneAt.Store(time.Now().UnixNano())
	if err != nil {
		s.state.Store(stateFailed)
	} else {
		s.state.Store(stateDone)
	}
}

// progressEvery is how often the progress line is redrawn.
var progressEvery = 500 * time.Millisecond

// startProgress redraws one status line on w (a terminal) while sources
// are read: per source the records so far and their rate, or done/failed.
// It is written with a carriage return and cleared at the end, so it
// leaves nothing behind; no library is needed for one line.
func startProgress(w io.Writer, specs []SourceSpec, sinks []*sink) func() {
	if w == nil {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	width := termWidth()
	go func() {
		defer close(finished)
		start := time.Now()
		tick := time.NewTicker(progressEvery)
		defer tick.Stop()
		for {
			select {
			case <-done:
				fmt.Fprint(w, "\r\033[K")
				return
			case now := <-tick.C:
				fmt.Fprint(w, "\r\033[K"+progressLine(specs, sinks, start, now, width))
			}
		}
	}()
	return func() { close(done); <-finished }
}

// progressLine renders the status, at most width runes wide.
func progressLine(specs []SourceSpec, sinks []*sink, start, now time.Time, width int) string {
	var b strings.Builder
	b.WriteString("reading")
	for i, s := range sinks {
		n := s.progress.Load()
		end := now
		state := s.state.Load()
		if state != stateReading {
			end = time.Unix(0, s.doneAt.Load())
		}
		fmt.Fprintf(&b, "  %s %s", specs[i].Name, human(n))
		switch state {
		case stateDone:
			b.WriteString(" done")
		case stateFailed:
			b.WriteString(" FAILED")
		default:
			if secs := end.Sub(start).Seconds(); secs > 0 {
				fmt.Fprintf(&b, " %s/s", human(int64(float64(n)/secs)))
			}
		}
	}
	line := b.String()
	if width > 1 && utf8.RuneCountInString(line) > width-1 {
		r := []rune(line)
		line = string(r[:width-2]) + "…"
	}
	return line
}

// termWidth is the terminal's width from $COLUMNS, else 100.
func termWidth() int {
	if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n > 10 {
		return n
	}
	return 100
}
