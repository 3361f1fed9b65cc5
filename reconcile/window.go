package reconcile

import "github.com/vitals-dev/vitals/sources"

// ReadWindow is the window sources are asked to read: from since minus
// the lookback up to as_of.
func (in *Input) ReadWindow() sources.Window { return in.readWindow() }
