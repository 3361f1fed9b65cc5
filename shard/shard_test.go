package shard

import (
	"fmt"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Spec
		err  bool
	}{
		{"0/4", Spec{0, 4}, false},
		{" 3/4 ", Spec{3, 4}, false},
		{"0/1", Spec{0, 1}, false},
		{"4/4", Spec{}, true},
		{"-1/4", Spec{}, true},
		{"1/0", Spec{}, true},
		{"1", Spec{}, true},
		{"a/b", Spec{}, true},
		{"1/3/2", Spec{}, true},
		{"65535/65536", Spec{65535, 65536}, false},
		{"0/4294967296", Spec{}, true}, // would truncate to 0 in the 32-bit modulus
		{"1/4294967297", Spec{}, true}, // would truncate to 1: shard 0 owning everything
	} {
		got, err := Parse(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("Parse(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

// The hash is part of the documented contract (README, SQL pushdown):
// it must never change, or shards of different versions would disagree.
func TestOfIsStable(t *testing.T) {
	// md5("ORD-1042") = e9032331...: 0xe9032331 = 3909296945; % 4 = 1.
	if got := Of("ORD-1042", 4); got != 1 {
		t.Errorf("Of(ORD-1042, 4) = %d, want 1", got)
	}
	if got := Of("ORD-1042", 7); got != 3909296945%7 {
		t.Errorf("Of(ORD-1042, 7) = %d, want %d", got, 3909296945%7)
	}
	counts := make([]int, 4)
	for i := 0; i < 40000; i++ {
		counts[Of(fmt.Sprintf("ORD-%d", 1000000+i), 4)]++
	}
	for i, c := range counts {
		if c < 9000 || c > 11000 {
			t.Errorf("shard %d holds %d of 40000 keys: the hash does not spread", i, c)
		}
	}
}

func TestOwnsPartitions(t *testing.T) {
	for _, v := range []string{"ORD-1", "ORD-2", "charge_id:ch_x", ""} {
		n := 0
		for i := 0; i < 5; i++ {
			if (Spec{i, 5}).Owns(v) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%q is owned by %d of 5 shards, want exactly 1", v, n)
		}
		if !(Spec{}).Owns(v) {
			t.Errorf("the whole run does not own %q", v)
		}
	}
}
