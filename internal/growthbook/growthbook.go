// Package growthbook implements GrowthBook's published deterministic bucketing (its SDKs' hash v1 and v2,
// bucket ranges and variation choice), so that an assignment made in the collector can be reproduced by any
// GrowthBook SDK or by hand. Strings are hashed as UTF-8 bytes, as the Go SDK does (the JavaScript SDK hashes
// UTF-16 code units: the same for the ASCII ids Backstage uses).
package growthbook

import (
	"strconv"
)

// fnv32a is FNV-1a, 32 bits.
func fnv32a(s string) uint32 {
	h := uint32(0x811c9dc5)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}

// Hash returns a value's position in [0, 1) for a seed: version 2 (unbiased, the default of current GrowthBook
// experiments) is fnv32a(decimal(fnv32a(seed + value))) mod 10000 / 10000; version 1 (legacy) is
// fnv32a(value + seed) mod 1000 / 1000. ok is false for another version.
func Hash(seed, value string, version int) (n float64, ok bool) {
	switch version {
	case 1:
		return float64(fnv32a(value+seed)%1000) / 1000, true
	case 2:
		return float64(fnv32a(strconv.FormatUint(uint64(fnv32a(seed+value)), 10))%10000) / 10000, true
	}
	return 0, false
}

// Range is a bucket range [Start, End).
type Range struct{ Start, End float64 }

// BucketRanges returns each variation's range: the weights laid end to end, each shrunk to coverage of its
// width (coverage 0.5 of two equal variations: [0, 0.25) and [0.5, 0.75)).
func BucketRanges(weights []float64, coverage float64) []Range {
	coverage = min(max(coverage, 0), 1)
	ranges := make([]Range, len(weights))
	cumulative := 0.0
	for i, w := range weights {
		ranges[i] = Range{cumulative, cumulative + coverage*w}
		cumulative += w
	}
	return ranges
}

// ChooseVariation returns the index of the range n falls in, or -1 (not in the experiment).
func ChooseVariation(n float64, ranges []Range) int {
	for i, r := range ranges {
		if n >= r.Start && n < r.End {
			return i
		}
	}
	return -1
}

// InNamespace says whether a value falls in a namespace's range [start, end) (mutually exclusive experiments).
func InNamespace(value, namespace string, start, end float64) bool {
	n, _ := Hash("__"+namespace, value, 1)
	return n >= start && n < end
}
