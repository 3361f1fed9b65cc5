// Package shard splits one audit over several processes. Shard i of n
// audits the instances whose shard key — the value of the process's root
// key, which names the instance — hashes to i:
//
//	shard(v) = first 4 bytes of MD5(v), read as a big-endian uint32, mod n
//
// MD5 is not used for security here: it is chosen because PostgreSQL (and
// most SQL engines) compute it natively, so a source can push the same
// filter into its query (SQLExpr) and select exactly the rows the shard
// owns. Orphan groups (no root key) are owned by the hash of their name.
package shard

import (
	"crypto/md5"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
)

// Spec is one shard of a run: Index in [0, Count). The zero Spec (and
// 0/1) is the whole run.
type Spec struct {
	Index, Count int
}

// MaxCount bounds the number of shards: far more machines than a run
// needs, and well inside the 32-bit hash the shards are cut from.
const MaxCount = 1 << 16

// Parse reads "i/n", as --shard takes it.
func Parse(s string) (Spec, error) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return Spec{}, fmt.Errorf("%q is not i/n: write the shard index and the number of shards, e.g. 0/4 (indexes start at 0)", s)
	}
	if strings.Contains(b, "/") {
		return Spec{}, fmt.Errorf("%q has more than one /: write i/n, e.g. 0/4", s)
	}
	i, err1 := strconv.Atoi(strings.TrimSpace(a))
	n, err2 := strconv.Atoi(strings.TrimSpace(b))
	switch {
	case err1 != nil || err2 != nil:
		return Spec{}, fmt.Errorf("%q is not i/n with whole numbers, e.g. 0/4", s)
	case n < 1:
		return Spec{}, fmt.Errorf("%q: the number of shards must be at least 1", s)
	case n > MaxCount:
		return Spec{}, fmt.Errorf("%q: at most %d shards", s, MaxCount)
	case i < 0 || i >= n:
		return Spec{}, fmt.Errorf("%q: the index must be between 0 and %d (indexes start at 0, as JOB_COMPLETION_INDEX does)", s, n-1)
	}
	return Spec{Index: i, Count: n}, nil
}

// On reports whether the spec selects part of a run (n > 1).
func (s Spec) On() bool { return s.Count > 1 }

func (s Spec) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Count) }

// Of returns the shard of a shard-key value among n.
func Of(value string, n int) int {
	if n <= 1 {
		return 0
	}
	sum := md5.Sum([]byte(value))
	return int(binary.BigEndian.Uint32(sum[:4]) % uint32(n))
}

// Owns reports whether this shard audits the instance or orphan group
// named value. With sharding off it owns everything.
func (s Spec) Owns(value string) bool {
	return !s.On() || Of(value, s.Count) == s.Index
}

// SQLExpr returns a PostgreSQL boolean expression that is true for the
// rows this shard must read, given col, a SQL expression for the root key
// column: rows whose root value hashes to this shard, and rows that carry
// no root key (NULL or empty), which every shard reads because they may
// link to a root of any shard. The column is compared as text, as the
// source reads it.
func (s Spec) SQLExpr(col string) string {
	return fmt.Sprintf("(%[1]s IS NULL OR %[1]s::text = '' OR ('x' || substr(md5(%[1]s::text), 1, 8))::bit(32)::bigint %% %[2]d = %[3]d)", col, s.Count, s.Index)
}
