package embedded

import (
	"hash/maphash"
	"math/bits"
)

// keyFilter is a Bloom filter of byte keys: mayHave is false only for a
// key never added, so a lookup it rules out needs no look at the tree. It
// grows as keys are added (a chain of filters, each for twice the keys of
// the one before, as in a scalable Bloom filter), each with a
// false-positive rate near 1%.
//
// Each filter is blocked: a key's bits are all in one 64-byte block (a
// cache line), so adding or looking up a key reads one line per filter, not
// one per bit (a bulk load looks up a marker that is not there twice per
// event, in a filter of megabytes).
type keyFilter struct {
	seed  maphash.Seed
	first int // keys of the first filter
	parts []*bloom
}

// bloom is one filter of the chain.
type bloom struct {
	blocks []block
	n      int // keys added
	limit  int // keys it takes at its false-positive rate
}

// block is 512 bits: a cache line.
type block [8]uint64

const (
	// markerFilterKeys is the number of keys the first filter of the
	// markers is sized for: a replay of a million events, in 2 MB.
	markerFilterKeys = 1 << 20
	// filterBitsPerKey and filterProbes give a blocked filter a
	// false-positive rate below 1%.
	filterBitsPerKey = 12
	filterProbes     = 8
)

// newKeyFilter returns an empty filter whose first part takes first keys.
func newKeyFilter(first int) *keyFilter { return &keyFilter{seed: maphash.MakeSeed(), first: first} }

// newBloom returns a filter for n keys.
func newBloom(n int) *bloom {
	blocks := 1 << bits.Len(uint(n*filterBitsPerKey/512)) // a power of two, n*filterBitsPerKey bits or more
	return &bloom{blocks: make([]block, blocks), limit: n}
}

// add adds key.
func (f *keyFilter) add(key []byte) {
	last := len(f.parts) - 1
	if last < 0 || f.parts[last].n >= f.parts[last].limit {
		n := f.first
		if last >= 0 {
			n = 2 * f.parts[last].limit
		}
		f.parts = append(f.parts, newBloom(n))
		last++
	}
	f.parts[last].add(maphash.Bytes(f.seed, key))
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

// The high bits of a key's hash choose its block; the low bits, by double
// hashing (Kirsch and Mitzenmacher), its filterProbes bits in the block.
func (b *bloom) probe(h uint64) (blk *block, pos, step uint32) {
	blk = &b.blocks[(h>>32)&uint64(len(b.blocks)-1)]
	return blk, uint32(h), uint32(h>>16) | 1
}

func (b *bloom) add(h uint64) {
	blk, pos, step := b.probe(h)
	for range filterProbes {
		blk[pos>>6&7] |= 1 << (pos & 63)
		pos += step
	}
	b.n++
}

func (b *bloom) has(h uint64) bool {
	blk, pos, step := b.probe(h)
	for range filterProbes {
		if blk[pos>>6&7]&(1<<(pos&63)) == 0 {
			return false
		}
		pos += step
	}
	return true
}
