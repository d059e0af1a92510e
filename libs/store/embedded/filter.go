package embedded

import (
	"hash/maphash"
	"math"
)

// keyFilter is a Bloom filter of byte keys: mayHave is false only for a
// key never added, so a lookup it rules out needs no look at the tree. It
// grows as keys are added (a chain of filters, each twice the size of the
// one before, as in a scalable Bloom filter), keeping the rate of false
// positives, the lookups it cannot rule out, near 1%.
type keyFilter struct {
	seed  maphash.Seed
	parts []*bloom
}

type bloom struct {
	bits  []uint64
	mask  uint64 // len(bits)*64 - 1: the bit count is a power of two
	k     int    // bits set per key
	n     int    // keys added
	limit int    // keys it takes at its false-positive rate
}

// firstFilterKeys is the number of keys the first filter is sized for.
const firstFilterKeys = 1 << 16

func newKeyFilter() *keyFilter { return &keyFilter{seed: maphash.MakeSeed()} }

// newBloom returns a filter for n keys with a false-positive rate of
// about p.
func newBloom(n int, p float64) *bloom {
	bitsPerKey := -math.Log(p) / (math.Ln2 * math.Ln2)
	m := uint64(1) << uint(math.Ceil(math.Log2(float64(n)*bitsPerKey)))
	m = max(m, 64)
	k := max(1, int(math.Round(float64(m)/float64(n)*math.Ln2)))
	return &bloom{bits: make([]uint64, m/64), mask: m - 1, k: k, limit: n}
}

// add adds key.
func (f *keyFilter) add(key []byte) {
	last := len(f.parts) - 1
	if last < 0 || f.parts[last].n >= f.parts[last].limit {
		// Twice the keys and half the rate of the one before, so that the
		// chain's rate stays below 2%.
		n, p := firstFilterKeys, 0.01
		if last >= 0 {
			n = 2 * f.parts[last].limit
			p = 0.01 / math.Pow(2, float64(len(f.parts)))
		}
		f.parts = append(f.parts, newBloom(n, p))
		last++
	}
	h := maphash.Bytes(f.seed, key)
	f.parts[last].add(h)
}

// mayHave reports whether key may have been added: false means it was
// not.
func (f *keyFilter) mayHave(key []byte) bool {
	if len(f.parts) == 0 {
		return false
	}
	h := maphash.Bytes(f.seed, key)
	for _, b := range f.parts {
		if b.has(h) {
			return true
		}
	}
	return false
}

// The k bit positions of a key come from its 64-bit hash by double
// hashing (Kirsch and Mitzenmacher): h1 + i*h2.
func (b *bloom) add(h uint64) {
	h1, h2 := h, h>>32|h<<32|1
	for range b.k {
		i := h1 & b.mask
		b.bits[i/64] |= 1 << (i % 64)
		h1 += h2
	}
	b.n++
}

func (b *bloom) has(h uint64) bool {
	h1, h2 := h, h>>32|h<<32|1
	for range b.k {
		i := h1 & b.mask
		if b.bits[i/64]&(1<<(i%64)) == 0 {
			return false
		}
		h1 += h2
	}
	return true
}
